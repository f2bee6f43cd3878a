import type { EvidenceCounts, EvidenceRow, TimeWindow } from '@natlens/shared-analysis';
import type { FlowRecord, ServiceEntry, Verdict } from '@natlens/shared-model';
import type { ClientKind } from '@natlens/shared-analysis';
import { InvalidCursorError, type EvidenceSource, type FlowPage, type FlowQuery, type ServiceCounts, type ServiceKey } from './flow-repository';
import { MINUTE_MS, MINUTES_PER_HOUR, serviceKeyOf } from './ingest-plan';
import { decodeRecord, RECORD_COLUMNS, type RecordColumns } from './record-codec';

/*
 * The read queries, written once for both stores: the SQL is the same and only the placeholder differs (`?` for
 * SQLite, `$n` for PostgreSQL). Nothing here runs a query.
 */

export type Dialect = 'sqlite' | 'postgres';

export interface SqlQuery {
  readonly text: string;
  readonly params: unknown[];
}

class Params {
  readonly values: unknown[] = [];
  constructor(private readonly dialect: Dialect) {}
  add(value: unknown): string {
    this.values.push(value);
    return this.dialect === 'postgres' ? `$${this.values.length}` : '?';
  }
}

export const DIM_COLUMNS = ['node', 'entry', 'verdict', 'client_kind', 'snat', 'snat_address', 'ep_namespace', 'ep_pod', 'ep_node'] as const;
const DIMS = DIM_COLUMNS.join(', ');

/** The whole minutes inside a window, and the partial spans at its edges that only raw records can answer. */
export function splitWindow(window: TimeWindow, source: EvidenceSource): { minutes?: [number, number]; rawSpans: [number, number][] } {
  if (source === 'raw') return { rawSpans: [[window.from, window.to]] };
  const first = Math.ceil(window.from / MINUTE_MS);
  const end = Math.floor(window.to / MINUTE_MS);
  if (first >= end) return { rawSpans: [[window.from, window.to]] };
  const rawSpans: [number, number][] = [];
  if (window.from < first * MINUTE_MS) rawSpans.push([window.from, first * MINUTE_MS]);
  if (end * MINUTE_MS < window.to) rawSpans.push([end * MINUTE_MS, window.to]);
  return { minutes: [first, end], rawSpans };
}

/**
 * Whole minutes [first, end) as the whole hours inside them (flow_hour) and the minutes left at either edge
 * (flow_minute): a long window reads a row per hour and dimension set instead of one per minute.
 */
function splitMinutes([first, end]: [number, number]): { hours?: [number, number]; minuteSpans: [number, number][] } {
  const firstHour = Math.ceil(first / MINUTES_PER_HOUR);
  const endHour = Math.floor(end / MINUTES_PER_HOUR);
  if (firstHour >= endHour) return { minuteSpans: [[first, end]] };
  const minuteSpans: [number, number][] = [];
  if (first < firstHour * MINUTES_PER_HOUR) minuteSpans.push([first, firstHour * MINUTES_PER_HOUR]);
  if (endHour * MINUTES_PER_HOUR < end) minuteSpans.push([endHour * MINUTES_PER_HOUR, end]);
  return { hours: [firstHour, endHour], minuteSpans };
}

/** The rollup rows of whole minutes, from flow_hour and flow_minute; `service` narrows them to one Service. */
function rollupSelects(p: Params, columns: string, minutes: [number, number], serviceKey?: string): string[] {
  const split = splitMinutes(minutes);
  const byService = () => (serviceKey === undefined ? '' : `service_key = ${p.add(serviceKey)} AND `);
  const parts: string[] = [];
  if (split.hours) parts.push(`SELECT ${columns}, connections AS n FROM flow_hour WHERE ${byService()}hour >= ${p.add(split.hours[0])} AND hour < ${p.add(split.hours[1])}`);
  for (const [from, to] of split.minuteSpans) parts.push(`SELECT ${columns}, connections AS n FROM flow_minute WHERE ${byService()}minute >= ${p.add(from)} AND minute < ${p.add(to)}`);
  return parts;
}

