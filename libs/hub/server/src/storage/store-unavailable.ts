/*
 * Is a failed store a store that is away (restarting, unreachable, out of connections, busy), or a store refusing
 * this batch? The bus retries the first in place without spending the batch's deliveries (max_deliver), so a database
 * restart never sends batches to the dead-letter stream; only the second counts towards it.
 */

/** Socket errors of a database that is not there (pg over TCP or a Unix socket). */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);

/**
 * PostgreSQL SQLSTATEs of the server, not the batch: class 08 (connection exception), class 53 (insufficient
 * resources: disk full, out of memory, too many connections: the batch waits until the operator makes room),
 * 57P01–57P03 (shutting down, crashed, not yet accepting connections), 40001/40P01 (serialization failure, deadlock:
 * retry the transaction). https://www.postgresql.org/docs/current/errcodes-appendix.html
 */
function isTransientSqlState(code: string): boolean {
  return code.startsWith('08') || code.startsWith('53') || ['57P01', '57P02', '57P03', '40001', '40P01'].includes(code);
}

/** SQLite: another connection holds the database (the checkpointer), or the disk is full (until someone makes room). */
const SQLITE_TRANSIENT = new Set(['SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_FULL']);

/** pg's own messages when its connection is gone or none can be had. */
const PG_CONNECTION_MESSAGE = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Cannot use a pool after calling end|connect ENOENT .*\.s\.PGSQL/i;

export function isStoreUnavailable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (typeof code === 'string') {
    if (UNREACHABLE_CODES.has(code) || SQLITE_TRANSIENT.has(code)) return true;
    if (/^[0-9A-Z]{5}$/.test(code) && isTransientSqlState(code)) return true;
  }
  return typeof message === 'string' && PG_CONNECTION_MESSAGE.test(message);
}
