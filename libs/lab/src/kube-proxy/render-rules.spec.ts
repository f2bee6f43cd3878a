import { KubeEndpointSlice, KubeService } from '@natlens/shared-model';
import { renderKubeProxyRules } from './render-rules';
import { buildInventory } from '../inventory/build-inventory';
import { CLUSTER_CIDR, resolveLab } from '../topology/addressing';
import { exampleTopology } from '../testing';

function rulesFor(example: string, nodeName: string): string[] {
  const inventory = buildInventory(resolveLab(exampleTopology(example)));
  const services = inventory.items.filter((o): o is KubeService => o.kind === 'Service');
  const endpointSlices = inventory.items.filter((o): o is KubeEndpointSlice => o.kind === 'EndpointSlice');
  return renderKubeProxyRules({ nodeName, clusterCidr: CLUSTER_CIDR, services, endpointSlices }).split('\n');
}

const grep = (lines: string[], pattern: RegExp) => lines.filter((l) => pattern.test(l));

describe('renderKubeProxyRules', () => {
  // The full output of every example is pinned by examples/golden/*/*.iptables-save (checked in the lab suites
  // through the kernel's own iptables-save); these cases name the behaviours that matter for NAT.
  it.each([
    ['nodeport-cluster.yaml', 'node3', /-A KUBE-EXT-\S+ .*masquerade traffic for default\/web:http external destinations.* -j KUBE-MARK-MASQ/],
    ['nodeport-local.yaml', 'node1', /-A KUBE-EXT-(\S+) -j KUBE-SVL-\1/],
    ['nodeport-local.yaml', 'node3', /-A KUBE-EXTERNAL-SERVICES .*has no local endpoints.* --dport 30080 -j DROP/],
    ['lb-local.yaml', 'node3', /-A KUBE-EXTERNAL-SERVICES -d 203\.0\.113\.10\/32 .*has no local endpoints.* -j DROP/],
    ['lb-local.yaml', 'node1', /-A KUBE-NODEPORTS .*health check node port.* --dport 32122 -j ACCEPT/],
    ['lb-cluster.yaml', 'node1', /-A KUBE-SERVICES -d 203\.0\.113\.10\/32 .*loadbalancer IP.* -j KUBE-FW-/],
    ['clusterip-from-pod.yaml', 'node1', /-A KUBE-SEP-\S+ -s 198\.19\.1\.11\/32 .* -j KUBE-MARK-MASQ/],
    ['clusterip-from-pod.yaml', 'node1', /-A KUBE-POSTROUTING .* -j MASQUERADE --random-fully/],
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

  it('sends nothing to the EXT chain on a Local-policy node without endpoints', () => {
    const lines = rulesFor('nodeport-local.yaml', 'node3');
    expect(grep(lines, /KUBE-EXT-/)).toEqual([]);
    expect(grep(lines, /^-A KUBE-NODEPORTS/).filter((l) => l.includes('30080'))).toEqual([]);
  });

  it('rejects traffic to a service without any endpoint', () => {
    const lines = renderKubeProxyRules({
      nodeName: 'n',
      clusterCidr: CLUSTER_CIDR,
      endpointSlices: [],
      services: [{ kind: 'Service', metadata: { name: 'empty', namespace: 'default' }, spec: { type: 'ClusterIP', clusterIP: '198.18.255.99', ports: [{ protocol: 'TCP', port: 80 }] }, status: {} }],
    }).split('\n');
    expect(grep(lines, /-A KUBE-SERVICES -d 198\.18\.255\.99\/32 .*has no endpoints.* -j REJECT/)).toHaveLength(1);
    expect(grep(lines, /KUBE-SVC-/)).toEqual([]);
  });
});
