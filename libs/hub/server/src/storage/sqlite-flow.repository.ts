import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { EvidenceCounts, TimeWindow } from '@natlens/shared-analysis';
import type { FlowRecord } from '@natlens/shared-model';
import type { EvidenceSource, ExpiredCounts, FlowPage, FlowQuery, FlowRepository, IngestResult, RetentionCutoffs, ServiceCounts, ServiceKey, StoredService } from './flow-repository';
import { distinctClientsQuery, type EvidenceRowColumns, evidenceRowsQuery, flowsPageQuery, proxyAddressesQuery, recentClientCounts, recentClientsQuery, serviceCountsQuery, toEvidenceCounts, toPage, toServiceCounts } from './flow-sql';
import { CLIENT_LATEST_UPSERT_WHERE, rollupRetentionStatements } from './rollup-retention-sql';
import { clientHourValues, clientMinuteValues, flowHourValues, flowMinuteValues, flowRowValues, proxyHourValues, type ServiceRowColumns, toStoredService } from './flow-row';
import { clientLatestUpdates, type FlowDims, type FlowRow, flowRow, planIngest, serviceKeyOf, STORED_DIMS_COLUMNS, type StoredDimsColumns, storedDims } from './ingest-plan';
import { SqliteCheckpointer } from './sqlite-checkpointer';
import { type SqlRead, SqliteReader } from './sqlite-reader';
import { FLOW_COLUMNS } from './migrations';
import { migrateSqlite } from './schema-migration';
import type { RecordColumns } from './record-codec';
import { natFailuresQuery, type ServiceNatFailureRow, toNatFailureRows } from './nat-failure-sql';

export interface SqliteStoreOptions {
  /** Run WAL checkpoints on a worker thread (sqlite-checkpointer.ts) instead of inside ingest commits. Default true. */
  readonly backgroundCheckpoints?: boolean;
  /** Run the reads that may be long (evidence, lists, pages of flows) on a reader thread (sqlite-reader.ts). Default true. */
  readonly readerThread?: boolean;
  /** A read on the reader thread running longer than this is abandoned (0 or absent: never). */
  readonly readTimeoutMs?: number;
}

/** WAL pages after which the writer checkpoints itself (a safety net when checkpoints run in the background). */
const FALLBACK_AUTOCHECKPOINT_PAGES = 16_384;

/** A SQLite connection set up as the store uses it: WAL, synchronous=NORMAL, a 256 MiB page cache. */
export function openSqliteDatabase(path: string): Database.Database {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  // NORMAL in WAL mode: a power loss may lose the last transactions but never corrupts; agents re-send.
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  // Once the WAL has been checkpointed and restarts, do not keep a file larger than this.
  db.pragma('journal_size_limit = 67108864');
  db.pragma('cache_size = -262144');
  return db;
}

/** Checkpoints on a worker thread from now on; the writer checkpoints itself only if that falls far behind. */
export function startBackgroundCheckpoints(db: Database.Database, path: string): SqliteCheckpointer {
  db.pragma(`wal_autocheckpoint = ${FALLBACK_AUTOCHECKPOINT_PAGES}`);
  return new SqliteCheckpointer(path);
}

