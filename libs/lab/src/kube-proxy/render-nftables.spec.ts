import { KubeEndpointSlice, KubeService } from '@natlens/shared-model';
import { renderNftablesRules } from './render-nftables';
import { renderLabNodeRules } from './lab-node-rules';
import { buildInventory } from '../inventory/build-inventory';
import { CLUSTER_CIDR, resolveLab, SERVICE_CIDR } from '../topology/addressing';
import { exampleTopology } from '../testing';
import { dnsService, dnsSlice } from './testing-services';

function rulesFor(example: string, nodeName: string): string[] {
  const lab = resolveLab(exampleTopology(example));
  const inventory = buildInventory(lab);
  const services = inventory.items.filter((o): o is KubeService => o.kind === 'Service');
  const endpointSlices = inventory.items.filter((o): o is KubeEndpointSlice => o.kind === 'EndpointSlice');
  const node = lab.nodes.find((n) => n.name === nodeName);
  if (!node) throw new Error(`no ${nodeName} in ${example}`);
  return renderLabNodeRules({ mode: 'nftables', node, services, endpointSlices, nfacctCounters: false }).text.split('\n');
}

const grep = (lines: string[], pattern: RegExp) => lines.filter((l) => pattern.test(l));
const P = 'add rule ip kube-proxy';
const E = 'add element ip kube-proxy';

function masqueradeRules(masqueradePorts?: { min: number; max: number }): string[] {
  const lab = resolveLab(exampleTopology('snat-port-exhaustion.yaml'));
  const inventory = buildInventory(lab);
  const services = inventory.items.filter((o): o is KubeService => o.kind === 'Service');
  const endpointSlices = inventory.items.filter((o): o is KubeEndpointSlice => o.kind === 'EndpointSlice');
  const node = lab.nodes[0] as (typeof lab.nodes)[number];
  const text = renderLabNodeRules({ mode: 'nftables', node, services, endpointSlices, nfacctCounters: false, ...(masqueradePorts ? { masqueradePorts } : {}) }).text;
  return text.split('\n').filter((l) => l.startsWith('add rule ip kube-proxy masquerading '));
}

describe('renderNftablesRules: the lab\'s masqueradePortRange', () => {
  it('limits the ports of every protocol that has them, and masquerades the rest as kube-proxy does', () => {
    expect(masqueradeRules({ min: 40000, max: 40063 }).slice(-2)).toEqual([
      'add rule ip kube-proxy masquerading meta l4proto { tcp, udp, sctp } masquerade to :40000-40063 fully-random',
      'add rule ip kube-proxy masquerading masquerade fully-random',
    ]);
  });

  it('is kube-proxy\'s own rule without the key', () => {
    expect(masqueradeRules().slice(-1)).toEqual(['add rule ip kube-proxy masquerading masquerade fully-random']);
    expect(masqueradeRules().join('\n')).not.toContain(' to :');
  });
});

