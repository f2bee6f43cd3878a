import type Database from 'better-sqlite3';
import type { ConntrackSample, TimeWindow } from '@natlens/shared-analysis';
import { type NodeReport, nodeReportSchema } from '@natlens/shared-model';
import { migrateSqlite } from '../storage/schema-migration';
import { openSqliteDatabase } from '../storage/sqlite-flow.repository';
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

/** Node reports in the hub's SQLite file, on a connection of their own (WAL: it writes between ingest transactions). */
export class SqliteNodeReportRepository implements NodeReportRepository {
  private readonly db: Database.Database;

  constructor(path: string) {
    this.db = openSqliteDatabase(path);
  }

  async migrate(): Promise<number> {
    return migrateSqlite(this.db);
  }

  async store(report: NodeReport, receivedAt: number): Promise<NodeReportStoreResult> {
    return this.db.transaction(() => {
      const stored = this.db.prepare('SELECT at FROM node_reports WHERE node = ?').get(report.node) as { at: number } | undefined;
      const latest = (this.db.prepare('SELECT * FROM health_checks WHERE node = ?').all(report.node) as HealthCheckRow[]).map((row) => toStoredHealthCheck(row, 'latest'));
      const plan = planNodeReport(report, stored?.at, latest);
      if (!plan.upsertReport) return { stored: false, changed: [] };
      this.db
        .prepare('INSERT INTO node_reports (node, at, received_at, version, interval_ms, report) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (node) DO UPDATE SET at = excluded.at, received_at = excluded.received_at, version = excluded.version, interval_ms = excluded.interval_ms, report = excluded.report')
        .run(report.node, report.at, receivedAt, report.version, report.intervalMs ?? null, JSON.stringify(report));
      const upsert = this.db.prepare(
        `INSERT INTO health_checks (${HEALTH_CHECK_COLUMNS.join(', ')}) VALUES (${HEALTH_CHECK_COLUMNS.map(() => '?').join(', ')})
         ON CONFLICT (node, namespace, name) DO UPDATE SET ${HEALTH_CHECK_COLUMNS.slice(3).map((c) => `${c} = excluded.${c}`).join(', ')}`,
      );
      for (const row of plan.latest) upsert.run(...row);
      const history = this.db.prepare(`INSERT INTO health_check_history (${HISTORY_COLUMNS.join(', ')}) VALUES (${HISTORY_COLUMNS.map(() => '?').join(', ')}) ON CONFLICT DO NOTHING`);
      for (const row of plan.history) history.run(...row);
      const remove = this.db.prepare('DELETE FROM health_checks WHERE node = ? AND namespace = ? AND name = ?');
      for (const service of plan.removed) remove.run(report.node, service.namespace, service.name);
      let previousSample: ConntrackSample | undefined;
      if (plan.sample) {
        const previous = this.db.prepare('SELECT * FROM conntrack_samples WHERE node = ? AND at < ? ORDER BY at DESC LIMIT 1').get(report.node, plan.sample[1]) as ConntrackSampleRow | undefined;
        previousSample = previous ? toConntrackSample(previous) : undefined;
        this.db.prepare(`INSERT INTO conntrack_samples (${SAMPLE_COLUMNS.join(', ')}) VALUES (${SAMPLE_COLUMNS.map(() => '?').join(', ')}) ON CONFLICT DO NOTHING`).run(...plan.sample);
      }
      return { stored: true, changed: plan.changed, ...(previousSample ? { previousSample } : {}) };
    })();
  }

  async nodes(): Promise<StoredNodeReport[]> {
    const rows = this.db.prepare('SELECT node, at, received_at, report FROM node_reports ORDER BY node').all() as { node: string; at: number; received_at: number; report: string }[];
    return rows.map((row) => ({ node: row.node, at: row.at, receivedAt: row.received_at, report: nodeReportSchema.parse(JSON.parse(row.report)) }));
  }

  async healthChecksAt(service: ServiceRef, at: number): Promise<StoredHealthCheck[]> {
    const latest = (this.db.prepare('SELECT * FROM health_checks WHERE namespace = ? AND name = ?').all(service.namespace, service.name) as HealthCheckRow[]).map((r) => toStoredHealthCheck(r, 'latest'));
    const history = (this.db.prepare(HISTORY_AT_SQL(() => '?')).all(service.namespace, service.name, at, service.namespace, service.name) as HealthCheckRow[]).map((r) => toStoredHealthCheck(r, 'history'));
    return answersAt(latest, history, at);
  }

  async healthCheckHistory(service: ServiceRef, window: TimeWindow): Promise<StoredHealthCheck[]> {
    const rows = this.db.prepare('SELECT * FROM health_check_history WHERE namespace = ? AND name = ? AND at >= ? AND at < ? ORDER BY at, node').all(service.namespace, service.name, window.from, window.to) as HealthCheckRow[];
    return rows.map((r) => toStoredHealthCheck(r, 'history'));
  }

  async conntrackSamples(window: TimeWindow, node?: string): Promise<ConntrackSample[]> {
    const rows = (
      node === undefined
        ? this.db.prepare('SELECT * FROM conntrack_samples WHERE at >= ? AND at < ? ORDER BY node, at').all(window.from, window.to)
        : this.db.prepare('SELECT * FROM conntrack_samples WHERE node = ? AND at >= ? AND at < ? ORDER BY at').all(node, window.from, window.to)
    ) as ConntrackSampleRow[];
    return rows.map(toConntrackSample);
  }

  async deleteExpired(before: number): Promise<{ reports: number; history: number; samples: number }> {
    return this.db.transaction(() => {
      const history = this.db.prepare('DELETE FROM health_check_history WHERE at < ?').run(before).changes;
      const samples = this.db.prepare('DELETE FROM conntrack_samples WHERE at < ?').run(before).changes;
      this.db.prepare('DELETE FROM health_checks WHERE at < ?').run(before);
      const reports = this.db.prepare('DELETE FROM node_reports WHERE at < ?').run(before).changes;
      return { reports, history, samples };
    })();
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
