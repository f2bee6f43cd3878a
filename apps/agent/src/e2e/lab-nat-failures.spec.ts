import type { FlowRecord } from '@natlens/shared-model';
import { estimateNatFailures, type FailureCounterSample } from '@natlens/agent-records';
import { waitFor } from '@natlens/agent-daemon/testing';
import { conntrackStats, PROXY_MODES, statsDelta } from '@natlens/lab/testing';
import { count, useLabAgents } from './lab-agent-suite';

/*
 * Issue 20's failures on the real kernel, with agents on every lab node: one set on the eBPF source, one on the
 * conntrack source.
 * - snat-port-exhaustion: 100 connections held open at once through node1's node port for web-1 on node2, whose
 *   (node1, web-1:8080) pair has 64 SNAT ports. The eBPF agent reports every SYN conntrack refused as a
 *   dropped-nat-failure record of default/web, observed, reason nat-port-exhausted, one per insert_failed. The
 *   conntrack agent cannot see them (a refused packet is never an entry); its live estimate from node1's counters
 *   (its health sampler) attributes them to default/web, as estimated, and so does the estimate computed here from
 *   `conntrack -S` and its records.
 * - dns-race: pairs of queries at once from one source port to a UDP ClusterIP with two endpoints. This kernel
 *   (6.18) resolves the clashes (clash_resolve) instead of dropping (insert_failed): the eBPF agent must report
 *   exactly as many failures as conntrack counted, all of default/dns, whichever way the kernel went.
 * The counters are read with `conntrack -S` (ctnetlink's per-CPU statistics), independently of the agents.
 */
const EBPF = 'ebpf';
const CONNTRACK = 'conntrack';
const sampleOf = (at: number, stats: Record<string, number>): FailureCounterSample => ({ at, insertFailed: stats['insert_failed'] ?? 0, drop: stats['drop'] ?? 0, entries: stats['entries'] ?? 0, max: null });