describe('renderNftablesRules', () => {
  // Every example's whole ruleset is pinned by examples/golden/*/*.nft (the kernel's `nft list ruleset`), and
  // kube-proxy's own expected output by reference/; these cases name the behaviours that matter for NAT.
  it.each([
    // node ports on the node's primary IP only (kube-proxy's nftables default)
    ['nodeport-cluster.yaml', 'node3', /^add element ip kube-proxy nodeport-ips \{ 198\.18\.0\.13 \}$/],
    ['nodeport-cluster.yaml', 'node3', /^add element ip kube-proxy service-nodeports \{ tcp \. 30080 : goto external-\w{8}-default\/web\/tcp\/http \}$/],
    ['nodeport-cluster.yaml', 'node3', /^add rule ip kube-proxy external-\S+ jump mark-for-masquerade$/],
    ['nodeport-local.yaml', 'node1', /^add rule ip kube-proxy external-\w{8}-(\S+) goto local-\w{8}-\1$/],
    // Local policy on a node without endpoints: external traffic dropped in filter-input, pods and the node short-circuit
    ['nodeport-local.yaml', 'node3', /^add element ip kube-proxy no-endpoint-nodeports \{ tcp \. 30080 comment "default\/web:http" : drop \}$/],
    ['lb-local.yaml', 'node3', /^add element ip kube-proxy no-endpoint-services \{ 203\.0\.113\.10 \. tcp \. 80 comment "default\/web:http" : drop \}$/],
    ['lb-local.yaml', 'node3', /^add rule ip kube-proxy external-\S+ ip saddr 198\.19\.0\.0\/16 goto service-\S+ comment "short-circuit pod traffic"$/],
    ['lb-cluster.yaml', 'node1', /^add element ip kube-proxy service-ips \{ 203\.0\.113\.10 \. tcp \. 80 : goto external-\S+ \}$/],
    ['clusterip-from-pod.yaml', 'node1', /^add rule ip kube-proxy endpoint-\S+__198\.19\.1\.11\/8080 ip saddr 198\.19\.1\.11 jump mark-for-masquerade$/],
    ['clusterip-from-pod.yaml', 'node1', /^add rule ip kube-proxy service-\S+ ip daddr 198\.18\.255\.10 ip saddr != 198\.19\.0\.0\/16 jump mark-for-masquerade$/],
    ['clusterip-from-pod.yaml', 'node1', /^add rule ip kube-proxy masquerading masquerade fully-random$/],
    ['clusterip-from-pod.yaml', 'node1', /^add rule ip kube-proxy cluster-ips-check ip daddr \{ 198\.18\.255\.0\/24 \} drop comment "Drop traffic to unallocated ClusterIPs"$/],
  ])('%s on %s has %s', (example, node, pattern) => {
    expect(grep(rulesFor(example, node), pattern)).toHaveLength(1);
  });

  it('picks among endpoints with one uniform draw: numgen random mod n over every endpoint', () => {
    const picks = grep(rulesFor('lb-local-imbalance.yaml', 'node1'), /numgen random/);
    // service- (all four pods) and local- (node1's three)
    expect(picks.map((l) => /mod (\d+)/.exec(l)?.[1])).toEqual(['4', '3']);
    expect(picks[1]).toMatch(/^add rule ip kube-proxy local-\S+ numgen random mod 3 vmap \{ 0 : goto endpoint-\S+__198\.19\.1\.11\/8080 , 1 : goto endpoint-\S+__198\.19\.1\.12\/8080 , 2 : goto endpoint-\S+__198\.19\.1\.13\/8080 \}$/);
  });

  it('declares before it uses: table, sets and maps, chains, then rules and elements', () => {
    const rank: Record<string, number> = { table: 0, set: 1, map: 1, chain: 2, rule: 3, element: 4 };
    const ranks = rulesFor('lb-local.yaml', 'node1')
      .filter(Boolean)
      .map((l) => rank[l.split(' ')[1] as string]);
    expect(ranks).not.toContain(undefined);
    expect(ranks).toEqual([...ranks].sort((a = 0, b = 0) => a - b));
  });

  it('has no iptables-mode leftovers: no KUBE- names, no localhost node ports', () => {
    const lines = rulesFor('nodeport-cluster.yaml', 'node1');
    expect(grep(lines, /KUBE-|127\.0\.0\.1|nfacct/)).toEqual([]);
  });

  it('matches UDP with meta l4proto udp and names the chains with the protocol, as kube-proxy does', () => {
    const lines = renderNftablesRules({ nodeName: 'n', nodeIP: '198.18.0.11', clusterCidr: CLUSTER_CIDR, nodePortAddresses: ['primary'], serviceCidrs: [SERVICE_CIDR], services: [dnsService], endpointSlices: [dnsSlice] }).split('\n');
    // FY5PMXPG is the hash of "kube-system/kube-dns/udp/dns"; NWBZK7IH (dns-tcp) is the chain of a real k3s node's kube-dns
    expect(grep(lines, /^add element ip kube-proxy service-ips \{ 198\.18\.255\.53 \. udp \. 53 : goto service-FY5PMXPG-kube-system\/kube-dns\/udp\/dns \}$/)).toHaveLength(1);
    expect(grep(lines, /^add element ip kube-proxy service-ips \{ 198\.18\.255\.53 \. tcp \. 53 : goto service-NWBZK7IH-kube-system\/kube-dns\/tcp\/dns-tcp \}$/)).toHaveLength(1);
    expect(grep(lines, /^add rule ip kube-proxy endpoint-\w{8}-kube-system\/kube-dns\/udp\/dns__198\.19\.\d\.11\/5353 meta l4proto udp dnat to 198\.19\.\d\.11:5353$/)).toHaveLength(2);
    expect(grep(lines, /^add rule ip kube-proxy endpoint-\w{8}-kube-system\/kube-dns\/tcp\/dns-tcp__198\.19\.\d\.11\/5353 meta l4proto tcp dnat to/)).toHaveLength(2);
    expect(grep(lines, /^add element ip kube-proxy service-nodeports \{ udp \. 30053 : goto external-FY5PMXPG-kube-system\/kube-dns\/udp\/dns \}$/)).toHaveLength(1);
  });

  it('keeps a Service without endpoints out of the NAT maps and rejects it in filter', () => {
    const lines = renderNftablesRules({
      nodeName: 'n',
      nodeIP: '198.18.0.11',
      clusterCidr: CLUSTER_CIDR,
      serviceCidrs: [SERVICE_CIDR],
      endpointSlices: [],
      services: [{ kind: 'Service', metadata: { name: 'empty', namespace: 'default' }, spec: { type: 'NodePort', clusterIP: '198.18.255.99', ports: [{ protocol: 'TCP', port: 80, nodePort: 30099 }] }, status: {} }],
    }).split('\n');
    expect(grep(lines, new RegExp(`^${E} no-endpoint-services \\{ 198\\.18\\.255\\.99 \\. tcp \\. 80 comment "default/empty" : goto reject-chain \\}$`))).toHaveLength(1);
    expect(grep(lines, new RegExp(`^${E} no-endpoint-nodeports \\{ tcp \\. 30099 comment "default/empty" : goto reject-chain \\}$`))).toHaveLength(1);
    expect(grep(lines, new RegExp(`^${E} (service-ips|service-nodeports) `))).toEqual([]);
    // without --nodeport-addresses every local address takes node ports: no nodeport-ips set, fib instead
    expect(grep(lines, /nodeport-ips/)).toEqual([]);
    expect(grep(lines, new RegExp(`^${P} services fib daddr type local ip daddr != 127\\.0\\.0\\.0/8 meta l4proto \\. th dport vmap @service-nodeports$`))).toHaveLength(1);
  });
});
