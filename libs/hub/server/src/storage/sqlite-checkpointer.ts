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

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('synchronous = NORMAL');
db.pragma('busy_timeout = 0');
let stopped = false;
let timer;
function tick() {
  timer = undefined;
  if (stopped) return;
  let busy = false;
  let moved = 0;
  try {
    const row = db.pragma('wal_checkpoint(PASSIVE)')[0];
    busy = row.busy === 1;
    moved = row.checkpointed;
  } catch (err) {
    parentPort.postMessage({ error: String(err && err.message || err) });
  }
  // Keep up while the writer writes; otherwise look again shortly.
  timer = setTimeout(tick, busy || moved > 0 ? 5 : workerData.intervalMs);
}
parentPort.on('message', (message) => {
  if (message !== 'stop') return;
  stopped = true;
  if (timer) clearTimeout(timer);
  try { db.close(); } finally { parentPort.postMessage({ stopped: true }); }
});
tick();
`;

export class SqliteCheckpointer {
  private readonly worker: Worker;
  private stopping?: Promise<void>;
  private exited = false;
  lastError?: string;

  constructor(path: string, intervalMs = 50) {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, driver: require.resolve('better-sqlite3'), intervalMs } });
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
      this.worker.on('message', (message: { stopped?: boolean }) => {
        if (message.stopped) void this.worker.terminate().then(done, done);
      });
      this.worker.postMessage('stop');
    });
    return this.stopping;
  }
}
