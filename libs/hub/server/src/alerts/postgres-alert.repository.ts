import { Pool, type PoolClient } from 'pg';
import type { AlertState } from '@natlens/shared-analysis';
import { postgresPoolConfig } from '../storage/postgres-flow.repository';
import { inTransaction, migratePostgres } from '../storage/schema-migration';
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

/** Serialises alert changes across hub replicas ("nala" in ASCII). */
const ALERT_APPLY_LOCK_ID = 0x6e616c61;

/**
 * Alerts in PostgreSQL. Changes are applied under one advisory lock, and each only if the stored state is still the
 * one it was computed from, so two hub replicas evaluating together cannot both store or announce a transition.
 */
export class PostgresAlertRepository implements AlertRepository {
  private readonly pool: Pool;

  /** `statementTimeoutMs`: PostgreSQL's statement_timeout on each connection, as the flow store's (0 or absent: none). */
  constructor(connectionString: string, statementTimeoutMs = 0) {
    this.pool = new Pool(postgresPoolConfig(connectionString, { poolSize: 2, statementTimeoutMs }));
    // An idle connection broken by a database restart is emitted as 'error': without a listener that kills the
    // process. The pool drops it; the next query connects again.
    this.pool.on('error', () => undefined);
  }

  private transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, work);
  }

  async migrate(): Promise<number> {
    return migratePostgres(this.pool);
  }

  async states(): Promise<AlertState[]> {
    return (await this.pool.query<AlertStateRow>('SELECT * FROM alert_states ORDER BY alert_key')).rows.map(toAlertState);
  }

  async apply(changes: readonly AlertChange[], receivers: readonly string[], now: number): Promise<AlertChange[]> {
    if (changes.length === 0) return [];
    const applied: AlertChange[] = [];
    const placeholders = ALERT_STATE_COLUMNS.map((_, i) => `$${i + 1}`).join(', ');
    await this.transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [ALERT_APPLY_LOCK_ID]);
      for (const change of changes) {
        const row = (await client.query<AlertStateRow>('SELECT * FROM alert_states WHERE alert_key = $1', [change.key])).rows[0];
        const previous = row ? toAlertState(row) : undefined;
        if ((previous?.updatedAt ?? null) !== change.previousUpdatedAt) continue;
        applied.push(change);
        if (change.state) {
          await client.query(
            `INSERT INTO alert_states (${ALERT_STATE_COLUMNS.join(', ')}) VALUES (${placeholders})
             ON CONFLICT (alert_key) DO UPDATE SET ${ALERT_STATE_COLUMNS.slice(1).map((c) => `${c} = excluded.${c}`).join(', ')}`,
            alertStateValues(change.key, change.state),
          );
        } else {
          await client.query('DELETE FROM alert_states WHERE alert_key = $1', [change.key]);
        }
        const entry = historyValues(change, previous, now);
        if (entry) await client.query('INSERT INTO alert_history (alert_key, rule, namespace, name, transition, severity, value, summary, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)', entry);
        const notification = notificationOf(change);
        if (notification) {
          for (const receiver of receivers) {
            await client.query('INSERT INTO alert_outbox (receiver, notification, created_at, attempts, next_attempt_at) VALUES ($1, $2, $3, 0, $3)', [receiver, JSON.stringify(notification), now]);
          }
        }
      }
    });
    return applied;
  }

  async deleteExpired(before: number): Promise<{ history: number; states: number }> {
    return this.transaction(async (client) => {
      const history = await client.query('DELETE FROM alert_history WHERE at < $1', [before]);
      const states = await client.query("DELETE FROM alert_states WHERE state = 'resolved' AND resolved_at < $1", [before]);
      return { history: history.rowCount ?? 0, states: states.rowCount ?? 0 };
    });
  }

  async history(query: AlertHistoryQuery): Promise<AlertHistoryEntry[]> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (query.service) {
      params.push(query.service.namespace, query.service.name);
      where.push(`namespace = $${params.length - 1} AND name = $${params.length}`);
    }
    if (query.beforeId !== undefined) {
      params.push(query.beforeId);
      where.push(`id < $${params.length}`);
    }
    params.push(query.limit);
    const sql = `SELECT * FROM alert_history ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $${params.length}`;
    return (await this.pool.query<AlertHistoryRow>(sql, params)).rows.map(toHistoryEntry);
  }

  async dueNotifications(now: number, limit: number): Promise<OutboxEntry[]> {
    const rows = (
      await this.pool.query<{ id: string; receiver: string; notification: string; created_at: string; attempts: number }>(
        'SELECT id, receiver, notification, created_at, attempts FROM alert_outbox WHERE id IN (SELECT MIN(id) FROM alert_outbox GROUP BY receiver) AND next_attempt_at <= $1 ORDER BY id LIMIT $2',
        [now, limit],
      )
    ).rows;
    return rows.map((r) => ({ id: Number(r.id), receiver: r.receiver, notification: JSON.parse(r.notification), createdAt: Number(r.created_at), attempts: Number(r.attempts) }));
  }

  async removeNotification(id: number): Promise<void> {
    await this.pool.query('DELETE FROM alert_outbox WHERE id = $1', [id]);
  }

  async retryNotification(id: number, nextAttemptAt: number, error: string): Promise<void> {
    await this.pool.query('UPDATE alert_outbox SET attempts = attempts + 1, next_attempt_at = $1, last_error = $2 WHERE id = $3', [nextAttemptAt, error.slice(0, 500), id]);
  }

  async countNotifications(): Promise<number> {
    return Number((await this.pool.query<{ n: string }>('SELECT COUNT(*) AS n FROM alert_outbox')).rows[0]?.n ?? 0);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
