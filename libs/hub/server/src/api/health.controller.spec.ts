import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flowsPageQuery } from '../storage/flow-sql';
import { FLOW_COLUMNS } from '../storage/migrations';
import { openSqliteDatabase } from '../storage/sqlite-flow.repository';
import { startTestHub, type TestHub } from '../testing';

/* Liveness costs nothing and never asks the store; readiness asks the store one trivial question. */
describe('GET /healthz and /readyz', () => {
  let sut: TestHub;
  beforeAll(async () => {
    sut = await startTestHub();
  });
  afterAll(async () => {
    await sut.close();
  });

  it('/healthz answers without asking the store; /readyz answers 503 saying why once the store is gone', async () => {
    const count = jest.spyOn(sut.hub.repository, 'countFlows');
    const ping = jest.spyOn(sut.hub.repository, 'ping');
    expect((await sut.request('GET', '/readyz', { token: null })).status).toBe(200);
    expect(ping).toHaveBeenCalledTimes(1);

    // The real store, closed: any store work now throws ("The database connection is not open").
    await sut.hub.repository.close();
    const live = await sut.request('GET', '/healthz', { token: null });
    expect(live).toEqual({ status: 200, body: { status: 'ok', cluster: expect.anything(), bus: expect.any(String) } });
    expect(count).not.toHaveBeenCalled();
    expect(ping).toHaveBeenCalledTimes(1);

    const ready = await sut.request('GET', '/readyz', { token: null });
    expect(ready).toEqual({ status: 503, body: { status: 503, code: 'store-unavailable', message: expect.stringMatching(/the store does not answer: .*not open.*NATLENS_STORE/) } });
  });
});

/* A long read of the SQLite store runs on its reader thread: the API keeps answering meanwhile. */
describe('GET /healthz during a long read (SQLite file store)', () => {
  let sut: TestHub;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'natlens-health-'));
    const path = join(dir, 'natlens.db');
    sut = await startTestHub({ store: `sqlite://${path}` });
    // Rows written straight into the file (no agent is that fast over HTTP), none with verdict 'proxied', so
    // `/api/flows?verdict=proxied` walks them all: 400,000, doubled until that walk takes ≥ 400 ms on this machine
    // (a fixed count made a scan shorter than the test's 200 ms premise on a faster machine).
    const db = openSqliteDatabase(path);
    const insert = (first: number, last: number) =>
      db.exec(`WITH RECURSIVE n(i) AS (SELECT ${first} UNION ALL SELECT i + 1 FROM n WHERE i < ${last})
        INSERT INTO flows (${FLOW_COLUMNS.join(', ')})
        SELECT 'node1', 'f' || i, 'default/web', 'entry', 'preserved', 'nodePort', 'external', 0, '', 'default', 'web-1', 'node1',
          '198.51.100.1', '198.51.100.1', 1700000000000 + i, 1700000000000 + i, '', 0, '{}' FROM n`);
    const walk = flowsPageQuery('sqlite', { verdict: 'proxied', limit: 10 });
    let rows = 400_000;
    insert(1, rows);
    for (;;) {
      const started = performance.now();
      db.prepare(walk.text).all(...walk.params);
      if (performance.now() - started >= 400 || rows >= 12_800_000) break;
      insert(rows + 1, rows * 2);
      rows *= 2;
    }
    db.close();
  }, 120_000);
  afterAll(async () => {
    await sut.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers /healthz while /api/flows scans the table', async () => {
    const started = performance.now();
    let scanMs = 0;
    const scan = sut.request('GET', '/api/flows?verdict=proxied&limit=10').then((res) => {
      scanMs = performance.now() - started;
      return res;
    });
    const health: number[] = [];
    while (scanMs === 0) {
      const t = performance.now();
      expect((await sut.request('GET', '/healthz', { token: null })).status).toBe(200);
      health.push(performance.now() - t);
    }
    expect((await scan).body).toEqual({ flows: [] });
    // The scan is long enough to matter; /healthz answered several times during it, each quickly.
    expect(scanMs).toBeGreaterThan(200);
    expect(health.length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...health)).toBeLessThan(Math.max(100, scanMs / 3));
  });
});
