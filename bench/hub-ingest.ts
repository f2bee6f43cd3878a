/*
 * bench/hub-ingest: records/s ingested into the hub's stores (batches of 1,000, through FlowRepository.ingest, one
 * transaction per batch) and the evidence latency for one Service over N stored records, with and without rollups.
 * Run as root (PostgreSQL is started by the script, as the hub's tests do):
 *
 *   SWC_NODE_PROJECT=tsconfig.base.json node -r @swc-node/register bench/hub-ingest.ts \
 *     [--ingest 1000000] [--evidence 10000000] [--store sqlite|postgres|both] [--flow-ids agent|random|sequential] [--dir /tmp]
 *
 * The evidence dataset is loaded through the same ingest path as the measured part (no bulk shortcut): the first
 * --ingest records are timed, the rest up to --evidence are loaded the same way and reported separately.
 * flowIds: `agent` (default) shapes them as the agent does, `conntrack:<instance>:<id>:<tuple>`: a time-ordered
 * instance first (apps/agent/src/sources/conntrack.source.ts timeOrderedInstance), then the kernel's pseudo-random
 * conntrack id, so the (node, flowId) key grows at its end; `random` is the agent's earlier shape
 * (`conntrack:<id>:<tuple>`), which lands at random places in the primary-key index; `sequential` is `bench:<i>`.
 * Prints a table and one JSON line (last line of stdout); writes bench/results/hub-ingest-<store>.json.
 *
 * `--mode e2e` is the end-to-end mode instead (bench/hub-ingest-e2e.ts, its own options): agents' batches POSTed over
 * HTTP to the compiled hub, and the evidence latency cold and warm. This default mode times the repository alone.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import type { FlowRecord } from '@natlens/shared-model';
import type { EvidenceCounts } from '@natlens/shared-analysis';
import type { FlowRepository } from '../libs/hub/server/src/storage/flow-repository';
import { openFlowRepository } from '../libs/hub/server/src/storage/open-flow-repository';
import { clientLatestUpdates, flowRow, planIngest } from '../libs/hub/server/src/storage/ingest-plan';
import { clientHourValues, clientMinuteValues, flowHourValues, flowMinuteValues, flowRowValues, proxyHourValues } from '../libs/hub/server/src/storage/flow-row';
import { migrateSqlite } from '../libs/hub/server/src/storage/schema-migration';
import { openSqliteDatabase, prepareSqliteIngest, startBackgroundCheckpoints } from '../libs/hub/server/src/storage/sqlite-flow.repository';
import { flowRecord, startTestPostgres } from '../libs/hub/server/src/testing';
import { timeOrderedInstance } from '../libs/agent/daemon/src/sources/conntrack.source';
import { runBench } from './lib/cleanup';

const args = process.argv.slice(2);
const option = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? (args[i + 1] as string) : fallback;
};
const ingestCount = Number(option('ingest', '1000000'));
const evidenceCount = Number(option('evidence', '10000000'));
const storeArg = option('store', 'both');
const flowIds = option('flow-ids', 'agent') as 'agent' | 'random' | 'sequential';
const baseDir = option('dir', tmpdir());
const BATCH = 1000;
const RESEND_BATCHES = 50;
/** Records for the step-by-step timing (SQLite). */
const STEP_RECORDS = 300_000;
const T0 = 1_700_000_000_000;
const TARGET_RECORDS_PER_S = 100_000;
const TARGET_EVIDENCE_MS = 100;
const pods = Array.from({ length: 6 }, (_, k) => ({ pod: `web-${k + 1}`, node: `node${(k % 3) + 1}`, ip: `198.19.${(k % 3) + 1}.${11 + k}` }));
const services = Array.from({ length: 20 }, (_, k) => ({ namespace: 'bench', name: `svc-${k}` }));
const SERVICE = { namespace: 'bench', name: 'svc-0' };

