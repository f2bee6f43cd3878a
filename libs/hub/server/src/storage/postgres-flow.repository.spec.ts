import { Client as PgClient, Pool } from 'pg';
import { flowRecord, usePostgresDatabases } from '../testing';
import { flowRepositoryContract } from './flow-repository.contract';
import { evidenceRowsQuery, flowsPageQuery, proxyAddressesQuery, type SqlQuery } from './flow-sql';
import type { FlowRepository } from './flow-repository';
import { openFlowRepository } from './open-flow-repository';
import { postgresPoolConfig } from './postgres-flow.repository';

const T0 = 1_700_000_000_000;

describe('PostgresFlowRepository (real PostgreSQL)', () => {
  const freshDatabase = usePostgresDatabases('natlens');
  flowRepositoryContract(async () => openFlowRepository(await freshDatabase()));

  /** A migrated store on a fresh database and a client of its own on the same database, both closed afterwards. */
  const withStore = async (work: (sut: FlowRepository, client: PgClient) => Promise<void>): Promise<void> => {
    const url = await freshDatabase();
    const sut = await openFlowRepository(url);
    const client = new PgClient({ connectionString: url });
    await client.connect();
    try {
      await work(sut, client);
    } finally {
      await client.end();
      await sut.close();
    }
  };
  const planOf = async (client: PgClient, query: SqlQuery): Promise<string> =>
    (await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${query.text}`, query.params)).rows.map((r) => r['QUERY PLAN']).join('\n');

  it('has the client indexes of migration 7, and /api/flows?client= can use them', () =>
    withStore(async (_sut, client) => {
      const indexes = (await client.query<{ indexname: string }>("SELECT indexname FROM pg_indexes WHERE tablename = 'flows' ORDER BY indexname")).rows.map((r) => r.indexname);
      expect(indexes).toEqual(expect.arrayContaining(['flows_client_first_seen', 'flows_real_client_first_seen']));
      // An empty table is scanned whatever the indexes; without scans allowed, the plan shows what can serve the filter.
      await client.query('SET enable_seqscan = off');
      const plan = await planOf(client, flowsPageQuery('postgres', { client: '198.51.100.7', limit: 10 }));
      expect(plan).toMatch(/flows_client_first_seen/);
      expect(plan).toMatch(/flows_real_client_first_seen/);
    }));

  it('reads a Service\'s hour rollups and proxy hours from their primary-key indexes alone (migration 10: counts included in them)', () =>
    withStore(async (_sut, client) => {
      for (const index of ['flow_hour_pkey', 'proxy_hour_pkey']) {
        expect((await client.query<{ def: string }>(`SELECT pg_get_indexdef('${index}'::regclass) AS def`)).rows[0]?.def).toMatch(/INCLUDE \(connections\)/);
      }
      // An empty table is scanned whatever the indexes; with scans and bitmaps off, the plan shows what the index serves.
      await client.query('SET enable_seqscan = off');
      await client.query('SET enable_bitmapscan = off');
      const web = { namespace: 'default', name: 'web' };
      const days30 = { from: T0, to: T0 + 30 * 24 * 3600_000 };
      expect(await planOf(client, evidenceRowsQuery('postgres', web, days30, 'rollups'))).toMatch(/Index Only Scan using flow_hour_pkey on flow_hour/);
      expect(await planOf(client, proxyAddressesQuery('postgres', web, days30))).toMatch(/Index Only Scan using proxy_hour_pkey on proxy_hour/);
    }));

  it('a retention pass with nothing expired leaves flows alone: it finishes while another session holds a SHARE lock on it', () =>
    withStore(async (sut, locker) => {
      await sut.ingest([flowRecord({ firstSeen: T0, lastSeen: T0 + 1 }), flowRecord({ firstSeen: T0 + 600_000, lastSeen: T0 + 600_001 })]);
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE flows IN SHARE MODE'); // readers pass; a DELETE would wait for the COMMIT below
      const pass = sut.deleteExpired({ rawBefore: T0, rollupsBefore: 0 }).then((counts) => ({ counts, at: Date.now() }));
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const released = Date.now();
      await locker.query('COMMIT');
      const done = await pass;
      expect(done.counts).toEqual({ raw: 0, rollups: 0, services: 0 });
      expect(done.at).toBeLessThan(released);
      // and with something expired, the DELETE runs
      expect(await sut.deleteExpired({ rawBefore: T0 + 300_000, rollupsBefore: 0 })).toMatchObject({ raw: 1 });
    }));

  it('cancels a statement that runs longer than the configured statement timeout', async () => {
    const pool = new Pool(postgresPoolConfig(await freshDatabase(), { statementTimeoutMs: 200 }));
    try {
      const started = Date.now();
      await expect(pool.query('SELECT pg_sleep(5)')).rejects.toMatchObject({ code: '57014', message: expect.stringMatching(/statement timeout/) });
      expect(Date.now() - started).toBeLessThan(3000);
      expect((await pool.query<{ statement_timeout: string }>('SHOW statement_timeout')).rows[0]?.statement_timeout).toBe('200ms');
    } finally {
      await pool.end();
    }
  });

  it('migrates past the statement timeout (an index on a large table may take longer)', async () => {
    const sut = await openFlowRepository(await freshDatabase(), { statementTimeoutMs: 1 });
    try {
      await expect(sut.migrate()).resolves.toBeGreaterThanOrEqual(7);
    } finally {
      await sut.close();
    }
  });
});
