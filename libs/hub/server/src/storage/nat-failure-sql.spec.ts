import Database from 'better-sqlite3';
import { migrateSqlite } from './schema-migration';
import { natFailuresQuery } from './nat-failure-sql';

/*
 * The NAT-failure reads must use the partial indexes of migration 8 (only failure rows), never walk a busy window's
 * ordinary records: the query plan of SQLite says which index it takes.
 */
describe('natFailuresQuery on SQLite', () => {
  it.each([
    ['every Service (the metrics)', undefined, 'flows_nat_failures '],
    ['one Service (evidence and alerts)', { namespace: 'default', name: 'web' }, 'flows_nat_failures_service '],
  ])('%s uses its partial index', (_case, service, index) => {
    const db = new Database(':memory:');
    try {
      migrateSqlite(db);
      const query = natFailuresQuery('sqlite', { from: 1, to: 2 }, service);
      const plan = (db.prepare(`EXPLAIN QUERY PLAN ${query.text}`).all(...query.params) as { detail: string }[]).map((r) => r.detail).join('\n');
      expect(plan).toContain(`USING INDEX ${index}`);
    } finally {
      db.close();
    }
  });
});
