import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { conntrackStats, EXAMPLES_DIR, expectGoldenRules, PROXY_MODES, readState, runIn, statsDelta, useLab } from '../testing';

/*
 * examples/snat-port-exhaustion.yaml on the real kernel: node1's masquerade rule may pick 64 source ports
 * (kubeProxy.masqueradePortRange "40000-40063"), so of 100 connections held open at once through node1's node port
 * to web-1 on node2, 64 get in and 36 do not: conntrack cannot insert their entries (insert_failed, drop) and their
 * SYNs are dropped. Another Service's pair on the same node keeps working meanwhile.
 */
describe.each(PROXY_MODES)('example snat-port-exhaustion, kube-proxy %s mode (real kernel)', (proxyMode) => {
  const lab = useLab('snat-port-exhaustion.yaml', { proxyMode });
  const node1 = '198.18.0.11';

  it('pins the kube-proxy rules of every node: the masquerade rule limited to 40000-40063', async () => {
    await expectGoldenRules(lab.name, 'snat-port-exhaustion');
    const golden = readFileSync(join(EXAMPLES_DIR, 'golden', 'snat-port-exhaustion', `node1.${proxyMode === 'iptables' ? 'iptables-save' : 'nft'}`), 'utf8');
    if (proxyMode === 'iptables') {
      expect(golden).toMatch(/^-A KUBE-POSTROUTING -p tcp -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --to-ports 40000-40063 --random-fully$/m);
      // ICMP (no ports) still masquerades as kube-proxy writes it
      expect(golden).toMatch(/^-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully$/m);
    } else {
      expect(golden).toMatch(/meta l4proto \{ [a-z, ]+ \} masquerade to :40000-40063 fully-random/);
      expect(golden).toMatch(/^\s+masquerade fully-random$/m);
    }
  });

  it('exhausts the (node1, web-1:8080) pair: 64 connections get in, the rest fail as insert failures', async () => {
    const before = await conntrackStats(lab.name, 'node1');
    const since = Date.now();
    const holding = lab.traffic({ service: 'default/web', via: { kind: 'node', node: 'node1' }, client: 'alice', connections: 100, holdMs: 6000, timeoutMs: 3000 });
    // the pair's connections as node1's conntrack holds them, once the traffic process has opened them
    let inUse: number[] = [];
    for (let waited = 0; waited < 5000 && inUse.length < 64; waited += 200) {
      await new Promise((r) => setTimeout(r, 200));
      inUse = (await runIn(readState(lab.name).netns.nodes['node1'] as string, ['conntrack', '-L', '-p', 'tcp']))
        .split('\n')
        .filter((line) => line.includes(' ESTABLISHED '))
        .map((line) => /src=198\.19\.2\.11 dst=198\.18\.0\.11 sport=8080 dport=(\d+)/.exec(line)?.[1])
        .filter((port): port is string => port !== undefined)
        .map(Number);
    }
    // while web's pair is full, api's pair on the same node (another destination) still has all its ports
    const other = await lab.traffic({ service: 'default/api', via: { kind: 'node', node: 'node1' }, client: 'alice', connections: 20 });
    const held = await holding;
    const after = await conntrackStats(lab.name, 'node1');

    expect(held).toMatchObject({ made: 100, succeeded: 64, failed: 36, errors: { timeout: 36 }, servedBy: { 'web-1': 64 }, seen: { [node1]: 64 } });
    expect(new Set(inUse).size).toBe(64);
    for (const port of inUse) expect(port >= 40000 && port <= 40063).toBe(true);
    expect(other).toMatchObject({ made: 20, succeeded: 20, failed: 0, servedBy: { 'api-1': 20 } });
    // every SYN of the 36 (and its retransmission) was refused by conntrack: at least one insert failure each
    const delta = statsDelta(before, after);
    expect(delta['insert_failed']).toBeGreaterThanOrEqual(36);
    expect(delta['drop']).toBe(delta['insert_failed']);
    expect(lab.truth(since).find((p) => p.pod === 'web-1')?.seen).toEqual({ [node1]: 64 });
  }, 60_000);
});
