import { Pool, type PoolClient } from 'pg';
import type { EvidenceCounts, TimeWindow } from '@natlens/shared-analysis';
import type { FlowRecord } from '@natlens/shared-model';
import type { EvidenceSource, FlowPage, FlowQuery, FlowRepository, IngestResult, RetentionCutoffs, ServiceCounts, ServiceKey, StoredService } from './flow-repository';
import { distinctClientsQuery, type EvidenceRowColumns, evidenceRowsQuery, flowsPageQuery, serviceCountsQuery, toEvidenceCounts, toServiceCounts } from './flow-sql';
import { flowRowValues, type ServiceRowColumns, toStoredService } from './flow-row';
import { MINUTE_MS, planIngest, recordKey, serviceKeyOf } from './ingest-plan';
import { FLOW_COLUMNS, MIGRATIONS, SCHEMA_MIGRATIONS_DDL } from './migrations';
import { toPage } from './sqlite-flow.repository';

/** PostgreSQL types of FLOW_COLUMNS, for `unnest` of one array per column. */
const FLOW_COLUMN_TYPES: Record<(typeof FLOW_COLUMNS)[number], string> = {
  node: 'text', flow_id: 'text', service_key: 'text', leg: 'text', verdict: 'text', entry: 'text', client_kind: 'text', snat: 'int4',
  snat_address: 'text', ep_namespace: 'text', ep_pod: 'text', ep_node: 'text', client_ip: 'text', seen_ip: 'text', first_seen: 'int8',
  last_seen: 'int8', record: 'text',
};

/** Serialises migrations of replicas starting together (any constant works; this one spells "natl" in ASCII). */
const MIGRATION_LOCK_ID = 0x6e61746c;

function columns<T>(rows: readonly T[][], width: number): T[][] {
  const out: T[][] = Array.from({ length: width }, () => []);
  for (const row of rows) row.forEach((value, i) => out[i]?.push(value));
  return out;
}

/**
 * The store for more than one machine. Each batch is a handful of statements whatever its size: the stored
 * versions of the batch's keys in one query, then one `INSERT … SELECT FROM unnest(…) ON CONFLICT` per table.
 * Batches for the same node must not run concurrently (the agent sends one at a time); different nodes never
 * share a key.
 */
export class PostgresFlowRepository implements FlowRepository {
  private readonly pool: Pool;

  constructor(connectionString: string, poolSize = 4) {
    this.pool = new Pool({ connectionString, max: poolSize });
  }

