import { join } from 'node:path';
import { rmSync } from 'node:fs';
import type { FlowRecord, Verdict } from '@natlens/shared-model';
import { useLab, readState } from '@natlens/lab/testing';
import type { TrafficOptions, PodTruth } from '@natlens/lab';
import { AgentProcess, getJson, IngestReceiver, makeWorkDir, startLabAgent, stopAgent, waitFor } from '../testing';

/*
 * lab-agents.spec.ts with the eBPF source alone (`--source ebpf`): one agent per node namespace, each with its own
 * netfilter links in its namespace, exporting to a real HTTP receiver, for every example. Every connection the pods
 * saw must come out as exactly one entry-leg record with the right Service, endpoint pod, entry node, verdict and
 * client address; connections that crossed nodes also produce exactly one forwarded leg. Where a Local-policy node
 * has no endpoint, the connections it drops come out as `dropped-no-local-endpoint`, one record per connection.
 */

interface Scenario {
  example: string;
  traffic: Omit<TrafficOptions, 'service'>[];
  verdict: (seenByPod: string) => Verdict;
  /** A node without a local endpoint under Local policy: connections through it are dropped there. */
  dropsAt?: string;
  /** `--source`; with conntrack too, the pipeline merges the two reports of a connection into one record. */
  sources?: 'ebpf' | 'ebpf,conntrack';
}

const lb = (connections: number): Omit<TrafficOptions, 'service'> => ({ via: { kind: 'lb' }, client: 'alice', connections });
const viaNode = (node: string, connections: number): Omit<TrafficOptions, 'service'> => ({ via: { kind: 'node', node }, client: 'alice', connections });
const fromPod = (name: string, connections: number): Omit<TrafficOptions, 'service'> => ({ via: { kind: 'pod', namespace: 'default', name }, connections });

const scenarios: Scenario[] = [
  { example: 'clusterip-from-pod.yaml', traffic: [fromPod('tester', 60), fromPod('web-1', 40)], verdict: (seen) => (seen === '198.19.1.1' ? 'hairpin-snat' : 'preserved') },
  { example: 'nodeport-cluster.yaml', traffic: [viaNode('node3', 50), viaNode('node1', 30)], verdict: () => 'snat-expected' },
  { example: 'nodeport-local.yaml', traffic: [viaNode('node1', 40), viaNode('node2', 40)], verdict: () => 'preserved', dropsAt: 'node3' },
  { example: 'lb-cluster.yaml', traffic: [lb(90)], verdict: () => 'snat-expected' },
  { example: 'lb-local.yaml', traffic: [lb(80)], verdict: () => 'preserved', dropsAt: 'node3' },
  { example: 'lb-local-imbalance.yaml', traffic: [lb(80)], verdict: () => 'preserved' },
  { example: 'lb-proxy.yaml', traffic: [lb(40)], verdict: () => 'preserved', dropsAt: 'node3' },
  { example: 'lb-proxy-xff.yaml', traffic: [lb(40)], verdict: () => 'preserved', dropsAt: 'node3' },
  { example: 'lb-proxy-protocol.yaml', traffic: [lb(40)], verdict: () => 'preserved', dropsAt: 'node3' },
  // both kernel sources: the same tuples, so each connection is still one record (conntrack, the better-ranked, owns it)
  { example: 'nodeport-cluster.yaml', traffic: [viaNode('node3', 50), viaNode('node1', 30)], verdict: () => 'snat-expected', sources: 'ebpf,conntrack' },
];

