import { parseStoreUrl, type StoreOptions } from '../storage/open-flow-repository';
import type { AlertRepository } from './alert-repository';
import { PostgresAlertRepository } from './postgres-alert.repository';
import { SqliteAlertRepository } from './sqlite-alert.repository';

/** The alert store in the same database as the flows (the store URL of `--store`). */
export async function openAlertRepository(url: string, options: StoreOptions = {}): Promise<AlertRepository> {
  const store = parseStoreUrl(url);
  if (!store) throw new Error(`store ${url}: expected sqlite:///path/to/file.db or postgres://user@host/db`);
  const repository = store.kind === 'sqlite' ? new SqliteAlertRepository(store.path) : new PostgresAlertRepository(store.url, options.statementTimeoutMs ?? 0);
  try {
    await repository.migrate();
  } catch (err) {
    await repository.close().catch(() => undefined);
    throw new Error(`alert store ${store.kind === 'sqlite' ? store.path : 'postgres'}: cannot open or migrate: ${(err as Error).message}`);
  }
  return repository;
}
