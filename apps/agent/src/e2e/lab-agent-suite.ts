import { join } from 'node:path';
import { rmSync } from 'node:fs';
import type { FlowRecord, FlowService, Verdict } from '@natlens/shared-model';
import { useLab, readState, waitForHealthCheckProbers } from '@natlens/lab/testing';
import type { TrafficOptions, PodTruth } from '@natlens/lab';
import { AgentProcess, IngestReceiver, makeWorkDir, startLabAgent, stopAgent, waitFor } from '../testing';

/*
 * What the lab suites of the agent share (lab-agents.spec.ts: conntrack; lab-agents-ebpf.spec.ts: eBPF): the
 * scenarios of every example, one `natlens agent` per node namespace exporting to a real HTTP receiver, and the
 * check that the records equal the lab's ground truth.
 */

export interface Scenario {
  example: string;
  traffic: Omit<TrafficOptions, 'service'>[];
  /** The verdict of a connection, from the address its pod saw. */
  verdict: (seenByPod: string) => Verdict;
  /**
   * How the connections entered (libs/shared/analysis entry.ts): the proxying load balancers deliver to node ports,
   * and the agents tell them from direct hits by their source, which health-checks the nodes.
   */
  entry: Pick<FlowService, 'entry' | 'via' | 'viaBasis'>;
  /** A node without a local endpoint under Local policy: connections through it are dropped there. */
  dropsAt?: string;
}

const lb = (connections: number): Omit<TrafficOptions, 'service'> => ({ via: { kind: 'lb' }, client: 'alice', connections });
export const viaNode = (node: string, connections: number): Omit<TrafficOptions, 'service'> => ({ via: { kind: 'node', node }, client: 'alice', connections });
const fromPod = (name: string, connections: number): Omit<TrafficOptions, 'service'> => ({ via: { kind: 'pod', namespace: 'default', name }, connections });

const byAddress = (entry: FlowService['entry']) => ({ entry });
export const VIA_NODE_PORT_PROBER: Scenario['entry'] = { entry: 'loadBalancer', via: 'nodePort', viaBasis: 'health-check-prober' };

/** Every example in examples/, with its traffic and the verdicts the reference documents predict. */
export const SCENARIOS: readonly Scenario[] = [
  { example: 'clusterip-from-pod.yaml', traffic: [fromPod('tester', 60), fromPod('web-1', 40)], verdict: (seen) => (seen === '198.19.1.1' ? 'hairpin-snat' : 'preserved'), entry: byAddress('clusterIP') },
  { example: 'nodeport-cluster.yaml', traffic: [viaNode('node3', 50), viaNode('node1', 30)], verdict: () => 'snat-expected', entry: byAddress('nodePort') },
  { example: 'nodeport-local.yaml', traffic: [viaNode('node1', 40), viaNode('node2', 40)], verdict: () => 'preserved', dropsAt: 'node3', entry: byAddress('nodePort') },
  { example: 'lb-cluster.yaml', traffic: [lb(90)], verdict: () => 'snat-expected', entry: byAddress('loadBalancer') },
  { example: 'lb-local.yaml', traffic: [lb(80)], verdict: () => 'preserved', dropsAt: 'node3', entry: byAddress('loadBalancer') },
  { example: 'lb-local-imbalance.yaml', traffic: [lb(80)], verdict: () => 'preserved', entry: byAddress('loadBalancer') },
  { example: 'lb-proxy.yaml', traffic: [lb(40)], verdict: () => 'preserved', dropsAt: 'node3', entry: VIA_NODE_PORT_PROBER },
  { example: 'lb-proxy-xff.yaml', traffic: [lb(40)], verdict: () => 'preserved', dropsAt: 'node3', entry: VIA_NODE_PORT_PROBER },
  { example: 'lb-proxy-protocol.yaml', traffic: [lb(40)], verdict: () => 'preserved', dropsAt: 'node3', entry: VIA_NODE_PORT_PROBER },
];


export function count<T>(items: T[], key: (item: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + 1;
  return out;
}

export interface LabAgents {
  readonly lab: ReturnType<typeof useLab>;
  readonly receiver: IngestReceiver;
  readonly agents: AgentProcess[];
}

/** Registers the lab, the receiver and one agent per node (`--source sources`) for the enclosing describe block. */
export function useLabAgents(example: string, sources: string): LabAgents {
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

  return { lab, receiver, agents };
}

/**
 * Runs the scenario's traffic and checks that every connection the pods saw comes out as exactly one entry-leg record
 * from `recordSource`, with the right Service, endpoint pod, entry node, verdict and client address as the pod saw it,
 * and that each connection that crossed nodes also comes out as exactly one forwarded leg.
 */
export async function expectRecordsEqualTruth({ lab, receiver, agents }: LabAgents, { traffic, verdict, entry }: Scenario, recordSource: FlowRecord['source']): Promise<void> {
  if (entry.via) await waitForHealthCheckProbers(agents);
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
    expect(r.service).toMatchObject({ namespace: 'default', name: 'web', port: 80, ...entry });
    expect(r.service?.via).toBe(entry.via);
    expect(r.dnat).toBe(true);
    expect(r.endpoint?.node).toBe(state.lab.pods.find((p) => p.name === r.endpoint?.pod)?.node);
  }

  // a connection that crossed nodes also shows as one plain leg on the endpoint's node, marked forwarded
  const forwarded = () => receiver.all().filter((r) => r.leg === 'forwarded' && r.service?.name === 'web' && r.firstSeen >= since - 1000);
  await waitFor(() => forwarded().length >= crossNode, 10_000, () => `${forwarded().length} of ${crossNode} forwarded legs`);
  expect(forwarded()).toHaveLength(crossNode);
  for (const leg of forwarded()) expect(leg.node).toBe(leg.endpoint?.node);
}
