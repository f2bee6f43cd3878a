import { KubeEndpointSlice, KubeService } from '@natlens/shared-model';
import { iptablesRestoreFile, renderIptablesRules } from './render-iptables';
import { renderLabNodeRules } from './lab-node-rules';
import { buildInventory } from '../inventory/build-inventory';
import { CLUSTER_CIDR, resolveLab } from '../topology/addressing';
import { exampleTopology } from '../testing';
import { dnsService, dnsSlice } from './testing-services';

function rulesFor(example: string, nodeName: string): string[] {
  const lab = resolveLab(exampleTopology(example));
  const inventory = buildInventory(lab);
  const services = inventory.items.filter((o): o is KubeService => o.kind === 'Service');
  const endpointSlices = inventory.items.filter((o): o is KubeEndpointSlice => o.kind === 'EndpointSlice');
  const node = lab.nodes.find((n) => n.name === nodeName);
  if (!node) throw new Error(`no ${nodeName} in ${example}`);
  return renderLabNodeRules({ mode: 'iptables', node, services, endpointSlices, nfacctCounters: true }).text.split('\n');
}

const grep = (lines: string[], pattern: RegExp) => lines.filter((l) => pattern.test(l));

function postrouting(masqueradePorts?: { min: number; max: number }): string[] {
  const lab = resolveLab(exampleTopology('snat-port-exhaustion.yaml'));
  const inventory = buildInventory(lab);
  const services = inventory.items.filter((o): o is KubeService => o.kind === 'Service');
  const endpointSlices = inventory.items.filter((o): o is KubeEndpointSlice => o.kind === 'EndpointSlice');
  const node = lab.nodes[0] as (typeof lab.nodes)[number];
  const text = renderLabNodeRules({ mode: 'iptables', node, services, endpointSlices, nfacctCounters: false, ...(masqueradePorts ? { masqueradePorts } : {}) }).text;
  return text.split('\n').filter((l) => l.includes('-j MASQUERADE'));
}

describe('renderIptablesRules: the lab\'s masqueradePortRange', () => {
  it('limits the ports per protocol (--to-ports needs one), and masquerades the rest as kube-proxy does', () => {
    const comment = '-m comment --comment "kubernetes service traffic requiring SNAT"';
    expect(postrouting({ min: 40000, max: 40063 })).toEqual([
      `-A KUBE-POSTROUTING ${comment} -p tcp -j MASQUERADE --random-fully --to-ports 40000-40063`,
      `-A KUBE-POSTROUTING ${comment} -p udp -j MASQUERADE --random-fully --to-ports 40000-40063`,
      `-A KUBE-POSTROUTING ${comment} -p sctp -j MASQUERADE --random-fully --to-ports 40000-40063`,
      `-A KUBE-POSTROUTING ${comment} -j MASQUERADE --random-fully`,
    ]);
  });

  it('is kube-proxy\'s own rule without the key', () => {
    expect(postrouting()).toEqual(['-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully']);
  });
});

