import { join } from 'node:path';
import { mkdirSync, rmSync } from 'node:fs';
import type { FlowRecord, FlowService, Verdict } from '@natlens/shared-model';
import { useLab, readState, waitForHealthCheckProbers } from '@natlens/lab/testing';
import type { TrafficOptions, PodTruth, ProxyMode } from '@natlens/lab';
import { IngestReceiver, makeWorkDir, waitFor } from '@natlens/agent-daemon/testing';
import { type AgentProcess, getJson, startLabAgent, stopAgent } from '@natlens/lab/testing';

/*
 * What the lab suites of the agent share (lab-agents.spec.ts: kube-proxy's iptables mode; lab-agents-nftables.spec.ts:
 * its nftables mode): the scenarios of every example, one lab per example whose nodes each run one `natlens agent` on
 * the default source (eBPF here) and one on the conntrack source, each set exporting to its own real HTTP receiver
 * (one lab set-up serves both sources: the agents only observe), and the check that each set's records equal the
 * lab's ground truth.
 */

type Step = Omit<TrafficOptions, 'service'> & { service?: string };

export interface Scenario {
  example: string;
  /** Connections to make; `service` defaults to default/web. */
  traffic: Step[];
  /** The verdict of a connection, from the address its pod saw. */
  verdict: (seenByPod: string) => Verdict;
  /**
   * How the connections to each Service entered (libs/shared/analysis entry.ts): the proxying load balancers deliver
   * to node ports, and the agents tell them from direct hits by their source, which health-checks the nodes.
   */
  entry: (service: string) => EntryExpectation;
  /** A node without a local endpoint of default/web under Local policy: connections through it are dropped there. */
  dropsAt?: string;
}

type EntryExpectation = Pick<FlowService, 'entry' | 'via' | 'viaBasis'>;

const ALICE = '198.51.100.79';
const lb = (connections: number): Step => ({ via: { kind: 'lb' }, client: 'alice', connections });
export const viaNode = (node: string, connections: number, service?: string): Step => ({ via: { kind: 'node', node }, client: 'alice', connections, ...(service ? { service } : {}) });
const fromPod = (name: string, connections: number): Step => ({ via: { kind: 'pod', namespace: 'default', name }, connections });

const byAddress = (entry: FlowService['entry']) => (): EntryExpectation => ({ entry });
export const VIA_NODE_PORT_PROBER: EntryExpectation = { entry: 'loadBalancer', via: 'nodePort', viaBasis: 'health-check-prober' };

