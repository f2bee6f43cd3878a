import type { FlowRecord } from '@natlens/shared-model';
import { encodeRecord } from './record-codec';

/*
 * What one batch changes, computed before touching the database (pure; shared by both stores).
 *
 * A record contributes +1 connection to the rollup minute of its firstSeen, under its dimensions, and its client
 * addresses to the client rollups (as sent: the real client a proxy named, when one did; as seen: translated.src),
 * but only on its entry leg (a forwarded leg is the same connection seen again on
 * the endpoint's node). When (node, flowId) is re-sent, its old contribution is subtracted and the new one added:
 * an unchanged re-send nets to zero, a changed one moves the count, and nothing is ever counted twice.
 *
 * A contribution depends only on columns of `flows` (FlowDims), so a store looks up the stored version of a key by
 * those columns and never has to parse a stored record.
 */

export const MINUTE_MS = 60_000;
export const MINUTES_PER_HOUR = 60;

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

/** A flow_hour row's dimensions: flow_minute's, summed over the hour (minute / 60). */
export type FlowHourDims = Omit<FlowMinuteDims, 'minute'> & { readonly hour: number };

export type ClientSide = 'original' | 'seen';

/**
 * A proxy_hour row: the address the pods saw (translated.src) for a Service's proxied entry legs (a PROXY protocol /
 * X-Forwarded-For header named another client) in one hour of firstSeen.
 */
export interface ProxyHourDims {
  readonly serviceKey: string;
  readonly hour: number;
  readonly seenIp: string;
}

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

/** The columns of a `flows` row that decide its contribution to the rollups ('' where the record has no value). */
export interface FlowDims {
  readonly node: string;
  readonly flowId: string;
  readonly serviceKey: string;
  readonly leg: string;
  readonly verdict: string;
  readonly entry: string;
  readonly clientKind: string;
  readonly snat: boolean;
  readonly snatAddress: string;
  readonly endpointNamespace: string;
  readonly endpointPod: string;
  readonly endpointNode: string;
  /** original.src */
  readonly clientIp: string;
  /** realClient.ip ('' when none): the client behind a proxying load balancer, counted as the client as sent. */
  readonly realClientIp: string;
  /** translated.src */
  readonly seenIp: string;
  readonly firstSeen: number;
  /** Which version of the flow this is: a version older than the one held changes nothing. */
  readonly lastSeen: number;
}

/** A record as a `flows` row: its dimensions, lastSeen and the compact record (record-codec.ts). */
export interface FlowRow extends FlowDims {
  /** recordKey of the row, computed once. */
  readonly key: string;
  /** The conntrack zone (no rollup dimension: the zone is part of the identity, which the flowId already carries). */
  readonly zone: number;
  readonly record: string;
  readonly source: FlowRecord;
}

export interface IngestPlan {
  /** One row per (node, flowId), the batch's last. */
  readonly upserts: FlowRow[];
  readonly insertedCount: number;
  readonly flowMinuteDeltas: Delta<FlowMinuteDims>[];
  /** The same deltas summed per hour. */
  readonly flowHourDeltas: Delta<FlowHourDims>[];
  readonly clientMinuteDeltas: Delta<ClientMinuteDims>[];
  readonly proxyHourDeltas: Delta<ProxyHourDims>[];
  /** The latest record per Service (by lastSeen), to refresh its type and policy. */
  readonly services: FlowRecord[];
}

export function recordKey(record: Pick<FlowDims, 'node' | 'flowId'>): string {
  return `${record.node}\u0000${record.flowId}`;
}

export function serviceKeyOf(service: { namespace: string; name: string }): string {
  return `${service.namespace}/${service.name}`;
}

export function flowRow(record: FlowRecord): FlowRow {
  const service = record.service;
  const endpoint = record.endpoint;
  return {
    key: recordKey(record),
    node: record.node,
    flowId: record.flowId,
    serviceKey: service ? `${service.namespace}/${service.name}` : '',
    leg: record.leg,
    verdict: record.verdict,
    entry: service?.entry ?? '',
    clientKind: record.client.kind,
    snat: record.snat,
    snatAddress: record.snat ? record.translated.src : '',
    endpointNamespace: endpoint?.namespace ?? '',
    endpointPod: endpoint?.pod ?? '',
    endpointNode: endpoint?.node ?? '',
    clientIp: record.original.src,
    realClientIp: record.realClient?.ip ?? '',
    seenIp: record.translated.src,
    firstSeen: record.firstSeen,
    lastSeen: record.lastSeen,
    zone: record.zone ?? 0,
    record: encodeRecord(record),
    source: record,
  };
}

