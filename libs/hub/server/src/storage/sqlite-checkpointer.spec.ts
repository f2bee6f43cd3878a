import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CheckpointPace, type CheckpointResult, nextCheckpoint, SqliteCheckpointer } from './sqlite-checkpointer';

const row = (log: number, checkpointed: number, busy = 0): CheckpointResult => ({ busy, log, checkpointed });

describe('nextCheckpoint', () => {
  const timing = { fastMs: 5, hotMs: 1000, idleMs: 50 };
  it.each<[string, CheckpointPace, CheckpointResult, number, number, number | undefined]>([
    // what, pace before, answer, at, → delay, lastMovedAt after
    ['the first checkpoint moved frames', {}, row(40, 40), 10_000, 5, 10_000],
    ['the first checkpoint found an empty WAL', {}, row(0, 0), 10_000, 50, undefined],
    ['the writer added frames and they were moved', { previous: row(40, 40), lastMovedAt: 9_000 }, row(90, 90), 10_000, 5, 10_000],
    ['nothing new, frames moved 0.5 s ago: the writer is still writing', { previous: row(90, 90), lastMovedAt: 9_500 }, row(90, 90), 10_000, 5, 9_500],
    ['nothing new for a second (the WAL still holds moved frames): idle', { previous: row(90, 90), lastMovedAt: 9_000 }, row(90, 90), 10_000, 50, 9_000],
    ['nothing new, never moved anything', { previous: row(90, 90) }, row(90, 90), 10_000, 50, undefined],
    ['new frames a reader holds back: none moved', { previous: row(90, 90), lastMovedAt: 5_000 }, row(120, 90), 10_000, 50, 5_000],
    ['busy, nothing moved', { previous: row(90, 90), lastMovedAt: 5_000 }, row(90, 90, 1), 10_000, 50, 5_000],
    ['the writer started the WAL over and the new frames were moved', { previous: row(900, 900), lastMovedAt: 5_000 }, row(30, 30), 10_000, 5, 10_000],
    ['the writer started the WAL over, nothing moved yet', { previous: row(900, 900), lastMovedAt: 5_000 }, row(30, 0), 10_000, 50, 5_000],
  ])('%s', (_what, pace, now, at, delay, lastMovedAt) => {
    const next = nextCheckpoint(pace, now, at, timing);
    expect(next.delayMs).toBe(delay);
    expect(next.pace).toEqual(lastMovedAt === undefined ? { previous: now } : { previous: now, lastMovedAt });
  });
});

describe('SqliteCheckpointer', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'natlens-checkpointer-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('moves committed frames into the database file, keeps up for a while, then checks at its idle interval instead of spinning', async () => {
    const path = join(dir, 'hub.db');
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('wal_autocheckpoint = 0');
    db.exec('CREATE TABLE t (v TEXT)');
    const insert = db.prepare('INSERT INTO t VALUES (?)');
    db.transaction(() => {
      for (let i = 0; i < 2000; i++) insert.run('x'.repeat(200));
    })();
    const checkpointer = new SqliteCheckpointer(path, 100, 100);
    const idleMs = 1500;
    await new Promise((r) => setTimeout(r, idleMs));
    await checkpointer.stop();
    // every frame of the WAL was copied back: a checkpoint now has nothing left to move
    const [after] = db.pragma('wal_checkpoint(PASSIVE)') as CheckpointResult[];
    expect(after?.log).toBeGreaterThan(0);
    expect(after?.checkpointed).toBe(after?.log);
    // one checkpoint that moved everything, one every 5 ms for the next 100 ms, then one per idle interval at most
    // (the bug this guards against ran one every 5 ms throughout: ≈300 here)
    expect(checkpointer.checkpoints).toBeGreaterThanOrEqual(2);
    expect(checkpointer.checkpoints).toBeLessThanOrEqual(1 + 100 / 5 + Math.ceil(idleMs / 100) + 5);
    db.close();
  });
});
