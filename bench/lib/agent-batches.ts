/*
 * Agents' batches for the hub benches: what N node agents would send over a span of time, built with the hub's own
 * record fixture (libs/hub/server/src/testing.ts flowRecord, shaped like the agent's enrich stage) and flowIds as the
 * conntrack source makes them (a time-ordered instance, then the kernel's hash-like id, then the tuple).
 *
 * The cluster: one node per sender, two pods per node (at most 12), 20 Services of four kinds (LoadBalancer/Local,
 * NodePort/Cluster, ClusterIP, LoadBalancer/Cluster; svc-3 annotated to expect the client IP), each served by about
 * two thirds of the pods. A connection's fields come from a hash of its index, so the mix is spread evenly in time:
 * 3 % not a Service, 10 % forwarded legs (a connection that entered another node, seen on its endpoint's node), the
 * rest entry legs: preserved, snat-expected, snat-unexpected, hairpin-snat, proxied (a load balancer's PROXY header)
 * and dropped-no-local-endpoint (a Local Service's traffic on a node without a local endpoint).
 *
 * Each agent also re-sends connections as they end (state TIME_WAIT, later lastSeen), as the conntrack source does on
 * DESTROY: a share of every batch after the first is updates of the agent's previous batch. Updates change no count.
 *
 * Addresses: nodes 198.18.0.x, pods 198.19.<node>.x, Service IPs 198.18.255.x, external clients 198.18.128.0/20,
 * load balancers 203.0.113.x.
 */
import type { FlowRecord } from '@natlens/shared-model';
import { flowRecord } from '../../libs/hub/server/src/testing';
import { timeOrderedInstance } from '../../libs/agent/daemon/src/sources/conntrack.source';

export const SERVICE_COUNT = 20;
export const NAMESPACE = 'bench';
const CLIENTS = 4000;
const LB_PROXY = '203.0.113.250';

export interface Pod {
  readonly pod: string;
  readonly node: string;
  readonly ip: string;
}

export interface ClusterShape {
  readonly nodes: readonly string[];
  readonly pods: readonly Pod[];
  /** Pods serving Service k. */
  readonly endpoints: readonly (readonly Pod[])[];
  /** node → Service k → its pods on that node (computed once: records are built by the million). */
  readonly localEndpoints: ReadonlyMap<string, readonly (readonly Pod[])[]>;
  readonly addresses: ReadonlyMap<string, string>;
}

export function clusterShape(nodeCount: number): ClusterShape {
  const nodes = Array.from({ length: nodeCount }, (_, i) => `node${i + 1}`);
  const pods = Array.from({ length: Math.min(12, 2 * nodeCount) }, (_, p) => {
    const node = p % nodeCount;
    return { pod: `web-${p + 1}`, node: nodes[node] as string, ip: `198.19.${node + 1}.${11 + p}` };
  });
  const endpoints = Array.from({ length: SERVICE_COUNT }, (_, k) => pods.filter((_, p) => (p + k) % 3 !== 0));
  const localEndpoints = new Map(nodes.map((node) => [node, endpoints.map((serving) => serving.filter((p) => p.node === node))]));
  const addresses = new Map(nodes.map((node, i) => [node, `198.18.0.${11 + i}`]));
  return { nodes, pods, endpoints, localEndpoints, addresses };
}

export const nodeAddress = (shape: ClusterShape, node: string) => shape.addresses.get(node) as string;
const externalClient = (j: number) => `198.18.${128 + (j >> 8)}.${j & 255}`;

/**
 * Connection `c` as the agent of `node` records it, first seen at `firstSeen`. Pure: the same arguments give the
 * same record (updates are built from the stored original, not from this).
 */
