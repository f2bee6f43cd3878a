import { Pool, type PoolClient, type PoolConfig } from 'pg';
import type { EvidenceCounts, TimeWindow } from '@natlens/shared-analysis';
import type { FlowRecord } from '@natlens/shared-model';
import type { EvidenceSource, ExpiredCounts, FlowPage, FlowQuery, FlowRepository, IngestResult, RetentionCutoffs, ServiceCounts, ServiceKey, StoredService } from './flow-repository';
import { distinctClientsQuery, type EvidenceRowColumns, evidenceRowsQuery, flowsPageQuery, proxyAddressesQuery, recentClientCounts, recentClientsQuery, serviceCountsQuery, toEvidenceCounts, toPage, toServiceCounts } from './flow-sql';
import { CLIENT_LATEST_UPSERT_WHERE, rollupRetentionStatements } from './rollup-retention-sql';
import { clientHourValues, clientMinuteValues, flowHourValues, flowMinuteValues, flowRowValues, proxyHourValues, type ServiceRowColumns, toStoredService } from './flow-row';
import { clientLatestUpdates, type FlowDims, flowRow, planIngest, recordKey, serviceKeyOf, STORED_DIMS_COLUMNS, type StoredDimsColumns, storedDims } from './ingest-plan';
import { FLOW_COLUMNS } from './migrations';
import { inTransaction, migratePostgres } from './schema-migration';
import type { RecordColumns } from './record-codec';
import { natFailuresQuery, type ServiceNatFailureRow, toNatFailureRows } from './nat-failure-sql';

/** PostgreSQL types of FLOW_COLUMNS. */
const FLOW_COLUMN_TYPES: Record<(typeof FLOW_COLUMNS)[number], string> = {
  node: 'text', flow_id: 'text', service_key: 'text', leg: 'text', verdict: 'text', entry: 'text', client_kind: 'text', snat: 'int4',
  snat_address: 'text', ep_namespace: 'text', ep_pod: 'text', ep_node: 'text', client_ip: 'text', seen_ip: 'text', first_seen: 'int8',
  last_seen: 'int8', record: 'text', real_client_ip: 'text', zone: 'int4',
};

/**
 * `INSERT INTO table (columns) SELECT … FROM jsonb_array_elements($1::jsonb)`: the batch's rows travel as one JSON
 * array of positional arrays. Measured against one `unnest($n::type[])` per column, it is cheaper on both sides
 * (JSON.stringify against pg's per-element array literal escaping; jsonb parsing against text[] parsing).
 */
function insertFromJson(table: string, columns: readonly string[], types: readonly string[], conflict: string, inArrayOrder = false): string {
  const values = columns.map((_, i) => (types[i] === 'text' ? `r->>${i}` : `(r->>${i})::${types[i]}`)).join(', ');
  const from = inArrayOrder ? 'jsonb_array_elements($1::jsonb) WITH ORDINALITY AS e(r, i) ORDER BY i' : 'jsonb_array_elements($1::jsonb) AS r';
  return `INSERT INTO ${table} (${columns.join(', ')}) SELECT ${values} FROM ${from} ${conflict}`;
}

