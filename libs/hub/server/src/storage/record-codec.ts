import type { FlowClient, FlowEndpoint, FlowRecord, FlowService, NatFailure, Tuple } from '@natlens/shared-model';

/*
 * How a raw record is kept in the `record` column: a positional JSON array holding only what the other columns of
 * `flows` do not already hold. Compared with JSON.stringify(record) it is about a quarter of the size (≈200 bytes
 * instead of ≈750) and 3–4× cheaper to encode and to decode, which matters at 100k records/s and 10M rows.
 *
 * The columns it relies on hold exact copies: node, flow_id, first_seen, last_seen, leg, verdict, client_ip
 * (original.src), seen_ip (translated.src), snat, client_kind (client.kind) and zone. Everything else is in the array,
 * including the service and endpoint (their columns are '' when absent, which would be ambiguous).
 *
 * Format 1: [1, source, [o.sport, o.dst, o.dport, o.proto], [t.sport, t.dst, t.dport, t.proto], dnat, portRemap,
 *            counters|null, state|null, ended|null, service|null, endpoint|null, client.ip, client.name|null,
 *            realClient|null, entryNode|null, natFailure]   (natFailure only when set; older rows end at entryNode)
 *   service  = [namespace, name, port, portName|null, type, externalTrafficPolicy, entry, expectClientIP|null,
 *               via, viaBasis]   (the last two only when `via` is set; older rows end at expectClientIP)
 *   endpoint = [namespace, pod, node|null, ip, port]
 * `null` stands for an absent field (the schema allows no nulls, so it is unambiguous). Rows written before this
 * format hold the whole record as a JSON object; decodeRecord reads both.
 */

/** The columns of `flows` the compact record leaves out, as a store reads them back. */
export interface RecordColumns {
  node: string;
  flow_id: string;
  first_seen: number | string;
  last_seen: number | string;
  leg: string;
  verdict: string;
  client_ip: string;
  seen_ip: string;
  snat: number | string;
  client_kind: string;
  zone: number | string;
  record: string;
}

/** The columns to select to decode a record (flows query and toPage). */
export const RECORD_COLUMNS = 'node, flow_id, first_seen, last_seen, leg, verdict, client_ip, seen_ip, snat, client_kind, zone, record';

// Compile-time exhaustiveness: adding a field to the model without adding it here fails `tsc`, instead of the
// store silently dropping it.
type Exhaustive<T, K extends keyof T> = [Exclude<keyof T, K>] extends [never] ? true : { missing: Exclude<keyof T, K> };
const covered: [
  Exhaustive<FlowRecord, 'node' | 'source' | 'flowId' | 'firstSeen' | 'lastSeen' | 'original' | 'translated' | 'snat' | 'dnat' | 'portRemap' | 'counters' | 'state' | 'ended' | 'leg' | 'service' | 'endpoint' | 'client' | 'verdict' | 'realClient' | 'entryNode' | 'zone' | 'natFailure'>,
  Exhaustive<Tuple, 'src' | 'sport' | 'dst' | 'dport' | 'proto'>,
  Exhaustive<FlowService, 'namespace' | 'name' | 'port' | 'portName' | 'type' | 'externalTrafficPolicy' | 'entry' | 'expectClientIP' | 'via' | 'viaBasis'>,
  Exhaustive<FlowEndpoint, 'namespace' | 'pod' | 'node' | 'ip' | 'port'>,
  Exhaustive<FlowClient, 'ip' | 'kind' | 'name'>,
] = [true, true, true, true, true];
void covered;

const FORMAT = 1;

export function encodeRecord(r: FlowRecord): string {
  const o = r.original;
  const t = r.translated;
  const s = r.service;
  const e = r.endpoint;
  return JSON.stringify([
    FORMAT,
    r.source,
    [o.sport, o.dst, o.dport, o.proto],
    [t.sport, t.dst, t.dport, t.proto],
    r.dnat,
    r.portRemap,
    r.counters ?? null,
    r.state ?? null,
    r.ended ?? null,
    s ? [s.namespace, s.name, s.port, s.portName ?? null, s.type, s.externalTrafficPolicy, s.entry, s.expectClientIP ?? null, ...(s.via ? [s.via, s.viaBasis ?? null] : [])] : null,
    e ? [e.namespace, e.pod, e.node ?? null, e.ip, e.port] : null,
    r.client.ip,
    r.client.name ?? null,
    r.realClient ?? null,
    r.entryNode ?? null,
    ...(r.natFailure ? [r.natFailure] : []),
  ]);
}

/* eslint-disable @typescript-eslint/no-explicit-any -- the array's positions are typed by the format above */
export function decodeRecord(row: RecordColumns): FlowRecord {
  // Rows of schema 1-4 hold the whole record as an object, from before records had a zone: the column says 0.
  if (row.record.charCodeAt(0) === 123 /* '{' */) return { ...(JSON.parse(row.record) as FlowRecord), zone: Number(row.zone) };
  const a = JSON.parse(row.record) as any[];
  if (a[0] !== FORMAT) throw new Error(`flows ${row.node}/${row.flow_id}: unknown record format ${String(a[0])}`);
  const o = a[2];
  const t = a[3];
  const s = a[9];
  const e = a[10];
  const record: Record<string, unknown> = {
    node: row.node,
    source: a[1],
    flowId: row.flow_id,
    firstSeen: Number(row.first_seen),
    lastSeen: Number(row.last_seen),
    original: { src: row.client_ip, sport: o[0], dst: o[1], dport: o[2], proto: o[3] },
    translated: { src: row.seen_ip, sport: t[0], dst: t[1], dport: t[2], proto: t[3] },
    snat: Number(row.snat) === 1,
    dnat: a[4],
    portRemap: a[5],
  };
  if (a[6] !== null) record['counters'] = a[6];
  if (a[7] !== null) record['state'] = a[7];
  if (a[8] !== null) record['ended'] = a[8];
  record['leg'] = row.leg;
  if (s !== null) {
    const service: Record<string, unknown> = { namespace: s[0], name: s[1], port: s[2] };
    if (s[3] !== null) service['portName'] = s[3];
    service['type'] = s[4];
    service['externalTrafficPolicy'] = s[5];
    service['entry'] = s[6];
    if (s[7] !== null) service['expectClientIP'] = s[7];
    if (s[8] !== undefined) service['via'] = s[8];
    if (s[9] !== undefined && s[9] !== null) service['viaBasis'] = s[9];
    record['service'] = service;
  }
  if (e !== null) record['endpoint'] = e[2] === null ? { namespace: e[0], pod: e[1], ip: e[3], port: e[4] } : { namespace: e[0], pod: e[1], node: e[2], ip: e[3], port: e[4] };
  record['client'] = a[12] === null ? { ip: a[11], kind: row.client_kind } : { ip: a[11], kind: row.client_kind, name: a[12] };
  record['verdict'] = row.verdict;
  if (a[13] !== null) record['realClient'] = a[13];
  if (a[14] !== null) record['entryNode'] = a[14];
  record['zone'] = Number(row.zone);
  if (a[15] !== undefined && a[15] !== null) record['natFailure'] = a[15];
  return record as FlowRecord;
}
/* eslint-enable @typescript-eslint/no-explicit-any */

/** The natFailure of an encoded record without decoding the rest (format 1 keeps it last, at index 15). */
export function natFailureOfEncoded(record: string): NatFailure | undefined {
  const a = JSON.parse(record) as unknown[];
  const failure = a[15];
  return failure === undefined || failure === null ? undefined : (failure as NatFailure);
}
