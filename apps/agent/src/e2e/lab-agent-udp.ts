import type { FlowRecord, ServiceEntry, Verdict } from '@natlens/shared-model';
import type { PodTruth, TrafficOptions } from '@natlens/lab';
import { readState } from '@natlens/lab/testing';
import { waitFor } from '@natlens/agent-daemon/testing';
import type { ProxyMode } from '@natlens/lab';
import { count, DEFAULT_SOURCE, expectSources, type LabAgents, useLabAgents } from './lab-agent-suite';

/*
 * The UDP half of the agent's lab suites (lab-agents.spec.ts: iptables mode; lab-agents-nftables.spec.ts), beside
 * lab-agent-suite.ts: examples whose Services are UDP, several Services per example, and the conntrack zone each node
 * tracks its connections in. Every datagram `lab traffic` sends is one connection (a fresh source port): each must
 * come out as exactly one entry-leg record with the right Service, endpoint pod, entry node, verdict, client and zone.
 */

export interface UdpStep {
  /** `namespace/name` of the Service the step queries. */
  service: string;
  traffic: Omit<TrafficOptions, 'service'>;
  /** The entry kube-proxy matched: ClusterIP from a pod, or a node port from a client. */
  entry: ServiceEntry;
  verdict: Verdict;
}

export interface UdpScenario {
  example: string;
  steps: UdpStep[];
  /** The conntrack zone of each node whose CNI uses one (the topology's conntrackZone); the others use zone 0. */
  zones: Record<string, number>;
  /** A Local-policy node port entered on a node without a local endpoint: every datagram is dropped there. */
  drops?: { service: string; node: string; connections: number };
}

const fromPod = (name: string, connections: number): Omit<TrafficOptions, 'service'> => ({ via: { kind: 'pod', namespace: 'default', name }, connections });
const viaNode = (node: string, connections: number): Omit<TrafficOptions, 'service'> => ({ via: { kind: 'node', node }, client: 'alice', connections });

export const UDP_SCENARIOS: readonly UdpScenario[] = [
  {
    example: 'udp-dns.yaml',
    steps: [
      { service: 'default/dns', traffic: fromPod('tester', 60), entry: 'clusterIP', verdict: 'preserved' },
      { service: 'default/dns-nodeport', traffic: viaNode('node3', 40), entry: 'nodePort', verdict: 'snat-expected' },
      { service: 'default/dns-nodeport', traffic: viaNode('node1', 30), entry: 'nodePort', verdict: 'snat-expected' },
      { service: 'default/dns-local', traffic: viaNode('node1', 30), entry: 'nodePort', verdict: 'preserved' },
    ],
    zones: { node3: 7 },
    drops: { service: 'default/dns-local', node: 'node3', connections: 12 },
  },
];

/** The node a step's datagrams enter: the calling pod's node, or the node whose node port they go to. */
function entryNodeOf(labName: string, traffic: UdpStep['traffic']): string {
  const via = traffic.via;
  if (via.kind === 'node') return via.node;
  const pod = readState(labName).lab.pods.find((p) => via.kind === 'pod' && p.namespace === via.namespace && p.name === via.name);
  if (!pod) throw new Error(`no pod for ${JSON.stringify(via)}`);
  return pod.node;
}

const isStep = (r: FlowRecord, name: string, since: number) => r.service?.name === name && r.original.proto === 'udp' && r.firstSeen >= since - 1000;

