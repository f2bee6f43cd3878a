import { PROXY_MODES, expectGoldenRules, seenAddresses, useLab } from '../testing';

const examples: [file: string, golden: string, realClient: string | undefined][] = [
  ['lb-proxy.yaml', 'lb-proxy', undefined],
  ['lb-proxy-xff.yaml', 'lb-proxy-xff', '198.51.100.79'],
  ['lb-proxy-protocol.yaml', 'lb-proxy-protocol', '198.51.100.79'],
];

const cases = examples.flatMap(([file, golden, realClient]) => PROXY_MODES.map((proxyMode) => ({ file, golden, realClient, proxyMode })));

describe.each(cases)('example $file, kube-proxy $proxyMode mode (real kernel)', ({ file, golden, realClient, proxyMode }) => {
  const lab = useLab(file, { proxyMode });

  it('pins the kube-proxy rules of every node', async () => {
    await expectGoldenRules(lab.name, golden);
  });

  it(`shows pods the load balancer's address${realClient ? ', and the real client in a PROXY or X-Forwarded-For header' : ' and nothing else'}`, async () => {
    const since = Date.now();
    const n = 300;
    const result = await lab.traffic({ service: 'default/web', via: { kind: 'lb' }, client: 'alice', connections: n });
    expect(result).toMatchObject({ made: n, succeeded: n, failed: 0 });
    const truth = lab.truth(since);
    expect([...seenAddresses(truth)]).toEqual(['198.18.0.254']);
    const real = truth.flatMap((p) => Object.entries(p.realClients ?? {}));
    if (realClient) {
      expect(real.every(([address]) => address === realClient)).toBe(true);
      expect(real.reduce((sum, [, count]) => sum + count, 0)).toBe(n);
    } else {
      expect(real).toEqual([]);
    }
  });
});