/** Every example in examples/, with its traffic and the verdicts the reference documents predict. */
export const SCENARIOS: readonly Scenario[] = [
  { example: 'clusterip-from-pod.yaml', traffic: [fromPod('tester', 60), fromPod('web-1', 40)], verdict: (seen) => (seen === '198.19.1.1' ? 'hairpin-snat' : 'preserved'), entry: byAddress('clusterIP') },
  { example: 'nodeport-cluster.yaml', traffic: [viaNode('node3', 50), viaNode('node1', 30)], verdict: () => 'snat-expected', entry: byAddress('nodePort') },
  { example: 'nodeport-local.yaml', traffic: [viaNode('node1', 40), viaNode('node2', 40)], verdict: () => 'preserved', dropsAt: 'node3', entry: byAddress('nodePort') },
  { example: 'lb-cluster.yaml', traffic: [lb(90)], verdict: () => 'snat-expected', entry: byAddress('loadBalancer') },
  { example: 'lb-local.yaml', traffic: [lb(80)], verdict: () => 'preserved', dropsAt: 'node3', entry: byAddress('loadBalancer') },
  { example: 'lb-local-imbalance.yaml', traffic: [lb(80)], verdict: () => 'preserved', entry: byAddress('loadBalancer') },
  // one node takes everything (MetalLB L2): node2's pod gets nothing, so no record may name it
  { example: 'lb-local-single-node.yaml', traffic: [lb(60)], verdict: () => 'preserved', entry: byAddress('loadBalancer') },
  { example: 'lb-proxy.yaml', traffic: [lb(40)], verdict: () => 'preserved', dropsAt: 'node3', entry: () => VIA_NODE_PORT_PROBER },
  { example: 'lb-proxy-xff.yaml', traffic: [lb(40)], verdict: () => 'preserved', dropsAt: 'node3', entry: () => VIA_NODE_PORT_PROBER },
  { example: 'lb-proxy-protocol.yaml', traffic: [lb(40)], verdict: () => 'preserved', dropsAt: 'node3', entry: () => VIA_NODE_PORT_PROBER },
  // the demo's lab: a Local LoadBalancer (the client kept) beside a Cluster NodePort (SNAT to the entry node)
  {
    example: 'seeds.yaml',
    traffic: [lb(60), viaNode('node1', 20, 'default/api'), viaNode('node3', 20, 'default/api')],
    verdict: (seen) => (seen === ALICE ? 'preserved' : 'snat-expected'),
    entry: (service) => ({ entry: service === 'web' ? 'loadBalancer' : 'nodePort' }),
    dropsAt: 'node3',
  },
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

/** The agents' `--source`; DEFAULT_SOURCE passes none, so each agent picks the best source it can (eBPF here). */
export const DEFAULT_SOURCE = 'default';

/**
 * Registers the lab (kube-proxy in `proxyMode`) and, for each entry of `sourceSets`, a receiver and one agent per
 * node with that `--source`, for the enclosing describe block.
 */
export function useLabAgents(example: string, sourceSets: readonly string[], proxyMode: ProxyMode): { lab: LabAgents['lab']; sets: Record<string, LabAgents> } {
  const lab = useLab(example, { proxyMode });
  const workDir = makeWorkDir('natlens-agent-e2e');
  const sets: Record<string, LabAgents> = {};
  sourceSets.forEach((sources, i) => {
    sets[sources] = { lab, receiver: new IngestReceiver(join(workDir, `hub-${i}.sock`)), agents: [] };
  });

  beforeAll(async () => {
    const state = readState(lab.name);
    // one set after the other: node's start-up is CPU-bound, and a burst of every agent at once on 2 shared cores
    // can keep some from answering within startLabAgent's deadline
    for (const [i, sources] of sourceSets.entries()) {
      const set = sets[sources] as LabAgents;
      await set.receiver.start();
      const setDir = join(workDir, `set-${i}`);
      const started = await Promise.all(
        state.lab.nodes.map((n) =>
          startLabAgent({
            netns: state.netns.nodes[n.name] as string,
            node: n.name,
            inventory: lab.summary.inventory,
            hub: `unix:${set.receiver.socketPath}`,
            workDir: makeDir(setDir),
            extraArgs: sources === DEFAULT_SOURCE ? [] : ['--source', sources],
          }),
        ),
      );
      set.agents.push(...started);
    }
  }, 180_000);

  afterAll(async () => {
    await Promise.all(Object.values(sets).flatMap((set) => set.agents.map(stopAgent)));
    await Promise.all(Object.values(sets).map((set) => set.receiver.stop()));
    rmSync(workDir, { recursive: true, force: true });
  }, 30_000);

  return { lab, sets };
}

function makeDir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** The scenario's connections, made once, and what the pods saw of them. */
export interface TrafficRun {
  since: number;
  truth: PodTruth[];
  total: number;
}

export async function runScenarioTraffic(lab: LabAgents['lab'], { traffic }: Scenario): Promise<TrafficRun> {
  const since = Date.now();
  for (const { service, ...step } of traffic) {
    const result = await lab.traffic({ service: service ?? 'default/web', ...step });
    expect(result.failed).toBe(0);
  }
  const truth = lab.truth(since);
  const total = truth.reduce((sum, p) => sum + Object.values(p.seen).reduce((a, b) => a + b, 0), 0);
  expect(total).toBe(traffic.reduce((sum, t) => sum + t.connections, 0));
  return { since, truth, total };
}

/**
 * Checks that every connection the pods saw comes out as exactly one entry-leg record from `recordSource`, with the
 * right Service, endpoint pod, entry node, verdict and client address as the pod saw it, and that each connection
 * that crossed nodes also comes out as exactly one forwarded leg.
 */
export async function expectRecordsEqualTruth({ lab, receiver, agents }: LabAgents, { verdict, entry }: Scenario, { since, truth, total }: TrafficRun, recordSource: FlowRecord['source']): Promise<void> {
  const state = readState(lab.name);
  const serviceOfPod = (pod: string | undefined) => state.lab.services.find((s) => s.endpoints.some((e) => e.name === pod))?.name;
  const services = new Set(truth.map((p) => serviceOfPod(p.pod)));
  const ours = (r: FlowRecord) => services.has(r.service?.name) && r.firstSeen >= since - 1000;
  const entries = () => receiver.all().filter((r) => r.leg === 'entry' && r.verdict !== 'dropped-no-local-endpoint' && ours(r));
  await waitFor(() => entries().length >= total, 20_000, () => `${entries().length} of ${total} connections recorded; agent logs:\n${agents.map((a) => a.log()).join('\n')}`);
  await new Promise((r) => setTimeout(r, 500)); // anything beyond the total would be a duplicate: give it time to show
  const records: FlowRecord[] = entries();
  expect(records).toHaveLength(total);

  // what each pod saw, as the records tell it, equals what the pods saw
  const expectedSeen: Record<string, number> = {};
  const expectedVerdicts: Record<string, number> = {};
  const expectedEntryNodes: Record<string, number> = {};
  let crossNode = 0;
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
    const service = serviceOfPod(r.endpoint?.pod) as string;
    expect(r.service).toMatchObject({ namespace: 'default', name: service, port: 80, ...entry(service) });
    expect(r.service?.via).toBe(entry(service).via);
    expect(r.dnat).toBe(true);
    expect(r.endpoint?.node).toBe(state.lab.pods.find((p) => p.name === r.endpoint?.pod)?.node);
  }

  // a connection that crossed nodes also shows as one plain leg on the endpoint's node, marked forwarded
  const forwarded = () => receiver.all().filter((r) => r.leg === 'forwarded' && ours(r));
  await waitFor(() => forwarded().length >= crossNode, 10_000, () => `${forwarded().length} of ${crossNode} forwarded legs`);
  expect(forwarded()).toHaveLength(crossNode);
  for (const leg of forwarded()) expect(leg.node).toBe(leg.endpoint?.node);
}

