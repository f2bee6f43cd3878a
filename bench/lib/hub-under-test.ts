/*
 * The compiled hub (`node bin/natlens hub`) as a benchmark runs it: started on an ephemeral port with an ingest token,
 * optionally under V8's CPU profiler, stopped by its PID with SIGTERM (its graceful stop, which also writes the
 * profile). Its CPU time comes from /proc; for PostgreSQL, the server's processes' CPU as well.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { NATLENS, ROOT, started, stopChild, type Started, sleep } from './processes';
import { allProcs, cmdline, cpuTicks } from './proc-stats';

export interface HubUnderTest {
  readonly pid: number;
  readonly url: string;
  readonly token: string;
  /** utime + stime of the hub process (all its threads), clock ticks. */
  cpuTicks(): number;
  stop(): Promise<void>;
}

export interface HubOptions {
  readonly store: string;
  readonly token: string;
  readonly rawRetentionHours: number;
  readonly rollupRetentionDays: number;
  /** Run under `node --cpu-prof --cpu-prof-dir DIR`: the profile is written when the hub stops. */
  readonly cpuProfDir?: string;
}

export async function startHub(options: HubOptions): Promise<HubUnderTest> {
  const nodeFlags = options.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', options.cpuProfDir] : [];
  const args = ['hub', '--store', options.store, '--port', '0', '--host', '127.0.0.1', '--raw-retention-hours', String(options.rawRetentionHours), '--rollup-retention-days', String(options.rollupRetentionDays)];
  const child = spawn(process.execPath, [...nodeFlags, NATLENS, ...args], {
    cwd: ROOT,
    env: { ...process.env, NATLENS_HUB_TOKENS: options.token, NATLENS_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const entry: Started = { name: 'natlens hub', child };
  started.push(entry);
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-20_000)));
  child.stderr?.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-20_000)));
  const deadline = Date.now() + 60_000;
  let url: string | undefined;
  while (!url) {
    url = /API at (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
    if (url) break;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the hub did not start: ${output.slice(-2000)}`);
    await sleep(50);
  }
  const pid = child.pid as number;
  return {
    pid,
    url,
    token: options.token,
    cpuTicks: () => cpuTicks(pid, 'the hub'),
    stop: async () => {
      await stopChild(entry, 60_000);
      const i = started.indexOf(entry);
      if (i >= 0) started.splice(i, 1);
      if (child.exitCode !== 0 && child.signalCode !== null) throw new Error(`the hub ended with ${child.signalCode}: ${output.slice(-2000)}`);
    },
  };
}

/** CPU ticks of a PostgreSQL server and its backends: the postmaster whose command line names `dataDir`, and its children. */
export function postgresTicks(dataDir: string): number {
  const procs = allProcs();
  const postmaster = [...procs.keys()].find((pid) => procs.get(pid)?.comm === 'postgres' && cmdline(pid).includes(dataDir));
  if (postmaster === undefined) return NaN;
  let ticks = 0;
  for (const [pid, stat] of procs) if (pid === postmaster || stat.ppid === postmaster) ticks += stat.ticks;
  return ticks;
}

/** The data directory of a test PostgreSQL from its URL (startTestPostgres: `host=<dir>`, data in `<dir>/data`). */
export function postgresDataDir(url: string): string {
  const host = new URL(url).searchParams.get('host');
  if (!host) throw new Error(`no host directory in ${url}`);
  return join(host, 'data');
}

/**
 * The profiles one process wrote into a directory, by thread: `node --cpu-prof` names them
 * CPU.<date>.<time>.<pid>.<thread id>.<sequence>.cpuprofile, thread 0 being the main thread.
 */
export function profilesOf(dir: string, pid: number): { main?: string; workers: string[] } {
  const out: { main?: string; workers: string[] } = { workers: [] };
  for (const f of readdirSync(dir).sort()) {
    const m = /^CPU\.\d+\.\d+\.(\d+)\.(\d+)\.\d+\.cpuprofile$/.exec(f);
    if (!m || Number(m[1]) !== pid) continue;
    if (m[2] === '0') out.main = join(dir, f);
    else out.workers.push(join(dir, f));
  }
  return out;
}

export function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

export interface StoreShape {
  /** Rows in `flows`: one per (node, flowId) stored. */
  flows: number;
  /** Rollup rows of one Service (all minutes): what its long-window evidence reads. */
  flowMinuteRows: number;
  clientMinuteRows: number;
  /** Its hour rollups and the clients' latest hours (schema 9), its proxy addresses per hour (schema 10): what a long window reads instead. */
  flowHourRows: number;
  clientLatestRows: number;
  proxyHourRows: number;
  /** SQLite: the database file and its WAL; PostgreSQL: pg_database_size. */
  storeBytes: number;
}

/** Read after the hub has stopped: how big the store and one Service's rollups grew. */
export async function storeShape(store: string, serviceKey: string): Promise<StoreShape> {
  const count = `SELECT (SELECT COUNT(*) FROM flow_minute WHERE service_key = $1) AS f, (SELECT COUNT(*) FROM client_minute WHERE service_key = $1) AS c, (SELECT COUNT(*) FROM flow_hour WHERE service_key = $1) AS h, (SELECT COUNT(*) FROM client_latest WHERE service_key = $1) AS l, (SELECT COUNT(*) FROM proxy_hour WHERE service_key = $1) AS p, (SELECT COUNT(*) FROM flows) AS n`;
  if (store.startsWith('sqlite://')) {
    const path = store.slice('sqlite://'.length);
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(path, { readonly: true });
    try {
      const row = db.prepare(count.replaceAll('$1', '@key')).get({ key: serviceKey }) as { f: number; c: number; h: number; l: number; p: number; n: number };
      const size = (file: string) => {
        try {
          return statSync(file).size;
        } catch {
          return 0;
        }
      };
      return { flows: row.n, flowMinuteRows: row.f, clientMinuteRows: row.c, flowHourRows: row.h, clientLatestRows: row.l, proxyHourRows: row.p, storeBytes: size(path) + size(`${path}-wal`) };
    } finally {
      db.close();
    }
  }
  const { Client } = await import('pg');
  const client = new Client({ connectionString: store });
  await client.connect();
  try {
    const row = (await client.query<{ f: string; c: string; h: string; l: string; p: string; n: string }>(count, [serviceKey])).rows[0];
    const size = (await client.query<{ n: string }>('SELECT pg_database_size(current_database()) AS n')).rows[0];
    return { flows: Number(row?.n), flowMinuteRows: Number(row?.f), clientMinuteRows: Number(row?.c), flowHourRows: Number(row?.h), clientLatestRows: Number(row?.l), proxyHourRows: Number(row?.p), storeBytes: Number(size?.n) };
  } finally {
    await client.end();
  }
}