/** The statements of an ingest transaction, prepared on a migrated database (bench/hub-ingest times them alone). */
export function prepareSqliteIngest(db: Database.Database) {
  const placeholders = FLOW_COLUMNS.map(() => '?').join(', ');
  const updates = FLOW_COLUMNS.filter((c) => c !== 'node' && c !== 'flow_id').map((c) => `${c} = excluded.${c}`).join(', ');
  return {
    // The stored dimensions of a key (what its old contribution to the rollups was), not its record: no JSON to parse.
    stored: db.prepare<[string, string], StoredDimsColumns>(`SELECT ${STORED_DIMS_COLUMNS} FROM flows WHERE node = ? AND flow_id = ?`),
    upsertFlow: db.prepare(`INSERT INTO flows (${FLOW_COLUMNS.join(', ')}) VALUES (${placeholders}) ON CONFLICT (node, flow_id) DO UPDATE SET ${updates}`),
    insertFlow: db.prepare(`INSERT INTO flows (${FLOW_COLUMNS.join(', ')}) VALUES (${placeholders}) ON CONFLICT (node, flow_id) DO NOTHING`),
    flowMinute: db.prepare(
      `INSERT INTO flow_minute (service_key, minute, node, entry, verdict, client_kind, snat, snat_address, ep_namespace, ep_pod, ep_node, connections)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (service_key, minute, node, entry, verdict, client_kind, snat, snat_address, ep_namespace, ep_pod, ep_node)
       DO UPDATE SET connections = connections + excluded.connections`,
    ),
    flowHour: db.prepare(
      `INSERT INTO flow_hour (service_key, hour, node, entry, verdict, client_kind, snat, snat_address, ep_namespace, ep_pod, ep_node, connections)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (service_key, hour, node, entry, verdict, client_kind, snat, snat_address, ep_namespace, ep_pod, ep_node)
       DO UPDATE SET connections = connections + excluded.connections`,
    ),
    proxyHour: db.prepare(
      `INSERT INTO proxy_hour (service_key, hour, seen_ip, connections) VALUES (?, ?, ?, ?)
       ON CONFLICT (service_key, hour, seen_ip) DO UPDATE SET connections = connections + excluded.connections`,
    ),
    clientMinute: db.prepare(
      `INSERT INTO client_minute (service_key, minute, side, address, connections) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (service_key, minute, side, address) DO UPDATE SET connections = connections + excluded.connections`,
    ),
    // A negative delta (a re-send moved a connection away) may empty the row: what it holds afterwards decides the
    // client's latest hour (ingest-plan.ts clientLatestUpdates). RETURNING costs a temporary table per statement,
    // so the far more common positive deltas, which cannot empty a row, go through clientMinute.
    clientMinuteReturning: db.prepare<unknown[], { connections: number }>(
      `INSERT INTO client_minute (service_key, minute, side, address, connections) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (service_key, minute, side, address) DO UPDATE SET connections = connections + excluded.connections
       RETURNING connections`,
    ),
    // Writes only when the hour moves up (or clears a stale mark): a client that keeps connecting costs a lookup.
    clientLatest: db.prepare(
      `INSERT INTO client_latest (service_key, side, address, last_hour, stale) VALUES (?, ?, ?, ?, 0)
       ON CONFLICT (service_key, side, address) DO UPDATE SET last_hour = excluded.last_hour, stale = 0
       ${CLIENT_LATEST_UPSERT_WHERE}`,
    ),
    clientLatestEmptied: db.prepare('UPDATE client_latest SET stale = 1 WHERE service_key = ? AND side = ? AND address = ? AND last_hour = ?'),
    service: db.prepare(
      `INSERT INTO services (service_key, namespace, name, type, policy, expect_client_ip, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (service_key) DO UPDATE SET type = excluded.type, policy = excluded.policy, expect_client_ip = excluded.expect_client_ip, last_seen = excluded.last_seen
       WHERE excluded.last_seen >= services.last_seen`,
    ),
  };
}

export type SqliteIngestStatements = ReturnType<typeof prepareSqliteIngest>;

/**
 * The default store: one SQLite file in WAL mode (readers never block the single writer). better-sqlite3 is
 * synchronous, which suits SQLite: a batch of 1,000 upserts in one transaction takes milliseconds. WAL checkpoints
 * run on a worker thread (sqlite-checkpointer.ts), so a batch's commit only appends to the WAL.
 */
export class SqliteFlowRepository implements FlowRepository {
  private readonly db: Database.Database;
  private statements?: SqliteIngestStatements;
  private checkpointer?: SqliteCheckpointer;
  private reader?: SqliteReader;

  /** `path` is a file path or `:memory:` (an in-memory database has one connection: its reads stay on this thread). */
  constructor(
    private readonly path: string,
    private readonly options: SqliteStoreOptions = {},
  ) {
    this.db = openSqliteDatabase(path);
  }

  async migrate(): Promise<number> {
    const version = migrateSqlite(this.db);
    this.statements = prepareSqliteIngest(this.db);
    if (this.path !== ':memory:' && this.options.backgroundCheckpoints !== false && !this.checkpointer) {
      this.checkpointer = startBackgroundCheckpoints(this.db, this.path);
    }
    if (this.path !== ':memory:' && this.options.readerThread !== false && !this.reader) {
      this.reader = new SqliteReader(this.path, this.options.readTimeoutMs ?? 0);
    }
    return version;
  }

  /** Rows of each query in one snapshot: on the reader thread when there is one, else here. */
  private async read(queries: readonly SqlRead[]): Promise<unknown[][]> {
    if (this.reader) return this.reader.read(queries);
    return this.db.transaction(() => queries.map((q) => this.db.prepare(q.sql).all(...q.params)))();
  }

  private async readAll<T>(sql: string, params: readonly unknown[]): Promise<T[]> {
    const [rows] = await this.read([{ sql, params }]);
    return (rows ?? []) as T[];
  }

  private get sql() {
    if (!this.statements) throw new Error('the SQLite store is not migrated: call migrate() first');
    return this.statements;
  }

