import { parseStoreUrl, type StoreOptions } from '../storage/open-flow-repository';
import type { NodeReportRepository } from './node-report-repository';
import { PostgresNodeReportRepository } from './postgres-node-report.repository';
import { SqliteNodeReportRepository } from './sqlite-node-report.repository';

/** The node-report store in the same database as the flows (the store URL of `--store`). */
export async function openNodeReportRepository(url: string, options: StoreOptions = {}): Promise<NodeReportRepository> {
  const store = parseStoreUrl(url);
  if (!store) throw new Error(`store ${url}: expected sqlite:///path/to/file.db or postgres://user@host/db`);
  const repository = store.kind === 'sqlite' ? new SqliteNodeReportRepository(store.path) : new PostgresNodeReportRepository(store.url, options.statementTimeoutMs ?? 0);
  try {
    await repository.migrate();
  } catch (err) {
    await repository.close().catch(() => undefined);
    throw new Error(`node-report store ${store.kind === 'sqlite' ? store.path : 'postgres'}: cannot open or migrate: ${(err as Error).message}`);
  }
  return repository;
}
