/*
 * Versioned schema, one list for both stores: the DDL below is the common subset of SQLite and PostgreSQL, except
 * statements marked for one dialect. A store applies, in one transaction each, every migration above the version
 * recorded in schema_migrations. Never edit a released migration; append the next version.
 */
export type MigrationStatement = string | { readonly sqlite: string } | { readonly postgres: string };

export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly statements: readonly MigrationStatement[];
}

/** The statements of a migration that a dialect runs, in order. */
export function statementsFor(migration: Migration, dialect: 'sqlite' | 'postgres'): string[] {
  const out: string[] = [];
  for (const statement of migration.statements) {
    if (typeof statement === 'string') out.push(statement);
    else if (dialect === 'sqlite' && 'sqlite' in statement) out.push(statement.sqlite);
    else if (dialect === 'postgres' && 'postgres' in statement) out.push(statement.postgres);
  }
  return out;
}

/** SQLite: the same table and its minute index, rebuilt as WITHOUT ROWID, rows kept. */
function rebuildWithoutRowid(table: string, columnsDdl: string, columns: string): MigrationStatement[] {
  return [
    { sqlite: `CREATE TABLE ${table}_v2 (${columnsDdl}) WITHOUT ROWID` },
    { sqlite: `INSERT INTO ${table}_v2 (${columns}) SELECT ${columns} FROM ${table}` },
    { sqlite: `DROP TABLE ${table}` },
    { sqlite: `ALTER TABLE ${table}_v2 RENAME TO ${table}` },
    { sqlite: `CREATE INDEX ${table}_minute ON ${table} (minute)` },
  ];
}

