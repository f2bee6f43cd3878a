import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flowRecord } from '../testing';
import { flowRepositoryContract } from './flow-repository.contract';
import { openFlowRepository, parseStoreUrl } from './open-flow-repository';
import { SqliteFlowRepository } from './sqlite-flow.repository';

describe('SqliteFlowRepository', () => {
  describe('contract (in memory)', () => {
    flowRepositoryContract(async () => {
      const sut = new SqliteFlowRepository(':memory:');
      await sut.migrate();
      return sut;
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
