/*
 * bench/ebpf-vs-conntrack: one run, three observers of the same connections at the highest rate the lab reaches:
 * the agent with the eBPF source, the agent with the conntrack source, and `conntrack -E`. Each agent exports to a hub
 * of its own as the demo runs one (`natlens hub`, SQLite on the same machine, over a Unix socket). For each agent:
 * every connection the traffic generator made, looked up by its client tuple among the records its hub stored; the
 * agent's CPU per 10k connections (export included), its peak RSS, its hub's CPU separately, and the ratio to
 * `conntrack -E -e NEW` in the same run; for the eBPF source also the ring-buffer drops.
 *
 *   SWC_NODE_PROJECT=$PWD/tsconfig.base.json node -r @swc-node/register bench/ebpf-vs-conntrack.ts [options]
 *
 * Steps (through the `natlens` command line):
 *   1. `natlens lab up examples/nodeport-local.yaml --name bev-<random> --json`; `natlens lab down` at the end, also on
 *      failure and on SIGINT/SIGTERM/SIGHUP.
 *   2. Two hubs (bench/lib/agent-hub-under-test.ts); in node1's namespace, started together: `natlens agent --source ebpf`,
 *      `natlens agent --source conntrack --enable-accounting` (each with its own local API socket, exporting to its
 *      own hub) and `conntrack -E -e NEW -o id` to a file.
 *   3. Rate search: a few (processes × concurrency) settings of the lab's traffic from the client alice to node1's
 *      nodePort (bench/lib/tuple-traffic.ts: `natlens lab traffic`'s requests, each connection's client tuple written
 *      down); the fastest without failures is used.
 *   4. The run: N connections; each observer's and hub's CPU (utime+stime from /proc/<pid>/stat) over the run and
 *      until all have caught up and no batch waits for a hub, scheduled so it does not include the conntrack source's
 *      periodic resync (every 60 s); counts from each agent's /metrics and from the conntrack -E file; then the audit
 *      by identity against each hub's GET /api/flows (bench/lib/identity-audit.ts).
 *   5. Table on stdout, JSON as stdout's last line and in bench/results/ebpf-vs-conntrack.json.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { waitForAgentsReady } from '@natlens/lab';
import { healthz, metric, readMetrics, type Metrics } from './lib/agent-api';
import { startHub, storedFlows } from './lib/agent-hub-under-test';
import { auditByIdentity } from './lib/identity-audit';
import { CLK_TCK, cmdline, cpuTicks, fileSize, netnsInode, procStatusKb, readProcStat, readSegment, systemCpu } from './lib/proc-stats';
import { agentCommandLine, exited, lastJsonLine, log, natlens, ROOT, round, sleep, spawnInNetns, started, stopChild, tail } from './lib/processes';
import { runTupleTraffic, type TrafficRun } from './lib/traffic-run';

const RESULTS_FILE = path.join(ROOT, 'bench', 'results', 'ebpf-vs-conntrack.json');
/** The conntrack source's resync interval (apps/agent config default `resyncIntervalMs`). */
const RESYNC_INTERVAL_MS = 60_000;
/** Issue 19's targets at the lab's highest rate, export included. */
const TARGETS = { ebpfCpuSecondsPer10k: 0.2, ebpfRatioVsConntrackE: 1.0, conntrackRatioVsConntrackE: 1.2 };

interface Options {
  topology: string;
  name: string;
  node: string;
  service: string;
  client: string;
  connections: number;
  probeConnections: number;
  configs: { procs: number; concurrency: number }[];
  out: string;
  /** node1's conntrack TIME_WAIT timeout (a lab namespace's own sysctl); undefined leaves the kernel's 120 s */
  timeWaitSeconds?: number;
  agentNodeOptions: string[];
}

