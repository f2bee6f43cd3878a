import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flowRecord } from '../testing';
import { flowRepositoryContract } from './flow-repository.contract';
import { openFlowRepository, parseStoreUrl } from './open-flow-repository';
import { flowRowValues } from './flow-row';
import { flowRow, planIngest } from './ingest-plan';
import { FLOW_COLUMNS, LATEST_SCHEMA_VERSION, MIGRATIONS, SCHEMA_MIGRATIONS_DDL, statementsFor } from './migrations';
import { SqliteFlowRepository } from './sqlite-flow.repository';
import { recentClientsQuery } from './flow-sql';

describe('SqliteFlowRepository', () => {
  describe('contract (in memory)', () => {
    flowRepositoryContract(async () => {
      const sut = new SqliteFlowRepository(':memory:');
      await sut.migrate();
      return sut;
    });
  });

  describe('contract (file, long reads on the reader thread)', () => {
    let dir: string | undefined;
    afterEach(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });
    flowRepositoryContract(async () => {
      dir = mkdtempSync(join(tmpdir(), 'natlens-sqlite-contract-'));
      return openFlowRepository(`sqlite://${join(dir, 'natlens.db')}`);
    });
  });

  it('keeps records in a WAL file across reopening', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'natlens-sqlite-'));
    try {
      const url = `sqlite://${join(dir, 'nested', 'natlens.db')}`;
      const first = await openFlowRepository(url);
      await first.ingest([flowRecord()]);
      await first.close();
      const sut = await openFlowRepository(url);
      expect(await sut.countFlows()).toBe(1);
      await sut.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('counts distinct clients of a window reaching the newest record from client_latest, and from client_minute otherwise', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'natlens-sqlite-'));
    try {
      const path = join(dir, 'natlens.db');
      const sut = await openFlowRepository(`sqlite://${path}`);
      const t0 = 1_700_000_040_000;
      const web = { namespace: 'default', name: 'web' };
      const records = Array.from({ length: 50 }, (_, i) => flowRecord({ firstSeen: t0 + i * 3_600_000, client: `198.51.100.${(i % 7) + 1}` }));
      await sut.ingest(records);
      const db = new Database(path, { readonly: true });
      const run = (window: { from: number; to: number }) => {
        const query = recentClientsQuery('sqlite', web, window, 'rollups');
        if (!query) throw new Error('no whole minute in the window');
        return db.prepare(query.text).all(...query.params) as { side: string; n: number }[];
      };
      const newest = t0 + 49 * 3_600_000;
      // reaches the newest record: eligible, and the counts are the seven clients (as sent) and as seen
      expect(run({ from: t0 - 1000, to: newest + 1 }).sort((a, b) => a.side.localeCompare(b.side))).toEqual([
        { side: 'eligible', n: 1 },
        { side: 'original', n: 7 },
        { side: 'seen', n: 7 },
      ]);
      // ends before it: not eligible (the store then counts from client_minute)
      expect(run({ from: t0 - 1000, to: newest })).toContainEqual({ side: 'eligible', n: 0 });
      db.close();
      await sut.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('migrates a schema-1 store (whole JSON object in `record`, rowid rollups) and keeps reading and updating it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'natlens-sqlite-'));
    try {
      const path = join(dir, 'natlens.db');
      const record = flowRecord({ firstSeen: 1_700_000_040_000, seenAs: '198.18.0.12' });
      // What schema 1 held after ingesting `record`.
      const v1 = new Database(path);
      v1.exec(SCHEMA_MIGRATIONS_DDL);
      const [first] = MIGRATIONS;
      if (!first) throw new Error('no migrations');
      for (const statement of statementsFor(first, 'sqlite')) v1.exec(statement);
      v1.prepare('INSERT INTO schema_migrations (version, description, applied_at) VALUES (1, ?, 0)').run(first.description);
      // schema 1's columns only (real_client_ip came with schema 4, zone with schema 5)
      const later = new Set<string>(['real_client_ip', 'zone']);
      const v1Columns = FLOW_COLUMNS.filter((c) => !later.has(c));
      const values = flowRowValues(flowRow(record)).filter((_, i) => !later.has(FLOW_COLUMNS[i] as string));
      values[values.length - 1] = JSON.stringify(record);
      v1.prepare(`INSERT INTO flows (${v1Columns.join(', ')}) VALUES (${v1Columns.map(() => '?').join(', ')})`).run(...values);
      const plan = planIngest([flowRow(record)], new Map());
      for (const { dims: d, delta } of plan.flowMinuteDeltas) {
        v1.prepare('INSERT INTO flow_minute VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run(d.serviceKey, d.minute, d.node, d.entry, d.verdict, d.clientKind, d.snat ? 1 : 0, d.snatAddress, d.endpointNamespace, d.endpointPod, d.endpointNode, delta);
      }
      for (const { dims: d, delta } of plan.clientMinuteDeltas) v1.prepare('INSERT INTO client_minute VALUES (?, ?, ?, ?, ?)').run(d.serviceKey, d.minute, d.side, d.address, delta);
      v1.close();

      const sut = new SqliteFlowRepository(path);
      expect(await sut.migrate()).toBe(LATEST_SCHEMA_VERSION);
      const web = { namespace: 'default', name: 'web' };
      const all = { from: 0, to: 2_000_000_000_000 };
      expect((await sut.flows({ limit: 10 })).flows).toEqual([record]);
      expect(await sut.evidenceCounts(web, all)).toEqual(await sut.evidenceCounts(web, all, 'raw'));
      const ended = { ...record, lastSeen: record.lastSeen + 1000, ended: true };
      expect(await sut.ingest([ended])).toEqual({ records: 1, inserted: 0 });
      expect((await sut.flows({ limit: 10 })).flows).toEqual([ended]);
      const counts = await sut.evidenceCounts(web, all);
      expect(counts.rows.map((r) => r.connections)).toEqual([1]);
      expect(counts).toEqual(await sut.evidenceCounts(web, all, 'raw'));
      expect(await sut.deleteExpired({ rawBefore: ended.lastSeen + 1, rollupsBefore: 0 })).toEqual({ raw: 1, rollups: 0, services: 0 });
      await sut.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('parseStoreUrl', () => {
  it.each([
    ['sqlite:///var/lib/natlens/natlens.db', { kind: 'sqlite', path: '/var/lib/natlens/natlens.db' }],
    ['sqlite:data/natlens.db', { kind: 'sqlite', path: 'data/natlens.db' }],
    ['sqlite::memory:', { kind: 'sqlite', path: ':memory:' }],
    ['postgres://natlens@db:5432/natlens', { kind: 'postgres', url: 'postgres://natlens@db:5432/natlens' }],
    ['postgresql://natlens@db/natlens', { kind: 'postgres', url: 'postgresql://natlens@db/natlens' }],
    ['sqlite://', undefined],
    ['mysql://x', undefined],
  ])('%s', (url, expected) => {
    expect(parseStoreUrl(url)).toEqual(expected);
  });
});