const FLOW_KEY = ['node', 'flow_id'];
const UPSERT_FLOWS = insertFromJson(
  'flows',
  FLOW_COLUMNS,
  FLOW_COLUMNS.map((c) => FLOW_COLUMN_TYPES[c]),
  `ON CONFLICT (node, flow_id) DO UPDATE SET ${FLOW_COLUMNS.filter((c) => !FLOW_KEY.includes(c)).map((c) => `${c} = excluded.${c}`).join(', ')}`,
);
/** An upsert adding each row's delta to a flow rollup (flow_minute or flow_hour: `bucket` is its time column). */
function upsertFlowRollup(table: string, bucket: string): string {
  const columns = ['service_key', bucket, 'node', 'entry', 'verdict', 'client_kind', 'snat', 'snat_address', 'ep_namespace', 'ep_pod', 'ep_node', 'connections'];
  const types = ['text', 'int8', 'text', 'text', 'text', 'text', 'int4', 'text', 'text', 'text', 'text', 'int8'];
  return insertFromJson(table, columns, types, `ON CONFLICT (${columns.slice(0, -1).join(', ')}) DO UPDATE SET connections = ${table}.connections + excluded.connections`, true);
}
const UPSERT_FLOW_MINUTE = upsertFlowRollup('flow_minute', 'minute');
const UPSERT_FLOW_HOUR = upsertFlowRollup('flow_hour', 'hour');
const UPSERT_PROXY_HOUR = insertFromJson(
  'proxy_hour',
  ['service_key', 'hour', 'seen_ip', 'connections'],
  ['text', 'int8', 'text', 'int8'],
  'ON CONFLICT (service_key, hour, seen_ip) DO UPDATE SET connections = proxy_hour.connections + excluded.connections',
  true,
);
// Gives back the rows the batch emptied (a re-send moved their only connection away): where one was a client's latest
// hour, that latest hour may be stale (ingest-plan.ts clientLatestUpdates).
const UPSERT_CLIENT_MINUTE = `WITH applied AS (${insertFromJson(
  'client_minute',
  ['service_key', 'minute', 'side', 'address', 'connections'],
  ['text', 'int8', 'text', 'text', 'int8'],
  'ON CONFLICT (service_key, minute, side, address) DO UPDATE SET connections = client_minute.connections + excluded.connections RETURNING service_key, minute, side, address, connections',
  true,
)}) SELECT service_key, minute, side, address FROM applied WHERE connections <= 0`;
const UPSERT_CLIENT_LATEST = insertFromJson(
  'client_latest',
  ['service_key', 'side', 'address', 'last_hour', 'stale'],
  ['text', 'text', 'text', 'int8', 'int4'],
  `ON CONFLICT (service_key, side, address) DO UPDATE SET last_hour = excluded.last_hour, stale = 0 ${CLIENT_LATEST_UPSERT_WHERE}`,
  true,
);
const MARK_CLIENT_LATEST_STALE = `UPDATE client_latest c SET stale = 1 FROM jsonb_array_elements($1::jsonb) AS r
  WHERE c.service_key = r->>0 AND c.side = r->>1 AND c.address = r->>2 AND c.last_hour = (r->>3)::int8`;
const UPSERT_SERVICES = insertFromJson(
  'services',
  ['service_key', 'namespace', 'name', 'type', 'policy', 'expect_client_ip', 'last_seen'],
  ['text', 'text', 'text', 'text', 'text', 'int4', 'int8'],
  `ON CONFLICT (service_key) DO UPDATE SET type = excluded.type, policy = excluded.policy, expect_client_ip = excluded.expect_client_ip, last_seen = excluded.last_seen
   WHERE excluded.last_seen >= services.last_seen`,
  true,
);
const clientMinuteKey = (serviceKey: string, minute: number, side: string, address: string) => `${serviceKey}\u0000${minute}\u0000${side}\u0000${address}`;

/** Rows sorted by their first `width` values (the primary key); any total order works if every transaction uses it. */
function sortedByKey(rows: (string | number)[][], width: number): (string | number)[][] {
  const key = (row: (string | number)[]) => row.slice(0, width).join('\u0000');
  return rows.map((row) => ({ row, key: key(row) })).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map((x) => x.row);
}

const STORED_DIMS = `SELECT ${STORED_DIMS_COLUMNS.split(', ').map((c) => `f.${c}`).join(', ')} FROM flows f
  JOIN jsonb_array_elements($1::jsonb) AS k ON f.node = k->>0 AND f.flow_id = k->>1`;


export interface PostgresStoreOptions {
  readonly poolSize?: number;
  /**
   * The server cancels any statement of these connections that runs longer (PostgreSQL's statement_timeout, set at
   * connection start); 0 or absent: no limit. Migrations lift it for their own transaction (schema-migration.ts).
   */
  readonly statementTimeoutMs?: number;
}

/** The pool's settings: every connection starts with the statement timeout, so no query can hold one forever. */
export function postgresPoolConfig(connectionString: string, options: PostgresStoreOptions = {}): PoolConfig {
  return { connectionString, max: options.poolSize ?? 4, ...(options.statementTimeoutMs ? { statement_timeout: options.statementTimeoutMs } : {}) };
}

