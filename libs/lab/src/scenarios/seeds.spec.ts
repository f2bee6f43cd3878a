import { PROXY_MODES, connectionsPerPod, expectGoldenRules, seenAddresses, useLab } from '../testing';

// The demo's lab (`natlens demo`): a Local-policy LoadBalancer Service beside a Cluster-policy NodePort Service.
describe.each(PROXY_MODES)('example seeds, kube-proxy %s mode (real kernel)', (proxyMode) => {
  const lab = useLab('seeds.yaml', { proxyMode });
  const alice = '198.51.100.79';

  it('pins the kube-proxy rules of every node', async () => {
    await expectGoldenRules(lab.name, 'seeds');
  });

  it('keeps the client address for default/web (Local) and sends nothing to node3, which has no web pod', async () => {
    const since = Date.now();
    const result = await lab.traffic({ service: 'default/web', via: { kind: 'lb' }, client: 'alice', connections: 120 });
    expect(result).toMatchObject({ made: 120, succeeded: 120, failed: 0 });
    const truth = lab.truth(since).filter((p) => p.pod.startsWith('web-'));
    expect([...seenAddresses(truth)]).toEqual([alice]);
    const perPod = connectionsPerPod(truth);
    expect((perPod['web-1'] ?? 0) + (perPod['web-2'] ?? 0) + (perPod['web-3'] ?? 0)).toBe(120);
  });

  it('SNATs default/api (Cluster) to the entry node: through node2, which has no api pod, both pods see node2', async () => {
    const since = Date.now();
    const result = await lab.traffic({ service: 'default/api', via: { kind: 'node', node: 'node2' }, client: 'bob', connections: 60 });
    expect(result).toMatchObject({ made: 60, succeeded: 60, failed: 0 });
    const truth = lab.truth(since).filter((p) => p.pod.startsWith('api-'));
    expect([...seenAddresses(truth)]).toEqual(['198.18.0.12']);
    expect(Object.values(connectionsPerPod(truth)).every((n) => n > 0)).toBe(true);
  });
});
