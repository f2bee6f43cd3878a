import { connectionsPerPod, expectGoldenRules, expectShare, seenAddresses, useLab } from '../testing';
import type { IptablesFlavour } from '../runtime/lab-state';
import type { ProxyMode } from '../topology/topology.schema';

const node1 = ['198.18.0.11', '198.19.1.1'];
const node3 = ['198.18.0.13', '198.19.3.1'];

// The same scenario in kube-proxy's nftables mode and in its iptables mode on both iptables back ends: kube-proxy's
// rules must mean the same under nft and legacy.
describe.each<[ProxyMode, IptablesFlavour]>([
  ['iptables', 'nft'],
  ['iptables', 'legacy'],
  ['nftables', 'nft'],
])('example nodeport-cluster, kube-proxy %s mode (iptables-%s) (real kernel)', (proxyMode, iptables) => {
  const lab = useLab('nodeport-cluster.yaml', { proxyMode, iptables });

  it('pins the kube-proxy rules of every node', async () => {
    await expectGoldenRules(lab.name, 'nodeport-cluster');
  });

  it('SNATs every connection to the entry node, which forwards to pods on other nodes', async () => {
    const since = Date.now();
    const n = 600;
    const result = await lab.traffic({ service: 'default/web', via: { kind: 'node', node: 'node3' }, client: 'alice', connections: n });
    expect(result).toMatchObject({ made: n, succeeded: n, failed: 0 });
    const truth = lab.truth(since);
    // node3 has no endpoint: every connection leaves it for node1 or node2 with node3's address as source
    expect([...seenAddresses(truth)]).toEqual(['198.18.0.13']);
    const perPod = connectionsPerPod(truth);
    expectShare(perPod['web-1'] ?? 0, n, 1 / 2);
    expectShare(perPod['web-2'] ?? 0, n, 1 / 2);
  });

  it('SNATs even when the endpoint is local: the local pod sees the node bridge address', async () => {
    const since = Date.now();
    const result = await lab.traffic({ service: 'default/web', via: { kind: 'node', node: 'node1' }, client: 'alice', connections: 200 });
    expect(result.succeeded).toBe(200);
    const truth = lab.truth(since);
    expect(Object.keys(truth.find((p) => p.pod === 'web-1')?.seen ?? {})).toEqual([node1[1]]);
    expect(Object.keys(truth.find((p) => p.pod === 'web-2')?.seen ?? {})).toEqual([node1[0]]);
    for (const address of seenAddresses(truth)) expect([...node1, ...node3]).toContain(address);
    expect(seenAddresses(truth).has('198.51.100.79')).toBe(false);
  });
});
