import type { AlertName, AlertSeverity, AlertState, AlertTransition } from '@natlens/shared-analysis';
import type { AlertHistoryEntry } from '@natlens/shared-api';

/*
 * Where alerts live: the latest state of each (rule, Service), every transition (history), and an outbox of
 * notifications per receiver. One interface, a SQLite and a PostgreSQL implementation passing the same contract
 * (alert-repository.contract.ts), tables from storage/migrations.ts version 3.
 */

/** What receivers are told: an alert that started firing, or one that resolved. */
export interface AlertNotification {
  readonly transition: 'firing' | 'resolved';
  readonly alert: AlertState;
}

export interface AlertChange {
  /** `rule|namespace/name` (alertKey()). */
  readonly key: string;
  /** The state to keep; `undefined` deletes it (a pending alert that never fired). */
  readonly state: AlertState | undefined;
  readonly transition?: AlertTransition;
  /**
   * The stored state's `updatedAt` this change was computed from (`null`: none stored). A change whose base has moved
   * meanwhile (another hub replica evaluated first) is skipped, so no transition is stored or announced twice.
   */
  readonly previousUpdatedAt: number | null;
}

export type { AlertHistoryEntry } from '@natlens/shared-api';

export interface AlertHistoryQuery {
  readonly limit: number;
  readonly service?: { readonly namespace: string; readonly name: string };
  /** Entries strictly older than this id (paging, newest first). */
  readonly beforeId?: number;
}

export interface OutboxEntry {
  readonly id: number;
  readonly receiver: string;
  readonly notification: AlertNotification;
  readonly createdAt: number;
  readonly attempts: number;
}

export interface AlertRepository {
  migrate(): Promise<number>;
  states(): Promise<AlertState[]>;
  /**
   * In one transaction: stores (or deletes) each changed state, appends a history entry for each transition, and
   * queues a notification for every receiver when the transition is `firing` or `resolved`. Returns the changes
   * applied; a change whose `previousUpdatedAt` no longer matches the stored state is left out.
   */
  apply(changes: readonly AlertChange[], receivers: readonly string[], now: number): Promise<AlertChange[]>;
  history(query: AlertHistoryQuery): Promise<AlertHistoryEntry[]>;
  /**
   * The oldest queued notification of each receiver, when its next attempt is due: a receiver gets its notifications
   * in order (never `resolved` before the `firing` it ends), the next one once the head is delivered or dropped.
   */
  dueNotifications(now: number, limit: number): Promise<OutboxEntry[]>;
  /** Delivered, or given up on: removed from the outbox. */
  removeNotification(id: number): Promise<void>;
  retryNotification(id: number, nextAttemptAt: number, error: string): Promise<void>;
  countNotifications(): Promise<number>;
  /** Retention: history entries older than `before`, and resolved states resolved before it. */
  deleteExpired(before: number): Promise<{ history: number; states: number }>;
  close(): Promise<void>;
}

export function alertKey(rule: AlertName, service: { namespace: string; name: string }): string {
  return `${rule}|${service.namespace}/${service.name}`;
}

/** Column values of alert_states, in the order of ALERT_STATE_COLUMNS. */
export const ALERT_STATE_COLUMNS = ['alert_key', 'rule', 'namespace', 'name', 'state', 'severity', 'value', 'threshold', 'summary', 'active_since', 'fired_at', 'resolved_at', 'updated_at'] as const;

export interface AlertStateRow {
  alert_key: string;
  rule: string;
  namespace: string;
  name: string;
  state: string;
  severity: string;
  value: number;
  threshold: number;
  summary: string;
  active_since: number | string;
  fired_at: number | string | null;
  resolved_at: number | string | null;
  updated_at: number | string;
}

export function alertStateValues(key: string, state: AlertState): (string | number | null)[] {
  return [key, state.rule, state.service.namespace, state.service.name, state.state, state.severity, state.value, state.threshold, state.summary, state.activeSince, state.firedAt ?? null, state.resolvedAt ?? null, state.updatedAt];
}

/** PostgreSQL returns BIGINT as text; SQLite as a number. */
export function toAlertState(row: AlertStateRow): AlertState {
  return {
    rule: row.rule as AlertName,
    service: { namespace: row.namespace, name: row.name },
    state: row.state as AlertState['state'],
    severity: row.severity as AlertSeverity,
    value: Number(row.value),
    threshold: Number(row.threshold),
    summary: row.summary,
    activeSince: Number(row.active_since),
    ...(row.fired_at !== null ? { firedAt: Number(row.fired_at) } : {}),
    ...(row.resolved_at !== null ? { resolvedAt: Number(row.resolved_at) } : {}),
    updatedAt: Number(row.updated_at),
  };
}

export interface AlertHistoryRow {
  id: number | string;
  rule: string;
  namespace: string;
  name: string;
  transition: string;
  severity: string;
  value: number;
  summary: string;
  at: number | string;
}

export function toHistoryEntry(row: AlertHistoryRow): AlertHistoryEntry {
  return {
    id: Number(row.id),
    rule: row.rule as AlertName,
    service: { namespace: row.namespace, name: row.name },
    transition: row.transition as AlertTransition,
    severity: row.severity as AlertSeverity,
    value: Number(row.value),
    summary: row.summary,
    at: Number(row.at),
  };
}

/** History rows of one change, when it is a transition. */
export function historyValues(change: AlertChange, previous: AlertState | undefined, now: number): (string | number)[] | undefined {
  if (!change.transition) return undefined;
  const about = change.state ?? previous;
  if (!about) return undefined;
  return [change.key, about.rule, about.service.namespace, about.service.name, change.transition, about.severity, about.value, about.summary, now];
}

export function notificationOf(change: AlertChange): AlertNotification | undefined {
  if ((change.transition === 'firing' || change.transition === 'resolved') && change.state) return { transition: change.transition, alert: change.state };
  return undefined;
}