/**
 * The raw records of one Service in the window's partial-minute edges, as one SELECT per span joined by UNION ALL:
 * each is a range of the (service_key, first_seen) index. Written as one WHERE with `span OR span`, PostgreSQL may
 * scan every record of the Service with the spans as a filter (139 ms at 10M records for a one-hour window).
 */
function rawSpansSelect(p: Params, columns: string, serviceKey: string, spans: [number, number][]): string {
  // Placeholders are numbered in the order they are added: with SQLite's `?` that must be the order in the text.
  return spans
    .map(([from, to]) => `SELECT ${columns} FROM flows WHERE service_key = ${p.add(serviceKey)} AND first_seen >= ${p.add(from)} AND first_seen < ${p.add(to)} AND leg = 'entry' AND verdict <> 'not-service'`)
    .join(' UNION ALL ');
}

export function evidenceRowsQuery(dialect: Dialect, service: ServiceKey, window: TimeWindow, source: EvidenceSource): SqlQuery {
  const p = new Params(dialect);
  const split = splitWindow(window, source);
  const parts: string[] = [];
  if (split.minutes) parts.push(...rollupSelects(p, DIMS, split.minutes, serviceKeyOf(service)));
  if (split.rawSpans.length > 0) parts.push(rawSpansSelect(p, `${DIMS}, 1 AS n`, serviceKeyOf(service), split.rawSpans));
  return {
    text: `SELECT ${DIMS}, SUM(n) AS connections FROM (${parts.join(' UNION ALL ')}) AS parts GROUP BY ${DIMS} HAVING SUM(n) > 0 ORDER BY ${DIMS}`,
    params: p.values,
  };
}

/**
 * Distinct client addresses per side. The raw spans are read once (a materialized CTE feeds both sides), and the
 * addresses are de-duplicated by GROUP BY before counting: PostgreSQL hashes them instead of sorting every rollup
 * row for COUNT(DISTINCT …) (at 10M records, 84k rollup rows for one Service: 88 ms → 47 ms).
 */
export function distinctClientsQuery(dialect: Dialect, service: ServiceKey, window: TimeWindow, source: EvidenceSource): SqlQuery {
  const p = new Params(dialect);
  const split = splitWindow(window, source);
  // Placeholders in text order: the CTE comes first.
  // The client as sent is the real client a proxy named when there is one (ingest-plan.ts does the same for rollups).
  const raw = split.rawSpans.length > 0
    ? `WITH raw AS MATERIALIZED (${rawSpansSelect(p, `${CLIENT_AS_SENT} AS client_ip, seen_ip`, serviceKeyOf(service), split.rawSpans)}) `
    : '';
  const parts: string[] = [];
  if (split.minutes) {
    parts.push(`SELECT side, address FROM client_minute WHERE service_key = ${p.add(serviceKeyOf(service))} AND minute >= ${p.add(split.minutes[0])} AND minute < ${p.add(split.minutes[1])} AND connections > 0`);
  }
  if (raw) parts.push(`SELECT 'original' AS side, client_ip AS address FROM raw`, `SELECT 'seen' AS side, seen_ip AS address FROM raw`);
  return {
    text: `${raw}SELECT side, COUNT(*) AS n FROM (SELECT side, address FROM (${parts.join(' UNION ALL ')}) AS parts GROUP BY side, address) AS clients GROUP BY side`,
    params: p.values,
  };
}

/** The client as sent: the real client a proxy named when there is one (ingest-plan.ts does the same for rollups). */
const CLIENT_AS_SENT = "CASE WHEN real_client_ip <> '' THEN real_client_ip ELSE client_ip END";

/**
 * Windows shorter than this count distinct clients from client_minute: reading every client of the Service in
 * client_latest costs more than a few hours of client minutes (PostgreSQL, 1M records: last hour 8 → 21 ms).
 */
export const RECENT_CLIENTS_MIN_WINDOW_MS = 6 * 3_600_000;

