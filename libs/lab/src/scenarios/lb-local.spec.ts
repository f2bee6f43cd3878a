import { PROXY_MODES, connectionsPerPod, expectGoldenRules, expectShare, readState, runIn, useLab } from '../testing';
import { labLoadBalancerStatus } from '../lab';

describe.each(PROXY_MODES)('example lb-local with health checks, kube-proxy %s mode (real kernel)', (proxyMode) => {
  const lab = useLab('lb-local.yaml', { proxyMode, healthCheckIntervalMs: 500 });
  const alice = '198.51.100.79';

  it('pins the kube-proxy rules of every node', async () => {
    await expectGoldenRules(lab.name, 'lb-local');
  });

  it.each([
    ['node1', '198.18.0.11', 200, 2],
    ['node2', '198.18.0.12', 200, 1],
    ['node3', '198.18.0.13', 503, 0],
  ])('%s answers the health check like kube-proxy', async (_node, address, status, localEndpoints) => {
    const out = await runIn(readState(lab.name).netns.edge, ['curl', '-s', '-m', '2', '-w', '\n%{http_code}', `http://${address}:32122/healthz`]);
    const [body, code] = out.split('\n');
    expect(Number(code)).toBe(status);
    expect(JSON.parse(body ?? '')).toEqual({ service: { namespace: 'default', name: 'web' }, localEndpoints, serviceProxyHealthy: true });
  });

  it('sends traffic only to nodes with endpoints, and pods see the client address', async () => {
    expect(labLoadBalancerStatus(lab.name)?.services['default/web']?.healthyNodes).toEqual(['node1', 'node2']);
    const since = Date.now();
    const n = 800;
    const result = await lab.traffic({ service: 'default/web', via: { kind: 'lb' }, client: 'alice', connections: n });
    expect(result).toMatchObject({ made: n, succeeded: n, failed: 0 });
    const truth = lab.truth(since);
    for (const pod of truth) expect(Object.keys(pod.seen)).toEqual([alice]);
    // per node, not per pod: node1's half is split by its two pods
    const perPod = connectionsPerPod(truth);
    expectShare(perPod['web-1'] ?? 0, n, 1 / 4);
    expectShare(perPod['web-2'] ?? 0, n, 1 / 4);
    expectShare(perPod['web-3'] ?? 0, n, 1 / 2);
  });

  it('takes a node out within seconds when its health check stops answering', async () => {
    const state = readState(lab.name);
    const health = state.processes.find((p) => p.role === 'health' && p.subject === 'node2');
    process.kill(health?.pid ?? 0, 'SIGKILL');
    const deadline = Date.now() + 5000;
    while (labLoadBalancerStatus(lab.name)?.services['default/web']?.healthyNodes.join() !== 'node1') {
      if (Date.now() > deadline) throw new Error('node2 still in the load balancer 5 s after its health check died');
      await new Promise((r) => setTimeout(r, 100));
    }
    const routes = await runIn(state.netns.edge, ['ip', 'route', 'show', '203.0.113.10/32']);
    expect(routes).toContain('via 198.18.0.11');
    expect(routes).not.toContain('198.18.0.12');
    const since = Date.now();
    const result = await lab.traffic({ service: 'default/web', via: { kind: 'lb' }, client: 'alice', connections: 100 });
    expect(result.succeeded).toBe(100);
    expect(connectionsPerPod(lab.truth(since))['web-3']).toBe(0);
  });
});
