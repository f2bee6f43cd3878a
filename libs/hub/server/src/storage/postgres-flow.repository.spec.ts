import { Client as PgClient, Pool } from 'pg';
import { usePostgresDatabases } from '../testing';
import { flowRepositoryContract } from './flow-repository.contract';
import { flowsPageQuery } from './flow-sql';
import { openFlowRepository } from './open-flow-repository';
import { postgresPoolConfig } from './postgres-flow.repository';

describe('PostgresFlowRepository (real PostgreSQL)', () => {
  const freshDatabase = usePostgresDatabases('natlens');
  flowRepositoryContract(async () => openFlowRepository(await freshDatabase()));

  it('has the client indexes of migration 7, and /api/flows?client= can use them', async () => {
    const url = await freshDatabase();
    const sut = await openFlowRepository(url);
    const client = new PgClient({ connectionString: url });
    await client.connect();
    try {
      const indexes = (await client.query<{ indexname: string }>("SELECT indexname FROM pg_indexes WHERE tablename = 'flows' ORDER BY indexname")).rows.map((r) => r.indexname);
      expect(indexes).toEqual(expect.arrayContaining(['flows_client_first_seen', 'flows_real_client_first_seen']));
      // An empty table is scanned whatever the indexes; without scans allowed, the plan shows what can serve the filter.
      await client.query('SET enable_seqscan = off');
      const query = flowsPageQuery('postgres', { client: '198.51.100.7', limit: 10 });
      const plan = (await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${query.text}`, query.params)).rows.map((r) => r['QUERY PLAN']).join('\n');
      expect(plan).toMatch(/flows_client_first_seen/);
      expect(plan).toMatch(/flows_real_client_first_seen/);
    } finally {
      await client.end();
      await sut.close();
    }
  });

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