/**
 * Distinct clients per side for a window of RECENT_CLIENTS_MIN_WINDOW_MS or more that reaches the Service's newest record, from each client's latest hour
 * (client_latest): a client whose latest hour comes after the hour of the window's first whole minute was active in
 * the window; for that first hour, which the window may cut, its client minutes from the window's first minute on
 * say who was; the leading partial minute comes from raw records. One row per client and at most an hour of client
 * minutes, instead of every client minute of the window (at 10M records over 30 days: ≈ 880k rows for one Service).
 * Nothing of the Service being newer than the window's end, the trailing partial minute needs nothing more.
 *
 * The first row, side 'eligible', says whether that holds in this same snapshot: n = 1 when the Service has no client
 * minute after the window's last and no raw record at or after its end, and no client whose latest hour could be
 * in the window is stale (migration 9). With n = 0 the counts are not usable and the caller asks
 * distinctClientsQuery. Undefined for a shorter window, or when raw records were asked for.
 */
export function recentClientsQuery(dialect: Dialect, service: ServiceKey, window: TimeWindow, source: EvidenceSource): SqlQuery | undefined {
  if (window.to - window.from < RECENT_CLIENTS_MIN_WINDOW_MS) return undefined;
  const split = splitWindow(window, source);
  if (!split.minutes) return undefined;
  const [first, end] = split.minutes;
  const firstHour = Math.floor(first / MINUTES_PER_HOUR);
  const key = serviceKeyOf(service);
  const p = new Params(dialect);
  // Placeholders in text order: the CTE comes first.
  const lead: [number, number] | undefined = window.from < first * MINUTE_MS ? [window.from, first * MINUTE_MS] : undefined;
  const raw = lead ? `WITH raw AS MATERIALIZED (${rawSpansSelect(p, `${CLIENT_AS_SENT} AS client_ip, seen_ip`, key, [lead])}) ` : '';
  const eligible = [
    `COALESCE((SELECT minute FROM client_minute WHERE service_key = ${p.add(key)} ORDER BY minute DESC LIMIT 1), -1) <= ${p.add(end)}`,
    `COALESCE((SELECT first_seen FROM flows WHERE service_key = ${p.add(key)} ORDER BY first_seen DESC LIMIT 1), -1) < ${p.add(window.to)}`,
    `NOT EXISTS (SELECT 1 FROM client_latest WHERE service_key = ${p.add(key)} AND stale = 1 AND last_hour >= ${p.add(firstHour)})`,
  ].join(' AND ');
  const clients = [
    `SELECT side, address FROM client_latest WHERE service_key = ${p.add(key)} AND last_hour > ${p.add(firstHour)}`,
    `SELECT side, address FROM client_minute WHERE service_key = ${p.add(key)} AND minute >= ${p.add(first)} AND minute < ${p.add((firstHour + 1) * MINUTES_PER_HOUR)} AND connections > 0`,
  ];
  if (raw) clients.push(`SELECT 'original' AS side, client_ip AS address FROM raw`, `SELECT 'seen' AS side, seen_ip AS address FROM raw`);
  return {
    text: `${raw}SELECT 'eligible' AS side, CASE WHEN ${eligible} THEN 1 ELSE 0 END AS n UNION ALL SELECT side, COUNT(*) AS n FROM (${clients.join(' UNION ')}) AS clients GROUP BY side`,
    params: p.values,
  };
}

/** recentClientsQuery's rows → the per-side counts distinctClientsQuery gives, or undefined when not eligible. */
export function recentClientCounts(rows: readonly { side: string; n: number | string }[]): { side: string; n: number | string }[] | undefined {
  const eligible = rows.find((row) => row.side === 'eligible');
  return eligible && Number(eligible.n) === 1 ? rows.filter((row) => row !== eligible) : undefined;
}

/** How many of an edge span's latest proxied entry legs the proxy-address query looks at: its cost stays bounded. */
export const PROXY_ADDRESS_SCAN = 20_000;
/** At most this many proxy addresses are reported. */
export const PROXY_ADDRESS_LIMIT = 64;

const HOUR_MS = MINUTE_MS * MINUTES_PER_HOUR;