/** Record i: 20 Services, 3 nodes, 6 pods, 5,000 clients, half SNATed, 1,000 connections a second. */
function record(i: number): FlowRecord {
  const client = `198.51.${100 + ((i >> 8) % 20)}.${i % 250}`;
  const sport = 10_000 + (i % 50_000);
  // The kernel's conntrack id is a hash; a multiplicative hash of i is unique for i < 2^32 and as scattered.
  const id = (Math.imul(i, 0x9e3779b1) >>> 0).toString();
  return flowRecord({
    node: `node${(i % 3) + 1}`,
    flowId:
      flowIds === 'agent'
        ? `conntrack:${timeOrderedInstance(T0 + i, i % 1_000_000)}:${id}:tcp:${client}:${sport}>198.18.0.11:30080`
        : flowIds === 'random'
          ? `conntrack:${id}:tcp:${client}:${sport}>198.18.0.11:30080`
          : `bench:${i}`,
    firstSeen: T0 + i,
    service: services[i % services.length] ?? SERVICE,
    endpoint: pods[(i >> 2) % pods.length],
    client,
    seenAs: i % 2 === 0 ? `198.18.0.1${(i % 3) + 1}` : undefined,
  });
}

function batchOf(from: number, to: number): FlowRecord[] {
  const batch: FlowRecord[] = [];
  for (let j = from; j < to; j++) batch.push(record(j));
  return batch;
}

