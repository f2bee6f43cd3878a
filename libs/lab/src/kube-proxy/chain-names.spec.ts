import { base32, endpointChain, servicePortChains, servicePortName } from './chain-names';

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
});