/**
 * The addresses the pods saw for proxied connections (a header named their real client): the proxies an application
 * must trust. Whole hours of the window come from proxy_hour (migration 10), the partial hours at its edges from raw
 * records, among each edge's latest PROXY_ADDRESS_SCAN proxied entry legs, through the partial index flows_proxied
 * (migration 9). `source: 'raw'` reads the whole window from raw records (what tests compare the hours with).
 */
export function proxyAddressesQuery(dialect: Dialect, service: ServiceKey, window: TimeWindow, source: EvidenceSource = 'rollups'): SqlQuery {
  const p = new Params(dialect);
  const key = serviceKeyOf(service);
  const firstHour = Math.ceil(window.from / HOUR_MS);
  const endHour = Math.floor(window.to / HOUR_MS);
  const wholeHours = source === 'rollups' && firstHour < endHour;
  const rawSpans: [number, number][] = wholeHours
    ? ([[window.from, firstHour * HOUR_MS], [endHour * HOUR_MS, window.to]] as [number, number][]).filter(([from, to]) => from < to)
    : [[window.from, window.to]];
  // Placeholders are numbered in the order they are added: with SQLite's `?` that must be the order in the text.
  const parts: string[] = [];
  if (wholeHours) parts.push(`SELECT seen_ip FROM proxy_hour WHERE service_key = ${p.add(key)} AND hour >= ${p.add(firstHour)} AND hour < ${p.add(endHour)} AND connections > 0`);
  // The WHERE repeats flows_proxied's own condition word for word, so both planners can use it.
  rawSpans.forEach(([from, to], i) =>
    parts.push(
      `SELECT seen_ip FROM (SELECT seen_ip FROM flows WHERE service_key = ${p.add(key)} AND first_seen >= ${p.add(from)} AND first_seen < ${p.add(to)} AND real_client_ip <> '' AND leg = 'entry' ORDER BY first_seen DESC LIMIT ${PROXY_ADDRESS_SCAN}) AS edge${i}`,
    ),
  );
  return {
    text: `SELECT seen_ip FROM (${parts.join(' UNION ALL ')}) AS addresses GROUP BY seen_ip ORDER BY seen_ip LIMIT ${PROXY_ADDRESS_LIMIT}`,
    params: p.values,
  };
}

export interface EvidenceRowColumns {
  node: string;
  entry: string;
  verdict: string;
  client_kind: string;
  snat: number | string;
  snat_address: string;
  ep_namespace: string;
  ep_pod: string;
  ep_node: string;
  connections: number | string;
}

/** Rows as the drivers return them (PostgreSQL gives bigints as strings) → evidence counts. */
export function toEvidenceCounts(rows: readonly EvidenceRowColumns[], distinct: readonly { side: string; n: number | string }[]): EvidenceCounts {
  const evidenceRows: EvidenceRow[] = rows.map((row) => ({
    node: row.node,
    entry: row.entry as ServiceEntry,
    verdict: row.verdict as Verdict,
    clientKind: row.client_kind as ClientKind,
    snat: Number(row.snat) === 1,
    ...(row.snat_address ? { snatAddress: row.snat_address } : {}),
    ...(row.ep_pod ? { endpoint: { namespace: row.ep_namespace, pod: row.ep_pod, ...(row.ep_node ? { node: row.ep_node } : {}) } } : {}),
    connections: Number(row.connections),
  }));
  const side = (name: string) => Number(distinct.find((d) => d.side === name)?.n ?? 0);
  return { rows: evidenceRows, distinctOriginal: side('original'), distinctSeenByPods: side('seen') };
}

/**
 * Headline counts of every Service, split like the evidence (whole minutes from the rollups, the partial minutes at
 * the window's edges from raw records), so a Service's totals here equal its evidence over the same window.
 */