const USAGE = `usage: node -r @swc-node/register bench/ebpf-vs-conntrack.ts [options]   (as root, SWC_NODE_PROJECT=tsconfig.base.json)
  --topology FILE        lab topology (default examples/nodeport-local.yaml)
  --name NAME            lab name (default bev-<random>)
  --connections N        connections in the measured run (default 20000)
  --probe-connections N  connections per rate-search probe (default 3000)
  --configs LIST         traffic settings to try, PROCSxCONCURRENCY, comma-separated (default 1x64,1x128,2x128); one skips the search
  --time-wait-seconds N      node1's conntrack TIME_WAIT timeout for the run (default: the kernel's 120 s); a few
                             seconds bring each connection's end (the conntrack source's DESTROY and the ended
                             record's export) into the measured window
  --out FILE             JSON results (default bench/results/ebpf-vs-conntrack.json)
  --agent-node-options FLAGS  more Node flags for both agents, space-separated (e.g. "--cpu-prof --cpu-prof-dir=DIR")`;

function parseOptions(argv: string[]): Options {
  const o: Options = {
    topology: path.join(ROOT, 'examples', 'nodeport-local.yaml'),
    name: `bev-${randomBytes(3).toString('hex')}`,
    node: 'node1',
    service: 'default/web',
    client: 'alice',
    connections: 20_000,
    probeConnections: 3000,
    configs: parseConfigs('1x64,1x128,2x128'),
    out: RESULTS_FILE,
    agentNodeOptions: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
      return v;
    };
    const count = (): number => {
      const n = Number(value());
      if (!Number.isInteger(n) || n < 1) throw new Error(`${flag}: expected a whole number above 0`);
      return n;
    };
    switch (flag) {
      case '--topology': o.topology = path.resolve(value()); break;
      case '--name': o.name = value(); break;
      case '--connections': o.connections = count(); break;
      case '--probe-connections': o.probeConnections = count(); break;
      case '--configs': o.configs = parseConfigs(value()); break;
      case '--out': o.out = path.resolve(value()); break;
      case '--time-wait-seconds': {
        const n = Number(value());
        if (!Number.isInteger(n) || n < 1) throw new Error('--time-wait-seconds: a whole number of seconds, at least 1');
        o.timeWaitSeconds = n;
        break;
      }
      case '--agent-node-options': o.agentNodeOptions = value().split(' ').filter(Boolean); break;
      case '-h': case '--help': process.stdout.write(`${USAGE}\n`); process.exit(0); break;
      default: throw new Error(`unknown option ${flag}\n${USAGE}`);
    }
  }
  return o;
}

function parseConfigs(text: string): { procs: number; concurrency: number }[] {
  return text.split(',').map((part) => {
    const m = /^(\d+)x(\d+)$/.exec(part.trim());
    if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new Error(`--configs: '${part}' is not PROCSxCONCURRENCY (e.g. 2x64)`);
    return { procs: Number(m[1]), concurrency: Number(m[2]) };
  });
}

interface LabUp {
  nodes: { name: string; netns: string; addresses: string[] }[];
  services?: { namespace: string; name: string; nodePorts?: number[] }[];
  inventory: string;
}
interface Health { status: string; hub?: { pending?: { batches?: number } } | null; cluster?: { ready?: boolean }; sources?: Record<string, { mode?: string; attached?: string[]; lastDump?: { at: number }; ringBufferDrops?: number }> }

let labUpAttempted = false;
let cleaningUp: Promise<void> | undefined;

async function cleanup(opts: Options, workDir: string, sockets: string[]): Promise<void> {
  for (const s of [...started].reverse()) await stopChild(s, s.name.startsWith('agent') ? 8000 : 3000);
  if (labUpAttempted) {
    log(`lab down ${opts.name}`);
    const res = await natlens(['lab', 'down', opts.name], 120_000, false).catch((err: Error) => ({ code: -1, stdout: '', stderr: err.message }));
    if (res.code !== 0) log(`lab down ${opts.name} failed (exit ${res.code}): ${res.stderr.trim() || res.stdout.trim()}`);
  }
  for (const s of sockets) fs.rmSync(s, { force: true });
  fs.rmSync(workDir, { recursive: true, force: true });
}

const CT_NEW = /\[NEW\].*?src=(\S+) dst=(\S+) sport=(\d+) dport=(\d+)/;