describe.each(PROXY_MODES)('NAT failures, kube-proxy %s mode (real kernel)', (proxyMode) => {
  describe('example snat-port-exhaustion', () => {
    const { lab, sets } = useLabAgents('snat-port-exhaustion.yaml', [EBPF, CONNTRACK], proxyMode);
    const failuresOf = (source: string, since: number) => (sets[source]?.receiver.all() ?? []).filter((r) => r.verdict === 'dropped-nat-failure' && r.lastSeen >= since);

    it('maps every SYN conntrack refused to default/web: observed with eBPF, estimated with conntrack', async () => {
      const before = await conntrackStats(lab.name, 'node1');
      const since = Date.now();
      const held = await lab.traffic({ service: 'default/web', via: { kind: 'node', node: 'node1' }, client: 'alice', connections: 100, holdMs: 5000, timeoutMs: 3000 });
      const until = Date.now();
      const after = await conntrackStats(lab.name, 'node1');
      expect(held).toMatchObject({ made: 100, succeeded: 64, failed: 36 });
      const insertFailed = statsDelta(before, after)['insert_failed'] ?? 0;
      expect(insertFailed).toBeGreaterThanOrEqual(36);

      // eBPF: each refused SYN is one record, with the translation NAT chose and the reason
      const ebpf = sets[EBPF];
      await waitFor(() => failuresOf(EBPF, since).length >= insertFailed, 15_000, () => `${failuresOf(EBPF, since).length} of ${insertFailed} NAT failures recorded; agent logs:\n${ebpf?.agents.map((a) => a.log()).join('\n')}`);
      await new Promise((r) => setTimeout(r, 500));
      const observed = failuresOf(EBPF, since);
      expect(observed).toHaveLength(insertFailed);
      expect(count(observed, (r) => `${r.node} ${r.service?.namespace}/${r.service?.name} ${r.client.ip}`)).toEqual({ 'node1 default/web 198.51.100.79': insertFailed });
      for (const record of observed) {
        expect(record).toMatchObject({
          source: 'ebpf',
          natFailure: { reason: 'nat-port-exhausted', kernelReason: 'SKB_DROP_REASON_NETFILTER_DROP', observed: true },
          service: { entry: 'nodePort', port: 80 },
          endpoint: { pod: 'web-1', node: 'node2' },
          original: { dst: '198.18.0.11', dport: 30080, proto: 'tcp' },
          translated: { src: '198.18.0.11', dst: '198.19.2.11', dport: 8080 },
          ended: true,
        });
        expect(record.translated.sport >= 40000 && record.translated.sport <= 40063).toBe(true);
      }
      // the 64 that got in are ordinary records of the same Service
      const admitted = (sets[EBPF]?.receiver.all() ?? []).filter((r) => r.node === 'node1' && r.service?.name === 'web' && r.verdict === 'snat-expected' && r.firstSeen >= since - 1000);
      expect(new Set(admitted.map((r) => r.translated.sport)).size).toBe(64);

      // conntrack: no observed record of a refused SYN (nothing was inserted). Whatever the agent's own estimate
      // (from its health sampler's counters, read every few seconds) has published by now names default/web, as
      // estimated; its reason depends on whether the sampler's dump still saw the pair full (nat-port-exhausted) or
      // the held connections had closed (insert-failed, in proportion to new connections). When it publishes is
      // not asserted here (the estimate computed below from `conntrack -S` checks the attribution itself).
      const estimatedLive = failuresOf(CONNTRACK, since);
      for (const record of estimatedLive) expect(`${record.node} ${record.service?.namespace}/${record.service?.name} observed=${record.natFailure?.observed}`).toBe('node1 default/web observed=false');
      for (const record of estimatedLive) expect(['nat-port-exhausted', 'insert-failed']).toContain(record.natFailure?.reason);
      const attempts = (sets[CONNTRACK]?.receiver.all() ?? []).filter((r: FlowRecord) => r.node === 'node1' && r.firstSeen >= since - 1000 && r.verdict !== 'dropped-nat-failure');
      expect(attempts.filter((r) => r.service?.name === 'web')).toHaveLength(64);
      // the pair's ports in use, from the conntrack agent's own records; its range from the example's masqueradePortRange
      const onPair = attempts.filter((r) => r.snat && r.translated.src === '198.18.0.11' && r.translated.dst === '198.19.2.11' && r.translated.dport === 8080);
      const snatPairs = [{ snatAddress: '198.18.0.11', destination: '198.19.2.11', destinationPort: 8080, protocol: 'tcp' as const, inUse: new Set(onPair.map((r) => r.translated.sport)).size, range: { min: 40000, max: 40063 }, rangeBasis: 'nat-rule' as const }];
      expect(snatPairs[0]?.inUse).toBe(64);
      const estimate = estimateNatFailures({ node: 'node1', previous: sampleOf(since, before), current: sampleOf(until, after), attempts, snatPairs });
      expect(estimate).toMatchObject({ reason: 'nat-port-exhausted', failures: insertFailed });
      expect(count(estimate?.records ?? [], (r) => `${r.service?.namespace}/${r.service?.name} ${r.natFailure?.observed}`)).toEqual({ 'default/web false': Math.min(insertFailed, 50) });
    }, 120_000);
  });

  describe('example dns-race', () => {
    const { lab, sets } = useLabAgents('dns-race.yaml', [EBPF], proxyMode);

    it('reports as many failures as conntrack counted, all of default/dns (this kernel resolves the clashes)', async () => {
      const before = await conntrackStats(lab.name, 'node1');
      const since = Date.now();
      const result = await lab.traffic({ service: 'default/dns', via: { kind: 'pod', namespace: 'default', name: 'resolver' }, connections: 300, pairs: true, timeoutMs: 1000 });
      const delta = statsDelta(before, await conntrackStats(lab.name, 'node1'));
      expect((delta['clash_resolve'] ?? 0) + (delta['insert_failed'] ?? 0)).toBeGreaterThan(0);
      // each pair is at least one connection of default/dns (two when the kernel kept the clash's loser apart)
      const records = () => (sets[EBPF]?.receiver.all() ?? []).filter((r) => r.node === 'node1' && r.service?.name === 'dns' && r.lastSeen >= since);
      const answered = () => records().filter((r) => r.verdict === 'preserved');
      await waitFor(() => answered().length >= (result.pairs?.sent ?? 0), 15_000, () => `${answered().length} of ${result.pairs?.sent} pairs recorded`);
      await new Promise((r) => setTimeout(r, 500));
      const failures = records().filter((r) => r.verdict === 'dropped-nat-failure');
      expect(failures).toHaveLength(delta['insert_failed'] ?? 0);
      for (const failure of failures) expect(failure).toMatchObject({ natFailure: { reason: 'insert-failed', observed: true }, client: { name: 'default/resolver' } });
    }, 120_000);
  });
});
