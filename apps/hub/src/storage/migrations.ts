/*
 * Versioned schema, one list for both stores: the DDL below is the common subset of SQLite and PostgreSQL. A store
 * applies, in one transaction each, every migration above the version recorded in schema_migrations. Never edit a
 * released migration; append the next version.
 */
export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly statements: readonly string[];
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
];

export const SCHEMA_MIGRATIONS_DDL = 'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)';

export const FLOW_COLUMNS = [
  'node', 'flow_id', 'service_key', 'leg', 'verdict', 'entry', 'client_kind', 'snat', 'snat_address', 'ep_namespace', 'ep_pod', 'ep_node',
  'client_ip', 'seen_ip', 'first_seen', 'last_seen', 'record',
] as const;
