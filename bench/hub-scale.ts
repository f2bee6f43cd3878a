/*
 * bench/hub-scale: hub replicas consuming agents' batches from NATS JetStream into one PostgreSQL. For 1 and then 2
 * replicas (each a `natlens hub --bus` process): the sustained drain rate of a backlog (records/s committed, measured
 * between 10 % and 90 % of it), and the end-to-end lag (batch stored in the stream → committed in PostgreSQL,
 * the hubs' natlens_hub_bus_lag_seconds histogram) while simulated agents publish at a fixed rate. Simulated agents
 * are the agent's own NatsHubClient publishing batches of 1,000 records shaped like the agent's (the hub tests'
 * flowRecord). Starts its own nats-server and PostgreSQL (fresh ones per replica count). Run as root:
 *
 *   SWC_NODE_PROJECT=tsconfig.base.json node -r @swc-node/register bench/hub-scale.ts \
 *     [--backlog 200000] [--rate 50000] [--seconds 15] [--agents 8] [--replicas 1,2] [--concurrency 4]
 *
 * Prints a table and one JSON line (last line of stdout); writes bench/results/hub-scale.json.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import type { FlowRecord } from '@natlens/shared-model';
import { NatsHubClient } from '../libs/agent/daemon/src/export/nats-hub-client';
import { startTestNatsServer, type TestNatsServer } from '../libs/agent/daemon/src/export/nats-test-server';
import type { FlowRepository } from '../libs/hub/server/src/storage/flow-repository';
import { openFlowRepository } from '../libs/hub/server/src/storage/open-flow-repository';
import { flowRecord, startTestPostgres, TEST_INGEST_TOKEN, type TestPostgres } from '../libs/hub/server/src/testing';

const args = process.argv.slice(2);
const option = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? (args[i + 1] as string) : fallback;
};
const backlog = Number(option('backlog', '200000'));
const targetRate = Number(option('rate', '50000'));
const seconds = Number(option('seconds', '15'));
const agentCount = Number(option('agents', '8'));
const replicaCounts = option('replicas', '1,2').split(',').map(Number);
const concurrency = Number(option('concurrency', '4'));
const BATCH = 1000;
const root = join(__dirname, '..');
const say = (text: string) => process.stderr.write(`${text}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** 1,000 records like an agent's batch: 20 Services, 6 pods on 3 nodes, 5,000 clients, half SNATed. */
const template: FlowRecord[] = Array.from({ length: BATCH }, (_, k) => {
  const client = `198.51.${100 + ((k >> 8) % 20)}.${k % 250}`;
  const endpoint = { pod: `web-${(k % 6) + 1}`, node: `node${(k % 3) + 1}`, ip: `198.19.${(k % 3) + 1}.${11 + (k % 6)}` };
  return flowRecord({ client, seenAs: k % 2 === 0 ? `198.18.0.1${(k % 3) + 1}` : client, endpoint, service: { namespace: 'bench', name: `svc-${k % 20}` } });
});

let batchSerial = 0;
function batchBody(node: string, run: string): string {
  const serial = ++batchSerial;
  const now = Date.now();
  const records = template.map((r, k) => ({ ...r, node, flowId: `bench:${run}:${serial}:${k}`, firstSeen: now - 5000 + k, lastSeen: now }));
  return JSON.stringify({ node, sentAt: now, records });
}

interface Replica {
  readonly child: ChildProcess;
  readonly url: string;
}