  async ingest(records: readonly FlowRecord[]): Promise<IngestResult> {
    const sql = this.sql;
    return this.db.transaction((): IngestResult => {
      const rows = records.map(flowRow);
      // Most keys are new: insert them outright (one descent of the key index) and look up the stored dimensions only
      // of the keys the store already holds. `written` is what this batch inserted, so a key the batch sends twice is
      // not mistaken for a stored one. Bind values go in as one array: better-sqlite3 binds an array argument without
      // the spread call's cost, about a microsecond per statement here.
      const stored = new Map<string, FlowDims>();
      const written = new Map<string, FlowRow>();
      for (const row of rows) {
        if (written.has(row.key) || stored.has(row.key)) continue;
        if (sql.insertFlow.run(flowRowValues(row)).changes === 1) written.set(row.key, row);
        else {
          const found = sql.stored.get(row.node, row.flowId);
          if (found) stored.set(row.key, storedDims(found));
        }
      }
      const plan = planIngest(rows, stored);
      for (const row of plan.upserts) if (written.get(row.key) !== row) sql.upsertFlow.run(flowRowValues(row));
      for (const delta of plan.flowMinuteDeltas) sql.flowMinute.run(flowMinuteValues(delta));
      for (const delta of plan.flowHourDeltas) sql.flowHour.run(flowHourValues(delta));
      for (const delta of plan.proxyHourDeltas) sql.proxyHour.run(proxyHourValues(delta));
      const latest = clientLatestUpdates(plan.clientMinuteDeltas, (delta) => {
        if (delta.delta > 0) {
          sql.clientMinute.run(clientMinuteValues(delta));
          return undefined;
        }
        return (sql.clientMinuteReturning.get(clientMinuteValues(delta)) as { connections: number }).connections;
      });
      // Emptied first: an hour the batch also left active clears the mark again.
      for (const client of latest.emptied) sql.clientLatestEmptied.run(clientHourValues(client));
      for (const client of latest.active) sql.clientLatest.run(clientHourValues(client));
      for (const record of plan.services) {
        const s = record.service;
        if (s) sql.service.run(serviceKeyOf(s), s.namespace, s.name, s.type, s.externalTrafficPolicy, s.expectClientIP ? 1 : 0, record.lastSeen);
      }
      return { records: plan.upserts.length, inserted: plan.insertedCount };
    })();
  }

  async evidenceCounts(service: ServiceKey, window: TimeWindow, source: EvidenceSource = 'rollups'): Promise<EvidenceCounts> {
    const rows = evidenceRowsQuery('sqlite', service, window, source);
    // Distinct clients from each client's latest hour when a long window reaches the newest record, else (or when that
    // does not hold in the snapshot read) from every client minute.
    const recent = recentClientsQuery('sqlite', service, window, source);
    const distinct = distinctClientsQuery('sqlite', service, window, source);
    const second = recent ?? distinct;
    const [evidenceRows, distinctRows] = await this.read([
      { sql: rows.text, params: rows.params },
      { sql: second.text, params: second.params },
    ]);
    const counted = recent ? recentClientCounts((distinctRows ?? []) as { side: string; n: number }[]) : (distinctRows as { side: string; n: number }[] | undefined);
    const clients = counted ?? (await this.readAll<{ side: string; n: number }>(distinct.text, distinct.params));
    return toEvidenceCounts((evidenceRows ?? []) as EvidenceRowColumns[], clients ?? []);
  }

  async proxyAddresses(service: ServiceKey, window: TimeWindow, source: EvidenceSource = 'rollups'): Promise<string[]> {
    const query = proxyAddressesQuery('sqlite', service, window, source);
    return (await this.readAll<{ seen_ip: string }>(query.text, query.params)).map((row) => row.seen_ip);
  }

  async natFailures(window: TimeWindow, service?: ServiceKey): Promise<ServiceNatFailureRow[]> {
    const query = natFailuresQuery('sqlite', window, service);
    return toNatFailureRows(this.db.prepare(query.text).all(...query.params) as { node: string; service_key: string; record: string }[]);
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
    return toServiceCounts(await this.readAll<Parameters<typeof toServiceCounts>[0][number]>(query.text, query.params));
  }

  async flows(query: FlowQuery): Promise<FlowPage> {
    const sql = flowsPageQuery('sqlite', query);
    return toPage(await this.readAll<RecordColumns>(sql.text, sql.params), query.limit);
  }

  async countFlows(): Promise<number> {
    return (await this.readAll<{ n: number }>('SELECT COUNT(*) AS n FROM flows', []))[0]?.n ?? 0;
  }

  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get();
  }

  async deleteExpired(cutoffs: RetentionCutoffs): Promise<ExpiredCounts> {
    return this.db.transaction((): ExpiredCounts => {
      // The first_seen condition lets flows_first_seen find the rows (migration 2 dropped the last_seen index). It
      // changes nothing for records whose lastSeen ≥ firstSeen, i.e. all the agent sends; a record claiming
      // lastSeen < firstSeen is kept until its firstSeen is past the cutoff too.
      const raw = this.db.prepare('DELETE FROM flows WHERE first_seen < ? AND last_seen < ?').run(cutoffs.rawBefore, cutoffs.rawBefore).changes;
      let rollups = 0;
      for (const statement of rollupRetentionStatements('sqlite', cutoffs.rollupsBefore)) {
        const { changes } = this.db.prepare(statement.text).run(...statement.params);
        if (statement.counts) rollups += changes;
      }
      // A Service last seen before the rollups' cutoff has nothing left to show (issue 18: the table only grew).
      const services = this.db.prepare('DELETE FROM services WHERE last_seen < ?').run(cutoffs.rollupsBefore).changes;
      return { raw, rollups, services };
    })();
  }

  async close(): Promise<void> {
    await this.reader?.close();
    await this.checkpointer?.stop();
    // The last connection to close checkpoints the rest of the WAL into the database file.
    if (this.db.open) this.db.close();
  }
}
