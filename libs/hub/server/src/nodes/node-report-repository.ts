import { type ConntrackSample, snatPeakUsage, type TimeWindow } from '@natlens/shared-analysis';
import type { ConntrackStats, NodeReport, ServiceHealthCheck } from '@natlens/shared-model';

/*
 * Node reports in the hub's database (same store URL as the flows), behind one interface with a SQLite and a
 * PostgreSQL implementation passing the same contract (node-report-repository.contract.ts): the newest report per
 * node, the latest health-check answer per (node, Service) with the time that answer began, and one history row per
 * change of answer, and one conntrack sample per report that carries conntrack statistics or SNAT pairs (issue 20).
 * What to write is planned here, purely; the implementations only run the plan.
 */

export interface ServiceRef {
  readonly namespace: string;
  readonly name: string;
}

/** One health-check answer as stored: the latest of a (node, Service), or a change of answer from the history. */
export interface StoredHealthCheck {
  readonly node: string;
  readonly service: ServiceRef;
  readonly address: string;
  readonly port: number;
  /** The probe's time: the latest probe for the latest answer, the streak's first probe for a history row. */
  readonly at: number;
  /** When this same answer began (the first probe of the streak that still holds at `at`). */
  readonly since: number;
  readonly httpStatus: number | null;
  readonly localEndpoints: number | null;
  readonly latencyMs?: number;
  readonly error?: string;
  /** The reporting agent's interval: how soon a newer answer was due. Absent for history rows. */
  readonly intervalMs?: number;
  /** `latest`: the newest probe of this (node, Service); `history`: an earlier answer, in force at the asked time. */
  readonly kind: 'latest' | 'history';
}

export interface StoredNodeReport {
  readonly node: string;
  readonly at: number;
  readonly receivedAt: number;
  readonly report: NodeReport;
}

export interface NodeReportStoreResult {
  /** False when a newer report of the node was already stored (a late or re-delivered one changes nothing). */
  readonly stored: boolean;
  /** The Services whose answer on this node changed (or was seen for the first time). */
  readonly changed: readonly ServiceRef[];
  /**
   * When the report added a conntrack sample: the node's sample stored before it (by any hub replica), so counter
   * increases are taken between consecutive stored reports and replicas' increases add up to the node's. Absent for
   * the node's first sample.
   */
  readonly previousSample?: ConntrackSample;
}

export interface NodeReportRepository {
  /** Applies pending schema migrations (the store's shared list); returns the schema version. */
  migrate(): Promise<number>;
  /** Stores a report in one transaction; idempotent (a report stored twice changes nothing the second time). */
  store(report: NodeReport, receivedAt: number): Promise<NodeReportStoreResult>;
  /** The newest report of every node, by node name. */
  nodes(): Promise<StoredNodeReport[]>;
  /**
   * Each node's answer for the Service in force at `at`: the latest when its streak began by then, else the history's
   * last change at or before `at`. Nodes with no answer by then are absent.
   */
  healthChecksAt(service: ServiceRef, at: number): Promise<StoredHealthCheck[]>;
  /** The changes of answer of a Service's health check on every node within the window, oldest first. */
  healthCheckHistory(service: ServiceRef, window: TimeWindow): Promise<StoredHealthCheck[]>;
  /** Every conntrack sample in the window (of one node when given), by node, oldest first. */
  conntrackSamples(window: TimeWindow, node?: string): Promise<ConntrackSample[]>;
  /** Deletes history rows and samples older than `before`, and the reports and latest answers of nodes silent since then. */
  deleteExpired(before: number): Promise<{ reports: number; history: number; samples: number }>;
  close(): Promise<void>;
}

/** The columns of a row of `health_checks` (and, without since/latency/interval, of `health_check_history`). */
export interface HealthCheckRow {
  node: string;
  namespace: string;
  name: string;
  at: number | string;
  since?: number | string;
  http_status: number | null;
  local_endpoints: number | null;
  latency_ms?: number | null;
  error: string | null;
  address: string;
  port: number;
  interval_ms?: number | string | null;
}

export const HEALTH_CHECK_COLUMNS = ['node', 'namespace', 'name', 'at', 'since', 'http_status', 'local_endpoints', 'latency_ms', 'error', 'address', 'port', 'interval_ms'] as const;
export const HISTORY_COLUMNS = ['node', 'namespace', 'name', 'at', 'http_status', 'local_endpoints', 'error', 'address', 'port'] as const;

