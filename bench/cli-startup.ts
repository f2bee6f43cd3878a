/*
 * bench/cli-startup: what `natlens --help` costs as a whole process (the compiled build, dist/apps/cli) next to bare
 * `node -e 0`, and, for comparison, the same help from the TypeScript sources (NATLENS_FROM_SOURCE=1, SWC on load).
 *
 *   npm run build && SWC_NODE_PROJECT=$PWD/tsconfig.base.json node -r @swc-node/register bench/cli-startup.ts [options]
 *     --runs N           counted pairs of natlens --help and node -e 0, default 15 (after --warmup pairs, default 2)
 *     --source-runs N    runs of the help from the sources, default 3 (0 skips them)
 *
 * Each run is timed from spawn to exit; user/system CPU and peak RSS are the kernel's accounting of the finished
 * process (GNU time). The two commands alternate, and the ratio is taken pair by pair, so a comparison holds when the
 * shared machine's speed drifts. Targets (issue 17): wall ≤ 0.3 s and peak RSS ≤ 70 MB.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { NATLENS, ROOT, log, round } from './lib/processes';
import { showSpread, spread, type Spread } from './lib/stats';
import { requireGnuTime, timeProcess, type ProcessRun } from './lib/timed-process';

const RESULTS_FILE = path.join(ROOT, 'bench', 'results', 'cli-startup.json');
const TARGET_WALL_SECONDS = 0.3;
const TARGET_RSS_MB = 70;
const BUILT_MAIN = path.join(ROOT, 'dist', 'apps', 'cli', 'main.js');

interface Options {
  runs: number;
  warmup: number;
  sourceRuns: number;
}

function parseOptions(argv: string[]): Options {
  const opts: Options = { runs: 15, warmup: 2, sourceRuns: 3 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = Number(argv[++i]);
    if (!Number.isInteger(value) || value < 0) throw new Error(`${flag} needs a whole number`);
    if (flag === '--runs') opts.runs = Math.max(1, value);
    else if (flag === '--warmup') opts.warmup = value;
    else if (flag === '--source-runs') opts.sourceRuns = value;
    else throw new Error(`unknown option ${flag} (--runs N, --warmup N, --source-runs N)`);
  }
  return opts;
}

interface Figures {
  command: string;
  wallSeconds: Spread;
  cpuSeconds: Spread;
  peakRssMB: Spread;
}

function figures(command: string, runs: ProcessRun[]): Figures {
  return {
    command,
    wallSeconds: spread(runs.map((r) => r.wallSeconds)),
    cpuSeconds: spread(runs.map((r) => r.userSeconds + r.systemSeconds)),
    peakRssMB: spread(runs.map((r) => r.maxRssKb / 1024)),
  };
}

async function timed(argv: string[], env?: NodeJS.ProcessEnv): Promise<ProcessRun> {
  const run = await timeProcess(argv, { cwd: ROOT, ...(env ? { env } : {}) });
  if (run.exitCode !== 0) throw new Error(`${argv.join(' ')} exited with ${run.exitCode}`);
  return run;
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  requireGnuTime();
  if (!fs.existsSync(BUILT_MAIN)) throw new Error(`${path.relative(ROOT, BUILT_MAIN)} is missing: run \`npm run build\` first`);
  const natlens = [process.execPath, NATLENS, '--help'];
  const bare = [process.execPath, '-e', '0'];
  const builtAt = fs.statSync(BUILT_MAIN).mtime.toISOString();
  log(`cli-startup: ${opts.warmup} warm-up + ${opts.runs} counted pairs (natlens --help, node -e 0); build of ${builtAt}; load ${os.loadavg()[0]?.toFixed(1)}`);

  for (let i = 0; i < opts.warmup; i++) {
    await timed(natlens);
    await timed(bare);
  }
  const natlensRuns: ProcessRun[] = [];
  const bareRuns: ProcessRun[] = [];
  for (let i = 0; i < opts.runs; i++) {
    natlensRuns.push(await timed(natlens));
    bareRuns.push(await timed(bare));
  }
  const sourceRuns: ProcessRun[] = [];
  if (opts.sourceRuns > 0) {
    log(`${opts.sourceRuns} runs of the help from the sources (NATLENS_FROM_SOURCE=1)`);
    const env = { ...process.env, NATLENS_FROM_SOURCE: '1' };
    await timed(natlens, env); // warm-up: SWC's first load
    for (let i = 0; i < opts.sourceRuns; i++) sourceRuns.push(await timed(natlens, env));
  }

  const compiled = figures('node bin/natlens --help', natlensRuns);
  const reference = figures('node -e 0', bareRuns);
  const ratios = {
    wall: spread(natlensRuns.map((r, i) => r.wallSeconds / (bareRuns[i] as ProcessRun).wallSeconds)),
    peakRss: spread(natlensRuns.map((r, i) => r.maxRssKb / (bareRuns[i] as ProcessRun).maxRssKb)),
  };
  const fromSources = sourceRuns.length > 0 ? figures('NATLENS_FROM_SOURCE=1 node bin/natlens --help', sourceRuns) : undefined;
  const results = {
    bench: 'cli-startup',
    at: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, kernel: os.release(), node: process.version, loadAverage1m: round(os.loadavg()[0] ?? 0, 2) },
    build: { main: path.relative(ROOT, BUILT_MAIN), builtAt },
    natlens: compiled,
    bare: reference,
    ratio: ratios,
    ...(fromSources ? { fromSources } : {}),
    targets: {
      wallSeconds: TARGET_WALL_SECONDS,
      peakRssMB: TARGET_RSS_MB,
      wallMet: compiled.wallSeconds.median <= TARGET_WALL_SECONDS,
      peakRssMet: compiled.peakRssMB.median <= TARGET_RSS_MB,
    },
  };

  const rows: [string, Figures][] = [['natlens --help (compiled)', compiled], ['node -e 0', reference]];
  if (fromSources) rows.push(['natlens --help (sources)', fromSources]);
  const out = [`cli-startup, ${results.machine.cpus} × ${results.machine.cpuModel}, kernel ${results.machine.kernel}, node ${process.version}; min / median / max`];
  out.push(`${'command'.padEnd(28)} ${'wall s'.padEnd(22)} ${'CPU s'.padEnd(22)} peak RSS MB`);
  for (const [name, f] of rows) out.push(`${name.padEnd(28)} ${showSpread(f.wallSeconds, 3).padEnd(22)} ${showSpread(f.cpuSeconds, 3).padEnd(22)} ${showSpread(f.peakRssMB, 1)}`);
  out.push(`natlens / node, pair by pair: wall ${showSpread(ratios.wall, 2, '×')}, peak RSS ${showSpread(ratios.peakRss, 2, '×')}`);
  out.push(`targets: wall ≤ ${TARGET_WALL_SECONDS} s: ${results.targets.wallMet ? 'met' : 'NOT met'} (median ${compiled.wallSeconds.median.toFixed(3)} s); peak RSS ≤ ${TARGET_RSS_MB} MB: ${results.targets.peakRssMet ? 'met' : 'NOT met'} (median ${compiled.peakRssMB.median.toFixed(1)} MB)`);
  process.stdout.write(`${out.join('\n')}\n`);
  fs.mkdirSync(path.dirname(RESULTS_FILE), { recursive: true });
  fs.writeFileSync(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(results)}\n`);
}

main().catch((err: Error) => {
  process.stderr.write(`cli-startup: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