function count<T>(items: T[], key: (item: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + 1;
  return out;
}

describe.each(scenarios.map((s) => ({ sources: 'ebpf' as const, ...s })))('agents in lab $example, --source $sources (real kernel)', ({ example, traffic, verdict, dropsAt, sources }) => {
  const recordSource = sources === 'ebpf' ? 'ebpf' : 'conntrack';
  const lab = useLab(example);
  const workDir = makeWorkDir('natlens-agent-e2e');
  const receiver = new IngestReceiver(join(workDir, 'hub.sock'));
  const agents: AgentProcess[] = [];

  beforeAll(async () => {
    await receiver.start();
    const state = readState(lab.name);
    const started = await Promise.all(
      state.lab.nodes.map((n) =>
        startLabAgent({ netns: state.netns.nodes[n.name] as string, node: n.name, inventory: lab.summary.inventory, hub: `unix:${receiver.socketPath}`, workDir, extraArgs: ['--source', sources] }),
      ),
    );
    agents.push(...started);
  }, 90_000);

  afterAll(async () => {
    await Promise.all(agents.map(stopAgent));
    await receiver.stop();
    rmSync(workDir, { recursive: true, force: true });
  }, 30_000);

  it('runs the eBPF source, on its netfilter hook, in every agent', async () => {
    for (const agent of agents) {
      const health = (await getJson(agent.apiSocket, '/healthz')) as { sources: Record<string, { mode?: string; attached?: string[] }> };
      expect(Object.keys(health.sources)).toEqual(sources.split(','));
      expect(health.sources['ebpf']).toMatchObject({ mode: 'netfilter', attached: expect.arrayContaining(['netfilter ipv4/post-routing priority 200', 'tp_btf kfree_skb']) });
    }
  });

  it('records every connection the pods saw exactly once, with the right pod, entry node, verdict and client', async () => {
    const since = Date.now();
    for (const step of traffic) {
      const result = await lab.traffic({ service: 'default/web', ...step });
      expect(result.failed).toBe(0);
    }
    const truth: PodTruth[] = lab.truth(since);
    const total = truth.reduce((sum, p) => sum + Object.values(p.seen).reduce((a, b) => a + b, 0), 0);
    expect(total).toBe(traffic.reduce((sum, t) => sum + t.connections, 0));

    const entries = () => receiver.all().filter((r) => r.leg === 'entry' && r.service?.name === 'web' && r.verdict !== 'dropped-no-local-endpoint' && r.firstSeen >= since - 1000);
    await waitFor(() => entries().length >= total, 20_000, () => `${entries().length} of ${total} connections recorded; agent logs:\n${agents.map((a) => a.log()).join('\n')}`);
    await new Promise((r) => setTimeout(r, 500)); // anything beyond the total would be a duplicate: give it time to show
    const records: FlowRecord[] = entries();
    expect(records).toHaveLength(total);

    // what each pod saw, as the records tell it, equals what the pods saw
    const expectedSeen: Record<string, number> = {};
    const expectedVerdicts: Record<string, number> = {};
    const expectedEntryNodes: Record<string, number> = {};
    let crossNode = 0;
    const state = readState(lab.name);
    const nodeOfAddress = (address: string): string | undefined =>
      state.lab.nodes.find((n) => n.address === address || n.podGateway === address)?.name ?? state.lab.pods.find((p) => p.address === address)?.node;
    for (const pod of truth) {
      for (const [seen, n] of Object.entries(pod.seen)) {
        expectedSeen[`${pod.pod} ${seen}`] = (expectedSeen[`${pod.pod} ${seen}`] ?? 0) + n;
        expectedVerdicts[verdict(seen)] = (expectedVerdicts[verdict(seen)] ?? 0) + n;
        const entryNode = nodeOfAddress(seen) ?? pod.node;
        expectedEntryNodes[entryNode] = (expectedEntryNodes[entryNode] ?? 0) + n;
        if (entryNode !== pod.node) crossNode += n;
      }
    }
    expect(count(records, (r) => `${r.endpoint?.pod} ${r.translated.src}`)).toEqual(expectedSeen);
    expect(count(records, (r) => r.verdict)).toEqual(expectedVerdicts);
    expect(count(records, (r) => r.node)).toEqual(expectedEntryNodes);
    for (const r of records) {
      expect(r.source).toBe(recordSource);
      expect(r.service).toMatchObject({ namespace: 'default', name: 'web', port: 80 });
      expect(r.dnat).toBe(true);
      expect(r.endpoint?.node).toBe(state.lab.pods.find((p) => p.name === r.endpoint?.pod)?.node);
    }

    // a connection that crossed nodes also shows as one plain leg on the endpoint's node, marked forwarded
    const forwarded = () => receiver.all().filter((r) => r.leg === 'forwarded' && r.service?.name === 'web' && r.firstSeen >= since - 1000);
    await waitFor(() => forwarded().length >= crossNode, 10_000, () => `${forwarded().length} of ${crossNode} forwarded legs`);
    expect(forwarded()).toHaveLength(crossNode);
    for (const leg of forwarded()) expect(leg.node).toBe(leg.endpoint?.node);
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