export function connectionRecord(shape: ClusterShape, node: string, c: number, firstSeen: number): FlowRecord {
  const h = Math.imul(c + 1, 0x9e3779b1) >>> 0;
  const k = h % SERVICE_COUNT;
  const r = (h >>> 20) % 100;
  const kind = k % 4;
  const local = shape.localEndpoints.get(node)?.[k] ?? [];
  const all = shape.endpoints[k] ?? [];
  const pick = (pods: readonly Pod[]) => pods[(h >>> 5) % pods.length] as Pod;
  const client = externalClient((h >>> 8) % CLIENTS);
  const self = nodeAddress(shape, node);
  const sport = 1024 + ((h >>> 3) % 60_000);
  const name = `svc-${k}`;
  const base = { node, firstSeen, lastSeen: firstSeen + 5 };
  let record: FlowRecord;
  let dst: string;
  let dport: number;
  if (r < 3) {
    dst = '203.0.113.200';
    dport = 443;
    record = flowRecord({ ...base, client, dst, dport, verdict: 'not-service' });
    delete record.service;
    delete record.endpoint;
    record = { ...record, dnat: false, translated: { ...record.original } };
  } else if (r < 13 && local.length > 0) {
    // The forwarded leg: the entry node's address (after its SNAT) to a local endpoint, not translated here.
    const entryNode = shape.nodes[(shape.nodes.indexOf(node) + 1 + (h % Math.max(1, shape.nodes.length - 1))) % shape.nodes.length] as string;
    const endpoint = pick(local);
    dst = endpoint.ip;
    dport = 8080;
    record = flowRecord({ ...base, client: nodeAddress(shape, entryNode), clientKind: 'node', dst, dport, service: { namespace: NAMESPACE, name, type: 'NodePort', entry: 'nodePort' }, endpoint, leg: 'forwarded', verdict: 'preserved' });
    record = { ...record, dnat: false, entryNode };
  } else if (kind === 0) {
    dst = `203.0.113.${k + 1}`;
    dport = 80;
    const service = { namespace: NAMESPACE, name, type: 'LoadBalancer' as const, policy: 'Local' as const, entry: 'loadBalancer' as const };
    if (local.length === 0) {
      record = flowRecord({ ...base, client, dst, dport, service, verdict: 'dropped-no-local-endpoint' });
      delete record.endpoint;
      record = { ...record, dnat: false, translated: { ...record.original } };
    } else if (r < 16) {
      record = { ...flowRecord({ ...base, client: LB_PROXY, dst, dport, service, endpoint: pick(local), verdict: 'proxied' }), realClient: { ip: client } };
    } else {
      record = flowRecord({ ...base, client, dst, dport, service, endpoint: pick(local), verdict: 'preserved' });
    }
  } else if (kind === 1) {
    dst = self;
    dport = 30_000 + k;
    record = flowRecord({ ...base, client, seenAs: self, dst, dport, service: { namespace: NAMESPACE, name, type: 'NodePort', entry: 'nodePort' }, endpoint: pick(all), verdict: 'snat-expected' });
  } else if (kind === 2) {
    dst = `198.18.255.${k + 1}`;
    dport = 80;
    const endpoint = pick(all);
    const service = { namespace: NAMESPACE, name, type: 'ClusterIP' as const, entry: 'clusterIP' as const };
    record =
      r < 16
        ? flowRecord({ ...base, client: endpoint.ip, clientKind: 'pod', seenAs: self, dst, dport, service, endpoint, verdict: 'hairpin-snat' })
        : flowRecord({ ...base, client: pick(shape.pods).ip, clientKind: 'pod', dst, dport, service, endpoint, verdict: 'preserved' });
  } else {
    dst = `203.0.113.${k + 1}`;
    dport = 80;
    const expectClientIP = k === 3;
    record = flowRecord({ ...base, client, seenAs: self, dst, dport, service: { namespace: NAMESPACE, name, type: 'LoadBalancer', entry: 'loadBalancer' }, endpoint: pick(all), verdict: expectClientIP ? 'snat-unexpected' : 'snat-expected' });
    if (expectClientIP && record.service) record = { ...record, service: { ...record.service, expectClientIP: true } };
  }
  const original = { ...record.original, sport };
  const id = (Math.imul(c, 0x85ebca6b) >>> 0).toString();
  return {
    ...record,
    original,
    translated: record.snat || record.translated.src !== record.original.src ? record.translated : { ...record.translated, sport },
    flowId: `conntrack:${timeOrderedInstance(firstSeen, c % 1_000_000)}:${id}:tcp:${original.src}:${sport}>${dst}:${dport}`,
  };
}

/** The connection as the agent re-sends it when it ends. */
export function endedRecord(record: FlowRecord): FlowRecord {
  return { ...record, lastSeen: record.firstSeen + 30_000, ended: true, state: 'TIME_WAIT' };
}

export interface BatchPlan {
  /** Distinct connections to send in all. */
  readonly connections: number;
  /** First and last firstSeen: connection c is first seen at from + c × (to − from) / connections. */
  readonly from: number;
  readonly to: number;
  readonly batchSize: number;
  /** Of each batch after an agent's first, this many re-send its previous batch's connections as ended. */
  readonly updatesPerBatch: number;
}

/**
 * Hands out the batches of every agent: new connections in time order (one counter for all agents, so time advances
 * evenly) plus updates of the agent's previous batch. Synchronous, so concurrent senders never share a connection.
 */
export class AgentBatchStream {
  private next = 0;
  private readonly previous = new Map<string, FlowRecord[]>();

  constructor(
    private readonly shape: ClusterShape,
    readonly plan: BatchPlan,
    private readonly onNew: (record: FlowRecord) => void,
  ) {}

  get sentConnections(): number {
    return this.next;
  }

  firstSeenOf(c: number): number {
    return this.plan.from + Math.floor((c * (this.plan.to - this.plan.from)) / this.plan.connections);
  }

  /** The agent's next batch, or undefined when every connection has been sent. */
  nextBatch(node: string): FlowRecord[] | undefined {
    if (this.next >= this.plan.connections) return undefined;
    const updates = (this.previous.get(node) ?? []).slice(0, this.plan.updatesPerBatch).map(endedRecord);
    const count = Math.min(this.plan.batchSize - updates.length, this.plan.connections - this.next);
    const fresh: FlowRecord[] = [];
    for (let i = 0; i < count; i++, this.next++) {
      const record = connectionRecord(this.shape, node, this.next, this.firstSeenOf(this.next));
      this.onNew(record);
      fresh.push(record);
    }
    this.previous.set(node, fresh);
    return [...updates, ...fresh];
  }
}
