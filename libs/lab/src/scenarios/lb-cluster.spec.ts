import { PROXY_MODES, connectionsPerPod, expectGoldenRules, expectShare, seenAddresses, useLab } from '../testing';
import { labLoadBalancerStatus } from '../lab';

describe.each(PROXY_MODES)('example lb-cluster, kube-proxy %s mode (real kernel)', (proxyMode) => {
  const lab = useLab('lb-cluster.yaml', { proxyMode });
  const nodeAddresses = ['198.18.0.11', '198.19.1.1', '198.18.0.12', '198.19.2.1', '198.18.0.13', '198.19.3.1'];

  it('pins the kube-proxy rules of every node', async () => {
    await expectGoldenRules(lab.name, 'lb-cluster');
  });

  it('keeps every node in the load balancer: all pass kube-proxy /healthz', () => {
    expect(labLoadBalancerStatus(lab.name)?.services['default/web']?.healthyNodes).toEqual(['node1', 'node2', 'node3']);
  });

  it('spreads connections over all nodes, each SNATing to itself: pods see node addresses only', async () => {
    const since = Date.now();
    const n = 600;
    const result = await lab.traffic({ service: 'default/web', via: { kind: 'lb' }, client: 'alice', connections: n });
    expect(result).toMatchObject({ made: n, succeeded: n, failed: 0 });
    const truth = lab.truth(since);
    const seen = seenAddresses(truth);
    for (const address of seen) expect(nodeAddresses).toContain(address);
    // node3 has no pod, yet its address reaches pods: it received a share and forwarded it
    expect(seen.has('198.18.0.13')).toBe(true);
    const perPod = connectionsPerPod(truth);
    expectShare(perPod['web-1'] ?? 0, n, 1 / 2);
    expectShare(perPod['web-2'] ?? 0, n, 1 / 2);
  });
});
