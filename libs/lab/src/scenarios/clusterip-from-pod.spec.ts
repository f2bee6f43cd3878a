import { PROXY_MODES, connectionsPerPod, expectGoldenRules, expectShare, useLab } from '../testing';

describe.each(PROXY_MODES)('example clusterip-from-pod, kube-proxy %s mode (real kernel)', (proxyMode) => {
  const lab = useLab('clusterip-from-pod.yaml', { proxyMode });
  const tester = '198.19.3.11';

  it('pins the kube-proxy rules of every node', async () => {
    await expectGoldenRules(lab.name, 'clusterip-from-pod');
  });

  it('delivers a pod-to-ClusterIP connection with the calling pod as source: DNAT, no SNAT', async () => {
    const since = Date.now();
    const n = 600;
    const result = await lab.traffic({ service: 'default/web', via: { kind: 'pod', namespace: 'default', name: 'tester' }, connections: n });
    expect(result).toMatchObject({ made: n, succeeded: n, failed: 0 });
    const truth = lab.truth(since);
    for (const pod of truth) expect(Object.keys(pod.seen)).toEqual([tester]);
    const perPod = connectionsPerPod(truth);
    expectShare(perPod['web-1'] ?? 0, n, 1 / 2);
    expectShare(perPod['web-2'] ?? 0, n, 1 / 2);
  });

  it('masquerades hairpin traffic: a pod reaching itself sees its node bridge address, others see the pod', async () => {
    const since = Date.now();
    const result = await lab.traffic({ service: 'default/web', via: { kind: 'pod', namespace: 'default', name: 'web-1' }, connections: 200 });
    expect(result.succeeded).toBe(200);
    const truth = lab.truth(since);
    const web1 = truth.find((p) => p.pod === 'web-1');
    const web2 = truth.find((p) => p.pod === 'web-2');
    expect(Object.keys(web1?.seen ?? {})).toEqual(['198.19.1.1']);
    expect(Object.keys(web2?.seen ?? {})).toEqual(['198.19.1.11']);
  });
});
