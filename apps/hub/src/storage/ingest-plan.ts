import type { FlowRecord } from '@natlens/shared-model';

/*
 * What one batch changes, computed before touching the database (pure; shared by both stores).
 *
 * A record contributes +1 connection to the rollup minute of its firstSeen, under its dimensions, and its client
 * addresses to the client rollups, but only on its entry leg (a forwarded leg is the same connection seen again on
 * the endpoint's node). When (node, flowId) is re-sent, its old contribution is subtracted and the new one added:
 * an unchanged re-send nets to zero, a changed one moves the count, and nothing is ever counted twice.
 */

export const MINUTE_MS = 60_000;

export interface FlowMinuteDims {
  readonly serviceKey: string;
  readonly minute: number;
  readonly node: string;
  readonly entry: string;
  readonly verdict: string;
  readonly clientKind: string;
  readonly snat: boolean;
  /** '' when not SNATed; storage keeps '' rather than NULL so the dimensions form a primary key. */
  readonly snatAddress: string;
  readonly endpointNamespace: string;
  readonly endpointPod: string;
  readonly endpointNode: string;
}

export type ClientSide = 'original' | 'seen';

export interface ClientMinuteDims {
  readonly serviceKey: string;
  readonly minute: number;
  readonly side: ClientSide;
  readonly address: string;
}

export interface Delta<D> {
  readonly dims: D;
  delta: number;
}

export interface IngestPlan {
  /** One record per (node, flowId), the batch's last. */
  readonly upserts: FlowRecord[];
  readonly insertedCount: number;
  readonly flowMinuteDeltas: Delta<FlowMinuteDims>[];
  readonly clientMinuteDeltas: Delta<ClientMinuteDims>[];
  /** The latest record per Service (by lastSeen), to refresh its type and policy. */
  readonly services: FlowRecord[];
}

export function recordKey(record: Pick<FlowRecord, 'node' | 'flowId'>): string {
  return `${record.node}\u0000${record.flowId}`;
}

export function serviceKeyOf(service: { namespace: string; name: string }): string {
  return `${service.namespace}/${service.name}`;
}

/** The columns a raw record is filtered and grouped by (the rest stays in its JSON). */
export function flowDims(record: FlowRecord): Omit<FlowMinuteDims, 'minute' | 'serviceKey'> & { serviceKey: string } {
  return {
    serviceKey: record.service ? serviceKeyOf(record.service) : '',
    node: record.node,
    entry: record.service?.entry ?? '',
    verdict: record.verdict,
    clientKind: record.client.kind,
    snat: record.snat,
    snatAddress: record.snat ? record.translated.src : '',
    endpointNamespace: record.endpoint?.namespace ?? '',
    endpointPod: record.endpoint?.pod ?? '',
    endpointNode: record.endpoint?.node ?? '',
  };
}

function countsInEvidence(record: FlowRecord): boolean {
  return record.leg === 'entry' && record.service !== undefined && record.verdict !== 'not-service';
}

class DeltaMap<D> {
  private readonly entries = new Map<string, Delta<D>>();
  constructor(private readonly keyOf: (dims: D) => string) {}
  add(dims: D, delta: number): void {
    const key = this.keyOf(dims);
    const entry = this.entries.get(key);
    if (entry) entry.delta += delta;
    else this.entries.set(key, { dims, delta });
  }
  nonZero(): Delta<D>[] {
    return [...this.entries.values()].filter((entry) => entry.delta !== 0);
  }
}

export function planIngest(records: readonly FlowRecord[], stored: ReadonlyMap<string, FlowRecord>): IngestPlan {
  const flowMinutes = new DeltaMap<FlowMinuteDims>((d) => Object.values(d).join('\u0000'));
  const clientMinutes = new DeltaMap<ClientMinuteDims>((d) => `${d.serviceKey}\u0000${d.minute}\u0000${d.side}\u0000${d.address}`);
  const contribute = (record: FlowRecord, sign: 1 | -1) => {
    if (!countsInEvidence(record)) return;
    const minute = Math.floor(record.firstSeen / MINUTE_MS);
    const dims = flowDims(record);
    flowMinutes.add({ ...dims, minute }, sign);
    clientMinutes.add({ serviceKey: dims.serviceKey, minute, side: 'original', address: record.original.src }, sign);
    clientMinutes.add({ serviceKey: dims.serviceKey, minute, side: 'seen', address: record.translated.src }, sign);
  };

  const current = new Map<string, FlowRecord>();
  let insertedCount = 0;
  for (const record of records) {
    const key = recordKey(record);
    const previous = current.get(key) ?? stored.get(key);
    if (previous) contribute(previous, -1);
    else insertedCount++;
    contribute(record, 1);
    current.set(key, record);
  }

  const services = new Map<string, FlowRecord>();
  for (const record of current.values()) {
    if (!record.service) continue;
    const key = serviceKeyOf(record.service);
    const latest = services.get(key);
    if (!latest || record.lastSeen >= latest.lastSeen) services.set(key, record);
  }

  return {
    upserts: [...current.values()],
    insertedCount,
    flowMinuteDeltas: flowMinutes.nonZero(),
    clientMinuteDeltas: clientMinutes.nonZero(),
    services: [...services.values()],
  };
}