  private async transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async migrate(): Promise<number> {
    return this.transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_ID]);
      await client.query(SCHEMA_MIGRATIONS_DDL);
      const current = Number((await client.query<{ v: string }>('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations')).rows[0]?.v ?? 0);
      for (const migration of MIGRATIONS.filter((m) => m.version > current)) {
        for (const statement of migration.statements) await client.query(statement);
        await client.query('INSERT INTO schema_migrations (version, description, applied_at) VALUES ($1, $2, $3)', [migration.version, migration.description, Date.now()]);
      }
      return MIGRATIONS.reduce((max, m) => Math.max(max, m.version), current);
    });
  }

  async ingest(records: readonly FlowRecord[]): Promise<IngestResult> {
    if (records.length === 0) return { records: 0, inserted: 0 };
    return this.transaction(async (client) => {
      const stored = new Map<string, FlowRecord>();
      const found = await client.query<{ record: string }>(
        'SELECT f.record FROM flows f JOIN unnest($1::text[], $2::text[]) AS k(node, flow_id) ON f.node = k.node AND f.flow_id = k.flow_id',
        [records.map((r) => r.node), records.map((r) => r.flowId)],
      );
      for (const row of found.rows) {
        const record = JSON.parse(row.record) as FlowRecord;
        stored.set(recordKey(record), record);
      }
      const plan = planIngest(records, stored);

      const flowArrays = columns(plan.upserts.map(flowRowValues), FLOW_COLUMNS.length);
      const unnestArgs = FLOW_COLUMNS.map((c, i) => `$${i + 1}::${FLOW_COLUMN_TYPES[c]}[]`).join(', ');
      const updates = FLOW_COLUMNS.filter((c) => c !== 'node' && c !== 'flow_id').map((c) => `${c} = excluded.${c}`).join(', ');
      await client.query(`INSERT INTO flows (${FLOW_COLUMNS.join(', ')}) SELECT * FROM unnest(${unnestArgs}) ON CONFLICT (node, flow_id) DO UPDATE SET ${updates}`, flowArrays);

      if (plan.flowMinuteDeltas.length > 0) {
        const d = plan.flowMinuteDeltas;
        await client.query(
          `INSERT INTO flow_minute (service_key, minute, node, entry, verdict, client_kind, snat, snat_address, ep_namespace, ep_pod, ep_node, connections)
           SELECT * FROM unnest($1::text[], $2::int8[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int4[], $8::text[], $9::text[], $10::text[], $11::text[], $12::int8[])
           ON CONFLICT (service_key, minute, node, entry, verdict, client_kind, snat, snat_address, ep_namespace, ep_pod, ep_node)
           DO UPDATE SET connections = flow_minute.connections + excluded.connections`,
          [
            d.map((x) => x.dims.serviceKey), d.map((x) => x.dims.minute), d.map((x) => x.dims.node), d.map((x) => x.dims.entry), d.map((x) => x.dims.verdict),
            d.map((x) => x.dims.clientKind), d.map((x) => (x.dims.snat ? 1 : 0)), d.map((x) => x.dims.snatAddress), d.map((x) => x.dims.endpointNamespace),
            d.map((x) => x.dims.endpointPod), d.map((x) => x.dims.endpointNode), d.map((x) => x.delta),
          ],
        );
      }
      if (plan.clientMinuteDeltas.length > 0) {
        const d = plan.clientMinuteDeltas;
        await client.query(
          `INSERT INTO client_minute (service_key, minute, side, address, connections)
           SELECT * FROM unnest($1::text[], $2::int8[], $3::text[], $4::text[], $5::int8[])
           ON CONFLICT (service_key, minute, side, address) DO UPDATE SET connections = client_minute.connections + excluded.connections`,
          [d.map((x) => x.dims.serviceKey), d.map((x) => x.dims.minute), d.map((x) => x.dims.side), d.map((x) => x.dims.address), d.map((x) => x.delta)],
        );
      }
      for (const record of plan.services) {
        const s = record.service;
        if (!s) continue;
        await client.query(
          `INSERT INTO services (service_key, namespace, name, type, policy, expect_client_ip, last_seen) VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (service_key) DO UPDATE SET type = excluded.type, policy = excluded.policy, expect_client_ip = excluded.expect_client_ip, last_seen = excluded.last_seen
           WHERE excluded.last_seen >= services.last_seen`,
          [serviceKeyOf(s), s.namespace, s.name, s.type, s.externalTrafficPolicy, s.expectClientIP ? 1 : 0, record.lastSeen],
        );
      }
      return { records: plan.upserts.length, inserted: plan.insertedCount };
    });
  }

  async evidenceCounts(service: ServiceKey, window: TimeWindow, source: EvidenceSource = 'rollups'): Promise<EvidenceCounts> {
    const rows = evidenceRowsQuery('postgres', service, window, source);
    const distinct = distinctClientsQuery('postgres', service, window, source);
    const [rowResult, distinctResult] = await Promise.all([
      this.pool.query<EvidenceRowColumns>(rows.text, rows.params),
      this.pool.query<{ side: string; n: string }>(distinct.text, distinct.params),
    ]);
    return toEvidenceCounts(rowResult.rows, distinctResult.rows);
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
    return toPage((await this.pool.query<{ record: string }>(sql.text, sql.params)).rows, query.limit);
  }

  async countFlows(): Promise<number> {
    return Number((await this.pool.query<{ n: string }>('SELECT COUNT(*) AS n FROM flows')).rows[0]?.n ?? 0);
  }

  async deleteExpired(cutoffs: RetentionCutoffs): Promise<{ raw: number; rollups: number }> {
    return this.transaction(async (client) => {
      const raw = (await client.query('DELETE FROM flows WHERE last_seen < $1', [cutoffs.rawBefore])).rowCount ?? 0;
      const minute = Math.floor(cutoffs.rollupsBefore / MINUTE_MS);
      const rollups = ((await client.query('DELETE FROM flow_minute WHERE minute < $1', [minute])).rowCount ?? 0) + ((await client.query('DELETE FROM client_minute WHERE minute < $1', [minute])).rowCount ?? 0);
      return { raw, rollups };
    });
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