/** A new table, WITHOUT ROWID in SQLite (rows stored in their primary-key b-tree, as migration 2 made the rollups). */
function createTable(table: string, columnsDdl: string): MigrationStatement[] {
  return [{ sqlite: `CREATE TABLE ${table} (${columnsDdl}) WITHOUT ROWID` }, { postgres: `CREATE TABLE ${table} (${columnsDdl})` }];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'raw flow records, minute rollups, services',
    statements: [
      `CREATE TABLE flows (
        node TEXT NOT NULL,
        flow_id TEXT NOT NULL,
        service_key TEXT NOT NULL,
        leg TEXT NOT NULL,
        verdict TEXT NOT NULL,
        entry TEXT NOT NULL,
        client_kind TEXT NOT NULL,
        snat INTEGER NOT NULL,
        snat_address TEXT NOT NULL,
        ep_namespace TEXT NOT NULL,
        ep_pod TEXT NOT NULL,
        ep_node TEXT NOT NULL,
        client_ip TEXT NOT NULL,
        seen_ip TEXT NOT NULL,
        first_seen BIGINT NOT NULL,
        last_seen BIGINT NOT NULL,
        record TEXT NOT NULL,
        PRIMARY KEY (node, flow_id)
      )`,
      'CREATE INDEX flows_service_first_seen ON flows (service_key, first_seen)',
      'CREATE INDEX flows_first_seen ON flows (first_seen)',
      'CREATE INDEX flows_last_seen ON flows (last_seen)',
      `CREATE TABLE flow_minute (
        service_key TEXT NOT NULL,
        minute BIGINT NOT NULL,
        node TEXT NOT NULL,
        entry TEXT NOT NULL,
        verdict TEXT NOT NULL,
        client_kind TEXT NOT NULL,
        snat INTEGER NOT NULL,
        snat_address TEXT NOT NULL,
        ep_namespace TEXT NOT NULL,
        ep_pod TEXT NOT NULL,
        ep_node TEXT NOT NULL,
        connections BIGINT NOT NULL,
        PRIMARY KEY (service_key, minute, node, entry, verdict, client_kind, snat, snat_address, ep_namespace, ep_pod, ep_node)
      )`,
      'CREATE INDEX flow_minute_minute ON flow_minute (minute)',
      `CREATE TABLE client_minute (
        service_key TEXT NOT NULL,
        minute BIGINT NOT NULL,
        side TEXT NOT NULL,
        address TEXT NOT NULL,
        connections BIGINT NOT NULL,
        PRIMARY KEY (service_key, minute, side, address)
      )`,
      'CREATE INDEX client_minute_minute ON client_minute (minute)',
      `CREATE TABLE services (
        service_key TEXT PRIMARY KEY,
        namespace TEXT NOT NULL,
        name TEXT NOT NULL,
        type TEXT NOT NULL,
        policy TEXT NOT NULL,
        expect_client_ip INTEGER NOT NULL,
        last_seen BIGINT NOT NULL
      )`,
    ],
  },
  {
    version: 2,
    description: 'cheaper ingest and evidence: no last_seen index (retention walks first_seen); SQLite rollups clustered by their key; PostgreSQL rollups leave room for HOT updates',
    statements: [
      // Retention deletes `first_seen < cutoff AND last_seen < cutoff` through flows_first_seen: one index less to
      // maintain on every insert, and a re-send that moves lastSeen no longer rewrites an index entry.
      'DROP INDEX flows_last_seen',
      // SQLite: WITHOUT ROWID stores each rollup row inside its primary-key b-tree, so evidence reads a Service's
      // minutes as one range of the table instead of an index range plus one table lookup per row (at 10M records,
      // 84k client rows for one Service: 115–157 ms → 31 ms). Ingest costs the same.
      ...rebuildWithoutRowid(
        'flow_minute',
        `service_key TEXT NOT NULL, minute BIGINT NOT NULL, node TEXT NOT NULL, entry TEXT NOT NULL, verdict TEXT NOT NULL, client_kind TEXT NOT NULL,
        snat INTEGER NOT NULL, snat_address TEXT NOT NULL, ep_namespace TEXT NOT NULL, ep_pod TEXT NOT NULL, ep_node TEXT NOT NULL, connections BIGINT NOT NULL,
        PRIMARY KEY (service_key, minute, node, entry, verdict, client_kind, snat, snat_address, ep_namespace, ep_pod, ep_node)`,
        'service_key, minute, node, entry, verdict, client_kind, snat, snat_address, ep_namespace, ep_pod, ep_node, connections',
      ),
      ...rebuildWithoutRowid(
        'client_minute',
        `service_key TEXT NOT NULL, minute BIGINT NOT NULL, side TEXT NOT NULL, address TEXT NOT NULL, connections BIGINT NOT NULL,
        PRIMARY KEY (service_key, minute, side, address)`,
        'service_key, minute, side, address, connections',
      ),
      // PostgreSQL: a rollup row is mostly incremented in place (a client's minute row is bumped by every batch of
      // that minute); free space on its page lets those be HOT updates, which add no index entries.
      { postgres: 'ALTER TABLE flow_minute SET (fillfactor = 70)' },
      { postgres: 'ALTER TABLE client_minute SET (fillfactor = 70)' },
    ],
  },
  {
    version: 3,
    description: 'alerts: the latest state of each alert, every transition, and an outbox of notifications to deliver',
    statements: [
      // One row per (rule, Service): its latest state. Written in the same transaction as its history and outbox rows,
      // so a restart finds exactly what was told to receivers and tells them nothing twice.
      `CREATE TABLE alert_states (
        alert_key TEXT PRIMARY KEY,
        rule TEXT NOT NULL,
        namespace TEXT NOT NULL,
        name TEXT NOT NULL,
        state TEXT NOT NULL,
        severity TEXT NOT NULL,
        value DOUBLE PRECISION NOT NULL,
        threshold DOUBLE PRECISION NOT NULL,
        summary TEXT NOT NULL,
        active_since BIGINT NOT NULL,
        fired_at BIGINT,
        resolved_at BIGINT,
        updated_at BIGINT NOT NULL
      )`,
      { sqlite: 'CREATE TABLE alert_history (id INTEGER PRIMARY KEY AUTOINCREMENT, alert_key TEXT NOT NULL, rule TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL, transition TEXT NOT NULL, severity TEXT NOT NULL, value DOUBLE PRECISION NOT NULL, summary TEXT NOT NULL, at BIGINT NOT NULL)' },
      { postgres: 'CREATE TABLE alert_history (id BIGSERIAL PRIMARY KEY, alert_key TEXT NOT NULL, rule TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL, transition TEXT NOT NULL, severity TEXT NOT NULL, value DOUBLE PRECISION NOT NULL, summary TEXT NOT NULL, at BIGINT NOT NULL)' },
      'CREATE INDEX alert_history_at ON alert_history (at)',
      // One row per notification and receiver; deleted once delivered (or given up on), retried with backoff until then.
      { sqlite: 'CREATE TABLE alert_outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, receiver TEXT NOT NULL, notification TEXT NOT NULL, created_at BIGINT NOT NULL, attempts INTEGER NOT NULL, next_attempt_at BIGINT NOT NULL, last_error TEXT)' },
      { postgres: 'CREATE TABLE alert_outbox (id BIGSERIAL PRIMARY KEY, receiver TEXT NOT NULL, notification TEXT NOT NULL, created_at BIGINT NOT NULL, attempts INTEGER NOT NULL, next_attempt_at BIGINT NOT NULL, last_error TEXT)' },
      'CREATE INDEX alert_outbox_next_attempt ON alert_outbox (next_attempt_at)',
    ],
  },
  {
    version: 4,
    description: 'the real client a proxying load balancer named (PROXY protocol, X-Forwarded-For), counted as the client as sent',
    statements: [
      // '' when the record has none, like the other dimension columns; older rows keep counting their original.src.
      "ALTER TABLE flows ADD COLUMN real_client_ip TEXT NOT NULL DEFAULT ''",
    ],
  },
  {
    version: 5,
    description: 'the conntrack zone of each connection (part of its identity, which its flowId already carries)',
    statements: [
      // Rows written before it were all read as zone 0, the default zone, which is what agents then reported.
      'ALTER TABLE flows ADD COLUMN zone INTEGER NOT NULL DEFAULT 0',
    ],
  },
  {
    version: 6,
    description: 'node reports: the latest per node, the latest health-check answer per (node, Service), and each change of answer',
    statements: [
      // The newest report of each node (by the agent's `at`), as it came: addresses, health checks, later conntrack.
      'CREATE TABLE node_reports (node TEXT PRIMARY KEY, at BIGINT NOT NULL, received_at BIGINT NOT NULL, version INTEGER NOT NULL, interval_ms BIGINT, report TEXT NOT NULL)',
      // The latest answer of each Service's health check on each node; `since`: when this same answer began.
      `CREATE TABLE health_checks (
        node TEXT NOT NULL,
        namespace TEXT NOT NULL,
        name TEXT NOT NULL,
        at BIGINT NOT NULL,
        since BIGINT NOT NULL,
        http_status INTEGER,
        local_endpoints INTEGER,
        latency_ms DOUBLE PRECISION,
        error TEXT,
        address TEXT NOT NULL,
        port INTEGER NOT NULL,
        interval_ms BIGINT,
        PRIMARY KEY (node, namespace, name)
      )`,
      // One row per change of answer (a streak's first probe): bounded by changes, not by probes, and by retention.
      `CREATE TABLE health_check_history (
        node TEXT NOT NULL,
        namespace TEXT NOT NULL,
        name TEXT NOT NULL,
        at BIGINT NOT NULL,
        http_status INTEGER,
        local_endpoints INTEGER,
        error TEXT,
        address TEXT NOT NULL,
        port INTEGER NOT NULL,
        PRIMARY KEY (namespace, name, node, at)
      )`,
      'CREATE INDEX health_check_history_at ON health_check_history (at)',
    ],
  },
  {
    version: 7,
    description: 'index the client filter of /api/flows: the client as sent and the real client a proxy named, each with first_seen',
    statements: [
      // `/api/flows?client=` matches `client_ip = ? OR real_client_ip = ?` (flow-sql.ts flowsPageQuery): with both
      // columns indexed, SQLite (multi-index OR) and PostgreSQL (BitmapOr) read only that client's rows instead of
      // scanning the table. first_seen follows so a window narrows the range and the newest rows come first.
      'CREATE INDEX flows_client_first_seen ON flows (client_ip, first_seen)',
      'CREATE INDEX flows_real_client_first_seen ON flows (real_client_ip, first_seen)',
    ],
  },
  {
    version: 8,
    description: 'conntrack samples: each node report\'s conntrack statistics and fullest SNAT pair, for rates and fill over time; an index of NAT-failure records',
    statements: [
      // One row per stored report that carried conntrack statistics or SNAT pairs (so per node every few seconds, kept
      // as long as raw records). The counters as the kernel gave them (NULL when it did not send one); rates are derived
      // on reading. The SNAT pairs themselves stay in the latest report only: the peak here is what the history charts.
      `CREATE TABLE conntrack_samples (
        node TEXT NOT NULL,
        at BIGINT NOT NULL,
        entries BIGINT,
        max_entries BIGINT,
        buckets BIGINT,
        found BIGINT,
        invalid BIGINT,
        inserted BIGINT,
        insert_failed BIGINT,
        dropped BIGINT,
        early_dropped BIGINT,
        errors BIGINT,
        search_restart BIGINT,
        clash_resolve BIGINT,
        chain_too_long BIGINT,
        snat_peak_usage DOUBLE PRECISION,
        PRIMARY KEY (node, at)
      )`,
      'CREATE INDEX conntrack_samples_at ON conntrack_samples (at)',
      // The reasons of NAT failures live in raw records only (nat-failure-sql.ts): a partial index holds just those
      // rows, so reading them costs nothing per ordinary record (neither at ingest nor when scanning a busy window).
      // Two: one for every Service's (the metrics), one for a Service's (evidence, alerts); checked with EXPLAIN QUERY PLAN.
      "CREATE INDEX flows_nat_failures ON flows (first_seen) WHERE verdict = 'dropped-nat-failure'",
      "CREATE INDEX flows_nat_failures_service ON flows (service_key, first_seen) WHERE verdict = 'dropped-nat-failure'",
    ],
  },
  {
    version: 9,
    description: 'long windows without reading every minute: hourly flow rollups, each client\'s latest hour, an index of proxied entry legs',
    statements: [
      // flow_minute summed per hour: a 30-day window reads its whole hours here and only the minutes at its edges
      // (at 10M records, 74k minute rows of one Service became ≈ 720 hours × its few dimension sets).
      ...createTable('flow_hour', `service_key TEXT NOT NULL, hour BIGINT NOT NULL, node TEXT NOT NULL, entry TEXT NOT NULL, verdict TEXT NOT NULL,
        client_kind TEXT NOT NULL, snat INTEGER NOT NULL, snat_address TEXT NOT NULL, ep_namespace TEXT NOT NULL, ep_pod TEXT NOT NULL, ep_node TEXT NOT NULL,
        connections BIGINT NOT NULL, PRIMARY KEY (service_key, hour, node, entry, verdict, client_kind, snat, snat_address, ep_namespace, ep_pod, ep_node)`),
      { postgres: 'ALTER TABLE flow_hour SET (fillfactor = 70)' },
      `INSERT INTO flow_hour (service_key, hour, node, entry, verdict, client_kind, snat, snat_address, ep_namespace, ep_pod, ep_node, connections)
       SELECT service_key, minute / 60, node, entry, verdict, client_kind, snat, snat_address, ep_namespace, ep_pod, ep_node, SUM(connections)
       FROM flow_minute GROUP BY service_key, minute / 60, node, entry, verdict, client_kind, snat, snat_address, ep_namespace, ep_pod, ep_node
       HAVING SUM(connections) <> 0`,
      'CREATE INDEX flow_hour_hour ON flow_hour (hour)',
      // The latest hour in which each client of a Service had a connection (client_minute rows with connections > 0).
      // A window that reaches the Service's newest record counts its distinct clients here (flow-sql.ts
      // recentClientsQuery): one row per client instead of one per client and minute of 30 days. Hours, not minutes:
      // a client that keeps connecting rewrites its row once an hour, not once a minute. `stale` = 1: a re-sent record
      // took a connection of that hour away and the client may have none left in it, so last_hour is only an upper
      // bound until retention recomputes it; evidence then counts that Service from client_minute.
      ...createTable('client_latest', `service_key TEXT NOT NULL, side TEXT NOT NULL, address TEXT NOT NULL, last_hour BIGINT NOT NULL, stale INTEGER NOT NULL,
        PRIMARY KEY (service_key, side, address)`),
      `INSERT INTO client_latest (service_key, side, address, last_hour, stale)
       SELECT service_key, side, address, MAX(minute) / 60, 0 FROM client_minute WHERE connections > 0 GROUP BY service_key, side, address`,
      "CREATE INDEX client_latest_stale ON client_latest (service_key, last_hour) WHERE stale = 1",
      // The addresses pods saw for proxied connections (flow-sql.ts proxyAddressesQuery) read only proxied entry legs,
      // with what the query needs in the index: no table row is read, and ordinary records never touch it.
      "CREATE INDEX flows_proxied ON flows (service_key, first_seen, seen_ip) WHERE real_client_ip <> '' AND leg = 'entry'",
    ],
  },
  {
    version: 10,
    description: 'first queries of long windows: proxy addresses per hour; PostgreSQL reads a Service\'s hour rollups from their primary-key index alone',
    statements: [
      // SQLite keeps flow_hour in its primary-key b-tree (WITHOUT ROWID), so one Service's hours are one range of the
      // file. A PostgreSQL heap keeps rows in the order they came, every Service's hours interleaved: a first 30-day
      // query read ≈ 6,500 heap pages for 12k hour rows (64 ms at 10M records; 5.7 ms as an index-only scan of 183
      // index pages). The price: updating `connections` writes index entries (no HOT update).
      { postgres: 'ALTER TABLE flow_hour DROP CONSTRAINT flow_hour_pkey' },
      { postgres: 'ALTER TABLE flow_hour ADD PRIMARY KEY (service_key, hour, node, entry, verdict, client_kind, snat, snat_address, ep_namespace, ep_pod, ep_node) INCLUDE (connections)' },
      // The addresses pods saw for proxied entry legs, per hour (flow-sql.ts proxyAddressesQuery reads whole hours here
      // and raw records only at the window's edges). The partial index flows_proxied alone was not enough in
      // PostgreSQL: its index-only scan must visit the heap for every page not yet marked all-visible, i.e. the newest
      // records (at 10M records, 5,816 heap pages for 13k proxied legs, 58–105 ms on a first query).
      { sqlite: 'CREATE TABLE proxy_hour (service_key TEXT NOT NULL, hour BIGINT NOT NULL, seen_ip TEXT NOT NULL, connections BIGINT NOT NULL, PRIMARY KEY (service_key, hour, seen_ip)) WITHOUT ROWID' },
      { postgres: 'CREATE TABLE proxy_hour (service_key TEXT NOT NULL, hour BIGINT NOT NULL, seen_ip TEXT NOT NULL, connections BIGINT NOT NULL, PRIMARY KEY (service_key, hour, seen_ip) INCLUDE (connections))' },
      `INSERT INTO proxy_hour (service_key, hour, seen_ip, connections)
       SELECT service_key, first_seen / 3600000, seen_ip, COUNT(*) FROM flows WHERE real_client_ip <> '' AND leg = 'entry' AND service_key <> ''
       GROUP BY service_key, first_seen / 3600000, seen_ip`,
      'CREATE INDEX proxy_hour_hour ON proxy_hour (hour)',
    ],
  },
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);

export const SCHEMA_MIGRATIONS_DDL = 'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)';

export const FLOW_COLUMNS = [
  'node', 'flow_id', 'service_key', 'leg', 'verdict', 'entry', 'client_kind', 'snat', 'snat_address', 'ep_namespace', 'ep_pod', 'ep_node',
  'client_ip', 'seen_ip', 'first_seen', 'last_seen', 'real_client_ip', 'zone', 'record',
] as const;
