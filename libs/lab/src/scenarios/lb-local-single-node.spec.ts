import { connectionsPerPod, expectGoldenRules, expectShare, PROXY_MODES, readState, runIn, useLab } from '../testing';
import { labLoadBalancerStatus } from '../lab';

/*
 * A single-node load balancer (MetalLB L2's behaviour) in front of a Local-policy Service: every connection enters
 * one node, so only that node's pods serve, and the pods of the other healthy node get none until it fails over.
 */
describe.each(PROXY_MODES)('example lb-local-single-node, kube-proxy %s mode (real kernel)', (proxyMode) => {
  const lab = useLab('lb-local-single-node.yaml', { healthCheckIntervalMs: 500, proxyMode });
  const alice = '198.51.100.79';

  it('pins the kube-proxy rules of every node', async () => {
    await expectGoldenRules(lab.name, 'lb-local-single-node');
  });

  it('sends every connection to one healthy node: its pods share them, the other node\'s pod gets none', async () => {
    const status = labLoadBalancerStatus(lab.name)?.services['default/web'];
    expect(status).toMatchObject({ distribution: 'single-node', healthyNodes: ['node1', 'node2'], receivingNodes: ['node1'] });
    const routes = await runIn(readState(lab.name).netns.edge, ['ip', 'route', 'show', '203.0.113.10/32']);
    expect(routes.trim()).toBe('203.0.113.10 via 198.18.0.11 dev brnodes');
    const since = Date.now();
    const n = 600;
    const result = await lab.traffic({ service: 'default/web', via: { kind: 'lb' }, client: 'alice', connections: n });
    expect(result).toMatchObject({ made: n, succeeded: n, failed: 0 });
    const truth = lab.truth(since);
    for (const pod of truth) expect(Object.keys(pod.seen).filter((seen) => seen !== alice)).toEqual([]);
    const perPod = connectionsPerPod(truth);
    expect(perPod['web-3'] ?? 0).toBe(0);
    expectShare(perPod['web-1'] ?? 0, n, 1 / 2);
    expectShare(perPod['web-2'] ?? 0, n, 1 / 2);
  });

  it('moves everything to the next healthy node when the chosen one fails its health check', async () => {
    const state = readState(lab.name);
    const health = state.processes.find((p) => p.role === 'health' && p.subject === 'node1');
    process.kill(health?.pid ?? 0, 'SIGKILL');
    const deadline = Date.now() + 5000;
    while (labLoadBalancerStatus(lab.name)?.services['default/web']?.receivingNodes.join() !== 'node2') {
      if (Date.now() > deadline) throw new Error('the load balancer still sends to node1 5 s after its health check died');
      await new Promise((r) => setTimeout(r, 100));
    }
    const since = Date.now();
    const result = await lab.traffic({ service: 'default/web', via: { kind: 'lb' }, client: 'alice', connections: 100 });
    expect(result.succeeded).toBe(100);
    const perPod = connectionsPerPod(lab.truth(since));
    expect(['web-1', 'web-2', 'web-3'].map((pod) => perPod[pod] ?? 0)).toEqual([0, 0, 100]);
  });
});
