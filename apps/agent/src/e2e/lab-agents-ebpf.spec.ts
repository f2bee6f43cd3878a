import { readState } from '@natlens/lab/testing';
import { getJson, waitFor } from '../testing';
import { expectRecordsEqualTruth, type Scenario, SCENARIOS, useLabAgents, viaNode } from './lab-agent-suite';

/*
 * lab-agents.spec.ts with the eBPF source alone (`--source ebpf`): one agent per node namespace, each with its own
 * netfilter links in its namespace, exporting to a real HTTP receiver, for every example. Every connection the pods
 * saw must come out as exactly one entry-leg record with the right Service, endpoint pod, entry node, verdict and
 * client address; connections that crossed nodes also produce exactly one forwarded leg. Where a Local-policy node
 * has no endpoint, the connections it drops come out as `dropped-no-local-endpoint`, one record per connection.
 */

/** `--source`; with conntrack too, the pipeline merges the two reports of a connection into one record. */
const scenarios: (Scenario & { sources: 'ebpf' | 'ebpf,conntrack' })[] = [
  ...SCENARIOS.map((s) => ({ ...s, sources: 'ebpf' as const })),
  // both kernel sources: the same tuples, so each connection is still one record (conntrack, the better-ranked, owns it)
  { example: 'nodeport-cluster.yaml', traffic: [viaNode('node3', 50), viaNode('node1', 30)], verdict: () => 'snat-expected', entry: { entry: 'nodePort' }, sources: 'ebpf,conntrack' },
];

describe.each(scenarios)('agents in lab $example, --source $sources (real kernel)', (scenario) => {
  const { dropsAt, sources } = scenario;
  const recordSource = sources === 'ebpf' ? 'ebpf' : 'conntrack';
  const suite = useLabAgents(scenario.example, sources);
  const { lab, receiver, agents } = suite;

  it('runs the eBPF source, on its netfilter hook, in every agent', async () => {
    for (const agent of agents) {
      const health = (await getJson(agent.apiSocket, '/healthz')) as { sources: Record<string, { mode?: string; attached?: string[] }> };
      expect(Object.keys(health.sources)).toEqual(sources.split(','));
      expect(health.sources['ebpf']).toMatchObject({ mode: 'netfilter', attached: expect.arrayContaining(['netfilter ipv4/post-routing priority 200', 'tp_btf kfree_skb']) });
    }
  });

  it('records every connection the pods saw exactly once, with the right pod, entry node, verdict and client', async () => {
    await expectRecordsEqualTruth(suite, scenario, recordSource);
  });

  // only the examples with a Local-policy node without endpoints have this case
  if (dropsAt) {
    it(`shows the connections ${dropsAt} drops for want of a local endpoint as dropped-no-local-endpoint`, async () => {
      const node = dropsAt;
      const since = Date.now();
      const connections = 12;
      const result = await lab.traffic({ service: 'default/web', via: { kind: 'node', node }, client: 'alice', connections, timeoutMs: 1500 });
      expect(result.succeeded).toBe(0);
      const dropped = () => receiver.all().filter((r) => r.verdict === 'dropped-no-local-endpoint' && r.lastSeen >= since - 1000);
      await waitFor(() => dropped().length >= connections, 10_000, () => `${dropped().length} of ${connections} dropped connections recorded`);
      await new Promise((r) => setTimeout(r, 500));
      const records = dropped();
      // one record per connection: a retransmitted SYN lands on its connection's record
      expect(records).toHaveLength(connections);
      expect(new Set(records.map((r) => r.original.sport)).size).toBe(connections);
      const address = readState(lab.name).lab.nodes.find((n) => n.name === node)?.address;
      for (const r of records) {
        expect(r).toMatchObject({ node, source: 'ebpf', leg: 'entry', dnat: false, snat: false, service: { name: 'web', externalTrafficPolicy: 'Local', entry: 'nodePort' } });
        expect(r.original.dst).toBe(address);
      }
    });
  }
});