/**
 * The history rows (one per node) last changed at or before a time: the answer each node gave then. `p(n)` spells
 * parameter n: SQLite's anonymous `?` takes (namespace, name, at, namespace, name), PostgreSQL's `$n` (namespace, name, at).
 */
export const HISTORY_AT_SQL = (p: (n: number) => string) => `SELECT h.* FROM health_check_history h
  JOIN (SELECT node, MAX(at) AS at FROM health_check_history WHERE namespace = ${p(1)} AND name = ${p(2)} AND at <= ${p(3)} GROUP BY node) m ON h.node = m.node AND h.at = m.at
  WHERE h.namespace = ${p(1)} AND h.name = ${p(2)}`;

/** What one report writes. */
export interface NodeReportPlan {
  readonly upsertReport: boolean;
  /** Rows of `health_checks` to upsert, in HEALTH_CHECK_COLUMNS order. */
  readonly latest: readonly (string | number | null)[][];
  /** Rows of `health_check_history` to insert (ignoring duplicates), in HISTORY_COLUMNS order. */
  readonly history: readonly (string | number | null)[][];
  /** Services whose latest row of this node goes: the node no longer probes them (the Service went or changed). */
  readonly removed: readonly ServiceRef[];
  readonly changed: readonly ServiceRef[];
  /** The row of `conntrack_samples` to insert (ignoring a duplicate), in SAMPLE_COLUMNS order; absent without statistics. */
  readonly sample?: readonly (string | number | null)[];
}

/** The answer a streak is made of: the same status and count mean the same thing to a load balancer. */
function sameAnswer(a: { httpStatus: number | null; localEndpoints: number | null }, b: { httpStatus: number | null; localEndpoints: number | null }): boolean {
  return a.httpStatus === b.httpStatus && a.localEndpoints === b.localEndpoints;
}

const serviceId = (ref: ServiceRef) => `${ref.namespace}/${ref.name}`;

/**
 * What storing a report changes, given the node's newest stored report time and its latest stored answers. Pure.
 * A report older than the stored one writes nothing (reports may arrive late or twice, over NATS in any order); a
 * newer one replaces the node's report and latest answers, starts a new streak (and a history row) where an answer
 * changed, and drops the latest answers of Services it no longer probes.
 */
export function planNodeReport(report: NodeReport, storedAt: number | undefined, storedLatest: readonly StoredHealthCheck[]): NodeReportPlan {
  if (storedAt !== undefined && report.at <= storedAt) return { upsertReport: false, latest: [], history: [], removed: [], changed: [] };
  const sample = sampleRow(report);
  const previous = new Map(storedLatest.map((check) => [serviceId(check.service), check]));
  const latest: (string | number | null)[][] = [];
  const history: (string | number | null)[][] = [];
  const changed: ServiceRef[] = [];
  const probed = new Set<string>();
  for (const check of report.healthChecks) {
    const id = serviceId(check.service);
    if (probed.has(id)) continue; // one answer per Service and report; an agent sends no duplicates
    probed.add(id);
    const before = previous.get(id);
    const continues = before !== undefined && sameAnswer(before, check) && before.at <= check.at;
    const since = continues ? before.since : check.at;
    latest.push(latestRow(report, check, since));
    if (!continues) {
      history.push(historyRow(report.node, check));
      changed.push(check.service);
    }
  }
  const removed = storedLatest.filter((check) => !probed.has(serviceId(check.service))).map((check) => check.service);
  return { upsertReport: true, latest, history, removed, changed, ...(sample ? { sample } : {}) };
}

/** The counters' columns in `conntrack_samples`, in the order of the kernel's CTA_STATS_* attributes. */
const COUNTER_COLUMNS: readonly (readonly [keyof ConntrackStats['counters'], string])[] = [
  ['found', 'found'],
  ['invalid', 'invalid'],
  ['insert', 'inserted'],
  ['insertFailed', 'insert_failed'],
  ['drop', 'dropped'],
  ['earlyDrop', 'early_dropped'],
  ['error', 'errors'],
  ['searchRestart', 'search_restart'],
  ['clashResolve', 'clash_resolve'],
  ['chainTooLong', 'chain_too_long'],
];
export const SAMPLE_COLUMNS = ['node', 'at', 'entries', 'max_entries', 'buckets', ...COUNTER_COLUMNS.map(([, column]) => column), 'snat_peak_usage'] as const;
export type ConntrackSampleRow = Record<string, string | number | null>;

