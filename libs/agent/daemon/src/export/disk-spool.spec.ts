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
        bodies.push(spool.read(name).toString());
        spool.remove(name);
      }
      return bodies;
    };
    const expected = ['first', 'second-a1', 'second-a2', 'second-b', 'third'];
    // what a restart finds on disk, in the order it lists it
    const restarted = new DiskSpool(dir, 1 << 20);
    expect(readdirSync(dir).sort().map((name) => restarted.read(name).toString())).toEqual(expected);
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
    expect(sut.read(sut.oldestName() as string).toString()).toBe('kept');
  });

  it('holds batches in memory in their place in the queue, and writes only those held long enough', () => {
    const sut = new DiskSpool(dir, 1 << 20);
    sut.hold(Buffer.from('held-1'), { node: 'n1', records: 1 }, 1_000);
    sut.append('on-disk');
    sut.hold(Buffer.from('held-2'), undefined, 2_000);
    expect(readdirSync(dir)).toHaveLength(1);
    expect([sut.count, sut.bytes, sut.heldBytes]).toEqual([3, 19, 12]);
    expect(sut.persistHeld(1_500)).toEqual([]);
    expect(readdirSync(dir)).toHaveLength(2);
    expect(sut.heldBytes).toBe(6);
    // a restart finds what was written, in the order it was queued; the batch still held is not there
    expect(readdirSync(dir).sort().map((name) => new DiskSpool(dir, 1 << 20).read(name).toString())).toEqual(['held-1', 'on-disk']);
    expect(sut.summaryOf(sut.oldestName() as string)).toEqual({ node: 'n1', records: 1 });
    const bodies: string[] = [];
    for (let name = sut.oldestName(); name; name = sut.oldestName()) {
      bodies.push(sut.read(name).toString());
      sut.remove(name);
    }
    expect(bodies).toEqual(['held-1', 'on-disk', 'held-2']);
    expect([sut.count, sut.bytes, sut.heldBytes, readdirSync(dir).length]).toEqual([0, 0, 0, 0]);
  });

  it('refuses to hold past its limit, retires a held batch to disk, and gives back what the disk refuses', () => {
    const sut = new DiskSpool(dir, 400);
    expect(sut.hold(Buffer.from('x'.repeat(60)))).toEqual({ kind: 'spooled' });
    expect(sut.hold(Buffer.from('x'.repeat(360)))).toEqual({ kind: 'full' });
    sut.retire(sut.oldestName() as string, DEAD_LETTER_DIR);
    expect(readdirSync(join(dir, DEAD_LETTER_DIR))).toHaveLength(1);
    expect([sut.count, sut.bytes, sut.heldBytes]).toEqual([0, 0, 0]);

    sut.hold(Buffer.from('lost'), { node: 'n1', records: 4 });
    rmSync(dir, { recursive: true });
    writeFileSync(dir, 'a file where the spool directory was'); // every write now fails (ENOTDIR)
    const failures = sut.persistHeld();
    expect(failures).toEqual([expect.objectContaining({ summary: { node: 'n1', records: 4 }, outcome: expect.objectContaining({ kind: 'failed' }) })]);
    expect([sut.count, sut.bytes, sut.heldBytes]).toEqual([0, 0, 0]);
    rmSync(dir);
  });
});
