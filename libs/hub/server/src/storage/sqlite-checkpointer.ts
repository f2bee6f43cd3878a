import { Worker } from 'node:worker_threads';

/*
 * WAL checkpoints off the ingest thread. In WAL mode a commit only appends pages to the -wal file; a checkpoint
 * copies them back into the database file and fsyncs it. SQLite's automatic checkpoint runs inside the commit that
 * crosses the threshold, on the thread that writes, so every few batches one batch paid for copying and fsyncing
 * megabytes (the flows primary key takes random inserts, so nearly every batch dirties ~1,000 index pages).
 *
 * This worker thread holds its own connection and runs PASSIVE checkpoints, which never block the writer or
 * readers. The writer keeps a high automatic-checkpoint threshold as a safety net: if the worker falls behind,
 * the WAL is still bounded. Durability is unchanged: synchronous=NORMAL on both connections, so a commit is
 * durable once a checkpoint or the next WAL sync has run, exactly as with SQLite's own checkpoints.
 */

/** What `PRAGMA wal_checkpoint(PASSIVE)` answers: `log` and `checkpointed` count frames of the current WAL, cumulatively. */
export interface CheckpointResult {
  busy: number;
  log: number;
  checkpointed: number;
}

/** When the worker last moved frames, and what the last checkpoint answered. */
export interface CheckpointPace {
  readonly previous?: CheckpointResult;
  readonly lastMovedAt?: number;
}

/**
 * How long the worker waits before its next checkpoint, and the pace to remember. `checkpointed` is not what this call
 * moved but every frame of the current WAL moved so far (it stays above 0 until a writer starts the WAL over), so
 * progress is the difference from the previous answer; reading it as progress kept an idle hub checkpointing every
 * 5 ms, 3 % of a core for nothing. While the writer writes (frames moved in the last `hotMs`) the worker keeps
 * checkpointing every `fastMs`, so each commit's frames are copied at once and the next write starts the WAL over;
 * after that it looks every `idleMs`. Self-contained: its source is part of the worker's.
 */
export function nextCheckpoint(pace: CheckpointPace, now: CheckpointResult, at: number, timing: { fastMs: number; hotMs: number; idleMs: number }): { delayMs: number; pace: CheckpointPace } {
  const previous = pace.previous;
  const sameWal = previous !== undefined && now.log >= previous.log && now.checkpointed >= previous.checkpointed;
  const moved = sameWal ? now.checkpointed - previous.checkpointed : now.checkpointed;
  const lastMovedAt = moved > 0 ? at : pace.lastMovedAt;
  const hot = lastMovedAt !== undefined && at - lastMovedAt < timing.hotMs;
  return { delayMs: hot ? timing.fastMs : timing.idleMs, pace: lastMovedAt === undefined ? { previous: now } : { previous: now, lastMovedAt } };
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const nextCheckpoint = ${nextCheckpoint.toString()};
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('synchronous = NORMAL');
db.pragma('busy_timeout = 0');
let stopped = false;
let timer;
let pace = {};
let checkpoints = 0;
function tick() {
  timer = undefined;
  if (stopped) return;
  let delay = workerData.intervalMs;
  try {
    const row = db.pragma('wal_checkpoint(PASSIVE)')[0];
    checkpoints++;
    const next = nextCheckpoint(pace, row, Date.now(), { fastMs: 5, hotMs: workerData.hotMs, idleMs: workerData.intervalMs });
    delay = next.delayMs;
    pace = next.pace;
  } catch (err) {
    parentPort.postMessage({ error: String(err && err.message || err) });
  }
  timer = setTimeout(tick, delay);
}
parentPort.on('message', (message) => {
  if (message !== 'stop') return;
  stopped = true;
  if (timer) clearTimeout(timer);
  try { db.close(); } finally { parentPort.postMessage({ stopped: true, checkpoints }); }
});
tick();
`;

export class SqliteCheckpointer {
  private readonly worker: Worker;
  private stopping?: Promise<void>;
  private exited = false;
  lastError?: string;
  /** How many checkpoints the worker ran, known once it stopped. */
  checkpoints?: number;

  /** `intervalMs`: how often an idle worker looks; `hotMs`: how long it keeps checkpointing every 5 ms after it moved frames. */
  constructor(path: string, intervalMs = 200, hotMs = 2000) {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, driver: require.resolve('better-sqlite3'), intervalMs, hotMs } });
    this.worker.unref();
    this.worker.on('message', (message: { error?: string }) => {
      if (message.error) this.lastError = message.error;
    });
    this.worker.on('error', (err) => {
      this.lastError = err.message;
    });
    this.worker.once('exit', () => {
      this.exited = true;
    });
  }

  /** Stops the worker after its current checkpoint; the connection that closes last checkpoints what is left. */
  stop(): Promise<void> {
    this.stopping ??= new Promise<void>((resolve) => {
      if (this.exited) return resolve();
      const done = () => resolve();
      this.worker.once('exit', done);
      this.worker.on('message', (message: { stopped?: boolean; checkpoints?: number }) => {
        if (!message.stopped) return;
        this.checkpoints = message.checkpoints;
        void this.worker.terminate().then(done, done);
      });
      this.worker.postMessage('stop');
    });
    return this.stopping;
  }
}