/**
 * The store for more than one machine. Each batch is a handful of statements whatever its size: the stored
 * dimensions of the batch's keys in one query, then one `INSERT … SELECT … ON CONFLICT` per table.
 * Batches for the same node must not run concurrently (the agent sends one at a time); different nodes never
 * share a key.
 */
export class PostgresFlowRepository implements FlowRepository {
  private readonly pool: Pool;

  constructor(connectionString: string, options: PostgresStoreOptions = {}) {
    this.pool = new Pool(postgresPoolConfig(connectionString, options));
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

  async ingest(records: readonly FlowRecord[]): Promise<IngestResult> {
    if (records.length === 0) return { records: 0, inserted: 0 };
    return this.transaction(async (client) => {
      const rows = records.map(flowRow);
      // The stored dimensions of the batch's keys (their old contribution to the rollups), not their records.
      const stored = new Map<string, FlowDims>();
      const found = await client.query<StoredDimsColumns>(STORED_DIMS, [JSON.stringify(rows.map((r) => [r.node, r.flowId]))]);
      for (const row of found.rows) {
        const dims = storedDims(row);
        stored.set(recordKey(dims), dims);
      }
      const plan = planIngest(rows, stored);

      await client.query(UPSERT_FLOWS, [JSON.stringify(plan.upserts.map(flowRowValues))]);
      // Rollup rows are shared between nodes: concurrent batches (one per agent) lock them in one global order
      // (sorted keys, applied in array order), so they queue behind each other instead of deadlocking.
      if (plan.flowMinuteDeltas.length > 0) {
        await client.query(UPSERT_FLOW_MINUTE, [JSON.stringify(sortedByKey(plan.flowMinuteDeltas.map(flowMinuteValues), 11))]);
      }
      if (plan.flowHourDeltas.length > 0) {
        await client.query(UPSERT_FLOW_HOUR, [JSON.stringify(sortedByKey(plan.flowHourDeltas.map(flowHourValues), 11))]);
      }
      if (plan.proxyHourDeltas.length > 0) {
        await client.query(UPSERT_PROXY_HOUR, [JSON.stringify(sortedByKey(plan.proxyHourDeltas.map(proxyHourValues), 3))]);
      }
      if (plan.clientMinuteDeltas.length > 0) {
        const emptied = await client.query<{ service_key: string; minute: string; side: string; address: string }>(UPSERT_CLIENT_MINUTE, [
          JSON.stringify(sortedByKey(plan.clientMinuteDeltas.map(clientMinuteValues), 4)),
        ]);
        const emptiedKeys = new Set(emptied.rows.map((row) => clientMinuteKey(row.service_key, Number(row.minute), row.side, row.address)));
        const latest = clientLatestUpdates(plan.clientMinuteDeltas, ({ dims: d }) => (emptiedKeys.has(clientMinuteKey(d.serviceKey, d.minute, d.side, d.address)) ? 0 : undefined));
        // Emptied first: an hour the batch also left active clears the mark again.
        if (latest.emptied.length > 0) await client.query(MARK_CLIENT_LATEST_STALE, [JSON.stringify(sortedByKey(latest.emptied.map(clientHourValues), 4))]);
        if (latest.active.length > 0) {
          await client.query(UPSERT_CLIENT_LATEST, [JSON.stringify(sortedByKey(latest.active.map((c) => [...clientHourValues(c), 0]), 3))]);
        }
      }
      if (plan.services.length > 0) {
        // A batch has one latest record per Service, so no key repeats inside the statement.
        const services = plan.services.map((record) => {
          const s = record.service as NonNullable<FlowRecord['service']>;
          return [serviceKeyOf(s), s.namespace, s.name, s.type, s.externalTrafficPolicy, s.expectClientIP ? 1 : 0, record.lastSeen];
        });
        await client.query(UPSERT_SERVICES, [JSON.stringify(sortedByKey(services, 1))]);
      }
      return { records: plan.upserts.length, inserted: plan.insertedCount };
    });
  }

  async evidenceCounts(service: ServiceKey, window: TimeWindow, source: EvidenceSource = 'rollups'): Promise<EvidenceCounts> {
    const rows = evidenceRowsQuery('postgres', service, window, source);
    const recent = recentClientsQuery('postgres', service, window, source);
    const distinct = distinctClientsQuery('postgres', service, window, source);
    // Distinct clients from each client's latest hour when a long window reaches the newest record (checked by the
    // same statement), else from every client minute.
    const clients = async () => {
      const counted = recent ? recentClientCounts((await this.pool.query<{ side: string; n: string }>(recent.text, recent.params)).rows) : undefined;
      return counted ?? (await this.pool.query<{ side: string; n: string }>(distinct.text, distinct.params)).rows;
    };
    const [rowResult, distinctRows] = await Promise.all([this.pool.query<EvidenceRowColumns>(rows.text, rows.params), clients()]);
    return toEvidenceCounts(rowResult.rows, distinctRows);
  }

  async proxyAddresses(service: ServiceKey, window: TimeWindow, source: EvidenceSource = 'rollups'): Promise<string[]> {
    const query = proxyAddressesQuery('postgres', service, window, source);
    return (await this.pool.query<{ seen_ip: string }>(query.text, query.params)).rows.map((row) => row.seen_ip);
  }

  async natFailures(window: TimeWindow, service?: ServiceKey): Promise<ServiceNatFailureRow[]> {
    const query = natFailuresQuery('postgres', window, service);
    return toNatFailureRows((await this.pool.query<{ node: string; service_key: string; record: string }>(query.text, query.params)).rows);
  }

  async services(): Promise<StoredService[]> {
    const result = await this.pool.query<ServiceRowColumns>('SELECT namespace, name, type, policy, expect_client_ip, last_seen FROM services ORDER BY service_key');
    return result.rows.map(toStoredService);
  }

  async service(key: ServiceKey): Promise<StoredService | undefined> {
    const result = await this.pool.query<ServiceRowColumns>('SELECT namespace, name, type, policy, expect_client_ip, last_seen FROM services WHERE service_key = $1', [serviceKeyOf(key)]);
    const row = result.rows[0];
    return row ? toStoredService(row) : undefined;
  }

  async serviceCounts(window: TimeWindow): Promise<ServiceCounts[]> {
    const query = serviceCountsQuery('postgres', window);
    return toServiceCounts((await this.pool.query<Parameters<typeof toServiceCounts>[0][number]>(query.text, query.params)).rows);
  }

  async flows(query: FlowQuery): Promise<FlowPage> {
    const sql = flowsPageQuery('postgres', query);
    return toPage((await this.pool.query<RecordColumns>(sql.text, sql.params)).rows, query.limit);
  }

  async countFlows(): Promise<number> {
    return Number((await this.pool.query<{ n: string }>('SELECT COUNT(*) AS n FROM flows')).rows[0]?.n ?? 0);
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async deleteExpired(cutoffs: RetentionCutoffs): Promise<ExpiredCounts> {
    return this.transaction(async (client): Promise<ExpiredCounts> => {
      // As in the SQLite store: first_seen lets flows_first_seen find the rows (migration 2 dropped the last_seen
      // index); a record claiming lastSeen < firstSeen is kept until its firstSeen is past the cutoff too.
      // The oldest first_seen is read first (one index probe, whatever the statistics say): until a table has been
      // analysed, PostgreSQL guesses a third of it matches `first_seen < $1` and scans it all — after a large load
      // that was a scan of the whole store on every hub start, beside the first queries users made.
      const oldest = (await client.query<{ oldest: string | null }>('SELECT MIN(first_seen) AS oldest FROM flows')).rows[0]?.oldest;
      const anyExpired = oldest !== null && oldest !== undefined && Number(oldest) < cutoffs.rawBefore;
      const raw = anyExpired ? ((await client.query('DELETE FROM flows WHERE first_seen < $1 AND last_seen < $1', [cutoffs.rawBefore])).rowCount ?? 0) : 0;
      let rollups = 0;
      for (const statement of rollupRetentionStatements('postgres', cutoffs.rollupsBefore)) {
        const { rowCount } = await client.query(statement.text, statement.params);
        if (statement.counts) rollups += rowCount ?? 0;
      }
      // A Service last seen before the rollups' cutoff has nothing left to show (issue 18: the table only grew).
      const services = (await client.query('DELETE FROM services WHERE last_seen < $1', [cutoffs.rollupsBefore])).rowCount ?? 0;
      return { raw, rollups, services };
    });
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
