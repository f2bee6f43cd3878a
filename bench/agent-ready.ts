/*
 * bench/agent-ready: how long after its start is `natlens agent` (the compiled build) attached and ready, with the
 * eBPF source and with the conntrack source? Target (issue 17): ≤ 2 s on these machines.
 *
 *   npm run build && sudo SWC_NODE_PROJECT=$PWD/tsconfig.base.json node -r @swc-node/register bench/agent-ready.ts [options]
 *     --runs N           runs per source, default 7 (the sources alternate)
 *     --source-runs N    runs per source of the agent from the TypeScript sources (NATLENS_FROM_SOURCE=1), default 1;
 *                        0 skips them
 *     --node-flags LIST  the agent's Node flags, space-separated (default: the shipped ones; "" for none)
 *
 * Each run starts the agent in a throwaway network namespace (t<random>-agent-ready, loopback only) with the cluster
 * metadata of examples/seeds.yaml as an inventory file, the way the DaemonSet starts it (the Node flags on node's
 * command line, --enable-accounting, a spool directory, no hub: readiness does not wait for one), and polls its local
 * API every 20 ms from spawn until it is ready (bench/lib/agent-under-test.ts says what ready means), and reads the
 * agent's own CPU time then (on a shared, loaded machine the wall time is mostly waiting for a core; the CPU time is
 * what a quiet machine's wall time comes close to). The namespace is removed at the end, also on failure and Ctrl-C.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildInventory, parseTopology, resolveLab } from '@natlens/lab';
import { type AgentSource, NODE_FLAG_SETS, startAgentInNetns, verifyAgentProcess, waitUntilReady } from './lib/agent-under-test';
import { onCleanup, runBench } from './lib/cleanup';
import { CLK_TCK, cpuTicks, procStatusKb } from './lib/proc-stats';
import { ROOT, log, round, started, stopChild } from './lib/processes';
import { showSpread, spread } from './lib/stats';

const RESULTS_FILE = path.join(ROOT, 'bench', 'results', 'agent-ready.json');
const TOPOLOGY = path.join(ROOT, 'examples', 'seeds.yaml');
const TARGET_SECONDS = 2;
const SOURCES: readonly AgentSource[] = ['ebpf', 'conntrack'];

interface Options {
  runs: number;
  sourceRuns: number;
  nodeFlags: readonly string[];
}

function parseOptions(argv: string[]): Options {
  const opts: Options = { runs: 7, sourceRuns: 1, nodeFlags: NODE_FLAG_SETS.shipped };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[++i] ?? '';
    if (flag === '--node-flags') {
      opts.nodeFlags = value.split(/\s+/).filter(Boolean);
      continue;
    }
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} needs a whole number`);
    if (flag === '--runs') opts.runs = Math.max(1, n);
    else if (flag === '--source-runs') opts.sourceRuns = n;
    else throw new Error(`unknown option ${flag} (--runs N, --source-runs N, --node-flags LIST)`);
  }
  return opts;
}

interface Run {
  source: AgentSource;
  fromSources: boolean;
  readySeconds: number;
  apiSeconds: number;
  via: string;
  rssAtReadyMB: number;
  /** the agent's own CPU (utime+stime) from exec to ready: what a quiet machine's wall time comes close to */
  cpuSecondsToReady: number;
  attached: unknown;
}

