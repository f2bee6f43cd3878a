import { PROXY_MODES, expectGoldenRules, useLab } from '../testing';

describe.each(PROXY_MODES)('example nodeport-local, kube-proxy %s mode (real kernel)', (proxyMode) => {
  const lab = useLab('nodeport-local.yaml', { proxyMode });
  const alice = '198.51.100.79';

  it('pins the kube-proxy rules of every node', async () => {
    await expectGoldenRules(lab.name, 'nodeport-local');
  });

  it.each([
    ['node1', 'web-1'],
    ['node2', 'web-2'],
  ])('keeps the client address on %s and serves only from its local pod %s', async (node, pod) => {
    const since = Date.now();
    const result = await lab.traffic({ service: 'default/web', via: { kind: 'node', node }, client: 'alice', connections: 300 });
    expect(result).toMatchObject({ made: 300, succeeded: 300, failed: 0, servedBy: { [pod]: 300 } });
    const truth = lab.truth(since);
    expect(truth.find((p) => p.pod === pod)?.seen).toEqual({ [alice]: 300 });
    expect(truth.filter((p) => p.pod !== pod).every((p) => Object.keys(p.seen).length === 0)).toBe(true);
  });

  it('drops connections to a node without a local endpoint: the client times out and no pod sees anything', async () => {
    const since = Date.now();
    const result = await lab.traffic({ service: 'default/web', via: { kind: 'node', node: 'node3' }, client: 'alice', connections: 20, timeoutMs: 800 });
    expect(result).toMatchObject({ made: 20, succeeded: 0, failed: 20, errors: { timeout: 20 } });
    expect(lab.truth(since).every((p) => Object.keys(p.seen).length === 0)).toBe(true);
  });
});