/** Rows as a store reads them back (PostgreSQL returns bigints as strings). */
export interface StoredDimsColumns {
  node: string;
  flow_id: string;
  service_key: string;
  leg: string;
  verdict: string;
  entry: string;
  client_kind: string;
  snat: number | string;
  snat_address: string;
  ep_namespace: string;
  ep_pod: string;
  ep_node: string;
  client_ip: string;
  real_client_ip: string;
  seen_ip: string;
  first_seen: number | string;
  last_seen: number | string;
}

/** The columns to select for StoredDimsColumns. */
export const STORED_DIMS_COLUMNS = 'node, flow_id, service_key, leg, verdict, entry, client_kind, snat, snat_address, ep_namespace, ep_pod, ep_node, client_ip, real_client_ip, seen_ip, first_seen, last_seen';

export function storedDims(row: StoredDimsColumns): FlowDims {
  return {
    node: row.node,
    flowId: row.flow_id,
    serviceKey: row.service_key,
    leg: row.leg,
    verdict: row.verdict,
    entry: row.entry,
    clientKind: row.client_kind,
    snat: Number(row.snat) === 1,
    snatAddress: row.snat_address,
    endpointNamespace: row.ep_namespace,
    endpointPod: row.ep_pod,
    endpointNode: row.ep_node,
    clientIp: row.client_ip,
    realClientIp: row.real_client_ip,
    seenIp: row.seen_ip,
    firstSeen: Number(row.first_seen),
    lastSeen: Number(row.last_seen),
  };
}

/** Only entry legs of a Service count (serviceKey is '' exactly when the record has no Service). */
function countsInEvidence(row: FlowDims): boolean {
  return row.leg === 'entry' && row.serviceKey !== '' && row.verdict !== 'not-service';
}

/** A Service's entry leg whose client a proxy named: what the pod saw is a proxy's address (flows_proxied's condition). */
function isProxied(row: FlowDims): boolean {
  return row.leg === 'entry' && row.serviceKey !== '' && row.realClientIp !== '';
}

/** Adds `sign` to the delta under `key`, creating it with `dims()` the first time. */
function bump<D>(deltas: Map<string, Delta<D>>, key: string, sign: number, dims: () => D): void {
  const entry = deltas.get(key);
  if (entry) entry.delta += sign;
  else deltas.set(key, { dims: dims(), delta: sign });
}

function nonZero<D>(entries: Map<string, Delta<D>>): Delta<D>[] {
  const out: Delta<D>[] = [];
  for (const entry of entries.values()) if (entry.delta !== 0) out.push(entry);
  return out;
}

/**
 * `rows` are the batch's records as rows (flowRow), in batch order; `stored` the stored dimensions of those keys
 * that the store already holds, by recordKey.
 */