/** A report's sample row: at the statistics' own time (else the report's), or nothing when it has neither section. */
export function sampleRow(report: NodeReport): (string | number | null)[] | undefined {
  const stats = report.conntrack;
  const peak = snatPeakUsage(report.snatPorts);
  if (!stats && peak === null) return undefined;
  return [report.node, stats?.at ?? report.at, stats?.entries ?? null, stats?.max ?? null, stats?.buckets ?? null, ...COUNTER_COLUMNS.map(([key]) => stats?.counters[key] ?? null), peak];
}

const numberOrNull = (value: string | number | null | undefined) => (value === null || value === undefined ? null : Number(value));

/** A stored sample (BIGINT columns come back as strings from pg). */
export function toConntrackSample(row: ConntrackSampleRow): ConntrackSample {
  const counters: Record<string, number> = {};
  for (const [key, column] of COUNTER_COLUMNS) {
    const value = numberOrNull(row[column]);
    if (value !== null) counters[key] = value;
  }
  return {
    node: String(row.node),
    at: Number(row.at),
    entries: numberOrNull(row.entries),
    max: numberOrNull(row.max_entries),
    buckets: numberOrNull(row.buckets),
    counters,
    snatPeakUsage: numberOrNull(row.snat_peak_usage),
  };
}

function latestRow(report: NodeReport, check: ServiceHealthCheck, since: number): (string | number | null)[] {
  return [report.node, check.service.namespace, check.service.name, check.at, since, check.httpStatus, check.localEndpoints, check.latencyMs ?? null, check.error ?? null, check.address, check.port, report.intervalMs ?? null];
}

function historyRow(node: string, check: ServiceHealthCheck): (string | number | null)[] {
  return [node, check.service.namespace, check.service.name, check.at, check.httpStatus, check.localEndpoints, check.error ?? null, check.address, check.port];
}

/** A stored row as the API gives it (BIGINT columns come back as strings from pg). */
export function toStoredHealthCheck(row: HealthCheckRow, kind: StoredHealthCheck['kind']): StoredHealthCheck {
  const at = Number(row.at);
  return {
    node: row.node,
    service: { namespace: row.namespace, name: row.name },
    address: row.address,
    port: Number(row.port),
    at,
    since: row.since === undefined ? at : Number(row.since),
    httpStatus: row.http_status === null ? null : Number(row.http_status),
    localEndpoints: row.local_endpoints === null ? null : Number(row.local_endpoints),
    ...(row.latency_ms !== undefined && row.latency_ms !== null ? { latencyMs: Number(row.latency_ms) } : {}),
    ...(row.error !== null ? { error: row.error } : {}),
    ...(row.interval_ms !== undefined && row.interval_ms !== null ? { intervalMs: Number(row.interval_ms) } : {}),
    kind,
  };
}

/**
 * Per node, the answer in force at `at`: the latest probe when it was made by then; else, when `at` lies inside or
 * before the latest streak, the change of answer (history row) last before `at`, so that a closed window in the past
 * always shows the same answer and time however many probes came after it. Pure (both stores fetch the same two sets
 * of rows and choose here).
 */
export function answersAt(latest: readonly StoredHealthCheck[], history: readonly StoredHealthCheck[], at: number): StoredHealthCheck[] {
  const byNode = new Map<string, StoredHealthCheck>();
  for (const check of latest) if (check.at <= at) byNode.set(check.node, check);
  for (const row of history) {
    if (row.at > at || byNode.get(row.node)?.kind === 'latest') continue;
    const known = byNode.get(row.node);
    if (!known || known.at < row.at) byNode.set(row.node, row);
  }
  // A streak whose first row the retention already deleted: its start is still known from the latest answer.
  for (const check of latest) {
    if (byNode.has(check.node) || check.since > at) continue;
    const { latencyMs: _latency, intervalMs: _interval, ...answer } = check;
    byNode.set(check.node, { ...answer, at: check.since, kind: 'history' });
  }
  return [...byNode.values()].sort((a, b) => a.node.localeCompare(b.node));
}
