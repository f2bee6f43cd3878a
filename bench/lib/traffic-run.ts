/*
 * Runs the lab's traffic from a client namespace with bench/lib/tuple-traffic.ts in P processes × C concurrent
 * connections, and joins their results: counts, the client tuples (for the audit by identity) and the rate over the
 * span from the first request of any process to the last answer (process start-up excluded).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseTupleLines } from './identity-audit';
import { ROOT, lastJsonLine, round, started, stopChild, tail } from './processes';

export interface TrafficRun {
  procs: number;
  concurrency: number;
  connections: number;
  made: number;
  succeeded: number;
  failed: number;
  errors: Record<string, number>;
  /** Spawn of the first generator to the exit of the last (process start-up included). */
  wallSeconds: number;
  /** First request to last answer over all generators. */
  activeSeconds: number;
  /** succeeded ÷ activeSeconds. */
  connectionsPerSecond: number;
  startedAt: number;
  endedAt: number;
}

interface GeneratorOut { made: number; succeeded: number; failed: number; errors: Record<string, number>; connected: number; startedAt: number; endedAt: number }

export async function runTupleTraffic(o: { clientNetns: string; host: string; port: number; procs: number; concurrency: number; connections: number; workDir: string; timeoutMs?: number }): Promise<{ run: TrafficRun; tuples: string[] }> {
  const parts = Array.from({ length: o.procs }, (_, i) => Math.floor(o.connections / o.procs) + (i < o.connections % o.procs ? 1 : 0)).filter((n) => n > 0);
  const spawnedAt = Date.now();
  const outs = await Promise.all(
    parts.map(
      (n, i) =>
        new Promise<{ out: GeneratorOut; tuplesFile: string }>((resolve, reject) => {
          const tuplesFile = path.join(o.workDir, `tuples-${spawnedAt}-${i}.txt`);
          const outFile = path.join(o.workDir, `traffic-${spawnedAt}-${i}.out`);
          const fd = fs.openSync(outFile, 'w');
          const child = spawn('ip', ['netns', 'exec', o.clientNetns, process.execPath, '-r', '@swc-node/register', path.join(ROOT, 'bench', 'lib', 'tuple-traffic.ts'), o.host, String(o.port), String(n), String(o.concurrency), tuplesFile], {
            cwd: ROOT,
            env: { ...process.env, SWC_NODE_PROJECT: process.env['SWC_NODE_PROJECT'] ?? path.join(ROOT, 'tsconfig.base.json') },
            stdio: ['ignore', fd, fd],
          });
          fs.closeSync(fd);
          const entry = { name: `traffic generator ${i}`, child };
          started.push(entry);
          const timer = setTimeout(() => void stopChild(entry, 2000), o.timeoutMs ?? 600_000);
          child.on('error', reject);
          child.on('close', (code) => {
            clearTimeout(timer);
            started.splice(started.indexOf(entry), 1);
            try {
              if (code !== 0) throw new Error(`the traffic generator exited (code ${code}): ${tail(outFile)}`);
              resolve({ out: lastJsonLine<GeneratorOut>(fs.readFileSync(outFile, 'utf8'), 'tuple-traffic'), tuplesFile });
            } catch (err) {
              reject(err as Error);
            }
          });
        }),
    ),
  );
  const endedAt = Date.now();
  const run: TrafficRun = { procs: o.procs, concurrency: o.concurrency, connections: o.connections, made: 0, succeeded: 0, failed: 0, errors: {}, wallSeconds: (endedAt - spawnedAt) / 1000, activeSeconds: 0, connectionsPerSecond: 0, startedAt: spawnedAt, endedAt };
  const tuples: string[] = [];
  let first = Infinity;
  let last = 0;
  for (const { out, tuplesFile } of outs) {
    run.made += out.made;
    run.succeeded += out.succeeded;
    run.failed += out.failed;
    for (const [k, v] of Object.entries(out.errors)) run.errors[k] = (run.errors[k] ?? 0) + v;
    first = Math.min(first, out.startedAt);
    last = Math.max(last, out.endedAt);
    tuples.push(...parseTupleLines(fs.readFileSync(tuplesFile, 'utf8')));
    fs.rmSync(tuplesFile, { force: true });
  }
  run.activeSeconds = round(Math.max(0.001, (last - first) / 1000), 3);
  run.connectionsPerSecond = round(run.succeeded / run.activeSeconds, 1);
  return { run, tuples };
}
