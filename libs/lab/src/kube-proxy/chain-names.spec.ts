import { base32, endpointChain, nftEndpointNames, nftServicePortChains, servicePortChains, servicePortName } from './chain-names';

describe('kube-proxy chain names', () => {
  it.each([
    // Chain names read off real clusters with `iptables-save -t nat` (the default/kubernetes and kube-dns Services
    // carry the same names in every cluster because their names and ports never change).
    ['default', 'kubernetes', 'https', 'TCP', 'KUBE-SVC-NPX46M4PTMTKRN6Y'],
    ['kube-system', 'kube-dns', 'dns', 'UDP', 'KUBE-SVC-TCOU7JCQXEZGVUNU'],
    ['kube-system', 'kube-dns', 'dns-tcp', 'TCP', 'KUBE-SVC-ERIFXISQEP7F7OF4'],
  ])('%s/%s:%s %s -> %s', (namespace, name, port, protocol, expected) => {
    expect(servicePortChains(servicePortName(namespace, name, port), protocol).cluster).toBe(expected);
  });

  it('derives the SVL, EXT and FW chains from the same hash', () => {
    const chains = servicePortChains('default/web:http', 'tcp');
    const h = chains.cluster.slice('KUBE-SVC-'.length);
    expect(chains).toEqual({ cluster: `KUBE-SVC-${h}`, local: `KUBE-SVL-${h}`, external: `KUBE-EXT-${h}`, firewall: `KUBE-FW-${h}` });
    expect(h).toMatch(/^[A-Z2-7]{16}$/);
  });

  it('gives each endpoint its own chain', () => {
    const a = endpointChain('default/web', 'tcp', '198.19.1.11:8080');
    const b = endpointChain('default/web', 'tcp', '198.19.1.12:8080');
    expect(a).toMatch(/^KUBE-SEP-[A-Z2-7]{16}$/);
    expect(a).not.toBe(b);
  });

  it.each([
    ['', ''],
    ['f', 'MY'],
    ['fo', 'MZXQ'],
    ['foo', 'MZXW6'],
    ['foobar', 'MZXW6YTBOI'],
  ])('base32(%j) = %s (RFC 4648 test vectors, without padding)', (input, expected) => {
    expect(base32(Buffer.from(input))).toBe(expected);
  });

  it.each([
    // from kube-proxy's TestOverallNFTablesRules, and a real k3s node's kube-dns
    ['ns1', 'svc1', 'TCP', 'p80', 'service-ULMVA6XW-ns1/svc1/tcp/p80'],
    ['ns5', 'svc5', 'TCP', 'p80', 'service-HVFWP5L3-ns5/svc5/tcp/p80'],
    ['kube-system', 'kube-dns', 'TCP', 'dns-tcp', 'service-NWBZK7IH-kube-system/kube-dns/tcp/dns-tcp'],
  ])('nftables: %s/%s %s %s -> %s', (namespace, name, protocol, port, expected) => {
    const chains = nftServicePortChains(namespace, name, protocol, port);
    expect(chains.cluster).toBe(expected);
    const base = expected.slice('service-'.length);
    expect(chains).toEqual({ cluster: `service-${base}`, local: `local-${base}`, external: `external-${base}`, firewall: `firewall-${base}` });
  });

  it.each([
    ['ns1', 'svc1', '10.180.0.1', 80, 'endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80'],
    ['ns5', 'svc5', '10.180.0.3', 80, 'endpoint-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80'],
  ])('nftables: endpoint %s/%s %s:%s -> %s, and its affinity set', (namespace, name, ip, port, expected) => {
    const names = nftEndpointNames(namespace, name, 'tcp', 'p80', { ip, port });
    expect(names.chain).toBe(expected);
    expect(names.affinitySet).toBe(expected.replace(/^endpoint-/, 'affinity-'));
  });

  it('nftables: the protocol is part of the name and of its hash', () => {
    const udp = nftServicePortChains('kube-system', 'kube-dns', 'UDP', 'dns').cluster;
    const tcp = nftServicePortChains('kube-system', 'kube-dns', 'TCP', 'dns').cluster;
    expect(udp).toMatch(/^service-[A-Z2-7]{8}-kube-system\/kube-dns\/udp\/dns$/);
    expect(udp.slice(8, 16)).not.toBe(tcp.slice(8, 16));
  });
});