async function oneRun(o: { netns: string; workDir: string; inventory: string; node: string; source: AgentSource; fromSources: boolean; nodeFlags: readonly string[]; index: number }): Promise<Run & { command: string }> {
  const name = `agent-${o.source}-${o.fromSources ? 'src' : 'dist'}-${o.index}`;
  const agent = startAgentInNetns({
    netns: o.netns,
    name,
    workDir: o.workDir,
    nodeFlags: o.nodeFlags,
    args: ['--node', o.node, '--inventory', o.inventory, '--source', o.source, '--enable-accounting', '--spool-dir', path.join(o.workDir, `spool-${name}`), '--log-level', 'warn'],
    ...(o.fromSources ? { env: { NATLENS_FROM_SOURCE: '1' } } : {}),
  });
  try {
    await verifyAgentProcess(agent, o.netns);
    const ready = await waitUntilReady(agent, [o.source], 120_000);
    const ticks = cpuTicks(agent.pid, 'the agent');
    const rssKb = procStatusKb(agent.pid, 'VmRSS') ?? 0;
    const status = ready.health?.sources?.[o.source];
    return {
      source: o.source,
      fromSources: o.fromSources,
      readySeconds: round(ready.readySeconds, 3),
      apiSeconds: round(ready.apiSeconds, 3),
      via: ready.via,
      rssAtReadyMB: round(rssKb / 1024, 1),
      cpuSecondsToReady: round(ticks / CLK_TCK, 2),
      attached: o.source === 'ebpf' ? { mode: status?.mode, attached: status?.attached } : { lastDump: status?.lastDump },
      command: agent.command,
    };
  } finally {
    const entry = started.find((s) => s.child === agent.child);
    if (entry) {
      await stopChild(entry, 10_000);
      started.splice(started.indexOf(entry), 1);
    }
  }
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('run as root: the agent runs in a network namespace this bench creates');
  if (!fs.existsSync(path.join(ROOT, 'dist', 'apps', 'cli', 'main.js'))) throw new Error('dist/apps/cli/main.js is missing: run `npm run build` first');
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'natlens-agent-ready-'));
  onCleanup('remove the work directory', () => fs.rmSync(workDir, { recursive: true, force: true }));
  const netns = `t${randomBytes(3).toString('hex')}-agent-ready`;
  execFileSync('ip', ['netns', 'add', netns]);
  onCleanup(`ip netns del ${netns}`, () => void execFileSync('ip', ['netns', 'del', netns]));
  execFileSync('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);

  const topology = parseTopology(fs.readFileSync(TOPOLOGY, 'utf8'), TOPOLOGY);
  const inventory = path.join(workDir, 'inventory.json');
  fs.writeFileSync(inventory, JSON.stringify(buildInventory(resolveLab(topology))));
  const node = topology.nodes[0]?.name ?? 'node1';
  log(`agent-ready: namespace ${netns}, inventory of ${path.relative(ROOT, TOPOLOGY)} as node ${node}, Node flags "${opts.nodeFlags.join(' ')}", ${opts.runs} runs per source; load ${os.loadavg()[0]?.toFixed(1)}`);

  const runs: Run[] = [];
  let command = '';
  let index = 0;
  const plan: { source: AgentSource; fromSources: boolean }[] = [];
  for (let r = 0; r < opts.runs; r++) for (const source of r % 2 === 0 ? SOURCES : [...SOURCES].reverse()) plan.push({ source, fromSources: false });
  for (let r = 0; r < opts.sourceRuns; r++) for (const source of SOURCES) plan.push({ source, fromSources: true });
  for (const step of plan) {
    const run = await oneRun({ netns, workDir, inventory, node, nodeFlags: opts.nodeFlags, index: index++, ...step });
    if (!step.fromSources) command = run.command;
    log(`${step.fromSources ? 'from sources, ' : ''}${step.source}: ready after ${run.readySeconds.toFixed(3)} s (API after ${run.apiSeconds.toFixed(3)} s, via ${run.via}; ${run.cpuSecondsToReady} CPU-s), RSS ${run.rssAtReadyMB} MB`);
    const { command: _shown, ...kept } = run;
    runs.push(kept);
  }

  const summary = (source: AgentSource, fromSources: boolean) => {
    const these = runs.filter((r) => r.source === source && r.fromSources === fromSources);
    if (these.length === 0) return undefined;
    return {
      readySeconds: spread(these.map((r) => r.readySeconds), 3),
      apiSeconds: spread(these.map((r) => r.apiSeconds), 3),
      rssAtReadyMB: spread(these.map((r) => r.rssAtReadyMB), 1),
      cpuSecondsToReady: spread(these.map((r) => r.cpuSecondsToReady), 2),
      via: [...new Set(these.map((r) => r.via))],
    };
  };
  const compiled = Object.fromEntries(SOURCES.map((s) => [s, summary(s, false)]));
  const fromSources = Object.fromEntries(SOURCES.map((s) => [s, summary(s, true)]).filter(([, v]) => v !== undefined));
  const results = {
    bench: 'agent-ready',
    at: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, kernel: os.release(), node: process.version, loadAverage1m: round(os.loadavg()[0] ?? 0, 2) },
    agent: { command: command.replace(workDir, '<workdir>').replaceAll(workDir, '<workdir>'), nodeFlags: opts.nodeFlags },
    compiled,
    ...(Object.keys(fromSources).length > 0 ? { fromSources } : {}),
    targets: {
      readySeconds: TARGET_SECONDS,
      met: Object.fromEntries(SOURCES.map((s) => [s, (compiled[s]?.readySeconds.median ?? Infinity) <= TARGET_SECONDS])),
    },
    runs,
  };

  const out = [`agent-ready, ${results.machine.cpus} × ${results.machine.cpuModel}, kernel ${results.machine.kernel}, node ${process.version}; seconds from spawn, min / median / max`];
  out.push(`${'agent'.padEnd(28)} ${'ready s'.padEnd(24)} ${'API answers s'.padEnd(24)} ${'agent CPU-s to ready'.padEnd(24)} RSS at ready MB`);
  const row = (label: string, s: ReturnType<typeof summary>) => s && out.push(`${label.padEnd(28)} ${showSpread(s.readySeconds, 3).padEnd(24)} ${showSpread(s.apiSeconds, 3).padEnd(24)} ${showSpread(s.cpuSecondsToReady, 2).padEnd(24)} ${showSpread(s.rssAtReadyMB, 1)}`);
  for (const source of SOURCES) row(`${source} (compiled)`, compiled[source]);
  for (const source of SOURCES) row(`${source} (from sources)`, fromSources[source]);
  out.push(`ready means: ${[...new Set(runs.map((r) => r.via))].join(', ')} (bench/lib/agent-under-test.ts)`);
  out.push(`target ≤ ${TARGET_SECONDS} s (median): ${SOURCES.map((s) => `${s} ${results.targets.met[s] ? 'met' : 'NOT met'}`).join(', ')}`);
  process.stdout.write(`${out.join('\n')}\n`);
  fs.mkdirSync(path.dirname(RESULTS_FILE), { recursive: true });
  fs.writeFileSync(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(results)}\n`);
}

runBench('agent-ready', main);
