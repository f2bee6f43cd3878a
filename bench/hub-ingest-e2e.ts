/*
 * bench/hub-ingest, end-to-end mode: agents' batches POSTed over HTTP to a running hub (the compiled `natlens hub`,
 * its ingest token as the agents send it, the whole validation and storage path), then the evidence a user gets.
 *
 *   bash bench/run.sh hub-ingest --mode e2e [--records 10000000] [--senders 8] [--store sqlite|postgres|both]
 *     [--span-days 30] [--updates 200] [--batch-records 1000] [--warm-runs 7] [--dir /tmp] [--cpu-prof DIR] [--keep]
 *
 * 1. Ingest: `--senders` simulated agents (one node each) send batches of 1,000 records (`--batch-records`) through the agent's own
 *    HTTP client (libs/agent/records HttpHubClient, retried like the agent's exporter on a transient failure), one
 *    batch at a time each, as the exporter does. Records: bench/lib/agent-batches.ts (a realistic mix, updates of
 *    ended connections included), `--records` distinct connections spread over the last `--span-days` days. The hub
 *    keeps raw records and rollups for the whole span (its retention flags), so the store ends with every record.
 *    Records/s are records POSTed and acknowledged per second of wall time; CPU per 1,000 records of the hub process,
 *    of PostgreSQL's processes, and of this bench (which generates and serialises the batches on the same machine).
 * 2. Evidence latency of one Service (svc-0), for the last hour of the data and for the whole 30 days: the first
 *    query after the hub was started afresh on the filled store (cold: a new process, OS caches as they are), then
 *    the median of `--warm-runs` repeats; the hub is restarted for each window. Timed at the client (HTTP included).
 * 3. Evidence equals the records: every Service's evidence over both windows, compared figure by figure with counts
 *    made from the sent records (bench/lib/evidence-expectation.ts); the hub's own counters of new and replaced
 *    records must equal the connections and updates sent.
 *
 * `--cpu-prof DIR` runs the hub under V8's profiler during the ingest and prints where its main thread spent its
 * time. `--keep` leaves the filled store (and PostgreSQL running) for a closer look and prints where it is and how
 * to remove it. PostgreSQL is started like the hub's tests start it (Debian's binaries, fsync off). Progress goes to stderr;
 * a table and then one JSON line (the last line of stdout) to stdout; also bench/results/hub-ingest-e2e-<store>.json.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { HttpHubClient } from '@natlens/agent-records';
import { postgresBinDir, startTestPostgres, type TestPostgres } from '../libs/hub/server/src/testing';
import { AgentBatchStream, clusterShape, NAMESPACE, SERVICE_COUNT } from './lib/agent-batches';
import { onCleanup, runBench } from './lib/cleanup';
import { type CpuProfile, type ProfileSummary, summariseProfile } from './lib/cpu-profile';
import { differences, EvidenceExpectation, figuresOfEvidence, type Window } from './lib/evidence-expectation';
import { type HubUnderTest, postgresDataDir, profilesOf, postgresTicks, readJson, startHub, storeShape } from './lib/hub-under-test';
import { log, sleep } from './lib/processes';
import { CLK_TCK } from './lib/proc-stats';
import { spread, type Spread } from './lib/stats';

const args = process.argv.slice(2);
const option = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? (args[i + 1] as string) : fallback;
};
const records = Number(option('records', '10000000'));
const senders = Number(option('senders', '8'));
const storeArg = option('store', 'both');
const spanDays = Number(option('span-days', '30'));
const updatesPerBatch = Number(option('updates', '200'));
const warmRuns = Number(option('warm-runs', '7'));
const baseDir = option('dir', tmpdir());
const cpuProfDir = option('cpu-prof', '');
const keep = args.includes('--keep');
const BATCH = Number(option('batch-records', '1000'));
const TOKEN = 'bench-ingest-token-0123456789';
const TARGETS = { sqliteRecordsPerS: 100_000, postgresRecordsPerS: 50_000, evidenceMs: 100 };
const DAY_MS = 24 * 3600_000;

for (const [name, value] of [['records', records], ['senders', senders], ['span-days', spanDays], ['warm-runs', warmRuns], ['batch-records', BATCH]] as const) {
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive whole number, not ${option(name, '')}`);
}
if (!Number.isInteger(updatesPerBatch) || updatesPerBatch < 0 || updatesPerBatch >= BATCH) throw new Error(`--updates must be 0–${BATCH - 1}`);
if (!['sqlite', 'postgres', 'both'].includes(storeArg)) throw new Error(`--store must be sqlite, postgres or both, not ${storeArg}`);

function cpuPressure(): number {
  try {
    return Number(/some avg10=([\d.]+)/.exec(readFileSync('/proc/pressure/cpu', 'utf8'))?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : String(n));
const percentile = (sorted: readonly number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;

interface IngestFigures {
  seconds: number;
  recordsSent: number;
  updatesSent: number;
  connections: number;
  recordsPerS: number;
  /** Distinct connections stored per second (records minus re-sent updates). */
  connectionsPerS: number;
  hubCpuMsPer1k: number;
  postgresCpuMsPer1k?: number;
  benchCpuMsPer1k: number;
  batchP50Ms: number;
  batchP99Ms: number;
  retries: number;
  /** Records in batches sent again after a failed attempt (the hub may have stored the first). */
  resentRecords: number;
  cpuPressureAvg10: [number, number];
  /** The ingest's start and end on the monotonic clock (µs), to cut the hub's CPU profile to it. */
  window: { fromUs: number; toUs: number };
}

