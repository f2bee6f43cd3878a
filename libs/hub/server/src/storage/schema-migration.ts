import type Database from 'better-sqlite3';
import type { Pool, PoolClient } from 'pg';
import { LATEST_SCHEMA_VERSION, MIGRATIONS, SCHEMA_MIGRATIONS_DDL, statementsFor } from './migrations';

/*
 * Applying the shared schema (migrations.ts) and running a PostgreSQL transaction: what every repository over the
 * hub's database needs (flows, alerts), whichever opens it first. Each migration runs in a transaction of its own.
 */

/** Any advisory-lock id will do as long as it is always the same: replicas migrating at once take turns. */
const MIGRATION_LOCK_ID = 0x6e61746c;

/** BEGIN … COMMIT on one pooled client; ROLLBACK and rethrow when `work` fails. */
export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** Applies the migrations above the recorded version; returns the schema version. */
export function migratePostgres(pool: Pool): Promise<number> {
  return inTransaction(pool, async (client) => {
    // An index built on a large table may take longer than the statement timeout queries get: not in this transaction.
    await client.query('SET LOCAL statement_timeout = 0');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_ID]);
    await client.query(SCHEMA_MIGRATIONS_DDL);
    const current = Number((await client.query<{ v: string }>('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations')).rows[0]?.v ?? 0);
    for (const migration of MIGRATIONS.filter((m) => m.version > current)) {
      for (const statement of statementsFor(migration, 'postgres')) await client.query(statement);
      await client.query('INSERT INTO schema_migrations (version, description, applied_at) VALUES ($1, $2, $3)', [migration.version, migration.description, Date.now()]);
    }
    return Math.max(LATEST_SCHEMA_VERSION, current);
  });
}

/** The same for SQLite (one writer: no lock needed). */
export function migrateSqlite(db: Database.Database): number {
  db.exec(SCHEMA_MIGRATIONS_DDL);
  const current = (db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations').get() as { v: number }).v;
  for (const migration of MIGRATIONS.filter((m) => m.version > current)) {
    db.transaction(() => {
      for (const statement of statementsFor(migration, 'sqlite')) db.exec(statement);
      db.prepare('INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)').run(migration.version, migration.description, Date.now());
    })();
  }
  return Math.max(LATEST_SCHEMA_VERSION, current);
}
