import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { EvidenceCounts, TimeWindow } from '@natlens/shared-analysis';
import type { FlowRecord } from '@natlens/shared-model';
import type { EvidenceSource, FlowPage, FlowQuery, FlowRepository, IngestResult, RetentionCutoffs, ServiceCounts, ServiceKey, StoredService } from './flow-repository';
import { distinctClientsQuery, encodeCursor, type EvidenceRowColumns, evidenceRowsQuery, flowsPageQuery, serviceCountsQuery, toEvidenceCounts, toServiceCounts } from './flow-sql';
import { flowRowValues, type ServiceRowColumns, toStoredService } from './flow-row';
import { MINUTE_MS, planIngest, recordKey, serviceKeyOf } from './ingest-plan';
import { FLOW_COLUMNS, MIGRATIONS, SCHEMA_MIGRATIONS_DDL } from './migrations';

/**
 * The default store: one SQLite file in WAL mode (readers never block the single writer). better-sqlite3 is
 * synchronous, which suits SQLite: a batch of 1,000 upserts in one transaction takes milliseconds.
 */
export class SqliteFlowRepository implements FlowRepository {
  private readonly db: Database.Database;
  private statements?: ReturnType<SqliteFlowRepository['prepare']>;

  /** `path` is a file path or `:memory:`. */
  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode: a power loss may lose the last transactions but never corrupts; agents re-send.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
  }

  async migrate(): Promise<number> {
    this.db.exec(SCHEMA_MIGRATIONS_DDL);
    const current = (this.db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations').get() as { v: number }).v;
    for (const migration of MIGRATIONS.filter((m) => m.version > current)) {
      this.db.transaction(() => {
        for (const statement of migration.statements) this.db.exec(statement);
        this.db.prepare('INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)').run(migration.version, migration.description, Date.now());
      })();
    }
    this.statements = this.prepare();
    return MIGRATIONS.reduce((max, m) => Math.max(max, m.version), current);
  }

  private prepare() {
    const placeholders = FLOW_COLUMNS.map(() => '?').join(', ');
    const updates = FLOW_COLUMNS.filter((c) => c !== 'node' && c !== 'flow_id').map((c) => `${c} = excluded.${c}`).join(', ');
    return {
      stored: this.db.prepare<[string, string], { record: string }>('SELECT record FROM flows WHERE node = ? AND flow_id = ?'),
      upsertFlow: this.db.prepare(`INSERT INTO flows (${FLOW_COLUMNS.join(', ')}) VALUES (${placeholders}) ON CONFLICT (node, flow_id) DO UPDATE SET ${updates}`),
      flowMinute: this.db.prepare(
        `INSERT INTO flow_minute (service_key, minute, node, entry, verdict, client_kind, snat, snat_address, ep_namespace, ep_pod, ep_node, connections)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (service_key, minute, node, entry, verdict, client_kind, snat, snat_address, ep_namespace, ep_pod, ep_node)
         DO UPDATE SET connections = connections + excluded.connections`,
      ),
      clientMinute: this.db.prepare(
        `INSERT INTO client_minute (service_key, minute, side, address, connections) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (service_key, minute, side, address) DO UPDATE SET connections = connections + excluded.connections`,
      ),
      service: this.db.prepare(
        `INSERT INTO services (service_key, namespace, name, type, policy, expect_client_ip, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (service_key) DO UPDATE SET type = excluded.type, policy = excluded.policy, expect_client_ip = excluded.expect_client_ip, last_seen = excluded.last_seen
         WHERE excluded.last_seen >= services.last_seen`,
      ),
    };
  }

  private get sql() {
    if (!this.statements) throw new Error('the SQLite store is not migrated: call migrate() first');
    return this.statements;
  }

  async ingest(records: readonly FlowRecord[]): Promise<IngestResult> {
    const sql = this.sql;
    return this.db.transaction((): IngestResult => {
      const stored = new Map<string, FlowRecord>();
      for (const record of records) {
        const row = sql.stored.get(record.node, record.flowId);
        if (row) stored.set(recordKey(record), JSON.parse(row.record) as FlowRecord);
      }
      const plan = planIngest(records, stored);
      for (const record of plan.upserts) sql.upsertFlow.run(...flowRowValues(record));
      for (const { dims: d, delta } of plan.flowMinuteDeltas) {
        sql.flowMinute.run(d.serviceKey, d.minute, d.node, d.entry, d.verdict, d.clientKind, d.snat ? 1 : 0, d.snatAddress, d.endpointNamespace, d.endpointPod, d.endpointNode, delta);
      }
      for (const { dims: d, delta } of plan.clientMinuteDeltas) sql.clientMinute.run(d.serviceKey, d.minute, d.side, d.address, delta);
      for (const record of plan.services) {
        const s = record.service;
        if (s) sql.service.run(serviceKeyOf(s), s.namespace, s.name, s.type, s.externalTrafficPolicy, s.expectClientIP ? 1 : 0, record.lastSeen);
      }
      return { records: plan.upserts.length, inserted: plan.insertedCount };
    })();
  }

  async evidenceCounts(service: ServiceKey, window: TimeWindow, source: EvidenceSource = 'rollups'): Promise<EvidenceCounts> {
    const rows = evidenceRowsQuery('sqlite', service, window, source);
    const distinct = distinctClientsQuery('sqlite', service, window, source);
    return toEvidenceCounts(
      this.db.prepare(rows.text).all(...rows.params) as EvidenceRowColumns[],
      this.db.prepare(distinct.text).all(...distinct.params) as { side: string; n: number }[],
    );
  }

  async services(): Promise<StoredService[]> {
    return (this.db.prepare('SELECT namespace, name, type, policy, expect_client_ip, last_seen FROM services ORDER BY service_key').all() as ServiceRowColumns[]).map(toStoredService);
  }

  async service(key: ServiceKey): Promise<StoredService | undefined> {
    const row = this.db.prepare('SELECT namespace, name, type, policy, expect_client_ip, last_seen FROM services WHERE service_key = ?').get(serviceKeyOf(key)) as ServiceRowColumns | undefined;
    return row ? toStoredService(row) : undefined;
  }

  async serviceCounts(window: TimeWindow): Promise<ServiceCounts[]> {
    const query = serviceCountsQuery('sqlite', window);
    return toServiceCounts(this.db.prepare(query.text).all(...query.params) as Parameters<typeof toServiceCounts>[0]);
  }

  async flows(query: FlowQuery): Promise<FlowPage> {
    const sql = flowsPageQuery('sqlite', query);
    const rows = this.db.prepare(sql.text).all(...sql.params) as { record: string }[];
    return toPage(rows, query.limit);
  }

  async countFlows(): Promise<number> {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM flows').get() as { n: number }).n;
  }

  async deleteExpired(cutoffs: RetentionCutoffs): Promise<{ raw: number; rollups: number }> {
    return this.db.transaction(() => {
      const raw = this.db.prepare('DELETE FROM flows WHERE last_seen < ?').run(cutoffs.rawBefore).changes;
      const minute = Math.floor(cutoffs.rollupsBefore / MINUTE_MS);
      const rollups =
        this.db.prepare('DELETE FROM flow_minute WHERE minute < ?').run(minute).changes + this.db.prepare('DELETE FROM client_minute WHERE minute < ?').run(minute).changes;
      return { raw, rollups };
    })();
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

export function toPage(rows: readonly { record: string }[], limit: number): FlowPage {
  const flows = rows.slice(0, limit).map((row) => JSON.parse(row.record) as FlowRecord);
  const last = flows[flows.length - 1];
  return rows.length > limit && last ? { flows, nextCursor: encodeCursor({ firstSeen: last.firstSeen, node: last.node, flowId: last.flowId }) } : { flows };
}