/** The senders, each one agent sending its batches one after the other, until every connection has been sent. */
async function ingest(hub: HubUnderTest, stream: AgentBatchStream, nodes: readonly string[], pgData: string | undefined): Promise<IngestFigures> {
  const client = new HttpHubClient({ url: hub.url, token: hub.token });
  const latencies: number[] = [];
  let recordsSent = 0;
  let updatesSent = 0;
  let retries = 0;
  let resentRecords = 0;
  let serial = 0;
  const pressure0 = cpuPressure();
  const hub0 = hub.cpuTicks();
  const pg0 = pgData ? postgresTicks(pgData) : NaN;
  const bench0 = process.cpuUsage();
  const started = Date.now();
  const startedUs = Number(process.hrtime.bigint() / 1000n);
  let lastReport = { at: started, records: 0, hubTicks: hub0 };
  const progress = setInterval(() => {
    const now = Date.now();
    const ticks = hub.cpuTicks();
    const rate = ((recordsSent - lastReport.records) * 1000) / (now - lastReport.at);
    const hubCpu = (ticks - lastReport.hubTicks) / CLK_TCK / ((now - lastReport.at) / 1000);
    log(`${fmt(stream.sentConnections)} of ${fmt(records)} connections (${fmt((100 * stream.sentConnections) / records, 1)} %), ${fmt(rate)} records/s in the last ${fmt((now - lastReport.at) / 1000)} s, hub CPU ${fmt(hubCpu * 100)} %`);
    lastReport = { at: now, records: recordsSent, hubTicks: ticks };
  }, 10_000);
  try {
    await Promise.all(
      nodes.map(async (node) => {
        for (;;) {
          const batch = stream.nextBatch(node);
          if (!batch) return;
          const body = JSON.stringify({ node, sentAt: Date.now(), records: batch });
          const id = `${node}-${++serial}`;
          const t0 = process.hrtime.bigint();
          for (let attempt = 0; ; attempt++) {
            const outcome = await client.deliver({ id, node, body });
            if (outcome.kind === 'sent') break;
            if (outcome.kind === 'rejected') throw new Error(`the hub rejected a batch of ${node}: ${outcome.detail}`);
            if (attempt >= 10) throw new Error(`a batch of ${node} failed 10 times: ${outcome.detail}`);
            retries++;
            // a batch that timed out may have been stored all the same: re-sent, its records count as replaced
            resentRecords += batch.length;
            // as the agent's exporter: full jitter, 0.5 s doubling
            await sleep(Math.random() * Math.min(30_000, 500 * 2 ** attempt));
          }
          latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
          recordsSent += batch.length;
          updatesSent += batch.filter((r) => r.ended).length;
        }
      }),
    );
  } finally {
    clearInterval(progress);
  }
  const seconds = (Date.now() - started) / 1000;
  const window = { fromUs: startedUs, toUs: Number(process.hrtime.bigint() / 1000n) };
  const bench = process.cpuUsage(bench0);
  const per1k = recordsSent / 1000;
  const hubMs = ((hub.cpuTicks() - hub0) * 1000) / CLK_TCK;
  const pgMs = pgData ? ((postgresTicks(pgData) - pg0) * 1000) / CLK_TCK : undefined;
  latencies.sort((a, b) => a - b);
  return {
    seconds,
    recordsSent,
    updatesSent,
    connections: stream.sentConnections,
    recordsPerS: recordsSent / seconds,
    connectionsPerS: stream.sentConnections / seconds,
    hubCpuMsPer1k: hubMs / per1k,
    ...(pgMs !== undefined ? { postgresCpuMsPer1k: pgMs / per1k } : {}),
    benchCpuMsPer1k: (bench.user + bench.system) / 1000 / per1k,
    batchP50Ms: percentile(latencies, 0.5),
    batchP99Ms: percentile(latencies, 0.99),
    retries,
    resentRecords,
    cpuPressureAvg10: [pressure0, cpuPressure()],
    window,
  };
}

