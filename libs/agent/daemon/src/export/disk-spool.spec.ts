import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeWorkDir } from '../testing';
import { DEAD_LETTER_DIR, DiskSpool, QUARANTINE_DIR } from './disk-spool';

describe('DiskSpool', () => {
  let dir: string;
  beforeEach(() => {
    dir = join(makeWorkDir('natlens-spool'), 'spool');
  });
  afterEach(() => rmSync(join(dir, '..'), { recursive: true, force: true }));

  it('puts the parts of a split batch where it was, before later batches, in memory and after a restart', () => {
    const sut = new DiskSpool(dir, 1 << 20);
    sut.append('first');
    sut.append('second');
    sut.append('third');
    const second = readdirSync(dir).sort()[1] as string;
    const [a] = sut.replace(second, [{ body: 'second-a' }, { body: 'second-b' }]);
    sut.replace(a as string, [{ body: 'second-a1' }, { body: 'second-a2' }]);
    const order = (spool: DiskSpool) => {
      const bodies: string[] = [];
      for (let name = spool.oldestName(); name; name = spool.oldestName()) {
        bodies.push(spool.read(name));
        spool.remove(name);
      }
      return bodies;
    };
    const expected = ['first', 'second-a1', 'second-a2', 'second-b', 'third'];
    // what a restart finds on disk, in the order it lists it
    const restarted = new DiskSpool(dir, 1 << 20);
    expect(readdirSync(dir).sort().map((name) => restarted.read(name))).toEqual(expected);
    expect(restarted.count).toBe(5);
    expect(order(sut)).toEqual(expected);
    expect(sut.bytes).toBe(0);
  });

  it('remembers what it was told of each batch it spooled (its parts too), and knows nothing of files found at start', () => {
    const sut = new DiskSpool(dir, 1 << 20);
    sut.append('{"node":"n1","records":[1,2,3]}', { node: 'n1', records: 3 });
    sut.append('{"node":"n1","records":[4]}');
    const [first, second] = readdirSync(dir).sort() as [string, string];
    expect(sut.summaryOf(first)).toEqual({ node: 'n1', records: 3 });
    expect(sut.summaryOf(second)).toBeUndefined();
    const [a, b] = sut.replace(first, [{ body: '{"node":"n1","records":[1,2]}', summary: { node: 'n1', records: 2 } }, { body: '{"node":"n1","records":[3]}', summary: { node: 'n1', records: 1 } }]) as [string, string];
    expect([sut.summaryOf(a), sut.summaryOf(b), sut.summaryOf(first)]).toEqual([{ node: 'n1', records: 2 }, { node: 'n1', records: 1 }, undefined]);
    const restarted = new DiskSpool(dir, 1 << 20);
    expect(restarted.count).toBe(3);
    expect([a, b, second].map((name) => restarted.summaryOf(name))).toEqual([undefined, undefined, undefined]);
  });

  it('moves retired batches aside, keeping at most a quarter of the limit in each directory, oldest deleted first', () => {
    const sut = new DiskSpool(dir, 400);
    for (let i = 0; i < 4; i++) expect(sut.append('x'.repeat(40))).toEqual({ kind: 'spooled' });
    expect(sut.append('x'.repeat(300))).toEqual({ kind: 'full' });
    const names = readdirSync(dir).sort();
    names.forEach((name) => sut.retire(name, DEAD_LETTER_DIR));
    expect(sut.count).toBe(0);
    expect(sut.bytes).toBe(0);
    expect(readdirSync(join(dir, DEAD_LETTER_DIR)).sort()).toEqual(names.slice(2)); // 80 of at most 100 bytes
    expect(sut.retiredBytes(DEAD_LETTER_DIR)).toBe(80);
    expect(sut.retiredBytes(QUARANTINE_DIR)).toBe(0);
  });

  it('drops what a crash left half-written (.tmp) on start and ignores files that are no batch', () => {
    new DiskSpool(dir, 1024).append('kept');
    writeFileSync(join(dir, '000000000000009-1-000000000.batch.json.tmp'), '{"node":');
    writeFileSync(join(dir, 'notes.txt'), 'an operator was here');
    const sut = new DiskSpool(dir, 1024);
    expect(sut.count).toBe(1);
    expect(existsSync(join(dir, '000000000000009-1-000000000.batch.json.tmp'))).toBe(false);
    expect(sut.read(sut.oldestName() as string)).toBe('kept');
  });
});
