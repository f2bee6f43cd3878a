import type { FlowRepository } from './flow-repository';
import { PostgresFlowRepository } from './postgres-flow.repository';
import { SqliteFlowRepository } from './sqlite-flow.repository';

/**
 * The store a URL names: `sqlite:///absolute/path.db`, `sqlite:relative/path.db`, `sqlite::memory:`, or
 * `postgres://user:pass@host:port/db` (also `postgresql://`; `?host=/run/postgresql` for a Unix socket).
 */
export function parseStoreUrl(url: string): { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string } | undefined {
  if (url === 'sqlite::memory:') return { kind: 'sqlite', path: ':memory:' };
  if (url.startsWith('sqlite://')) {
    const path = url.slice('sqlite://'.length);
    return path.startsWith('/') && path.length > 1 ? { kind: 'sqlite', path } : undefined;
  }
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    return path.length > 0 ? { kind: 'sqlite', path } : undefined;
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return { kind: 'postgres', url };
  return undefined;
}

export interface StoreOptions {
  /** PostgreSQL: statement_timeout of every connection; SQLite: how long a read on the reader thread may run. 0: none. */
  readonly statementTimeoutMs?: number;
}

export async function openFlowRepository(url: string, options: StoreOptions = {}): Promise<FlowRepository> {
  const store = parseStoreUrl(url);
  if (!store) throw new Error(`store ${url}: expected sqlite:///path/to/file.db or postgres://user@host/db`);
  const repository =
    store.kind === 'sqlite'
      ? new SqliteFlowRepository(store.path, { ...(options.statementTimeoutMs ? { readTimeoutMs: options.statementTimeoutMs } : {}) })
      : new PostgresFlowRepository(store.url, { ...(options.statementTimeoutMs ? { statementTimeoutMs: options.statementTimeoutMs } : {}) });
  try {
    await repository.migrate();
  } catch (err) {
    await repository.close().catch(() => undefined);
    throw new Error(`store ${store.kind === 'sqlite' ? store.path : 'postgres'}: cannot open or migrate: ${(err as Error).message}`);
  }
  return repository;
}