async function getJson(hub: HubUnderTest, path: string): Promise<{ ms: number; body: unknown }> {
  const t0 = process.hrtime.bigint();
  const res = await fetch(`${hub.url}${path}`, { headers: { Authorization: `Bearer ${hub.token}` } });
  const text = await res.text();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (res.status !== 200) throw new Error(`GET ${path}: HTTP ${res.status}: ${text.slice(0, 500)}`);
  return { ms, body: text.startsWith('{') ? JSON.parse(text) : text };
}

const evidencePath = (service: string, w: Window) => `/api/services/${NAMESPACE}/${service}/evidence?from=${w.from}&to=${w.to}`;

interface LatencyFigures {
  coldMs: number;
  warm: Spread;
  connections: number;
}

/** A fresh hub on the filled store: its first evidence query for the window, then the warm repeats. */
async function latency(start: () => Promise<HubUnderTest>, window: Window): Promise<{ hub: HubUnderTest; figures: LatencyFigures }> {
  const hub = await start();
  const first = await getJson(hub, evidencePath('svc-0', window));
  const warm: number[] = [];
  for (let i = 0; i < warmRuns; i++) warm.push((await getJson(hub, evidencePath('svc-0', window))).ms);
  return { hub, figures: { coldMs: first.ms, warm: spread(warm, 1), connections: (first.body as { connections: number }).connections } };
}

