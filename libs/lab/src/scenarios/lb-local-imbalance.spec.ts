import { PROXY_MODES, connectionsPerPod, expectGoldenRules, expectShare, useLab } from '../testing';

describe.each(PROXY_MODES)('example lb-local-imbalance, kube-proxy %s mode (real kernel)', (proxyMode) => {
  const lab = useLab('lb-local-imbalance.yaml', { proxyMode });

  it('pins the kube-proxy rules of every node', async () => {
    await expectGoldenRules(lab.name, 'lb-local-imbalance');
  });

  it('splits per node, then per local pod: ~16.7% for each pod on node1, ~50% for the lone pod on node2', async () => {
    const since = Date.now();
    const n = 1200;
    const result = await lab.traffic({ service: 'default/web', via: { kind: 'lb' }, client: 'alice', connections: n, concurrency: 24 });
    expect(result).toMatchObject({ made: n, succeeded: n, failed: 0 });
    const perPod = connectionsPerPod(lab.truth(since));
    for (const pod of ['web-1', 'web-2', 'web-3']) expectShare(perPod[pod] ?? 0, n, 1 / 6);
    expectShare(perPod['web-4'] ?? 0, n, 1 / 2);
  });
});