/** The agents' health says which sources they run; for eBPF, attached to its netfilter hook. */
export async function expectSources(agents: AgentProcess[], sources: string[]): Promise<void> {
  for (const agent of agents) {
    const health = (await getJson(agent.apiSocket, '/healthz')) as { sources: Record<string, { mode?: string; attached?: string[] }> };
    expect(Object.keys(health.sources)).toEqual(sources);
    if (sources.includes('ebpf')) {
      expect(health.sources['ebpf']).toMatchObject({ mode: 'netfilter', attached: expect.arrayContaining(['netfilter ipv4/post-routing priority 200', 'tp_btf kfree_skb']) });
    }
  }
}

/**
 * Where a Local-policy node has no endpoint, the connections it drops come out as `dropped-no-local-endpoint`, one
 * record per connection (a retransmitted SYN lands on its connection's record).
 */
export async function expectDropsRecorded({ lab, receiver }: LabAgents, node: string): Promise<void> {
  const since = Date.now();
  const connections = 12;
  const result = await lab.traffic({ service: 'default/web', via: { kind: 'node', node }, client: 'alice', connections, timeoutMs: 1500 });
  expect(result.succeeded).toBe(0);
  const dropped = () => receiver.all().filter((r) => r.verdict === 'dropped-no-local-endpoint' && r.lastSeen >= since - 1000);
  await waitFor(() => dropped().length >= connections, 10_000, () => `${dropped().length} of ${connections} dropped connections recorded`);
  await new Promise((r) => setTimeout(r, 500));
  const records = dropped();
  expect(records).toHaveLength(connections);
  expect(new Set(records.map((r) => r.original.sport)).size).toBe(connections);
  const address = readState(lab.name).lab.nodes.find((n) => n.name === node)?.address;
  for (const r of records) {
    expect(r).toMatchObject({ node, source: 'ebpf', leg: 'entry', dnat: false, snat: false, service: { name: 'web', externalTrafficPolicy: 'Local', entry: 'nodePort' } });
    expect(r.original.dst).toBe(address);
  }
}

/**
 * The whole suite of one example under one kube-proxy mode: one lab, agents on the default source (eBPF) and on
 * conntrack, the scenario's traffic made once and checked against both sets of records, and the drops.
 */
export function describeAgentsInLab(scenario: Scenario, proxyMode: ProxyMode): void {
  describe(`agents in lab ${scenario.example}, kube-proxy ${proxyMode} mode (real kernel)`, () => {
    const { lab, sets } = useLabAgents(scenario.example, [DEFAULT_SOURCE, 'conntrack'], proxyMode);
    const ebpf = sets[DEFAULT_SOURCE] as LabAgents;
    const conntrack = sets['conntrack'] as LabAgents;
    let run: TrafficRun | undefined;
    const traffic = async () => {
      // the agents tell a proxying load balancer's node-port deliveries from direct hits by the health checks it sends:
      // make the traffic once every agent has seen them
      if (!run && scenario.entry('web').via) await waitForHealthCheckProbers([...ebpf.agents, ...conntrack.agents]);
      return (run ??= await runScenarioTraffic(lab, scenario));
    };

    it('runs the eBPF source by default, on its netfilter hook, in every agent', async () => {
      await expectSources(ebpf.agents, ['ebpf']);
      await expectSources(conntrack.agents, ['conntrack']);
    });

    it('records every connection the pods saw exactly once, with the right pod, entry node, verdict and client (default source: eBPF)', async () => {
      await expectRecordsEqualTruth(ebpf, scenario, await traffic(), 'ebpf');
    });

    it('records the same connections with the conntrack source', async () => {
      await expectRecordsEqualTruth(conntrack, scenario, await traffic(), 'conntrack');
    });

    // only the examples with a Local-policy node without endpoints have this case
    if (scenario.dropsAt) {
      const node = scenario.dropsAt;
      it(`shows the connections ${node} drops for want of a local endpoint as dropped-no-local-endpoint`, async () => {
        await expectDropsRecorded(ebpf, node);
      });
    }
  });
}
