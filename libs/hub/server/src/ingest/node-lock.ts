import { Pool } from 'pg';

/*
 * Batches of one node are stored one at a time, across every replica. The store's ingest reads a record's stored
 * version and then adjusts the minute rollups by the difference (storage/postgres-flow.repository.ts): two
 * transactions updating the same (node, flowId) at once would both see "new" and count it twice. Two batches of a
 * node meet in many ways: through the shared JetStream consumer (consecutive batches on two replicas, a redelivery
 * racing a slow first delivery), over HTTP (an agent's retry after a timeout while the first attempt still commits,
 * an import beside the live agent), or one of each. So IngestService takes this lock around every store, whatever
 * the batch came through.
 */
export interface NodeLock {
  /** Runs `work` while holding the lock of every node named (taken in sorted order: no deadlock between batches). */
  withNodes<T>(nodes: readonly string[], work: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Nest calls this after every module's onModuleDestroy: the bus consumer has let its batches finish by then. */
abstract class ClosesAtShutdown {
  abstract close(): Promise<void>;
  onApplicationShutdown(): Promise<void> {
    return this.close().catch(() => undefined);
  }
}

/** One process (SQLite store): a promise chain per node. */
export class InProcessNodeLock extends ClosesAtShutdown implements NodeLock {
  private readonly tails = new Map<string, Promise<void>>();

  async withNodes<T>(nodes: readonly string[], work: () => Promise<T>): Promise<T> {
    const sorted = [...new Set(nodes)].sort();
    const releases: (() => void)[] = [];
    try {
      for (const node of sorted) releases.push(await this.acquire(node));
      return await work();
    } finally {
      for (const release of releases.reverse()) release();
    }
  }

  private async acquire(node: string): Promise<() => void> {
    const previous = this.tails.get(node) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    this.tails.set(node, tail);
    await previous;
    return () => {
      release();
      if (this.tails.get(node) === tail) this.tails.delete(node);
    };
  }

  async close(): Promise<void> {
    this.tails.clear();
  }
}

/** Namespace of natlens' node locks among PostgreSQL advisory locks (two-key form; never collides with one-key locks). */
const LOCK_CLASS = 0x6e6c6e64;

/**
 * Several replicas on one PostgreSQL: session-level advisory locks, one connection per batch being stored. A
 * replica that dies mid-batch loses its connection, and PostgreSQL releases its locks with it.
 */
export class PostgresNodeLock extends ClosesAtShutdown implements NodeLock {
  private readonly pool: Pool;

  constructor(connectionString: string, connections: number) {
    super();
    this.pool = new Pool({ connectionString, max: connections });
    // An idle connection that breaks (database restart) must not crash the process; the next batch reconnects.
    this.pool.on('error', () => undefined);
  }

  async withNodes<T>(nodes: readonly string[], work: () => Promise<T>): Promise<T> {
    const sorted = [...new Set(nodes)].sort();
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      for (const node of sorted) await client.query('SELECT pg_advisory_lock($1::int, hashtext($2))', [LOCK_CLASS, node]);
      return await work();
    } finally {
      try {
        await client.query('SELECT pg_advisory_unlock_all()');
      } catch (err) {
        broken = err as Error;
      }
      // A connection whose unlock failed may still hold locks: destroy it rather than hand it back.
      client.release(broken);
    }
  }

  private closed = false;

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}