describe('renderIptablesRules', () => {
  // The full output of every example is pinned by examples/golden/*/*.iptables-save (checked in the lab suites
  // through the kernel's own iptables-save), and kube-proxy's own expected output by reference/; these cases name
  // the behaviours that matter for NAT.
  it.each([
    ['nodeport-cluster.yaml', 'node3', /^-A KUBE-EXT-\S+ -m comment --comment "masquerade traffic for default\/web:http external destinations" -j KUBE-MARK-MASQ$/],
    ['nodeport-local.yaml', 'node1', /^-A KUBE-EXT-(\S+) -j KUBE-SVL-\1$/],
    ['nodeport-local.yaml', 'node3', /^-A KUBE-EXTERNAL-SERVICES .*has no local endpoints.* --dport 30080 -j DROP$/],
    ['lb-local.yaml', 'node3', /^-A KUBE-EXTERNAL-SERVICES .*has no local endpoints.* -d 203\.0\.113\.10 --dport 80 -j DROP$/],
    ['lb-local.yaml', 'node1', /^-A KUBE-NODEPORTS .*"default\/web:http health check node port" -m tcp -p tcp --dport 32122 -j ACCEPT$/],
    // no loadBalancerSourceRanges: the LB IP goes straight to the EXT chain (a KUBE-FW chain only filters sources)
    ['lb-cluster.yaml', 'node1', /^-A KUBE-SERVICES .*"default\/web:http loadbalancer IP" -m tcp -p tcp -d 203\.0\.113\.10 --dport 80 -j KUBE-EXT-/],
    ['clusterip-from-pod.yaml', 'node1', /^-A KUBE-SEP-\S+ -m comment --comment default\/web:http -s 198\.19\.1\.11 -j KUBE-MARK-MASQ$/],
    ['clusterip-from-pod.yaml', 'node1', /^-A KUBE-POSTROUTING .* -j MASQUERADE --random-fully$/],
    // localhost node ports, counted by kube-proxy's nfacct counter, and the guard route_localnet needs
    ['nodeport-cluster.yaml', 'node1', /^-A KUBE-NODEPORTS .* -d 127\.0\.0\.0\/8 --dport 30080 -m nfacct --nfacct-name localhost_nps_accepted_pkts -j KUBE-EXT-/],
    ['nodeport-cluster.yaml', 'node1', /^-A KUBE-FIREWALL .*block incoming localnet connections/],
  ])('%s on %s has %s', (example, node, pattern) => {
    expect(grep(rulesFor(example, node), pattern)).toHaveLength(1);
  });

  it('gives each endpoint an equal chance: probabilities 1/n, 1/(n-1), ..., then a catch-all', () => {
    const jumps = grep(rulesFor('lb-local-imbalance.yaml', 'node1'), /^-A KUBE-SVC-.* -j KUBE-SEP-/);
    expect(jumps.map((l) => /--probability (\S+)/.exec(l)?.[1] ?? 'rest')).toEqual(['0.2500000000', '0.3333333333', '0.5000000000', 'rest']);
  });

  it('routes Local-policy traffic only to local endpoints', () => {
    const svl = grep(rulesFor('lb-local-imbalance.yaml', 'node2'), /^-A KUBE-SVL-/);
    expect(svl).toHaveLength(1);
    expect(svl[0]).toContain('198.19.2.11:8080');
  });

  it('on a Local-policy node without endpoints, keeps only the short-circuits for pods and the node, and drops the rest', () => {
    const lines = rulesFor('nodeport-local.yaml', 'node3');
    const ext = grep(lines, /^-A KUBE-EXT-/);
    expect(ext.map((l) => /--comment "(\w+ \w+)/.exec(l)?.[1])).toEqual(['pod traffic', 'masquerade LOCAL', 'route LOCAL']);
    expect(grep(lines, /KUBE-SVL-/)).toEqual([]);
    expect(grep(lines, /^-A KUBE-EXTERNAL-SERVICES .* --dport 30080 -j DROP$/)).toHaveLength(1);
  });

  it('rejects traffic to a service without any endpoint', () => {
    const { restore } = renderIptablesRules({
      nodeName: 'n',
      nodeIP: '198.18.0.11',
      clusterCidr: CLUSTER_CIDR,
      endpointSlices: [],
      services: [{ kind: 'Service', metadata: { name: 'empty', namespace: 'default' }, spec: { type: 'ClusterIP', clusterIP: '198.18.255.99', ports: [{ protocol: 'TCP', port: 80 }] }, status: {} }],
    });
    const lines = restore.split('\n');
    expect(grep(lines, /^-A KUBE-SERVICES -m comment --comment "default\/empty has no endpoints" -m tcp -p tcp -d 198\.18\.255\.99 --dport 80 -j REJECT$/)).toHaveLength(1);
    expect(grep(lines, /KUBE-SVC-/)).toEqual([]);
  });

  it('matches UDP ports with -m udp -p udp and hashes the protocol into the chain names, as kube-proxy does', () => {
    const { restore } = renderIptablesRules({ nodeName: 'n', nodeIP: '198.18.0.11', clusterCidr: CLUSTER_CIDR, services: [dnsService], endpointSlices: [dnsSlice] });
    const lines = restore.split('\n');
    // KUBE-SVC-TCOU7JCQXEZGVUNU (udp) and KUBE-SVC-ERIFXISQEP7F7OF4 (tcp) are the kube-dns chains of every cluster
    expect(grep(lines, /^-A KUBE-SERVICES .*"kube-system\/kube-dns:dns cluster IP" -m udp -p udp -d 198\.18\.255\.53 --dport 53 -j KUBE-SVC-TCOU7JCQXEZGVUNU$/)).toHaveLength(1);
    expect(grep(lines, /^-A KUBE-SERVICES .*"kube-system\/kube-dns:dns-tcp cluster IP" -m tcp -p tcp -d 198\.18\.255\.53 --dport 53 -j KUBE-SVC-ERIFXISQEP7F7OF4$/)).toHaveLength(1);
    expect(grep(lines, /-m udp -p udp -j DNAT --to-destination 198\.19\.\d\.11:5353$/)).toHaveLength(2);
    expect(grep(lines, /-m tcp -p tcp -j DNAT --to-destination 198\.19\.\d\.11:5353$/)).toHaveLength(2);
    // a UDP node port is matched as UDP
    expect(grep(lines, /^-A KUBE-NODEPORTS -m comment --comment kube-system\/kube-dns:dns -m udp -p udp --dport 30053 -j KUBE-EXT-TCOU7JCQXEZGVUNU$/)).toHaveLength(1);
  });

  it('merges the jumps from the built-in chains into one iptables-restore file, in the order kube-proxy leaves them', () => {
    const file = iptablesRestoreFile(renderIptablesRules({ nodeName: 'n', nodeIP: '198.18.0.11', clusterCidr: CLUSTER_CIDR, services: [], endpointSlices: [], localhostNodePorts: false }));
    const input = grep(file.split('\n'), /^-A INPUT /);
    expect(input.map((l) => l.split(' ').at(-1))).toEqual(['KUBE-FIREWALL', 'KUBE-PROXY-FIREWALL', 'KUBE-NODEPORTS', 'KUBE-EXTERNAL-SERVICES']);
    // without localhost node ports KUBE-FIREWALL is empty, but it exists: the jumps to it need it
    expect(file).toContain(':KUBE-FIREWALL - [0:0]');
    expect(grep(file.split('\n'), /^-A KUBE-FIREWALL/)).toEqual([]);
    expect(grep(file.split('\n'), /^-A KUBE-SERVICES .*nodeports.* ! -d 127\.0\.0\.0\/8 -j KUBE-NODEPORTS$/)).toHaveLength(1);
  });
});