async function startReplica(store: string, bus: string): Promise<Replica> {
  const child = spawn(process.execPath, [join(root, 'bin', 'natlens'), 'hub', '--store', store, '--bus', bus, '--port', '0', '--host', '127.0.0.1'], {
    cwd: root,
    env: { ...process.env, NATLENS_HUB_TOKENS: TEST_INGEST_TOKEN, NATLENS_LOG_LEVEL: 'warn', NATLENS_BUS_CONCURRENCY: String(concurrency) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const url = /API at (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
    if (url) return { child, url };
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`hub replica did not start: ${output.slice(-2000)}`);
    await sleep(100);
  }
}

async function stopReplica(replica: Replica): Promise<void> {
  if (replica.child.exitCode !== null) return;
  const exited = new Promise<void>((r) => replica.child.once('exit', () => r()));
  replica.child.kill('SIGTERM');
  const timer = setTimeout(() => replica.child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

/** Cumulative lag histogram over all replicas: upper bound (s) → count. */
async function lagBuckets(replicas: readonly Replica[]): Promise<Map<number, number>> {
  const buckets = new Map<number, number>();
  for (const replica of replicas) {
    const text = await (await fetch(`${replica.url}/metrics`)).text();
    for (const m of text.matchAll(/^natlens_hub_bus_lag_seconds_bucket\{le="([^"]+)"\} (\d+)/gm)) {
      const le = m[1] === '+Inf' ? Infinity : Number(m[1]);
      buckets.set(le, (buckets.get(le) ?? 0) + Number(m[2]));
    }
  }
  return buckets;
}

/** Quantile from cumulative buckets (linear inside the bucket, as Prometheus' histogram_quantile). */
function quantile(before: Map<number, number>, after: Map<number, number>, q: number): number {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counts = bounds.map((le) => (after.get(le) ?? 0) - (before.get(le) ?? 0));
  const total = counts[counts.length - 1] ?? 0;
  if (total === 0) return NaN;
  const rank = q * total;
  for (let i = 0; i < bounds.length; i++) {
    if ((counts[i] ?? 0) >= rank) {
      const upper = bounds[i] as number;
      const lower = i === 0 ? 0 : (bounds[i - 1] as number);
      const below = i === 0 ? 0 : (counts[i - 1] as number);
      if (!Number.isFinite(upper)) return lower;
      return lower + ((upper - lower) * (rank - below)) / Math.max(1, (counts[i] ?? 0) - below);
    }
  }
  return NaN;
}

/** Simulated agents publishing `records` at `rate` records/s (Infinity: as fast as they can; each agent waits for its publish acks, as the exporter does). */
async function publish(nats: TestNatsServer, run: string, rate: number, records: number): Promise<{ records: number; seconds: number }> {
  const agents = Array.from({ length: agentCount }, (_, i) => ({ node: `node${i + 1}`, client: new NatsHubClient({ url: nats.url, name: `bench agent ${i + 1}`, publishTimeoutMs: 30_000 }) }));
  const totalBatches = Math.round(records / BATCH);
  const started = Date.now();
  let next = 0;
  await Promise.all(
    agents.map(async (agent) => {
      for (;;) {
        const k = next++;
        if (k >= totalBatches) break;
        const due = started + (k * BATCH * 1000) / rate;
        if (Number.isFinite(due) && due > Date.now()) await sleep(due - Date.now());
        const outcome = await agent.client.deliver({ id: `${run}-${k}`, node: agent.node, body: batchBody(agent.node, run) });
        if (outcome.kind !== 'sent') throw new Error(`publish failed: ${JSON.stringify(outcome)}`);
      }
    }),
  );
  await Promise.all(agents.map((a) => a.client.close()));
  return { records: totalBatches * BATCH, seconds: (Date.now() - started) / 1000 };
}

async function waitForCount(store: FlowRepository, count: number, onProgress?: (n: number, t: number) => void): Promise<void> {
  for (;;) {
    const n = await store.countFlows();
    onProgress?.(n, Date.now());
    if (n >= count) return;
    await sleep(250);
  }
}

interface PhaseResult {
  replicas: number;
  drainRecordsPerS: number;
  lag: { rate: number; publishedRecordsPerS: number; committedRecordsPerS: number; p50s: number; p99s: number }[];
}

async function phase(replicaCount: number, lagRates: number[]): Promise<PhaseResult> {
  let pg: TestPostgres | undefined;
  let nats: TestNatsServer | undefined;
  let store: FlowRepository | undefined;
  const replicas: Replica[] = [];
  try {
    pg = startTestPostgres();
    nats = await startTestNatsServer();
    store = await openFlowRepository(pg.url);
    // The backlog first, with no hub running: the replicas then drain it as fast as they can.
    say(`[${replicaCount} replica(s)] publishing a backlog of ${backlog} records`);
    await publish(nats, 'backlog', Infinity, backlog);
    for (let i = 0; i < replicaCount; i++) replicas.push(await startReplica(pg.url, nats.url));
    let t10: number | undefined;
    let t90: number | undefined;
    await waitForCount(store, backlog, (n, t) => {
      if (t10 === undefined && n >= backlog * 0.1) t10 = t;
      if (t90 === undefined && n >= backlog * 0.9) t90 = t;
    });
    const drainRecordsPerS = (backlog * 0.8) / (((t90 ?? 0) - (t10 ?? 0)) / 1000);
    say(`[${replicaCount} replica(s)] drained at ${Math.round(drainRecordsPerS)} records/s`);

    const lag: PhaseResult['lag'] = [];
    let stored = backlog;
    for (const rate of lagRates) {
      const before = await lagBuckets(replicas);
      const startedAt = Date.now();
      const published = await publish(nats, `rate${rate}`, rate, rate * seconds);
      stored += published.records;
      await waitForCount(store, stored);
      const committedRecordsPerS = published.records / ((Date.now() - startedAt) / 1000);
      const after = await lagBuckets(replicas);
      const result = { rate, publishedRecordsPerS: Math.round(published.records / published.seconds), committedRecordsPerS: Math.round(committedRecordsPerS), p50s: quantile(before, after, 0.5), p99s: quantile(before, after, 0.99) };
      say(`[${replicaCount} replica(s)] at ${rate} records/s: ${JSON.stringify(result)}`);
      lag.push(result);
    }
    return { replicas: replicaCount, drainRecordsPerS: Math.round(drainRecordsPerS), lag };
  } finally {
    await Promise.all(replicas.map(stopReplica));
    await store?.close();
    await nats?.dispose();
    pg?.stop();
  }
}

async function main(): Promise<void> {
  const results: PhaseResult[] = [];
  for (const count of replicaCounts) {
    // Lag at the target rate, and at 70 % of what one replica drained (a rate this machine can sustain).
    const sustainable = results[0] ? Math.round((results[0].drainRecordsPerS * 0.7) / 1000) * 1000 : undefined;
    results.push(await phase(count, [...new Set([targetRate, ...(sustainable ? [sustainable] : [])])]));
  }
  const one = results.find((r) => r.replicas === 1);
  const two = results.find((r) => r.replicas === 2);
  const ratio = one && two ? two.drainRecordsPerS / one.drainRecordsPerS : undefined;
  const machine = { cpus: cpus().length, cpu: cpus()[0]?.model, memGiB: Math.round(totalmem() / 1024 ** 3) };
  const summary = { bench: 'hub-scale', machine, backlog, agents: agentCount, batch: BATCH, concurrencyPerReplica: concurrency, results, twoOverOne: ratio === undefined ? undefined : Number(ratio.toFixed(2)) };
  console.log('replicas  drain rec/s  lag@rate  published/s  committed/s  p50 s  p99 s');
  for (const r of results) {
    for (const l of r.lag) console.log(`${String(r.replicas).padEnd(9)} ${String(r.drainRecordsPerS).padEnd(12)} ${String(l.rate).padEnd(9)} ${String(l.publishedRecordsPerS).padEnd(12)} ${String(l.committedRecordsPerS).padEnd(12)} ${l.p50s.toFixed(2).padEnd(6)} ${l.p99s.toFixed(2)}`);
  }
  if (ratio !== undefined) console.log(`two replicas / one: ${ratio.toFixed(2)}x (target 1.6x)`);
  mkdirSync(join(root, 'bench', 'results'), { recursive: true });
  writeFileSync(join(root, 'bench', 'results', 'hub-scale.json'), `${JSON.stringify(summary, null, 2)}\n`);
  console.log(JSON.stringify(summary));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
