/*
 * bench/observer-cost: what observing costs the node. The lab's highest connection rate with the agents running
 * (one per node, exporting to a hub, as deployed) ÷ the same rate without them, in one run: the two alternate several
 * times (ABBA order, so a drift of the machine's load falls on both alike); each pair's ratio and their median are
 * reported. Target (issue 19): ≥ 0.95.
 *
 *   npm run build && sudo SWC_NODE_PROJECT=$PWD/tsconfig.base.json node -r @swc-node/register bench/observer-cost.ts [options]
 *     --connections N    connections per measurement, default 10000
 *     --rounds N         with/without pairs, default 5
 *     --configs LIST     traffic settings to try (PROCSxCONCURRENCY, comma-separated), default 1x64,1x128,2x128;
 *                        one setting skips the search
 *     --probe-connections N   connections per rate-search probe, default 3000
 *     --source S         the agents' source: ebpf (default; the agent's own default where the kernel allows) or conntrack
 *
 * Steps: `natlens lab up examples/nodeport-local.yaml --name boc<random>`; a hub (`natlens hub`, SQLite, on a Unix
 * socket, bench/lib/agent-hub-under-test.ts); the rate search without agents picks the fastest traffic setting (the lab's
 * requests from the client alice to node1's nodePort, bench/lib/tuple-traffic.ts); then for each round, in ABBA
 * order: without agents, N connections; with agents: `natlens agent` started in every node's namespace as the
 * DaemonSet starts it (its Node flags on node's command line, `--hub unix:…`), ready (GET /readyz) and past its
 * start-up work (no CPU used for 1 s), N connections,
 * the agents stopped (SIGTERM, by PID) after their last batch reached the hub. The rate is connections that
 * succeeded ÷ seconds from the first request to the last answer. The lab is removed at the end, also on failure and
 * Ctrl-C.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { healthz, metric, readMetrics } from './lib/agent-api';
import { type AgentSource, type AgentUnderTest, NODE_FLAG_SETS, startAgentInNetns, verifyAgentProcess, waitUntilReady } from './lib/agent-under-test';
import { onCleanup, runBench } from './lib/cleanup';
import { startHub } from './lib/agent-hub-under-test';
import { CLK_TCK, cpuTicks, procStatusKb, systemCpu } from './lib/proc-stats';
import { ROOT, lastJsonLine, log, natlens, round, sleep, started, stopChild } from './lib/processes';
import { spread } from './lib/stats';
import { runTupleTraffic, type TrafficRun } from './lib/traffic-run';

const RESULTS_FILE = path.join(ROOT, 'bench', 'results', 'observer-cost.json');
const TOPOLOGY = path.join(ROOT, 'examples', 'nodeport-local.yaml');
const ENTRY_NODE = 'node1';
const CLIENT = 'alice';
const SERVICE = 'default/web';
const TARGET_RATIO = 0.95;

interface Options {
  connections: number;
  rounds: number;
  configs: { procs: number; concurrency: number }[];
  probeConnections: number;
  source: AgentSource;
}

function parseConfigs(text: string): { procs: number; concurrency: number }[] {
  return text.split(',').map((part) => {
    const m = /^(\d+)x(\d+)$/.exec(part.trim());
    if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new Error(`--configs: '${part}' is not PROCSxCONCURRENCY (e.g. 2x64)`);
    return { procs: Number(m[1]), concurrency: Number(m[2]) };
  });
}

function parseOptions(argv: string[]): Options {
  const opts: Options = { connections: 10_000, rounds: 5, configs: parseConfigs('1x64,1x128,2x128'), probeConnections: 3000, source: 'ebpf' };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--configs') opts.configs = parseConfigs(value);
    else if (flag === '--source') {
      if (value !== 'ebpf' && value !== 'conntrack') throw new Error('--source: ebpf or conntrack');
      opts.source = value;
    } else {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} needs a positive whole number`);
      if (flag === '--connections') opts.connections = n;
      else if (flag === '--rounds') opts.rounds = n;
      else if (flag === '--probe-connections') opts.probeConnections = n;
      else throw new Error(`unknown option ${flag}`);
    }
  }
  return opts;
}

interface LabUp {
  name: string;
  nodes: { name: string; netns: string; addresses: string[] }[];
  services?: { namespace: string; name: string; nodePorts?: number[] }[];
  inventory: string;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

interface Measurement {
  round: number;
  agents: boolean;
  traffic: TrafficRun;
  /** The machine's busy share over the traffic (both cores). */
  machineBusyShare: number;
  /** With agents: their CPU over the traffic and until their last batch reached the hub, and the hub's. */
  agentsCpuSeconds?: number;
  hubCpuSeconds?: number;
  agentsPeakRssMB?: number[];
  exportedRecords?: number;
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('run as root: the lab builds network namespaces and the agents join them');
  if (!fs.existsSync(path.join(ROOT, 'dist', 'apps', 'cli', 'main.js'))) throw new Error('dist/apps/cli/main.js is missing: run `npm run build` first');
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'natlens-observer-cost-'));
  onCleanup('remove the work directory', () => fs.rmSync(workDir, { recursive: true, force: true }));
  const labName = `boc${randomBytes(3).toString('hex')}`;
  log(`observer-cost: lab ${labName}, ${opts.rounds} rounds of ${opts.connections} connections with and without ${opts.source} agents; load ${os.loadavg()[0]?.toFixed(1)}`);
  onCleanup(`natlens lab down ${labName}`, async () => {
    const res = await natlens(['lab', 'down', labName], 120_000, false);
    if (res.code !== 0) log(`lab down ${labName} failed: ${res.stderr.trim()}`);
  });
  const up = await natlens(['lab', 'up', TOPOLOGY, '--name', labName, '--json'], 300_000);
  if (up.code !== 0) throw new Error(`lab up failed (exit ${up.code}):\n${up.stderr.trim() || up.stdout.trim()}`);
  const lab = lastJsonLine<LabUp>(up.stdout, 'lab up');
  const entry = lab.nodes.find((n) => n.name === ENTRY_NODE);
  if (!entry) throw new Error(`the lab has no ${ENTRY_NODE}`);
  const [svcNs, svcName] = SERVICE.split('/');
  const frontend = { address: entry.addresses[0] ?? '', port: lab.services?.find((s) => s.namespace === svcNs && s.name === svcName)?.nodePorts?.[0] ?? 30080 };
  const clientNetns = `${lab.name}-client-${CLIENT}`;
  // tens of thousands of connections from one client: let a new connection reuse a port in TIME_WAIT (a lab
  // namespace's own setting) rather than crawl through connect()'s port search
  execFileSync('ip', ['netns', 'exec', clientNetns, 'sysctl', '-qw', 'net.ipv4.tcp_tw_reuse=1']);
  const hub = await startHub({ workDir, name: 'hub', inventory: lab.inventory });

  const traffic = (c: { procs: number; concurrency: number }, connections: number) =>
    runTupleTraffic({ clientNetns, host: frontend.address, port: frontend.port, procs: c.procs, concurrency: c.concurrency, connections, workDir }).then((r) => r.run);

  // the lab's highest rate, without agents
  let best = opts.configs[0] ?? { procs: 1, concurrency: 64 };
  const probes: TrafficRun[] = [];
  if (opts.configs.length > 1) {
    for (const c of opts.configs) {
      const r = await traffic(c, opts.probeConnections);
      probes.push(r);
      log(`  ${c.procs} process(es) x concurrency ${c.concurrency}: ${r.succeeded}/${r.made} = ${r.connectionsPerSecond} conn/s${r.failed ? ` (failed ${r.failed}: ${JSON.stringify(r.errors)})` : ''}`);
    }
    const clean = probes.filter((p) => p.failed === 0);
    const pick = (clean.length ? clean : probes).reduce((a, b) => (b.connectionsPerSecond > a.connectionsPerSecond ? b : a));
    best = { procs: pick.procs, concurrency: pick.concurrency };
  }
  log(`traffic setting: ${best.procs} process(es) x concurrency ${best.concurrency}`);

  let agentIndex = 0;
  const startAgents = async (): Promise<AgentUnderTest[]> => {
    // the previous measurement's connections wait out TIME_WAIT in the nodes' tables: a conntrack source's first dump
    // would export them as records inside this measurement
    for (const n of lab.nodes) execFileSync('ip', ['netns', 'exec', n.netns, 'conntrack', '-F'], { stdio: 'ignore' });
    const agents = lab.nodes.map((n) =>
      startAgentInNetns({
        netns: n.netns,
        name: `agent-${agentIndex++}-${n.name}`,
        workDir,
        nodeFlags: NODE_FLAG_SETS.shipped,
        args: ['--node', n.name, '--inventory', lab.inventory, '--source', opts.source, '--hub', `unix:${hub.socket}`, '--spool-dir', path.join(workDir, `spool-${n.name}`), '--log-level', 'warn'],
        env: { NATLENS_HUB_TOKEN: hub.ingestToken },
      }),
    );
    for (const [i, a] of agents.entries()) await verifyAgentProcess(a, lab.nodes[i]?.netns ?? '');
    for (const a of agents) await waitUntilReady(a, [opts.source], 120_000);
    return agents;
  };
  const stopAgents = async (agents: AgentUnderTest[]) => {
    for (const a of agents) {
      const s = started.find((x) => x.child === a.child);
      if (!s) continue;
      await stopChild(s, 10_000);
      started.splice(started.indexOf(s), 1);
    }
  };
  /** Past the agents' start-up work (module loading, JIT, first flush and node report): until they use no CPU. */
  const agentsQuiet = async (agents: AgentUnderTest[]) => {
    const total = () => agents.reduce((sum, a) => sum + cpuTicks(a.pid, 'an agent'), 0);
    let prev = total();
    let stable = 0;
    for (const deadline = Date.now() + 30_000; stable < 2 && Date.now() < deadline; ) {
      await sleep(500);
      const now = total();
      stable = now - prev <= agents.length ? stable + 1 : 0;
      prev = now;
    }
    if (stable < 2) log('warning: the agents did not go quiet within 30 s of being ready');
  };
  const pendingBatches = async (agents: AgentUnderTest[]) => {
    let n = 0;
    for (const a of agents) n += (await healthz<Json>(a.socket)).hub?.pending?.batches ?? 0;
    return n;
  };

  const measure = async (roundNo: number, withAgents: boolean): Promise<Measurement> => {
    const agents = withAgents ? await startAgents() : [];
    try {
      if (withAgents) await agentsQuiet(agents);
      const m0 = await Promise.all(agents.map((a) => readMetrics(a.socket)));
      const a0 = agents.map((a) => cpuTicks(a.pid, 'an agent'));
      const h0 = cpuTicks(hub.pid, 'the hub');
      const s0 = systemCpu();
      const run = await traffic(best, opts.connections);
      const s1 = systemCpu();
      const m: Measurement = { round: roundNo, agents: withAgents, traffic: run, machineBusyShare: round((s1.busy - s0.busy) / Math.max(1, s1.total - s0.total), 3) };
      if (withAgents) {
        // the agents' cost of this traffic: until they have exported a record per connection (their flush interval is
        // the shipped 5 s) and no batch waits for the hub
        const exported = async () => (await Promise.all(agents.map((a) => readMetrics(a.socket)))).reduce((sum, after, i) => sum + metric(after, 'natlens_agent_exported_records_total') - metric(m0[i] ?? new Map(), 'natlens_agent_exported_records_total'), 0);
        for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(500)) {
          if ((await exported()) >= run.succeeded && (await pendingBatches(agents)) === 0) break;
        }
        m.agentsCpuSeconds = round(agents.reduce((sum, a, i) => sum + cpuTicks(a.pid, 'an agent') - (a0[i] ?? 0), 0) / CLK_TCK);
        m.hubCpuSeconds = round((cpuTicks(hub.pid, 'the hub') - h0) / CLK_TCK);
        m.agentsPeakRssMB = agents.map((a) => round((procStatusKb(a.pid, 'VmHWM') ?? 0) / 1024, 1));
        const m1 = await Promise.all(agents.map((a) => readMetrics(a.socket)));
        m.exportedRecords = m1.reduce((sum, after, i) => sum + metric(after, 'natlens_agent_exported_records_total') - metric(m0[i] ?? new Map(), 'natlens_agent_exported_records_total'), 0);
      }
      log(`round ${roundNo} ${withAgents ? 'with   ' : 'without'} agents: ${run.succeeded}/${run.made} in ${run.activeSeconds} s = ${run.connectionsPerSecond} conn/s (machine ${Math.round(m.machineBusyShare * 100)}% busy)${withAgents ? `; agents ${m.agentsCpuSeconds} CPU-s, hub ${m.hubCpuSeconds} CPU-s, ${m.exportedRecords} records exported` : ''}`);
      return m;
    } finally {
      await stopAgents(agents);
    }
  };

  const measurements: Measurement[] = [];
  const rounds: { round: number; withoutRate: number; withRate: number; ratio: number }[] = [];
  for (let r = 1; r <= opts.rounds; r++) {
    // ABBA: odd rounds start without agents, even rounds with them
    const order = r % 2 === 1 ? [false, true] : [true, false];
    const pair: Record<string, Measurement> = {};
    for (const withAgents of order) {
      const m = await measure(r, withAgents);
      measurements.push(m);
      pair[withAgents ? 'with' : 'without'] = m;
    }
    const withRate = pair['with']?.traffic.connectionsPerSecond ?? 0;
    const withoutRate = pair['without']?.traffic.connectionsPerSecond ?? 0;
    rounds.push({ round: r, withoutRate, withRate, ratio: round(withRate / withoutRate, 4) });
  }
  const failed = measurements.reduce((sum, m) => sum + m.traffic.failed, 0);
  const ratio = spread(rounds.map((r) => r.ratio));
  const results = {
    bench: 'observer-cost',
    at: new Date().toISOString(),
    command: `node -r @swc-node/register bench/observer-cost.ts ${process.argv.slice(2).join(' ')}`.trim(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, kernel: os.release(), node: process.version, loadAverage1m: round(os.loadavg()[0] ?? 0, 2) },
    lab: { topology: path.relative(ROOT, TOPOLOGY), entry: `${frontend.address}:${frontend.port}`, client: CLIENT, agents: lab.nodes.map((n) => n.name), source: opts.source },
    trafficSetting: best,
    probes,
    connectionsPerMeasurement: opts.connections,
    rounds,
    withoutRate: spread(rounds.map((r) => r.withoutRate), 1),
    withRate: spread(rounds.map((r) => r.withRate), 1),
    ratio,
    failedConnections: failed,
    measurements,
    target: { ratioAtLeast: TARGET_RATIO, met: ratio.median >= TARGET_RATIO && failed === 0 },
  };
  const out = [`observer-cost, ${results.machine.cpus} × ${results.machine.cpuModel}, kernel ${results.machine.kernel}, node ${process.version}; ${opts.connections} connections per measurement, ${best.procs} x ${best.concurrency}; agents (${opts.source} source, exporting to a hub on SQLite) on ${results.lab.agents.join(', ')}`];
  out.push(`${'round'.padEnd(6)} ${'without conn/s'.padStart(15)} ${'with conn/s'.padStart(12)} ${'with ÷ without'.padStart(15)}`);
  for (const r of rounds) out.push(`${String(r.round).padEnd(6)} ${String(r.withoutRate).padStart(15)} ${String(r.withRate).padStart(12)} ${r.ratio.toFixed(3).padStart(15)}`);
  out.push(`median ratio ${ratio.median} (min ${ratio.min}, max ${ratio.max}); failed connections ${failed}; target ≥ ${TARGET_RATIO}: ${results.target.met ? 'met' : 'NOT met'}`);
  process.stdout.write(`${out.join('\n')}\n`);
  fs.mkdirSync(path.dirname(RESULTS_FILE), { recursive: true });
  fs.writeFileSync(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(results)}\n`);
}

runBench('observer-cost', main);