export function planIngest(rows: readonly FlowRow[], stored: ReadonlyMap<string, FlowDims>): IngestPlan {
  const flowMinutes = new Map<string, Delta<FlowMinuteDims>>();
  const flowHours = new Map<string, Delta<FlowHourDims>>();
  const clientMinutes = new Map<string, Delta<ClientMinuteDims>>();
  const proxyHours = new Map<string, Delta<ProxyHourDims>>();
  const addClient = (key: string, serviceKey: string, minute: number, side: ClientSide, address: string, sign: number) =>
    bump(clientMinutes, key, sign, () => ({ serviceKey, minute, side, address }));
  const contribute = (d: FlowDims, sign: 1 | -1) => {
    if (isProxied(d)) {
      const hour = Math.floor(d.firstSeen / (MINUTE_MS * MINUTES_PER_HOUR));
      bump(proxyHours, `${d.serviceKey}\u0000${hour}\u0000${d.seenIp}`, sign, () => ({ serviceKey: d.serviceKey, hour, seenIp: d.seenIp }));
    }
    if (!countsInEvidence(d)) return;
    const minute = Math.floor(d.firstSeen / MINUTE_MS);
    const hour = Math.floor(minute / MINUTES_PER_HOUR);
    const prefix = `${d.serviceKey}\u0000${minute}\u0000`;
    const dimsKey = `${d.node}\u0000${d.entry}\u0000${d.verdict}\u0000${d.clientKind}\u0000${d.snat ? 1 : 0}\u0000${d.snatAddress}\u0000${d.endpointNamespace}\u0000${d.endpointPod}\u0000${d.endpointNode}`;
    const dims = () => ({
      serviceKey: d.serviceKey, node: d.node, entry: d.entry, verdict: d.verdict, clientKind: d.clientKind, snat: d.snat, snatAddress: d.snatAddress,
      endpointNamespace: d.endpointNamespace, endpointPod: d.endpointPod, endpointNode: d.endpointNode,
    });
    bump(flowMinutes, prefix + dimsKey, sign, () => ({ ...dims(), minute }));
    bump(flowHours, `${d.serviceKey}\u0000${hour}\u0000${dimsKey}`, sign, () => ({ ...dims(), hour }));
    const sentBy = d.realClientIp !== '' ? d.realClientIp : d.clientIp;
    addClient(`${prefix}o\u0000${sentBy}`, d.serviceKey, minute, 'original', sentBy, sign);
    addClient(`${prefix}s\u0000${d.seenIp}`, d.serviceKey, minute, 'seen', d.seenIp, sign);
  };

  const current = new Map<string, FlowRow>();
  let insertedCount = 0;
  for (const row of rows) {
    const key = row.key;
    const previous = current.get(key) ?? stored.get(key);
    // Batches of one node can arrive out of order (several hub replicas, a spool replayed after a newer send): an
    // older version of a flow than the one held is not stored and moves no count.
    if (previous && row.lastSeen < previous.lastSeen) continue;
    if (previous) contribute(previous, -1);
    else insertedCount++;
    contribute(row, 1);
    current.set(key, row);
  }

  const services = new Map<string, FlowRecord>();
  for (const row of current.values()) {
    if (row.serviceKey === '') continue;
    const latest = services.get(row.serviceKey);
    if (!latest || row.lastSeen >= latest.lastSeen) services.set(row.serviceKey, row.source);
  }

  return {
    upserts: [...current.values()],
    insertedCount,
    flowMinuteDeltas: nonZero(flowMinutes),
    flowHourDeltas: nonZero(flowHours),
    clientMinuteDeltas: nonZero(clientMinutes),
    proxyHourDeltas: nonZero(proxyHours),
    services: [...services.values()],
  };
}

/** A client of a Service on one side, as client_latest keys it. */
export interface ClientKey {
  readonly serviceKey: string;
  readonly side: ClientSide;
  readonly address: string;
}

/** A client and an hour (minute / 60), as client_latest holds them. */
export type ClientHour = ClientKey & { readonly hour: number };

export interface ClientLatestUpdates {
  /** Client hours in which the batch left a minute with no connection: where one is a client's latest, it may be stale. */
  readonly emptied: ClientHour[];
  /** Per client, the latest hour in which the batch left a minute with connections > 0: client_latest moves up to it. */
  readonly active: ClientHour[];
}

/**
 * Applies the batch's client_minute deltas through `apply` and says what they mean for client_latest. `apply` returns
 * the row's connections afterwards, or undefined when it need not be read: a positive delta leaves a row with
 * connections > 0, only a negative one can empty it (a store reads those back with RETURNING).
 */
export function clientLatestUpdates(deltas: readonly Delta<ClientMinuteDims>[], apply: (delta: Delta<ClientMinuteDims>) => number | undefined): ClientLatestUpdates {
  const active = new Map<string, ClientHour>();
  const emptied = new Map<string, ClientHour>();
  for (const delta of deltas) {
    const connections = apply(delta);
    const dims = delta.dims;
    const key = `${dims.serviceKey}\u0000${dims.side}\u0000${dims.address}`;
    const client = { serviceKey: dims.serviceKey, side: dims.side, address: dims.address, hour: Math.floor(dims.minute / MINUTES_PER_HOUR) };
    if (connections !== undefined && connections <= 0) {
      emptied.set(`${key}\u0000${client.hour}`, client);
      continue;
    }
    const known = active.get(key);
    if (!known || known.hour < client.hour) active.set(key, client);
  }
  return { emptied: [...emptied.values()], active: [...active.values()] };
}
