import { Pool } from 'pg';
import type { ConntrackSample, TimeWindow } from '@natlens/shared-analysis';
import { type NodeReport, nodeReportSchema } from '@natlens/shared-model';
import { postgresPoolConfig } from '../storage/postgres-flow.repository';
import { inTransaction, migratePostgres } from '../storage/schema-migration';
import {
  answersAt,
  type ConntrackSampleRow,
  SAMPLE_COLUMNS,
  toConntrackSample,
  HEALTH_CHECK_COLUMNS,
  HISTORY_AT_SQL,
  type HealthCheckRow,
  HISTORY_COLUMNS,
  type NodeReportRepository,
  type NodeReportStoreResult,
  planNodeReport,
  type ServiceRef,
  type StoredHealthCheck,
  type StoredNodeReport,
  toStoredHealthCheck,
} from './node-report-repository';

const placeholders = (n: number) => Array.from({ length: n }, (_, i) => `$${i + 1}`).join(', ');

/**
 * Node reports in PostgreSQL. Hub replicas may store two reports of one node at once (over NATS): the node's report
 * row is locked first (`FOR UPDATE` after an insert-if-missing), so they take turns and the newer one wins.
 */
export class PostgresNodeReportRepository implements NodeReportRepository {
  private readonly pool: Pool;

  /** `statementTimeoutMs`: PostgreSQL's statement_timeout on each connection, as the flow store's (0 or absent: none). */
  constructor(connectionString: string, statementTimeoutMs = 0) {
    this.pool = new Pool(postgresPoolConfig(connectionString, { poolSize: 2, statementTimeoutMs }));
    // An idle connection broken by a database restart is emitted as 'error': without a listener that kills the
    // process. The pool drops it; the next query connects again.
    this.pool.on('error', () => undefined);
  }

  async migrate(): Promise<number> {
    return migratePostgres(this.pool);
  }

  async store(report: NodeReport, receivedAt: number): Promise<NodeReportStoreResult> {
    return inTransaction(this.pool, async (client) => {
      // A placeholder row (at = -1) so there is always a row to lock; the real report replaces it below.
      await client.query("INSERT INTO node_reports (node, at, received_at, version, interval_ms, report) VALUES ($1, -1, 0, 0, NULL, '{}') ON CONFLICT (node) DO NOTHING", [report.node]);
      const stored = (await client.query<{ at: string }>('SELECT at FROM node_reports WHERE node = $1 FOR UPDATE', [report.node])).rows[0];
      const storedAt = stored === undefined || Number(stored.at) < 0 ? undefined : Number(stored.at);
      const latest = (await client.query<HealthCheckRow>('SELECT * FROM health_checks WHERE node = $1', [report.node])).rows.map((row) => toStoredHealthCheck(row, 'latest'));
      const plan = planNodeReport(report, storedAt, latest);
      if (!plan.upsertReport) return { stored: false, changed: [] };
      await client.query('UPDATE node_reports SET at = $2, received_at = $3, version = $4, interval_ms = $5, report = $6 WHERE node = $1', [report.node, report.at, receivedAt, report.version, report.intervalMs ?? null, JSON.stringify(report)]);
      for (const row of plan.latest) {
        await client.query(
          `INSERT INTO health_checks (${HEALTH_CHECK_COLUMNS.join(', ')}) VALUES (${placeholders(HEALTH_CHECK_COLUMNS.length)})
           ON CONFLICT (node, namespace, name) DO UPDATE SET ${HEALTH_CHECK_COLUMNS.slice(3).map((c) => `${c} = excluded.${c}`).join(', ')}`,
          row,
        );
      }
      for (const row of plan.history) {
        await client.query(`INSERT INTO health_check_history (${HISTORY_COLUMNS.join(', ')}) VALUES (${placeholders(HISTORY_COLUMNS.length)}) ON CONFLICT DO NOTHING`, row);
      }
      for (const service of plan.removed) await client.query('DELETE FROM health_checks WHERE node = $1 AND namespace = $2 AND name = $3', [report.node, service.namespace, service.name]);
      let previousSample: ConntrackSample | undefined;
      if (plan.sample) {
        // the node's row is locked (above): replicas storing this node's reports take turns, so "previous" is exact
        const previous = (await client.query<ConntrackSampleRow>('SELECT * FROM conntrack_samples WHERE node = $1 AND at < $2 ORDER BY at DESC LIMIT 1', [report.node, plan.sample[1]])).rows[0];
        previousSample = previous ? toConntrackSample(previous) : undefined;
        await client.query(`INSERT INTO conntrack_samples (${SAMPLE_COLUMNS.join(', ')}) VALUES (${placeholders(SAMPLE_COLUMNS.length)}) ON CONFLICT DO NOTHING`, [...plan.sample]);
      }
      return { stored: true, changed: plan.changed, ...(previousSample ? { previousSample } : {}) };
    });
  }

  async nodes(): Promise<StoredNodeReport[]> {
    const rows = (await this.pool.query<{ node: string; at: string; received_at: string; report: string }>('SELECT node, at, received_at, report FROM node_reports WHERE at >= 0 ORDER BY node')).rows;
    return rows.map((row) => ({ node: row.node, at: Number(row.at), receivedAt: Number(row.received_at), report: nodeReportSchema.parse(JSON.parse(row.report)) }));
  }

  async healthChecksAt(service: ServiceRef, at: number): Promise<StoredHealthCheck[]> {
    const latest = (await this.pool.query<HealthCheckRow>('SELECT * FROM health_checks WHERE namespace = $1 AND name = $2', [service.namespace, service.name])).rows.map((r) => toStoredHealthCheck(r, 'latest'));
    const history = (await this.pool.query<HealthCheckRow>(HISTORY_AT_SQL((n) => `$${n}`), [service.namespace, service.name, at])).rows.map((r) => toStoredHealthCheck(r, 'history'));
    return answersAt(latest, history, at);
  }

  async healthCheckHistory(service: ServiceRef, window: TimeWindow): Promise<StoredHealthCheck[]> {
    const rows = (await this.pool.query<HealthCheckRow>('SELECT * FROM health_check_history WHERE namespace = $1 AND name = $2 AND at >= $3 AND at < $4 ORDER BY at, node', [service.namespace, service.name, window.from, window.to])).rows;
    return rows.map((r) => toStoredHealthCheck(r, 'history'));
  }

  async conntrackSamples(window: TimeWindow, node?: string): Promise<ConntrackSample[]> {
    const rows = (
      node === undefined
        ? await this.pool.query<ConntrackSampleRow>('SELECT * FROM conntrack_samples WHERE at >= $1 AND at < $2 ORDER BY node, at', [window.from, window.to])
        : await this.pool.query<ConntrackSampleRow>('SELECT * FROM conntrack_samples WHERE node = $1 AND at >= $2 AND at < $3 ORDER BY at', [node, window.from, window.to])
    ).rows;
    return rows.map(toConntrackSample);
  }

  async deleteExpired(before: number): Promise<{ reports: number; history: number; samples: number }> {
    return inTransaction(this.pool, async (client) => {
      const history = (await client.query('DELETE FROM health_check_history WHERE at < $1', [before])).rowCount ?? 0;
      const samples = (await client.query('DELETE FROM conntrack_samples WHERE at < $1', [before])).rowCount ?? 0;
      await client.query('DELETE FROM health_checks WHERE at < $1', [before]);
      const reports = (await client.query('DELETE FROM node_reports WHERE at < $1', [before])).rowCount ?? 0;
      return { reports, history, samples };
    });
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
