/*
 * bench/hub-idle: what a hub costs while nothing happens, as every hub spends most of its life between bursts.
 *
 *   bash bench/run.sh hub-idle [--batches 5] [--settle-seconds 15] [--seconds 60]
 *
 * The compiled `natlens hub` on SQLite (as the demo runs it, Unix socket, ingest token), `--batches` agents' batches of
 * 1,000 records POSTed through the agent's HTTP client (so the store holds what traffic leaves behind: a WAL with
 * frames already checkpointed), `--settle-seconds` for start-up work to end, then `--seconds` of nothing: no agent, no
 * reader. Reports the process's CPU per second (utime+stime, /proc/<pid>/stat) and each thread's
 * (/proc/<pid>/task/<tid>/stat: the main thread, the SQLite checkpoint and reader workers, V8's and libuv's helpers).
 * No reference tool: the figure is what an idle hub takes from its node. Progress to stderr; a table, then one JSON
 * line (the last line of stdout).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { HttpHubClient } from '@natlens/agent-records';
import { AgentBatchStream, clusterShape } from './lib/agent-batches';
import { startHub } from './lib/agent-hub-under-test';
import { onCleanup, runBench } from './lib/cleanup';
import { CLK_TCK, cpuTicks, threadCpuTicks } from './lib/proc-stats';
import { log, round, sleep } from './lib/processes';

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`);
  const value = i >= 0 ? Number(args[i + 1]) : fallback;
  if (!Number.isInteger(value) || value < 0) throw new Error(`--${name} must be a whole number of at least 0, not ${args[i + 1]}`);
  return value;
};
const batches = option('batches', 5);
const settleSeconds = option('settle-seconds', 15);
const seconds = Math.max(1, option('seconds', 60));
const BATCH = 1000;

runBench('hub-idle', async () => {
  const workDir = mkdtempSync('/tmp/natlens-bench-hub-idle-');
  onCleanup('work directory', () => rmSync(workDir, { recursive: true, force: true }));
  const hub = await startHub({ workDir, name: 'hub' });
  log(`hub pid ${hub.pid} on ${hub.socket}`);

  const client = new HttpHubClient({ url: `unix:${hub.socket}`, token: hub.ingestToken });
  const end = Date.now();
  const stream = new AgentBatchStream(clusterShape(1), { connections: batches * BATCH, from: end - 3600_000, to: end, batchSize: BATCH, updatesPerBatch: 0 }, () => undefined);
  for (let i = 0; i < batches; i++) {
    const records = stream.nextBatch('node1') ?? [];
    const outcome = await client.deliver({ id: `hub-idle-${i}`, node: 'node1', body: JSON.stringify({ node: 'node1', sentAt: Date.now(), records }) });
    if (outcome.kind !== 'sent') throw new Error(`batch ${i + 1} was not accepted: ${JSON.stringify(outcome)}`);
  }
  log(`${batches} batches of ${BATCH} records stored; settling for ${settleSeconds} s`);
  await sleep(settleSeconds * 1000);

  const process0 = cpuTicks(hub.pid, 'the hub');
  const threads0 = threadCpuTicks(hub.pid);
  log(`watching the idle hub for ${seconds} s`);
  await sleep(seconds * 1000);
  const process1 = cpuTicks(hub.pid, 'the hub');
  const threads1 = threadCpuTicks(hub.pid);

  const perSecond = (ticks: number) => round(ticks / CLK_TCK / seconds, 4);
  const threads = [...threads1]
    .map(([tid, ticks]) => ({ tid, main: tid === hub.pid, cpuSecondsPerSecond: perSecond(ticks - (threads0.get(tid) ?? 0)) }))
    .filter((t) => t.cpuSecondsPerSecond > 0 || t.main)
    .sort((a, b) => b.cpuSecondsPerSecond - a.cpuSecondsPerSecond);
  const result = {
    bench: 'hub-idle',
    date: new Date().toISOString(),
    machine: { cores: cpus().length, cpu: cpus()[0]?.model.trim() },
    args,
    batches,
    settleSeconds,
    seconds,
    hubCpuSecondsPerSecond: perSecond(process1 - process0),
    threads,
  };
  process.stdout.write(`hub idle for ${seconds} s after ${batches} batches and ${settleSeconds} s to settle: ${result.hubCpuSecondsPerSecond} CPU-s per second (${round(result.hubCpuSecondsPerSecond * 100, 2)} % of a core)\n`);
  for (const t of threads) process.stdout.write(`  thread ${t.tid}${t.main ? ' (main)' : ''}: ${t.cpuSecondsPerSecond} CPU-s/s\n`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
});
