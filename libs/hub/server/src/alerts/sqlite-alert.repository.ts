import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { AlertState } from '@natlens/shared-analysis';
import { migrateSqlite } from '../storage/schema-migration';
import {
  ALERT_STATE_COLUMNS,
  type AlertChange,
  type AlertHistoryEntry,
  type AlertHistoryQuery,
  type AlertHistoryRow,
  type AlertRepository,
  type AlertStateRow,
  alertStateValues,
  historyValues,
  notificationOf,
  type OutboxEntry,
  toAlertState,
  toHistoryEntry,
} from './alert-repository';

/**
 * Alerts in the hub's SQLite file, on a connection of their own (WAL lets it write between ingest transactions;
 * busy_timeout waits out the other writer). Migrations are the store's; on an already-migrated file this is a no-op.
 */
export class SqliteAlertRepository implements AlertRepository {
  private readonly db: Database.Database;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
  }

  async migrate(): Promise<number> {
    const version = migrateSqlite(this.db);
    return version;
  }

  async states(): Promise<AlertState[]> {
    return (this.db.prepare('SELECT * FROM alert_states ORDER BY alert_key').all() as AlertStateRow[]).map(toAlertState);
  }

  async apply(changes: readonly AlertChange[], receivers: readonly string[], now: number): Promise<AlertChange[]> {
    if (changes.length === 0) return [];
    const applied: AlertChange[] = [];
    const select = this.db.prepare('SELECT * FROM alert_states WHERE alert_key = ?');
    const upsert = this.db.prepare(
      `INSERT INTO alert_states (${ALERT_STATE_COLUMNS.join(', ')}) VALUES (${ALERT_STATE_COLUMNS.map(() => '?').join(', ')})
       ON CONFLICT (alert_key) DO UPDATE SET ${ALERT_STATE_COLUMNS.slice(1).map((c) => `${c} = excluded.${c}`).join(', ')}`,
    );
    const remove = this.db.prepare('DELETE FROM alert_states WHERE alert_key = ?');
    const history = this.db.prepare('INSERT INTO alert_history (alert_key, rule, namespace, name, transition, severity, value, summary, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
    const outbox = this.db.prepare('INSERT INTO alert_outbox (receiver, notification, created_at, attempts, next_attempt_at) VALUES (?, ?, ?, 0, ?)');
    this.db.transaction(() => {
      for (const change of changes) {
        const row = select.get(change.key) as AlertStateRow | undefined;
        const previous = row ? toAlertState(row) : undefined;
        if ((previous?.updatedAt ?? null) !== change.previousUpdatedAt) continue;
        applied.push(change);
        if (change.state) upsert.run(...alertStateValues(change.key, change.state));
        else remove.run(change.key);
        const entry = historyValues(change, previous, now);
        if (entry) history.run(...entry);
        const notification = notificationOf(change);
        if (notification) for (const receiver of receivers) outbox.run(receiver, JSON.stringify(notification), now, now);
      }
    })();
    return applied;
  }

  async deleteExpired(before: number): Promise<{ history: number; states: number }> {
    return this.db.transaction(() => ({
      history: this.db.prepare('DELETE FROM alert_history WHERE at < ?').run(before).changes,
      states: this.db.prepare("DELETE FROM alert_states WHERE state = 'resolved' AND resolved_at < ?").run(before).changes,
    }))();
  }

  async history(query: AlertHistoryQuery): Promise<AlertHistoryEntry[]> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (query.service) {
      where.push('namespace = ? AND name = ?');
      params.push(query.service.namespace, query.service.name);
    }
    if (query.beforeId !== undefined) {
      where.push('id < ?');
      params.push(query.beforeId);
    }
    const sql = `SELECT * FROM alert_history ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...params, query.limit) as AlertHistoryRow[]).map(toHistoryEntry);
  }

  async dueNotifications(now: number, limit: number): Promise<OutboxEntry[]> {
    const rows = this.db.prepare('SELECT id, receiver, notification, created_at, attempts FROM alert_outbox WHERE id IN (SELECT MIN(id) FROM alert_outbox GROUP BY receiver) AND next_attempt_at <= ? ORDER BY id LIMIT ?').all(now, limit) as {
      id: number;
      receiver: string;
      notification: string;
      created_at: number;
      attempts: number;
    }[];
    return rows.map((r) => ({ id: r.id, receiver: r.receiver, notification: JSON.parse(r.notification), createdAt: r.created_at, attempts: r.attempts }));
  }

  async removeNotification(id: number): Promise<void> {
    this.db.prepare('DELETE FROM alert_outbox WHERE id = ?').run(id);
  }

  async retryNotification(id: number, nextAttemptAt: number, error: string): Promise<void> {
    this.db.prepare('UPDATE alert_outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ?').run(nextAttemptAt, error.slice(0, 500), id);
  }

  async countNotifications(): Promise<number> {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM alert_outbox').get() as { n: number }).n;
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