function cpuPressure(): number {
  try {
    return Number(/some avg10=([\d.]+)/.exec(readFileSync('/proc/pressure/cpu', 'utf8'))?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
}

interface IngestFigures {
  records: number;
  seconds: number;
  recordsPerS: number;
  /** Process CPU (all threads: the ingest thread and SQLite's checkpoint worker) per 1,000 records. */
  cpuMsPer1k: number;
  batchP50Ms: number;
  batchP99Ms: number;
  cpuPressureAvg10: [number, number];
}

/** Generates each batch outside the clock, then times repository.ingest alone. */
async function ingest(repository: FlowRepository, from: number, count: number, mutate?: (r: FlowRecord) => FlowRecord): Promise<IngestFigures> {
  const latencies: number[] = [];
  const pressure0 = cpuPressure();
  const cpu0 = process.cpuUsage();
  let ns = 0n;
  for (let i = from; i < from + count; i += BATCH) {
    let batch = batchOf(i, Math.min(i + BATCH, from + count));
    if (mutate) batch = batch.map(mutate);
    const started = process.hrtime.bigint();
    await repository.ingest(batch);
    const took = process.hrtime.bigint() - started;
    ns += took;
    latencies.push(Number(took) / 1e6);
  }
  const cpu = process.cpuUsage(cpu0);
  latencies.sort((a, b) => a - b);
  const seconds = Number(ns) / 1e9;
  return {
    records: count,
    seconds,
    recordsPerS: count / seconds,
    cpuMsPer1k: (cpu.user + cpu.system) / 1000 / (count / 1000),
    batchP50Ms: percentile(latencies, 0.5),
    batchP99Ms: percentile(latencies, 0.99),
    cpuPressureAvg10: [pressure0, cpuPressure()],
  };
}

interface StepFigures {
  records: number;
  /** Microseconds per record of each step of a batch of new records, timed alone. */
  rowsUs: number;
  planUs: number;
  flowsInsertUs: number;
  rollupUpsertsUs: number;
  commitUs: number;
  /** flowsInsert + rollupUpserts + commit: what SQLite and its driver cost with every bind value computed beforehand. */
  sqlUs: number;
  /** The records/s the SQL statements alone allow on this machine: the ceiling of this design here. */
  sqlOnlyRecordsPerS: number;
  /** flow_minute and client_minute upserts per record. */
  rollupRowsPerRecord: number;
}

/**
 * SQLite only: the steps of an ingest timed one by one, on a store of its own (same pragmas, schema, statements and
 * background checkpoints as the repository): building rows (flowRow, compact records), the rollup plan, then the
 * statements with their bind values computed beforehand. The last three are the floor any code around them pays.
 */
async function sqliteSteps(dir: string, count: number): Promise<StepFigures> {
  const path = join(dir, 'steps.db');
  const db = openSqliteDatabase(path);
  migrateSqlite(db);
  const checkpointer = startBackgroundCheckpoints(db, path);
  const sql = prepareSqliteIngest(db);
  const begin = db.prepare('BEGIN');
  const commit = db.prepare('COMMIT');
  const ns = { rows: 0n, plan: 0n, flows: 0n, rollups: 0n, commit: 0n };
  let rollupRows = 0;
  try {
    for (let i = 0; i < count; i += BATCH) {
      const batch = batchOf(i, Math.min(i + BATCH, count));
      let t = process.hrtime.bigint();
      const lap = (step: keyof typeof ns) => {
        const now = process.hrtime.bigint();
        ns[step] += now - t;
        t = now;
      };
      const rows = batch.map(flowRow);
      lap('rows');
      const plan = planIngest(rows, new Map());
      lap('plan');
      const flowValues = plan.upserts.map(flowRowValues);
      const flowMinuteRows = plan.flowMinuteDeltas.map(flowMinuteValues);
      const flowHourRows = plan.flowHourDeltas.map(flowHourValues);
      const proxyHourRows = plan.proxyHourDeltas.map(proxyHourValues);
      const clientMinuteRows = plan.clientMinuteDeltas.map(clientMinuteValues);
      t = process.hrtime.bigint();
      begin.run();
      for (const values of flowValues) sql.insertFlow.run(values);
      lap('flows');
      // As the store does (sqlite-flow.repository.ts ingest): minutes, hours, proxy hours, client minutes read back, latest hours.
      for (const values of flowMinuteRows) sql.flowMinute.run(values);
      for (const values of flowHourRows) sql.flowHour.run(values);
      for (const values of proxyHourRows) sql.proxyHour.run(values);
      let k = 0;
      const latest = clientLatestUpdates(plan.clientMinuteDeltas, () => {
        sql.clientMinute.run(clientMinuteRows[k++]);
        return undefined; // new records only: no delta is negative
      });
      for (const client of latest.active) sql.clientLatest.run(clientHourValues(client));
      rollupRows += flowMinuteRows.length + flowHourRows.length + proxyHourRows.length + clientMinuteRows.length + latest.active.length;
      lap('rollups');
      commit.run();
      lap('commit');
    }
  } finally {
    await checkpointer.stop();
    db.close();
  }
  const us = (n: bigint) => Number(n) / 1e3 / count;
  const sqlUs = us(ns.flows) + us(ns.rollups) + us(ns.commit);
  return {
    records: count,
    rowsUs: us(ns.rows),
    planUs: us(ns.plan),
    flowsInsertUs: us(ns.flows),
    rollupUpsertsUs: us(ns.rollups),
    commitUs: us(ns.commit),
    sqlUs,
    sqlOnlyRecordsPerS: 1e6 / sqlUs,
    rollupRowsPerRecord: rollupRows / count,
  };
}

interface EvidenceFigures {
  firstMs: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
  connections: number;
  distinctOriginal: number;
  distinctSeenByPods: number;
}

async function evidence(repository: FlowRepository, source: 'rollups' | 'raw', window: { from: number; to: number }, runs = 7): Promise<EvidenceFigures & { counts: EvidenceCounts }> {
  const times: number[] = [];
  let counts: EvidenceCounts | undefined;
  for (let k = 0; k < runs; k++) {
    const started = process.hrtime.bigint();
    counts = await repository.evidenceCounts(SERVICE, window, source);
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  if (!counts) throw new Error('no runs');
  const firstMs = times[0] ?? NaN;
  const rest = times.slice(1).sort((a, b) => a - b);
  return {
    firstMs,
    medianMs: percentile(rest, 0.5),
    minMs: rest[0] ?? NaN,
    maxMs: rest[rest.length - 1] ?? NaN,
    connections: counts.rows.reduce((sum, r) => sum + r.connections, 0),
    distinctOriginal: counts.distinctOriginal,
    distinctSeenByPods: counts.distinctSeenByPods,
    counts,
  };
}

function sameCounts(a: EvidenceCounts, b: EvidenceCounts): boolean {
  const norm = (c: EvidenceCounts) => JSON.stringify({ ...c, rows: c.rows.map((r) => JSON.stringify(r)).sort() });
  return norm(a) === norm(b);
}

function duBytes(dir: string): number {
  return readdirSync(dir).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
}

async function postgresBytes(url: string): Promise<number> {
  const { Client } = await import('pg');
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return Number((await client.query<{ n: string }>('SELECT pg_database_size(current_database()) AS n')).rows[0]?.n ?? NaN);
  } finally {
    await client.end();
  }
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

async function bench(kind: 'sqlite' | 'postgres'): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(baseDir, 'natlens-bench-'));
  const pg = kind === 'postgres' ? startTestPostgres() : undefined;
  try {
    const repository = await openFlowRepository(pg ? pg.url : `sqlite://${join(dir, 'bench.db')}`);
    const log = (line: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${kind}: ${line}`);
    log(`ingesting ${fmt(ingestCount)} records (flowIds ${flowIds})`);
    const measured = await ingest(repository, 0, ingestCount);
    log(`${fmt(measured.recordsPerS)} records/s`);
    // Re-sends: the last 50 batches again as updates (ended, later lastSeen): lookups hit, rollups net to zero.
    const resendFrom = ingestCount - RESEND_BATCHES * BATCH;
    const resend = await ingest(repository, resendFrom, RESEND_BATCHES * BATCH, (r) => ({ ...r, lastSeen: r.lastSeen + 30_000, ended: true, state: 'TIME_WAIT' }));
    log(`re-sends ${fmt(resend.recordsPerS)} records/s`);
    const steps = pg ? undefined : await sqliteSteps(dir, Math.min(ingestCount, STEP_RECORDS));
    if (steps) log(`the SQL statements alone: ${fmt(steps.sqlOnlyRecordsPerS)} records/s`);

    let load: IngestFigures | undefined;
    const total = Math.max(evidenceCount, ingestCount);
    if (evidenceCount > ingestCount) {
      log(`loading up to ${fmt(evidenceCount)} records through the same ingest path`);
      load = await ingest(repository, ingestCount, evidenceCount - ingestCount);
      log(`loaded at ${fmt(load.recordsPerS)} records/s`);
    }
    const stored = await repository.countFlows();
    const window = { from: T0, to: T0 + total };
    const hour = { from: T0 + total - 3_600_000, to: T0 + total };
    const rollups = await evidence(repository, 'rollups', window);
    const raw = await evidence(repository, 'raw', window, 3);
    const hourRollups = await evidence(repository, 'rollups', hour);
    const hourRaw = await evidence(repository, 'raw', hour, 3);
    const consistent = sameCounts(rollups.counts, raw.counts) && sameCounts(hourRollups.counts, hourRaw.counts);
    const size = pg ? await postgresBytes(pg.url) : duBytes(dir);
    await repository.close();

    const strip = ({ counts: _counts, ...figures }: EvidenceFigures & { counts: EvidenceCounts }) => figures;
    const result = {
      store: kind,
      flowIds,
      batch: BATCH,
      ingest: measured,
      resend,
      steps,
      load,
      stored,
      evidence: { window, minutes: Math.round(total / 60_000), rollups: strip(rollups), raw: strip(raw), lastHour: { rollups: strip(hourRollups), raw: strip(hourRaw) }, rollupsEqualRaw: consistent },
      storeBytes: size,
    };

    const line = (label: string, value: string) => console.log(`  ${label.padEnd(58)} ${value}`);
    console.log(`\n${kind} (flowIds ${flowIds}, batches of ${BATCH})`);
    line(`ingest ${fmt(ingestCount)} new records`, `${fmt(measured.recordsPerS)} records/s = ${fmt(measured.recordsPerS / TARGET_RECORDS_PER_S, 2)}× the 100k target`);
    line('  batch latency p50 / p99', `${fmt(measured.batchP50Ms, 1)} / ${fmt(measured.batchP99Ms, 1)} ms`);
    line('  CPU (all threads of this process) per 1,000 records', `${fmt(measured.cpuMsPer1k, 1)} ms`);
    line(`re-send ${fmt(RESEND_BATCHES * BATCH)} stored records (updates)`, `${fmt(resend.recordsPerS)} records/s`);
    if (steps) {
      line(`steps of a batch, timed alone (${fmt(steps.records)} records), µs per record`, `rows ${fmt(steps.rowsUs, 2)}, plan ${fmt(steps.planUs, 2)}, flows insert ${fmt(steps.flowsInsertUs, 2)}, rollup upserts ${fmt(steps.rollupUpsertsUs, 2)} (${fmt(steps.rollupRowsPerRecord, 2)} per record), commit ${fmt(steps.commitUs, 2)}`);
      line('  the SQL statements alone (bind values computed beforehand)', `${fmt(steps.sqlOnlyRecordsPerS)} records/s = ${fmt(steps.sqlOnlyRecordsPerS / TARGET_RECORDS_PER_S, 2)}× the 100k target`);
    }
    if (load) line(`load records ${fmt(ingestCount)}–${fmt(evidenceCount)} (same path)`, `${fmt(load.recordsPerS)} records/s`);
    line('stored records', fmt(stored));
    line(pg ? 'PostgreSQL database size' : 'SQLite files (db + wal)', `${fmt(size / 2 ** 30, 2)} GiB`);
    line(`evidence, 1 of 20 Services, all ${fmt(total / 60_000)} min, rollups`, `median ${fmt(rollups.medianMs, 1)} ms (first ${fmt(rollups.firstMs, 1)}, max ${fmt(rollups.maxMs, 1)}) = ${fmt(rollups.medianMs / TARGET_EVIDENCE_MS, 2)}× the 100 ms limit`);
    line('evidence, same window, raw scan', `median ${fmt(raw.medianMs, 1)} ms (first ${fmt(raw.firstMs, 1)})`);
    line('evidence, last hour, rollups / raw', `${fmt(hourRollups.medianMs, 1)} / ${fmt(hourRaw.medianMs, 1)} ms`);
    line('  connections counted; distinct clients sent / seen', `${fmt(rollups.connections)}; ${rollups.distinctOriginal} / ${rollups.distinctSeenByPods}`);
    line('  rollups equal the raw scan', consistent ? 'yes' : 'NO');
    line('CPU pressure (some avg10) before / after ingest', `${measured.cpuPressureAvg10[0]} / ${measured.cpuPressureAvg10[1]} %`);
    return result;
  } finally {
    pg?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const machine = {
    date: new Date().toISOString(),
    kernel: execFileSync('uname', ['-r']).toString().trim(),
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? '?',
    memGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
  };
  console.log(`hub-ingest ${machine.date}: ${machine.cores} cores (${machine.cpu}), kernel ${machine.kernel}, Node ${machine.node}; data in ${baseDir}`);
  const results: Record<string, unknown>[] = [];
  for (const kind of ['sqlite', 'postgres'] as const) {
    if (storeArg !== kind && storeArg !== 'both') continue;
    const result = await bench(kind);
    results.push(result);
    mkdirSync(join(__dirname, 'results'), { recursive: true });
    writeFileSync(join(__dirname, 'results', `hub-ingest-${kind}.json`), JSON.stringify({ machine, args, ...result }, null, 2));
  }
  console.log(JSON.stringify({ machine, args, results }));
}

if (option('mode', 'repository') === 'e2e') {
  runBench('hub-ingest e2e', () => import('./hub-ingest-e2e').then((e2e) => e2e.main()));
} else if (option('mode', 'repository') !== 'repository') {
  console.error(`--mode must be repository (the default) or e2e, not ${option('mode', '')}`);
  process.exit(2);
} else {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