export function serviceCountsQuery(dialect: Dialect, window: TimeWindow, source: EvidenceSource = 'rollups'): SqlQuery {
  const p = new Params(dialect);
  const split = splitWindow(window, source);
  const dims = 'service_key, verdict, client_kind, snat';
  const parts: string[] = [];
  if (split.minutes) parts.push(...rollupSelects(p, dims, split.minutes));
  if (split.rawSpans.length > 0) {
    for (const [from, to] of split.rawSpans) {
      parts.push(`SELECT ${dims}, 1 AS n FROM flows WHERE first_seen >= ${p.add(from)} AND first_seen < ${p.add(to)} AND service_key <> '' AND leg = 'entry' AND verdict <> 'not-service'`);
    }
  }
  return {
    text: `SELECT ${dims}, SUM(n) AS n FROM (${parts.join(' UNION ALL ')}) AS parts GROUP BY ${dims} HAVING SUM(n) > 0`,
    params: p.values,
  };
}

export function toServiceCounts(rows: readonly { service_key: string; verdict: string; client_kind: string; snat: number | string; n: number | string }[]): ServiceCounts[] {
  const byService = new Map<string, { namespace: string; name: string; connections: number; external: number; snatted: number; byVerdict: Partial<Record<Verdict, number>> }>();
  for (const row of rows) {
    const slash = row.service_key.indexOf('/');
    const counts = byService.get(row.service_key) ?? { namespace: row.service_key.slice(0, slash), name: row.service_key.slice(slash + 1), connections: 0, external: 0, snatted: 0, byVerdict: {} };
    const n = Number(row.n);
    counts.connections += n;
    const verdict = row.verdict as Verdict;
    counts.byVerdict[verdict] = (counts.byVerdict[verdict] ?? 0) + n;
    if (row.client_kind === 'external' && verdict !== 'dropped-no-local-endpoint') {
      counts.external += n;
      if (Number(row.snat) === 1) counts.snatted += n;
    }
    byService.set(row.service_key, counts);
  }
  return [...byService.values()].sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
}

interface CursorPosition {
  firstSeen: number;
  node: string;
  flowId: string;
}

export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(JSON.stringify([position.firstSeen, position.node, position.flowId])).toString('base64url');
}

export function decodeCursor(cursor: string): CursorPosition {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 3 && typeof value[0] === 'number' && typeof value[1] === 'string' && typeof value[2] === 'string') {
      return { firstSeen: value[0], node: value[1], flowId: value[2] };
    }
  } catch {
    // fall through: any undecodable cursor is the caller's mistake
  }
  throw new InvalidCursorError();
}

/** Newest first; asks for one row more than the page to know whether another page follows. */
export function flowsPageQuery(dialect: Dialect, query: FlowQuery): SqlQuery {
  const p = new Params(dialect);
  const where: string[] = [];
  if (query.service) where.push(`service_key = ${p.add(serviceKeyOf(query.service))}`);
  if (query.node) where.push(`node = ${p.add(query.node)}`);
  if (query.client) where.push(`(client_ip = ${p.add(query.client)} OR real_client_ip = ${p.add(query.client)})`);
  if (query.verdict) where.push(`verdict = ${p.add(query.verdict)}`);
  if (query.from !== undefined) where.push(`first_seen >= ${p.add(query.from)}`);
  if (query.to !== undefined) where.push(`first_seen < ${p.add(query.to)}`);
  if (query.cursor) {
    const c = decodeCursor(query.cursor);
    where.push(`(first_seen < ${p.add(c.firstSeen)} OR (first_seen = ${p.add(c.firstSeen)} AND (node < ${p.add(c.node)} OR (node = ${p.add(c.node)} AND flow_id < ${p.add(c.flowId)}))))`);
  }
  const whereSql = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
  return {
    text: `SELECT ${RECORD_COLUMNS} FROM flows ${whereSql} ORDER BY first_seen DESC, node DESC, flow_id DESC LIMIT ${p.add(query.limit + 1)}`,
    params: p.values,
  };
}

/** A page of flowsPageQuery rows → records, with the cursor of the last one when another page follows. */
export function toPage(rows: readonly RecordColumns[], limit: number): FlowPage {
  const flows: FlowRecord[] = rows.slice(0, limit).map(decodeRecord);
  const last = flows[flows.length - 1];
  return rows.length > limit && last ? { flows, nextCursor: encodeCursor({ firstSeen: last.firstSeen, node: last.node, flowId: last.flowId }) } : { flows };
}
