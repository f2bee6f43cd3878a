import { Worker } from 'node:worker_threads';

/*
 * SQLite reads off the event loop (issue 18). better-sqlite3 is synchronous: a query that scans for a second stops
 * every request, /healthz included, for that second. This worker thread holds its own read-only connection to the
 * same file; in WAL mode it reads a consistent snapshot while the main connection writes, and it sees every commit
 * made before the read began. Reads run one at a time, in the order asked; one that runs longer than the timeout is
 * abandoned with the worker (SQLite has no statement timeout of its own), and the reads queued behind it go to a
 * fresh one.
 */

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { readonly: true, fileMustExist: true });
db.pragma('busy_timeout = 5000');
db.pragma('cache_size = -65536');
const statements = new Map();
function prepared(sql) {
  let statement = statements.get(sql);
  if (!statement) {
    if (statements.size >= 200) statements.clear();
    statement = db.prepare(sql);
    statements.set(sql, statement);
  }
  return statement;
}
// Several statements of one read see the same snapshot: a read transaction around them.
const readAll = db.transaction((queries) => queries.map((q) => prepared(q.sql).all(...q.params)));
parentPort.postMessage({ ready: true });
parentPort.on('message', (message) => {
  try {
    parentPort.postMessage({ id: message.id, rows: readAll(message.queries) });
  } catch (err) {
    parentPort.postMessage({ id: message.id, error: String((err && err.message) || err) });
  }
});
`;

export interface SqlRead {
  readonly sql: string;
  readonly params: readonly unknown[];
}

interface PendingRead {
  readonly id: number;
  readonly queries: readonly SqlRead[];
  readonly resolve: (rows: unknown[][]) => void;
  readonly reject: (err: Error) => void;
}

export class SqliteReadTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`the query ran longer than ${timeoutMs} ms and was abandoned (NATLENS_STORE_STATEMENT_TIMEOUT); ask for a shorter window or a narrower filter`);
    this.name = 'SqliteReadTimeoutError';
  }
}

export class SqliteReader {
  private worker?: Worker;
  /** The worker has opened its connection: a read's time runs from here, not from loading the driver. */
  private workerReady = false;
  private readonly queue: PendingRead[] = [];
  private running?: { read: PendingRead; timer?: NodeJS.Timeout };
  private nextId = 1;
  private closed = false;

  /** `timeoutMs`: 0 for none. */
  constructor(
    private readonly path: string,
    private readonly timeoutMs = 0,
  ) {}

  /** Rows of each query, read in one snapshot. */
  read(queries: readonly SqlRead[]): Promise<unknown[][]> {
    if (this.closed) return Promise.reject(new Error('the SQLite store is closed'));
    return new Promise<unknown[][]>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, queries, resolve, reject });
      this.dispatch();
    });
  }

  async all<T>(sql: string, params: readonly unknown[]): Promise<T[]> {
    const [rows] = await this.read([{ sql, params }]);
    return (rows ?? []) as T[];
  }

  /** Rejects what is queued and stops the worker. */
  async close(): Promise<void> {
    this.closed = true;
    const error = new Error('the SQLite store was closed before the query ran');
    for (const read of this.queue.splice(0)) read.reject(error);
    if (this.running) {
      clearTimeout(this.running.timer);
      this.running.read.reject(error);
      this.running = undefined;
    }
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.terminate();
  }

  private dispatch(): void {
    if (this.running || this.closed) return;
    if (this.queue.length === 0) return;
    const worker = this.ensureWorker();
    if (!this.workerReady) return;
    const read = this.queue.shift() as PendingRead;
    const timer = this.timeoutMs > 0 ? setTimeout(() => this.abandon(read), this.timeoutMs) : undefined;
    this.running = { read, ...(timer ? { timer } : {}) };
    worker.postMessage({ id: read.id, queries: read.queries.map((q) => ({ sql: q.sql, params: q.params })) });
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path: this.path, driver: require.resolve('better-sqlite3') } });
    worker.unref();
    worker.on('message', (message: { ready?: boolean; id?: number; rows?: unknown[][]; error?: string }) => {
      if (message.ready) {
        if (this.worker === worker) this.workerReady = true;
        return this.dispatch();
      }
      const running = this.running;
      if (!running || running.read.id !== message.id) return;
      clearTimeout(running.timer);
      this.running = undefined;
      if (message.error !== undefined) running.read.reject(new Error(message.error));
      else running.read.resolve(message.rows ?? []);
      this.dispatch();
    });
    worker.on('error', (err) => this.fail(worker, err));
    worker.on('exit', (code) => this.fail(worker, new Error(`the SQLite reader thread stopped (exit code ${code})`)));
    this.worker = worker;
    this.workerReady = false;
    return worker;
  }

  /** The worker died: the read it ran fails; queued reads go to a new one. */
  private fail(worker: Worker, err: Error): void {
    if (this.worker !== worker) return;
    const opened = this.workerReady;
    this.worker = undefined;
    this.workerReady = false;
    const running = this.running;
    this.running = undefined;
    if (running) {
      clearTimeout(running.timer);
      running.read.reject(err);
    }
    // A worker that could not even open the database would fail again: the queued reads fail with it.
    if (!opened) for (const read of this.queue.splice(0)) read.reject(new Error(`the SQLite reader thread could not open ${this.path}: ${err.message}`));
    this.dispatch();
  }

  private abandon(read: PendingRead): void {
    if (this.running?.read !== read) return;
    const worker = this.worker;
    this.worker = undefined;
    this.running = undefined;
    read.reject(new SqliteReadTimeoutError(this.timeoutMs));
    void worker?.terminate();
    this.dispatch();
  }
}
