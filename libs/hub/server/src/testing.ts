import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client as PgClient } from 'pg';
/* eslint-disable @typescript-eslint/no-explicit-any -- test responses are inspected field by field */
import type { FlowRecord } from '@natlens/shared-model';

/*
 * Test fixtures of the hub: a private PostgreSQL server per test file, and realistic flow records.
 */

export interface TestPostgres {
  /** Connection URL over the server's Unix socket. */
  readonly url: string;
  /** Stops the server and deletes its data directory; safe to call twice. */
  stop(): void;
  /** Shuts the server down (fast: clients are disconnected), keeping its data: a database restart's first half. */
  shutDown(): void;
  /** Starts it again on the same socket with the same data. */
  startUp(): void;
}

/** Debian's PostgreSQL binaries (apt-get install -y postgresql); the newest installed major version. */
export function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : undefined;
}

/**
 * Starts a throwaway PostgreSQL server: initdb into a temp directory as the `postgres` OS user (initdb refuses
 * root), listening only on a Unix socket in that directory (no TCP, so parallel runs cannot collide on a port
 * beyond the socket name). Call `stop()` in afterAll, also when tests fail.
 */
export function startTestPostgres(): TestPostgres {
  const bin = postgresBinDir();
  if (!bin) throw new Error('PostgreSQL is not installed: apt-get install -y postgresql');
  const dir = mkdtempSync(join(tmpdir(), 'natlens-pg-'));
  const data = join(dir, 'data');
  const asPostgres = process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--'] : [];
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
  }
  const exec = (command: string, args: string[]) => {
    const [program, ...rest] = [...asPostgres, command, ...args];
    return spawnSync(program as string, rest, { encoding: 'utf8' });
  };
  const run = (command: string, args: string[]) => {
    const result = exec(command, args);
    if (result.status !== 0) throw new Error(`${command} failed (${result.status}): ${result.stderr || result.stdout}`);
  };
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  let started = false;
  const stop = () => {
    if (started) {
      exec(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
      started = false;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const startUp = () => {
    run(join(bin, 'pg_ctl'), ['-D', data, '-w', '-l', join(dir, 'server.log'), 'start', '-o', `-k ${dir} -p ${port} -c listen_addresses='' -c fsync=off -c full_page_writes=off`]);
    started = true;
  };
  const shutDown = () => {
    if (!started) return;
    run(join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop']);
    started = false;
  };
  try {
    run(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
    startUp();
  } catch (err) {
    stop();
    throw err;
  }
  return { url: `postgres://postgres@localhost/postgres?host=${encodeURIComponent(dir)}&port=${port}`, stop, shutDown, startUp };
}

/**
 * For the enclosing describe block: one PostgreSQL server (started before, stopped after its tests) and a function
 * that creates a fresh, empty database on it and returns its URL — a store contract runs each test on its own.
 */
export function usePostgresDatabases(prefix: string): () => Promise<string> {
  let server: TestPostgres | undefined;
  let databases = 0;
  beforeAll(() => {
    server = startTestPostgres();
  });
  afterAll(() => {
    server?.stop();
  });
  return async () => {
    if (!server) throw new Error('PostgreSQL did not start');
    const name = `${prefix}_${++databases}`;
    const admin = new PgClient({ connectionString: server.url });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${name}`);
    } finally {
      await admin.end();
    }
    return server.url.replace('/postgres?', `/${name}?`);
  };
}

let flowCounter = 0;

export interface RecordOptions {
  node?: string;
  flowId?: string;
  firstSeen?: number;
  lastSeen?: number;
  service?: { namespace: string; name: string; type?: NonNullable<FlowRecord['service']>['type']; policy?: 'Cluster' | 'Local'; entry?: NonNullable<FlowRecord['service']>['entry'] };
  endpoint?: { pod: string; node: string; ip: string; namespace?: string };
  client?: string;
  clientKind?: FlowRecord['client']['kind'];
  /** The address the pod sees; SNAT when it differs from the client. */
  seenAs?: string;
  verdict?: FlowRecord['verdict'];
  leg?: FlowRecord['leg'];
  dst?: string;
  dport?: number;
  ended?: boolean;
}

/** A flow record shaped like the agent's (apps/agent enrich stage), with sensible lab addresses by default. */
export function flowRecord(options: RecordOptions = {}): FlowRecord {
  const n = ++flowCounter;
  const client = options.client ?? '198.51.100.79';
  const seenAs = options.seenAs ?? client;
  const snat = seenAs !== client;
  const sport = 10_000 + (n % 50_000);
  const endpoint = options.endpoint ?? { pod: 'web-1', node: 'node1', ip: '198.19.1.11' };
  const service = options.service ?? { namespace: 'default', name: 'web' };
  const firstSeen = options.firstSeen ?? 1_700_000_000_000;
  return {
    node: options.node ?? 'node1',
    source: 'conntrack',
    flowId: options.flowId ?? `conntrack:${n}:tcp:${client}:${sport}>${options.dst ?? '198.18.0.11'}:${options.dport ?? 30080}`,
    firstSeen,
    lastSeen: options.lastSeen ?? firstSeen + 5,
    original: { src: client, sport, dst: options.dst ?? '198.18.0.11', dport: options.dport ?? 30080, proto: 'tcp' },
    translated: { src: seenAs, sport: snat ? 40_000 + (n % 20_000) : sport, dst: endpoint.ip, dport: 8080, proto: 'tcp' },
    snat,
    dnat: true,
    portRemap: false,
    ...(options.ended ? { ended: true, state: 'TIME_WAIT' } : { state: 'ESTABLISHED' }),
    leg: options.leg ?? 'entry',
    service: {
      namespace: service.namespace,
      name: service.name,
      port: 80,
      type: service.type ?? 'NodePort',
      externalTrafficPolicy: service.policy ?? 'Cluster',
      entry: service.entry ?? 'nodePort',
      expectClientIP: false,
    },
    endpoint: { namespace: endpoint.namespace ?? service.namespace, pod: endpoint.pod, node: endpoint.node, ip: endpoint.ip, port: 8080 },
    client: { ip: client, kind: options.clientKind ?? 'external' },
    verdict: options.verdict ?? (snat ? 'snat-expected' : 'preserved'),
    zone: 0,
  };
}

export const TEST_ROLLUP_RETENTION_MS = 10 * 365 * 24 * 3600_000;

export const TEST_INGEST_TOKEN = 'test-ingest-token-0123456789';
export const TEST_READ_TOKEN = 'test-read-token-0123456789ab';

export interface TestHub {
  readonly hub: import('./hub-server').RunningHub;
  /** A request through the real HTTP server; the ingest token unless `token` says otherwise (null: none). */
  request(method: 'GET' | 'POST', path: string, options?: { body?: unknown; rawBody?: string; token?: string | null; contentType?: string }): Promise<{ status: number; body: any }>;
  /** Stores records through POST /api/ingest, one batch per node (`node`: the batch's node when there are no records). */
  ingest(records: readonly FlowRecord[], node?: string): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

/** A hub on an ephemeral port with an in-memory SQLite store (or `store`), silent logs, fixed tokens. */
export async function startTestHub(overrides: Partial<import('./config/hub-config').HubConfigInput> = {}): Promise<TestHub> {
  const { hubConfigSchema } = await import('./config/hub-config');
  const { startHub } = await import('./hub-server');
  const pino = (await import('pino')).default;
  // Fixtures are stamped from 2023 on (flowRecord's firstSeen): rollups are kept for 10 years so the hub takes them
  // (it refuses agent records older than its rollup retention). Tests of that rule pass their own retention.
  const config = hubConfigSchema.parse({ store: 'sqlite::memory:', port: 0, host: '127.0.0.1', ingestTokens: [TEST_INGEST_TOKEN], readTokens: [TEST_READ_TOKEN], logLevel: 'silent', rollupRetentionMs: TEST_ROLLUP_RETENTION_MS, ...overrides });
  const hub = await startHub(config, { log: pino({ level: 'silent' }) });
  const request: TestHub['request'] = async (method, path, options = {}) => {
    const token = options.token === undefined ? TEST_INGEST_TOKEN : options.token;
    const headers: Record<string, string> = {};
    if (token !== null) headers['Authorization'] = `Bearer ${token}`;
    const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    if (body !== undefined) headers['Content-Type'] = options.contentType ?? 'application/json';
    const res = await fetch(`${hub.url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body: parsed };
  };
  return {
    hub,
    request,
    ingest: async (records, node) => {
      // A batch carries one node's records (the hub refuses others): one batch per node, results added up.
      const byNode = new Map<string, FlowRecord[]>();
      for (const record of records) byNode.set(record.node, [...(byNode.get(record.node) ?? []), record]);
      if (byNode.size === 0) byNode.set(node ?? 'node1', []);
      let last: { status: number; body: any } = { status: 0, body: undefined };
      const total = { records: 0, inserted: 0 };
      for (const [batchNode, batchRecords] of byNode) {
        last = await request('POST', '/api/ingest', { body: { node: batchNode, sentAt: Date.now(), records: batchRecords } });
        if (last.status !== 200) return last;
        total.records += last.body.records;
        total.inserted += last.body.inserted;
      }
      return byNode.size === 1 ? last : { status: 200, body: total };
    },
    close: () => hub.close(),
  };
}

export { startTestReceiver, waitFor, type TestReceiver } from './alerts/testing-receiver';
export type { GenericNotificationBody } from './alerts/alert-payloads';