/** conntrack -E lines of the run for the frontend: one per connection it reported. */
function countConntrackLines(text: string, frontend: { address: string; port: number }): number {
  let n = 0;
  for (const line of text.split('\n')) {
    const m = CT_NEW.exec(line);
    if (m && m[2] === frontend.address && Number(m[4]) === frontend.port) n++;
  }
  return n;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function bench(opts: Options, workDir: string, sockets: { ebpf: string; conntrack: string }): Promise<Json> {
  log(`ebpf-vs-conntrack: lab ${opts.name}, ${os.cpus().length} cores, kernel ${os.release()}, clock ${CLK_TCK} ticks/s`);
  labUpAttempted = true;
  const up = await natlens(['lab', 'up', opts.topology, '--name', opts.name, '--json'], 180_000);
  if (up.code !== 0) throw new Error(`lab up failed (exit ${up.code}):\n${up.stderr.trim() || up.stdout.trim()}`);
  const lab = lastJsonLine<LabUp>(up.stdout, 'lab up');
  const node = lab.nodes.find((n) => n.name === opts.node);
  if (!node) throw new Error(`lab has no node ${opts.node}`);
  const [svcNs, svcName] = opts.service.split('/');
  const frontend = { address: node.addresses[0] ?? '198.18.0.11', port: lab.services?.find((s) => s.namespace === svcNs && s.name === svcName)?.nodePorts?.[0] ?? 30080 };
  if (opts.timeWaitSeconds !== undefined) {
    // per network namespace: only the lab node's table ages faster; the host's own setting is untouched
    execFileSync('ip', ['netns', 'exec', node.netns, 'sysctl', '-qw', `net.netfilter.nf_conntrack_tcp_timeout_time_wait=${opts.timeWaitSeconds}`]);
    log(`${node.netns}: conntrack TIME_WAIT timeout ${opts.timeWaitSeconds} s`);
  }
  const nodeNsIno = netnsInode(`/run/netns/${node.netns}`);
  log(`lab ready: ${node.name} (${node.netns}), frontend ${frontend.address}:${frontend.port}`);

  const hubs = { ebpf: await startHub({ workDir, name: 'hub-ebpf', inventory: lab.inventory }), conntrack: await startHub({ workDir, name: 'hub-conntrack', inventory: lab.inventory }) };
  log(`hubs: natlens hub --store sqlite://<workdir>/hub-*.db, pids ${hubs.ebpf.pid} (eBPF agent's) and ${hubs.conntrack.pid} (conntrack agent's)`);
  const common = ['agent', '--node', node.name, '--inventory', lab.inventory, '--flush-interval-ms', '1000', '--log-level', 'warn'];
  const ctOut = path.join(workDir, 'conntrack-events.txt');
  const observers = {
    ebpf: spawnInNetns(node.netns, 'agent (eBPF source)', agentCommandLine([...common, '--source', 'ebpf', '--api-socket', sockets.ebpf, '--hub', `unix:${hubs.ebpf.socket}`, '--spool-dir', path.join(workDir, 'spool-ebpf')], opts.agentNodeOptions), path.join(workDir, 'agent-ebpf.log'), path.join(workDir, 'agent-ebpf.log'), { ...process.env, NATLENS_HUB_TOKEN: hubs.ebpf.ingestToken }),
    conntrack: spawnInNetns(node.netns, 'agent (conntrack source)', agentCommandLine([...common, '--source', 'conntrack', '--enable-accounting', '--api-socket', sockets.conntrack, '--hub', `unix:${hubs.conntrack.socket}`, '--spool-dir', path.join(workDir, 'spool-conntrack')], opts.agentNodeOptions), path.join(workDir, 'agent-conntrack.log'), path.join(workDir, 'agent-conntrack.log'), { ...process.env, NATLENS_HUB_TOKEN: hubs.conntrack.ingestToken }),
    conntrackE: spawnInNetns(node.netns, 'conntrack -E', ['conntrack', '-E', '-e', 'NEW', '-o', 'id'], ctOut, path.join(workDir, 'conntrack-events.err')),
  };
  // `ip netns exec` joins the namespace and exec()s: the PID becomes the observer's own; check that before measuring
  for (const [key, o] of Object.entries(observers)) {
    const comm = key === 'conntrackE' ? 'conntrack' : 'node';
    const deadline = Date.now() + 10_000;
    while (readProcStat(o.pid)?.comm !== comm && Date.now() < deadline && !exited(o.child)) await sleep(20);
    if (readProcStat(o.pid)?.comm !== comm || netnsInode(`/proc/${o.pid}/ns/net`) !== nodeNsIno) {
      throw new Error(`${o.name}: pid ${o.pid} is not the process to measure (${cmdline(o.pid)}); log:\n${tail(o.errFile)}`);
    }
  }

  log('waiting for both agents: GET /readyz (every source observes)');
  const agentFailed = (o: (typeof observers)['ebpf']) => () => (exited(o.child) ? `exited (code ${o.child.exitCode}); log:\n${tail(o.errFile)}` : undefined);
  await waitForAgentsReady(
    [
      { node: 'eBPF agent', apiSocket: sockets.ebpf, failed: agentFailed(observers.ebpf) },
      { node: 'conntrack agent', apiSocket: sockets.conntrack, failed: agentFailed(observers.conntrack) },
    ],
    { timeoutMs: 90_000, intervalMs: 250 },
  );
  const ebpfHealth = await healthz<Health>(sockets.ebpf);
  const ctHealth = await healthz<Health>(sockets.conntrack);
  const ebpfSource = ebpfHealth.sources?.['ebpf'];
  if (!ebpfSource) throw new Error(`the eBPF agent does not run the eBPF source: ${JSON.stringify(ebpfHealth.sources)}; log:\n${tail(observers.ebpf.errFile)}`);
  log(`eBPF source: ${ebpfSource.mode} hook, attached ${ebpfSource.attached?.join(', ')}`);
  const resyncBase = ctHealth.sources?.['conntrack']?.lastDump?.at ?? Date.now();
  const nextResync = (after: number) => resyncBase + RESYNC_INTERVAL_MS * Math.max(1, Math.ceil((after - resyncBase) / RESYNC_INTERVAL_MS));
  await sleep(1000); // conntrack -E subscribes within milliseconds of exec; it has no ready signal

  const ticks = () => ({
    ebpf: cpuTicks(observers.ebpf.pid, 'the eBPF agent'),
    conntrack: cpuTicks(observers.conntrack.pid, 'the conntrack agent'),
    conntrackE: cpuTicks(observers.conntrackE.pid, 'conntrack -E'),
    hubEbpf: cpuTicks(hubs.ebpf.pid, "the eBPF agent's hub"),
    hubConntrack: cpuTicks(hubs.conntrack.pid, "the conntrack agent's hub"),
  });
  const pendingBatches = async () => {
    let n = 0;
    for (const socket of [sockets.ebpf, sockets.conntrack]) n += (await healthz<Health>(socket)).hub?.pending?.batches ?? 0;
    return n;
  };

  /** Until no agent uses CPU and conntrack -E writes nothing more: all have caught up. */
  const waitQuiet = async (minMs: number): Promise<boolean> => {
    const start = Date.now();
    await sleep(minMs);
    let prev = ticks();
    let prevSize = fileSize(ctOut);
    let stable = 0;
    let last = '';
    while (Date.now() - start < 30_000) {
      await sleep(500);
      const now = ticks();
      const size = fileSize(ctOut);
      // the hubs also store each agent's node report (every few seconds) and evaluate alerts: a little more leeway
      stable = now.ebpf - prev.ebpf <= 1 && now.conntrack - prev.conntrack <= 1 && now.hubEbpf - prev.hubEbpf <= 3 && now.hubConntrack - prev.hubConntrack <= 3 && size === prevSize ? stable + 1 : 0;
      last = `ticks in the last 0.5 s: eBPF agent ${now.ebpf - prev.ebpf}, conntrack agent ${now.conntrack - prev.conntrack}, hubs ${now.hubEbpf - prev.hubEbpf} and ${now.hubConntrack - prev.hubConntrack}; conntrack -E output ${size === prevSize ? 'still' : 'growing'}`;
      prev = now;
      prevSize = size;
      // and every batch delivered: each hub has what its agent exported
      if (stable >= 2 && (await pendingBatches()) === 0) return true;
    }
    log(`warning: the observers did not go quiet within 30 s (${last}; batches waiting for a hub: ${await pendingBatches()})`);
    return false;
  };

  const clientNetns = `${opts.name}-client-${opts.client}`;
  let lastTuples: string[] = [];
  const runTraffic = async (procs: number, concurrency: number, connections: number): Promise<TrafficRun> => {
    const { run, tuples } = await runTupleTraffic({ clientNetns, host: frontend.address, port: frontend.port, procs, concurrency, connections, workDir });
    lastTuples = tuples;
    return run;
  };

  /** Waits out the conntrack source's periodic resync when a window of `expectedMs` from now would include it. */
  const avoidResync = async (expectedMs: number, label: string) => {
    const tick = nextResync(Date.now());
    if (Date.now() + expectedMs < tick - 2000) return;
    log(`${label}: waiting ${((tick + 4000 - Date.now()) / 1000).toFixed(0)} s for the conntrack source's periodic resync to pass`);
    await sleep(tick + 3000 - Date.now());
    await waitQuiet(1000);
  };

  // idle baseline: each observer's own CPU use with nothing happening
  await waitQuiet(500);
  const idle0 = ticks();
  await sleep(3000);
  const idle1 = ticks();
  const idlePerSecond = { ebpf: round((idle1.ebpf - idle0.ebpf) / CLK_TCK / 3, 4), conntrack: round((idle1.conntrack - idle0.conntrack) / CLK_TCK / 3, 4) };
  log(`idle CPU: eBPF agent ${idlePerSecond.ebpf} s/s, conntrack agent ${idlePerSecond.conntrack} s/s`);

  // rate search
  const probes: TrafficRun[] = [];
  let best = opts.configs[0] ?? { procs: 1, concurrency: 64 };
  if (opts.configs.length > 1) {
    for (const c of opts.configs) {
      await avoidResync((opts.probeConnections / 500) * 1000 + 8000, 'rate search');
      const r = await runTraffic(c.procs, c.concurrency, opts.probeConnections);
      probes.push(r);
      log(`  ${c.procs} process(es) x concurrency ${c.concurrency}: ${r.succeeded}/${r.made} in ${r.activeSeconds.toFixed(2)} s = ${r.connectionsPerSecond} conn/s${r.failed ? ` (failed ${r.failed}: ${JSON.stringify(r.errors)})` : ''}`);
      await waitQuiet(1500);
    }
    const clean = probes.filter((p) => p.failed === 0);
    const pick = (clean.length ? clean : probes).reduce((a, b) => (b.connectionsPerSecond > a.connectionsPerSecond ? b : a));
    best = { procs: pick.procs, concurrency: pick.concurrency };
    log(`fastest: ${best.procs} process(es) x concurrency ${best.concurrency} (${pick.connectionsPerSecond} conn/s)`);
  }
  const expectedRate = probes.length ? Math.max(300, ...probes.map((p) => p.connectionsPerSecond)) : 2000;

  // the run
  await avoidResync((opts.connections / expectedRate) * 1000 * 1.5 + 15_000, 'run');
  await waitQuiet(500);
  const ctStart = fileSize(ctOut);
  const mBefore = { ebpf: await readMetrics(sockets.ebpf), conntrack: await readMetrics(sockets.conntrack) };
  const sys0 = systemCpu();
  const t0 = ticks();
  const windowStart = Date.now();
  log(`run: ${opts.connections} connections, ${best.procs} process(es) x concurrency ${best.concurrency}`);
  const traffic = await runTraffic(best.procs, best.concurrency, opts.connections);
  log(`run: ${traffic.succeeded}/${traffic.made} succeeded in ${traffic.activeSeconds.toFixed(2)} s = ${traffic.connectionsPerSecond} conn/s; waiting for the observers to catch up`);
  if (opts.timeWaitSeconds !== undefined) {
    // the kernel sends a DESTROY when its conntrack garbage collector reaps the expired entry, seconds after TIME_WAIT
    // ends: wait for the run's DESTROY events at the conntrack agent (its /metrics read once a second, inside the window)
    const destroys = async () => metric(await readMetrics(sockets.conntrack), 'natlens_agent_conntrack_events_total', 'kind="destroy"') - metric(mBefore.conntrack, 'natlens_agent_conntrack_events_total', 'kind="destroy"');
    let seen = 0;
    for (const deadline = Date.now() + 120_000; (seen = await destroys()) < traffic.made && Date.now() < deadline; ) await sleep(1000);
    log(`run: the conntrack agent has ${seen} DESTROY events (connections made ${traffic.made})`);
  }
  const caughtUp = await waitQuiet(3000);
  const t1 = ticks();
  const sys1 = systemCpu();
  const windowSeconds = (Date.now() - windowStart) / 1000;
  const mAfter = { ebpf: await readMetrics(sockets.ebpf), conntrack: await readMetrics(sockets.conntrack) };
  const ctLines = countConntrackLines(readSegment(ctOut, ctStart, fileSize(ctOut)), frontend);
  // the audit by identity: each connection the generator made, by its client tuple, among the records each hub stored
  const runTuples = lastTuples;
  const audits = {
    ebpf: auditByIdentity(runTuples, await storedFlows(hubs.ebpf, { service: opts.service, node: node.name, from: windowStart - 1000 }), frontend),
    conntrack: auditByIdentity(runTuples, await storedFlows(hubs.conntrack, { service: opts.service, node: node.name, from: windowStart - 1000 }), frontend),
  };
  for (const [which, a] of Object.entries(audits)) log(`${which} agent's hub: ${a.found} of ${a.made} connections made stored (missing ${a.missing}${a.missing ? `, e.g. ${a.missingExamples.slice(0, 3).join(' ')}` : ''}); ${a.storedForFrontend} records for the frontend, ${a.storedNotMade} not from this run's tuples`);
  const resyncsInWindow = metric(mAfter.conntrack, 'natlens_agent_conntrack_resyncs_total') - metric(mBefore.conntrack, 'natlens_agent_conntrack_resyncs_total');

  const delta = (m: { ebpf: Metrics; conntrack: Metrics }, which: 'ebpf' | 'conntrack', name: string, labels?: string) => metric(mAfter[which], name, labels) - metric(mBefore[which], name, labels);
  const seconds = (which: 'ebpf' | 'conntrack' | 'conntrackE' | 'hubEbpf' | 'hubConntrack') => (t1[which] - t0[which]) / CLK_TCK;
  const per10k = (s: number) => round((s / traffic.made) * 10_000);
  const hubTicks = { ebpf: 'hubEbpf', conntrack: 'hubConntrack' } as const;
  const observer = (which: 'ebpf' | 'conntrack', extra: Json) => ({
    recorded: audits[which].found,
    recordedShare: audits[which].foundShare,
    recordedBasis: 'exact: each client tuple the traffic generator made, found among the records the hub stored (GET /api/flows)',
    auditByIdentity: audits[which],
    recordsProduced: delta(mAfter, which, 'natlens_agent_records_total'),
    exportedRecords: delta(mAfter, which, 'natlens_agent_exported_records_total'),
    lostRecords: delta(mAfter, which, 'natlens_agent_lost_records_total'),
    cpuSeconds: round(seconds(which)),
    cpuSecondsPer10k: per10k(seconds(which)),
    cpuSecondsPer10kIdleCorrected: per10k(Math.max(0, seconds(which) - idlePerSecond[which] * windowSeconds)),
    cpuRatioVsConntrackE: seconds('conntrackE') > 0 ? round(seconds(which) / seconds('conntrackE'), 2) : null,
    peakRssMB: round((procStatusKb(observers[which].pid, 'VmHWM') ?? 0) / 1024, 1),
    hub: { cpuSeconds: round((t1[hubTicks[which]] - t0[hubTicks[which]]) / CLK_TCK), cpuSecondsPer10k: per10k((t1[hubTicks[which]] - t0[hubTicks[which]]) / CLK_TCK), peakRssMB: round((procStatusKb(hubs[which].pid, 'VmHWM') ?? 0) / 1024, 1) },
    dropped: delta(mAfter, which, 'natlens_agent_dropped_total'),
    ...extra,
  });
  const results = {
    bench: 'ebpf-vs-conntrack',
    at: new Date().toISOString(),
    machine: { cores: os.cpus().length, kernel: os.release(), busyShare: round((sys1.busy - sys0.busy) / (sys1.total - sys0.total), 3) },
    lab: { topology: path.relative(ROOT, opts.topology), node: node.name, frontend, conntrackTimeWaitSeconds: opts.timeWaitSeconds ?? 120 },
    probes,
    traffic,
    windowSeconds: round(windowSeconds, 2),
    caughtUp,
    idleCpuPerSecond: idlePerSecond,
    ebpfSource: observer('ebpf', {
      hook: ebpfSource.mode,
      newEvents: delta(mAfter, 'ebpf', 'natlens_agent_ebpf_events_total', 'kind="new"'),
      endEvents: delta(mAfter, 'ebpf', 'natlens_agent_ebpf_events_total', 'kind="end"'),
      kernelConnections: delta(mAfter, 'ebpf', 'natlens_agent_ebpf_kernel_totals', 'counter="connections"'),
      ringBufferDrops: delta(mAfter, 'ebpf', 'natlens_agent_ebpf_ringbuf_drops_total'),
      batches: delta(mAfter, 'ebpf', 'natlens_agent_ebpf_batches_total'),
    }),
    conntrackSource: observer('conntrack', {
      newEvents: delta(mAfter, 'conntrack', 'natlens_agent_conntrack_events_total', 'kind="new"'),
      enobufs: delta(mAfter, 'conntrack', 'natlens_agent_netlink_enobufs_total'),
      resyncDumps: resyncsInWindow,
    }),
    conntrackE: { recorded: ctLines, recordedShare: round(ctLines / traffic.made, 5), cpuSeconds: round(seconds('conntrackE')), cpuSecondsPer10k: per10k(seconds('conntrackE')) },
  };
  const e = results.ebpfSource;
  const c = results.conntrackSource;
  return {
    ...results,
    // the figures issue 19 names, in one place
    summary: {
      connectionsPerSecond: traffic.connectionsPerSecond,
      connections: traffic.made,
      ebpf: { agentCpuSecondsPer10k: e.cpuSecondsPer10k, agentCpuMicrosecondsPerConnection: round(e.cpuSecondsPer10k * 100, 1), agentPeakRssMB: e.peakRssMB, hubCpuSecondsPer10k: e.hub.cpuSecondsPer10k, cpuRatioVsConntrackE: e.cpuRatioVsConntrackE, storedAtHub: e.recorded, missing: e.auditByIdentity.missing },
      conntrack: { agentCpuSecondsPer10k: c.cpuSecondsPer10k, agentCpuMicrosecondsPerConnection: round(c.cpuSecondsPer10k * 100, 1), agentPeakRssMB: c.peakRssMB, hubCpuSecondsPer10k: c.hub.cpuSecondsPer10k, cpuRatioVsConntrackE: c.cpuRatioVsConntrackE, storedAtHub: c.recorded, missing: c.auditByIdentity.missing },
      conntrackECpuSecondsPer10k: results.conntrackE.cpuSecondsPer10k,
    },
    targets: {
      ...TARGETS,
      met: {
        ebpfCpu: e.cpuSecondsPer10k <= TARGETS.ebpfCpuSecondsPer10k,
        ebpfRatio: e.cpuRatioVsConntrackE !== null && e.cpuRatioVsConntrackE <= TARGETS.ebpfRatioVsConntrackE,
        conntrackRatio: c.cpuRatioVsConntrackE !== null && c.cpuRatioVsConntrackE <= TARGETS.conntrackRatioVsConntrackE,
        everyConnectionStored: e.auditByIdentity.missing === 0 && c.auditByIdentity.missing === 0 && e.auditByIdentity.made >= traffic.succeeded,
      },
    },
  };
}

function printTable(r: Json): void {
  const rows = [
    ['observer', 'stored at hub/made', 'share', 'CPU s', 'CPU s/10k conn', '× conntrack -E', 'peak RSS MB', 'its hub CPU s/10k', 'losses'],
    ['agent, eBPF source', `${r.ebpfSource.recorded}/${r.ebpfSource.auditByIdentity.made}`, `${(r.ebpfSource.recordedShare * 100).toFixed(2)}%`, r.ebpfSource.cpuSeconds, r.ebpfSource.cpuSecondsPer10k, r.ebpfSource.cpuRatioVsConntrackE, r.ebpfSource.peakRssMB, r.ebpfSource.hub.cpuSecondsPer10k, `ring buffer drops ${r.ebpfSource.ringBufferDrops}`],
    ['agent, conntrack source', `${r.conntrackSource.recorded}/${r.conntrackSource.auditByIdentity.made}`, `${(r.conntrackSource.recordedShare * 100).toFixed(2)}%`, r.conntrackSource.cpuSeconds, r.conntrackSource.cpuSecondsPer10k, r.conntrackSource.cpuRatioVsConntrackE, r.conntrackSource.peakRssMB, r.conntrackSource.hub.cpuSecondsPer10k, `ENOBUFS ${r.conntrackSource.enobufs}, resync dumps ${r.conntrackSource.resyncDumps}`],
    ['conntrack -E -e NEW', `${r.conntrackE.recorded}/${r.traffic.made} (lines)`, `${(r.conntrackE.recordedShare * 100).toFixed(2)}%`, r.conntrackE.cpuSeconds, r.conntrackE.cpuSecondsPer10k, '1', '', '', ''],
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => String(row[i]).length))) ?? [];
  process.stdout.write(`\n${r.traffic.made} connections at ${r.traffic.connectionsPerSecond} conn/s (${r.traffic.procs} x ${r.traffic.concurrency}), kernel ${r.machine.kernel}, ${r.machine.cores} cores\n`);
  for (const row of rows) process.stdout.write(`${row.map((c, i) => String(c).padEnd(widths[i] ?? 0)).join('  ')}\n`);
  const met = r.targets.met;
  process.stdout.write(`targets: eBPF ≤ ${r.targets.ebpfCpuSecondsPer10k} CPU-s/10k ${met.ebpfCpu ? 'met' : 'NOT met'}, eBPF ≤ ${r.targets.ebpfRatioVsConntrackE}× conntrack -E ${met.ebpfRatio ? 'met' : 'NOT met'}, conntrack source ≤ ${r.targets.conntrackRatioVsConntrackE}× ${met.conntrackRatio ? 'met' : 'NOT met'}, every connection stored ${met.everyConnectionStored ? 'met' : 'NOT met'}\n`);
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('run as root: the lab builds network namespaces and the observers join one');
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), `${opts.name}-`));
  const sockets = { ebpf: `/tmp/${opts.name}-ebpf.sock`, conntrack: `/tmp/${opts.name}-conntrack.sock` };
  const onSignal = (signal: NodeJS.Signals) => {
    if (cleaningUp) return;
    log(`${signal}: stopping and removing the lab`);
    cleaningUp = cleanup(opts, workDir, Object.values(sockets)).finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, onSignal);
  try {
    const results = await bench(opts, workDir, sockets);
    printTable(results);
    fs.mkdirSync(path.dirname(opts.out), { recursive: true });
    fs.writeFileSync(opts.out, `${JSON.stringify(results, null, 2)}\n`);
    log(`results written to ${path.relative(ROOT, opts.out)}`);
    process.stdout.write(`${JSON.stringify(results)}\n`);
  } finally {
    if (!cleaningUp) {
      cleaningUp = cleanup(opts, workDir, Object.values(sockets));
      await cleaningUp;
    }
  }
}

main().catch((err: Error) => {
  process.stderr.write(`ebpf-vs-conntrack: ${err.message}\n`);
  process.exit(1);
});
