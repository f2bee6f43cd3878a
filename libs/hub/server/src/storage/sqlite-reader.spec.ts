import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flowRecord } from '../testing';
import { flowsPageQuery } from './flow-sql';
import { openFlowRepository } from './open-flow-repository';
import { openSqliteDatabase } from './sqlite-flow.repository';
import { SqliteReader } from './sqlite-reader';
import { migrateSqlite } from './schema-migration';

/** A read that keeps SQLite busy for a while (counting to n), whatever the data. */
const slowCount = (n: number) => `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${n}) SELECT COUNT(*) AS n FROM c`;

/** The longest stretch the event loop went without running a 5 ms timer while `work` ran. */
async function longestStall(work: () => Promise<unknown>): Promise<number> {
  let last = performance.now();
  let longest = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 5);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return Math.max(longest, performance.now() - last);
}

describe('SqliteReader', () => {
  let dir: string;
  let path: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'natlens-reader-'));
    path = join(dir, 'natlens.db');
    const db = openSqliteDatabase(path);
    migrateSqlite(db);
    db.close();
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the event loop free while a long read runs; the same read on the main thread stalls it', async () => {
    const sut = new SqliteReader(path);
    // A read that takes ≥ 200 ms on this machine, whatever its speed: rows doubled until it does.
    let n = 1_000_000;
    const probe = openSqliteDatabase(path);
    for (;;) {
      const started = performance.now();
      probe.prepare(slowCount(n)).get();
      if (performance.now() - started >= 200 || n >= 64_000_000) break;
      n *= 2;
    }
    probe.close();
    try {
      let readMs = 0;
      const offThread = await longestStall(async () => {
        const started = performance.now();
        expect(await sut.all<{ n: number }>(slowCount(n), [])).toEqual([{ n }]);
        readMs = performance.now() - started;
      });
      const db = openSqliteDatabase(path);
      const onThread = await longestStall(async () => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        db.prepare(slowCount(n)).get();
      });
      db.close();
      // The read is long enough to matter, stalls the loop on the main thread, and not from the reader thread.
      expect(onThread).toBeGreaterThan(150);
      expect(readMs).toBeGreaterThan(150);
      expect(offThread).toBeLessThan(Math.min(100, onThread / 2));
    } finally {
      await sut.close();
    }
  });

  it('abandons a read past its timeout with a message, then serves the reads queued behind it', async () => {
    const sut = new SqliteReader(path, 150);
    try {
      const slow = sut.all(slowCount(200_000_000), []);
      const next = sut.all<{ one: number }>('SELECT 1 AS one', []);
      await expect(slow).rejects.toThrow(/ran longer than 150 ms and was abandoned \(NATLENS_STORE_STATEMENT_TIMEOUT\)/);
      await expect(next).resolves.toEqual([{ one: 1 }]);
    } finally {
      await sut.close();
    }
  });

  it('fails the reads, once, when the database cannot be opened', async () => {
    const sut = new SqliteReader(join(dir, 'missing.db'));
    await expect(Promise.all([sut.all('SELECT 1', []), sut.all('SELECT 2', [])])).rejects.toThrow(/could not open .*missing\.db/);
    await sut.close();
  });

  it('names the SQL error, and rejects reads after close', async () => {
    const sut = new SqliteReader(path);
    await expect(sut.all('SELECT * FROM no_such_table', [])).rejects.toThrow(/no such table/);
    await sut.close();
    await expect(sut.all('SELECT 1', [])).rejects.toThrow(/closed/);
  });

  it('reads through the file store what its main connection just committed, with the client index', async () => {
    const url = `sqlite://${join(dir, 'store.db')}`;
    const repository = await openFlowRepository(url);
    try {
      const record = flowRecord({ client: '198.51.100.7' });
      await repository.ingest([record, flowRecord({ client: '198.51.100.8' })]);
      expect((await repository.flows({ client: '198.51.100.7', limit: 10 })).flows.map((f) => f.flowId)).toEqual([record.flowId]);
      expect(await repository.countFlows()).toBe(2);
      const db = openSqliteDatabase(join(dir, 'store.db'));
      const query = flowsPageQuery('sqlite', { client: '198.51.100.7', limit: 10 });
      const plan = (db.prepare(`EXPLAIN QUERY PLAN ${query.text}`).all(...query.params) as { detail: string }[]).map((r) => r.detail).join('\n');
      db.close();
      expect(plan).toMatch(/flows_client_first_seen/);
      expect(plan).toMatch(/flows_real_client_first_seen/);
    } finally {
      await repository.close();
    }
  });
});
