import { conntrackStats, expectGoldenRules, PROXY_MODES, statsDelta, useLab } from '../testing';

/*
 * examples/dns-race.yaml on the real kernel: the resolver pod sends pairs of queries at once from one source port to
 * a UDP ClusterIP with two endpoints. When node1's kernel handles both at the same time they race to create the
 * conntrack entry. Kernels before 5.x dropped the loser (insert_failed, the 5-second DNS delay); this one (6.18)
 * resolves UDP clashes (clash_resolve) and lets the loser through, even to the other endpoint (a "split" pair). The
 * suite accepts either outcome and checks they add up: the race happened, every lost query is an insert failure,
 * every split pair a resolved clash.
 */
describe.each(PROXY_MODES)('example dns-race, kube-proxy %s mode (real kernel)', (proxyMode) => {
  const lab = useLab('dns-race.yaml', { proxyMode });
  const resolver = '198.19.1.12';

  it('pins the kube-proxy rules of every node', async () => {
    await expectGoldenRules(lab.name, 'dns-race');
  });

  it('races pairs of queries in node1\'s conntrack: clashes resolved or dropped, counted either way', async () => {
    const before = await conntrackStats(lab.name, 'node1');
    const since = Date.now();
    const pairs = 400;
    const result = await lab.traffic({ service: 'default/dns', via: { kind: 'pod', namespace: 'default', name: 'resolver' }, connections: pairs, pairs: true, timeoutMs: 1000 });
    const delta = statsDelta(before, await conntrackStats(lab.name, 'node1'));

    expect(result.made).toBe(2 * pairs);
    expect(result.pairs?.sent).toBe(pairs);
    expect(result.succeeded + result.failed).toBe(2 * pairs);
    const clashes = (delta['clash_resolve'] ?? 0) + (delta['insert_failed'] ?? 0);
    expect(clashes).toBeGreaterThan(0);
    expect(result.failed).toBeLessThanOrEqual(delta['insert_failed'] ?? 0);
    expect(result.pairs?.split ?? 0).toBeLessThanOrEqual(delta['clash_resolve'] ?? 0);
    // no SNAT on a pod's queries to a ClusterIP: both pods see the resolver itself
    expect(Object.keys(result.seen)).toEqual([resolver]);
    const seen = lab.truth(since).flatMap((p) => Object.keys(p.seen));
    expect(new Set(seen)).toEqual(new Set([resolver]));
  }, 120_000);
});