/** Runs each step's traffic and checks its records against the pods' ground truth, one step at a time. */
export async function expectUdpRecordsEqualTruth({ lab, receiver, agents }: LabAgents, scenario: UdpScenario, recordSource: FlowRecord['source']): Promise<void> {
  const state = readState(lab.name);
  const zoneOf = (node: string) => scenario.zones[node] ?? 0;
  const podNode = (pod: string | undefined) => state.lab.pods.find((p) => p.name === pod)?.node;
  for (const step of scenario.steps) {
    const name = step.service.split('/')[1] as string;
    // records are taken from 1 s before a step began (kernel and agent clocks): keep the steps further apart than that
    await new Promise((r) => setTimeout(r, 1100));
    const since = Date.now();
    const result = await lab.traffic({ service: step.service, ...step.traffic });
    expect(result).toMatchObject({ made: step.traffic.connections, failed: 0 });
    const truth: PodTruth[] = lab.truth(since);
    const total = step.traffic.connections;
    expect(truth.reduce((sum, p) => sum + Object.values(p.seen).reduce((a, b) => a + b, 0), 0)).toBe(total);

    const entryNode = entryNodeOf(lab.name, step.traffic);
    const entries = () => receiver.all().filter((r) => r.leg === 'entry' && r.node === entryNode && isStep(r, name, since));
    await waitFor(() => entries().length >= total, 20_000, () => `${step.service}: ${entries().length} of ${total} datagrams recorded; agent logs:\n${agents.map((a) => a.log()).join('\n')}`);
    await new Promise((r) => setTimeout(r, 500)); // anything beyond the total would be a duplicate: give it time to show
    const records = entries();
    expect(records).toHaveLength(total);
    expect(new Set(records.map((r) => `${r.original.src}:${r.original.sport}`)).size).toBe(total); // each datagram once

    // what each pod saw, as the records tell it, equals what the pods saw
    const expectedSeen: Record<string, number> = {};
    for (const pod of truth) for (const [seen, n] of Object.entries(pod.seen)) expectedSeen[`${pod.pod} ${seen}`] = n;
    expect(count(records, (r) => `${r.endpoint?.pod} ${r.translated.src}`)).toEqual(expectedSeen);
    const via = step.traffic.via;
    const client =
      via.kind === 'pod'
        ? { kind: 'pod', ip: state.lab.pods.find((p) => p.name === via.name)?.address }
        : { kind: 'external', ip: state.lab.clients.find((c) => c.name === step.traffic.client)?.address };
    for (const r of records) {
      expect(r).toMatchObject({ source: recordSource, node: entryNode, verdict: step.verdict, dnat: true, zone: zoneOf(entryNode), client });
      expect(r.service).toMatchObject({ namespace: 'default', name, port: 53, entry: step.entry });
      expect(r.endpoint).toMatchObject({ port: 5353, node: podNode(r.endpoint?.pod) });
    }

    // A datagram that crossed nodes also shows as one plain leg on the endpoint's node, in that node's zone, whose
    // original tuple is the entry leg's translated one. (Which Service it was for, the endpoint's node cannot tell when
    // Services share pods and ports, as these do: the legs are matched by tuple, not by Service.)
    const tupleKey = (t: FlowRecord['original']) => `${t.proto} ${t.src}:${t.sport}>${t.dst}:${t.dport}`;
    const crossing = new Map(records.filter((r) => r.endpoint?.node !== entryNode).map((r) => [tupleKey(r.translated), r]));
    const forwarded = () => receiver.all().filter((r) => r.leg === 'forwarded' && crossing.has(tupleKey(r.original)));
    await waitFor(() => forwarded().length >= crossing.size, 10_000, () => `${step.service}: ${forwarded().length} of ${crossing.size} forwarded legs`);
    expect(forwarded()).toHaveLength(crossing.size);
    for (const leg of forwarded()) {
      const entered = crossing.get(tupleKey(leg.original));
      expect(leg).toMatchObject({ node: entered?.endpoint?.node, entryNode, zone: zoneOf(leg.node), endpoint: { pod: entered?.endpoint?.pod } });
    }
  }
}

/** The scenario's dropped datagrams: one `dropped-no-local-endpoint` record each, on the node that dropped it. */
export async function expectUdpDropsRecorded({ lab, receiver }: LabAgents, scenario: UdpScenario): Promise<void> {
  const drops = scenario.drops;
  if (!drops) throw new Error(`${scenario.example} drops nothing`);
  const since = Date.now();
  const result = await lab.traffic({ service: drops.service, via: { kind: 'node', node: drops.node }, client: 'alice', connections: drops.connections, timeoutMs: 1000 });
  expect(result.succeeded).toBe(0);
  const name = drops.service.split('/')[1] as string;
  const dropped = () => receiver.all().filter((r) => r.verdict === 'dropped-no-local-endpoint' && r.service?.name === name && r.lastSeen >= since - 1000);
  await waitFor(() => dropped().length >= drops.connections, 10_000, () => `${dropped().length} of ${drops.connections} dropped datagrams recorded`);
  await new Promise((r) => setTimeout(r, 500));
  const records = dropped();
  expect(records).toHaveLength(drops.connections);
  expect(new Set(records.map((r) => r.original.sport)).size).toBe(drops.connections);
  const address = readState(lab.name).lab.nodes.find((n) => n.name === drops.node)?.address;
  for (const r of records) {
    expect(r).toMatchObject({ node: drops.node, source: 'ebpf', leg: 'entry', dnat: false, snat: false, zone: scenario.zones[drops.node] ?? 0, service: { name, externalTrafficPolicy: 'Local', entry: 'nodePort' } });
    expect(r.original).toMatchObject({ proto: 'udp', dst: address });
  }
}

/**
 * One lab of a UDP example (kube-proxy in `proxyMode`) with one agent per node on the default source (eBPF) and one on
 * conntrack: every query each set recorded equals the ground truth (the steps' traffic is made once per set), and the
 * datagrams a Local-policy node without endpoints drops come out as drops (a NEW per datagram, the zone read from the
 * nf_conn; the conntrack source never sees a dropped datagram's entry).
 */
export function describeUdpAgentsInLab(scenario: UdpScenario, proxyMode: ProxyMode): void {
  describe(`agents in lab ${scenario.example}, UDP, kube-proxy ${proxyMode} mode (real kernel)`, () => {
    const { sets } = useLabAgents(scenario.example, [DEFAULT_SOURCE, 'conntrack'], proxyMode);
    const ebpf = sets[DEFAULT_SOURCE] as LabAgents;
    const conntrack = sets['conntrack'] as LabAgents;

    it('records every UDP query the pods answered exactly once, with the right pod, entry node, verdict, client and zone (default source: eBPF)', async () => {
      await expectSources(ebpf.agents, ['ebpf']);
      await expectUdpRecordsEqualTruth(ebpf, scenario, 'ebpf');
    });

    it('records the same with the conntrack source', async () => {
      await expectUdpRecordsEqualTruth(conntrack, scenario, 'conntrack');
    });

    if (scenario.drops) {
      const drops = scenario.drops;
      it(`shows the datagrams ${drops.node} drops for want of a local endpoint as dropped-no-local-endpoint`, async () => {
        await expectUdpDropsRecorded(ebpf, scenario);
      });
    }
  });
}