async function counter(hub: HubUnderTest, kind: 'new' | 'replaced'): Promise<number> {
  const text = (await getJson(hub, '/metrics')).body as string;
  return Number(new RegExp(`^natlens_hub_ingested_records_total\\{kind="${kind}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
}

async function bench(kind: 'sqlite' | 'postgres'): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(baseDir, 'natlens-bench-e2e-'));
  let pg: TestPostgres | undefined;
  if (kind === 'postgres') pg = startTestPostgres();
  const say = (line: string) => log(`${kind}: ${line}`);
  const store = pg ? pg.url : `sqlite://${join(dir, 'natlens.db')}`;
  if (keep) {
    const data = pg ? postgresDataDir(pg.url) : undefined;
    const stopServer = data ? `runuser -u postgres -- ${join(postgresBinDir() ?? '', 'pg_ctl')} -D ${data} stop; rm -rf ${dirname(data)}; ` : '';
    onCleanup('keep the store', () => say(`kept the store ${store}; remove it with: ${stopServer}rm -rf ${dir}`));
  } else {
    onCleanup(`remove ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
    const server = pg;
    if (server) onCleanup('stop PostgreSQL', () => server.stop());
  }
  const hubOptions = { store, token: TOKEN, rawRetentionHours: spanDays * 24 + 48, rollupRetentionDays: spanDays + 2 };
  const end = Date.now();
  const windows = { lastHour: { from: end - 3600_000, to: end }, days30: { from: end - 30 * DAY_MS, to: end } };
  const expectation = new EvidenceExpectation(windows);
  const shape = clusterShape(senders);
  const stream = new AgentBatchStream(shape, { connections: records, from: end - spanDays * DAY_MS, to: end, batchSize: BATCH, updatesPerBatch }, (r) => expectation.add(r));

  if (cpuProfDir) mkdirSync(cpuProfDir, { recursive: true });
  let hub = await startHub({ ...hubOptions, ...(cpuProfDir ? { cpuProfDir } : {}) });
  say(`hub pid ${hub.pid} at ${hub.url}; ${senders} agents sending ${fmt(records)} connections over ${spanDays} days, batches of ${BATCH} (${updatesPerBatch} updates each)`);
  const measured = await ingest(hub, stream, shape.nodes, pg ? postgresDataDir(pg.url) : undefined);
  say(`${fmt(measured.recordsPerS)} records/s (${fmt(measured.connectionsPerS)} connections/s), hub CPU ${fmt(measured.hubCpuMsPer1k, 1)} ms per 1,000 records`);
  const counters = { new: await counter(hub, 'new'), replaced: await counter(hub, 'replaced') };
  await hub.stop();
  let profile: ProfileSummary | undefined;
  let workerProfiles: ProfileSummary[] = [];
  if (cpuProfDir) {
    const files = profilesOf(cpuProfDir, hub.pid);
    if (!files.main) throw new Error(`no .cpuprofile of the hub (pid ${hub.pid}) in ${cpuProfDir}`);
    profile = summariseProfile(readJson<CpuProfile>(files.main), 25, measured.window);
    workerProfiles = files.workers.map((f) => summariseProfile(readJson<CpuProfile>(f), 5, measured.window));
    say(`hub CPU profiles: ${[files.main, ...files.workers].join(', ')}`);
  }

  const start = () => startHub(hubOptions);
  const lastHour = await latency(start, windows.lastHour);
  await lastHour.hub.stop();
  say(`last hour: cold ${fmt(lastHour.figures.coldMs, 1)} ms, warm median ${fmt(lastHour.figures.warm.median, 1)} ms`);
  const days30 = await latency(start, windows.days30);
  hub = days30.hub;
  say(`30 days: cold ${fmt(days30.figures.coldMs, 1)} ms, warm median ${fmt(days30.figures.warm.median, 1)} ms`);

  const mismatches: string[] = [];
  for (const [label, window] of Object.entries(windows)) {
    for (let k = 0; k < SERVICE_COUNT; k++) {
      const service = `svc-${k}`;
      const expected = expectation.figures(label, `${NAMESPACE}/${service}`);
      const actual = figuresOfEvidence((await getJson(hub, evidencePath(service, window))).body);
      mismatches.push(...differences(expected, actual).map((d) => `${label} ${service} ${d}`));
    }
  }
  if (counters.new !== measured.connections) mismatches.push(`hub counted ${counters.new} new records; ${measured.connections} connections were sent`);
  if (counters.replaced < measured.updatesSent || counters.replaced > measured.updatesSent + measured.resentRecords) {
    mismatches.push(`hub counted ${counters.replaced} replaced records; ${measured.updatesSent} updates were sent (+ ${measured.resentRecords} records re-sent after failures)`);
  }
  await hub.stop();
  // Counted in the store itself once the hub has stopped (the hub's /healthz is liveness and counts nothing).
  const storeFigures = await storeShape(store, `${NAMESPACE}/svc-0`);
  const stored = storeFigures.flows;
  if (stored !== measured.connections) mismatches.push(`the store holds ${stored} records; ${measured.connections} connections were sent`);
  say(mismatches.length === 0 ? 'evidence equals the records' : `${mismatches.length} differences: ${mismatches.slice(0, 5).join('; ')}`);

  const target = kind === 'sqlite' ? TARGETS.sqliteRecordsPerS : TARGETS.postgresRecordsPerS;
  const line = (label: string, value: string) => console.log(`  ${label.padEnd(60)} ${value}`);
  console.log(`\n${kind}: ${senders} agents over HTTP, batches of ${BATCH}, ${fmt(records)} connections over ${spanDays} days`);
  line(`ingest ${fmt(measured.recordsSent)} records (${fmt(measured.updatesSent)} of them updates)`, `${fmt(measured.recordsPerS)} records/s = ${fmt(measured.recordsPerS / target, 2)}× the ${fmt(target)} target (${fmt(measured.seconds, 1)} s)`);
  line('  batch round trip p50 / p99', `${fmt(measured.batchP50Ms, 1)} / ${fmt(measured.batchP99Ms, 1)} ms; ${measured.retries} retries`);
  line('  CPU per 1,000 records: hub / PostgreSQL / this bench', `${fmt(measured.hubCpuMsPer1k, 1)} / ${measured.postgresCpuMsPer1k === undefined ? '-' : fmt(measured.postgresCpuMsPer1k, 1)} / ${fmt(measured.benchCpuMsPer1k, 1)} ms`);
  line('  CPU pressure (some avg10) before / after', `${measured.cpuPressureAvg10[0]} / ${measured.cpuPressureAvg10[1]} %`);
  line('stored records (rows in flows, read from the store)', fmt(stored));
  line('store size; svc-0 rollup rows (flow_minute / client_minute)', `${fmt(storeFigures.storeBytes / 2 ** 30, 2)} GiB; ${fmt(storeFigures.flowMinuteRows)} / ${fmt(storeFigures.clientMinuteRows)}`);
  line('svc-0 long-window rows (flow_hour / client_latest / proxy_hour)', `${fmt(storeFigures.flowHourRows)} / ${fmt(storeFigures.clientLatestRows)} / ${fmt(storeFigures.proxyHourRows)}`);
  for (const [label, f] of [['last hour', lastHour.figures], ['30 days', days30.figures]] as const) {
    line(`evidence svc-0, ${label} (${fmt(f.connections)} connections): cold / warm median`, `${fmt(f.coldMs, 1)} / ${fmt(f.warm.median, 1)} ms (warm ${fmt(f.warm.min, 1)}–${fmt(f.warm.max, 1)})`);
  }
  line(`evidence of all ${SERVICE_COUNT} Services, both windows, equals the records`, mismatches.length === 0 ? 'yes' : `NO (${mismatches.length} differences)`);
  if (profile) {
    console.log(`  hub main thread (V8 CPU profile, ${profile.windowed ? 'the ingest only' : 'whole run'}: ${fmt(profile.totalMs / 1000, 1)} s, ${fmt(profile.busyShare * 100)} % busy): self time by package`);
    for (const p of profile.packages.slice(0, 12)) console.log(`    ${fmt(p.share * 100, 1).padStart(5)} %  ${p.name}`);
    console.log('  top functions');
    for (const f of profile.functions.slice(0, 20)) console.log(`    ${fmt(f.share * 100, 1).padStart(5)} %  ${f.name}`);
    for (const w of workerProfiles) console.log(`  worker thread: ${fmt(w.totalMs / 1000, 1)} s, ${fmt(w.busyShare * 100)} % busy; top: ${w.functions.slice(0, 3).map((f) => `${f.name} ${fmt(f.share * 100)} %`).join(', ')}`);
  }
  return {
    store: kind,
    senders,
    batch: BATCH,
    spanDays,
    ingest: measured,
    stored,
    ...storeFigures,
    hubCounters: counters,
    evidence: { service: `${NAMESPACE}/svc-0`, lastHour: lastHour.figures, days30: days30.figures },
    evidenceEqualsRecords: mismatches.length === 0,
    mismatches: mismatches.slice(0, 20),
    ...(profile ? { profile: { ...profile, functions: profile.functions.slice(0, 20), packages: profile.packages.slice(0, 12) }, workerProfiles } : {}),
  };
}

export async function main(): Promise<void> {
  const machine = {
    date: new Date().toISOString(),
    kernel: execFileSync('uname', ['-r']).toString().trim(),
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? '?',
    memGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
  };
  console.log(`hub-ingest e2e ${machine.date}: ${machine.cores} cores (${machine.cpu}), kernel ${machine.kernel}, Node ${machine.node}; data in ${baseDir}`);
  const results: Record<string, unknown>[] = [];
  for (const kind of ['sqlite', 'postgres'] as const) {
    if (storeArg !== kind && storeArg !== 'both') continue;
    const result = await bench(kind);
    results.push(result);
    mkdirSync(join(__dirname, 'results'), { recursive: true });
    writeFileSync(join(__dirname, 'results', `hub-ingest-e2e-${kind}.json`), JSON.stringify({ machine, args, ...result }, null, 2));
  }
  console.log(JSON.stringify({ bench: 'hub-ingest', mode: 'e2e', machine, args, targets: TARGETS, results }));
}

if (require.main === module) runBench('hub-ingest e2e', main);
