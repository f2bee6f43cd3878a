/*
 * bench/conntrack-events: at the highest connection rate the lab reaches on this machine, does the natlens agent
 * record every connection, and what does it cost next to the reference tool, `conntrack -E`?
 *
 *   SWC_NODE_PROJECT=/work/main/tsconfig.base.json node -r @swc-node/register bench/conntrack-events.ts [options]
 *
 * Steps (all through the `natlens` command line, as an operator would run it):
 *   1. `natlens lab up examples/nodeport-local.yaml --name bce-<random> --json`; removed at the end with
 *      `natlens lab down`, also on failure, SIGINT, SIGTERM and SIGHUP.
 *   2. A hub as the demo runs one (`natlens hub`, SQLite in the work directory, on a Unix socket:
 *      bench/lib/agent-hub-under-test.ts); in node1's namespace, started together: the agent exporting to it (local API on
 *      a Unix socket) and `conntrack -E -e NEW -o id` writing to a file.
 *   3. Rate search: a few (processes × concurrency) settings of the lab's traffic (HTTP over TCP from the client alice
 *      to node1's nodePort, bench/lib/tuple-traffic.ts: `natlens lab traffic`'s requests, with each connection's
 *      client tuple written down); the fastest one without failures is used for the measured runs.
 *   4. Run A ("clean"): N connections with no call to the agent's API between the CPU readings; agent, hub and
 *      conntrack -E CPU (utime+stime from /proc/<pid>/stat) over the run and until all have caught up and the agent
 *      has no batch waiting for the hub; counts from the agent's /metrics (read outside the CPU window) and from the
 *      conntrack -E file. Then the audit by identity: every client tuple the generator made is looked up among the
 *      records the hub stored (GET /api/flows, bench/lib/identity-audit.ts).
 *   5. The agent's periodic table resync (every 60 s), measured on its own while no traffic runs (the runs are
 *      scheduled around it so they do not include it), because it is a recurring cost the short runs would miss.
 *   6. Run B (optional, --audit-connections; the hub's audit in run A supersedes it): N connections while the bench
 *      polls the agent's GET /api/flows (adaptive limit, checks that each poll
 *      reaches back to the previous one) and collects every flowId the agent exported; compared one by one with the
 *      conntrack -E lines (the flowId embeds the conntrack id and the original tuple). Its CPU includes serving
 *      those polls; the cost of serving them is replayed afterwards and reported.
 *   7. Table on stdout, JSON on stdout's last line and in bench/results/conntrack-events.json.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { waitForAgentsReady } from '@natlens/lab';
import { apiGet, type Metrics, metric, readMetrics } from './lib/agent-api';
import { auditByIdentity } from './lib/identity-audit';
import { startHub, storedFlows } from './lib/agent-hub-under-test';
import { runTupleTraffic, type TrafficRun } from './lib/traffic-run';
import { allProcs, CLK_TCK, cmdline, cpuTicks, fileSize, netnsInode, procStatusKb, readProcStat, readSegment, systemCpu } from './lib/proc-stats';
import { agentCommandLine, exited, lastJsonLine, log, natlens, round, sleep, started, stopChild, tail } from './lib/processes';

/** Targets (issue 19): the conntrack source's CPU, export to the hub included, at most 1.2× conntrack -E's. */
const TARGET_CPU_RATIO = 1.2;

const ROOT = path.resolve(__dirname, '..');
const RESULTS_FILE = path.join(ROOT, 'bench', 'results', 'conntrack-events.json');
/** The agent's resync interval (apps/agent config default `resyncIntervalMs`; no flag sets it). */
const AGENT_RESYNC_INTERVAL_MS = 60_000;
/** The agent's local API keeps this many records (default `recentRecords`); /api/flows caps `limit` at it too. */
const AGENT_RING = 10_000;
const FLUSH_INTERVAL_MS = 1000;
/** How long the idle baseline watches the agent and the hub with nothing happening. */
const IDLE_SECONDS = 10;

// ---------------------------------------------------------------------------------------------------------------
// options

interface Options {
  topology: string;
  name: string;
  node: string;
  service: string;
  client: string;
  connections: number;
  auditConnections: number;
  probeConnections: number;
  configs: { procs: number; concurrency: number }[];
  measureResync: boolean;
  extraReference: boolean;
  keepFiles: boolean;
  out: string;
  /** node1's conntrack TIME_WAIT timeout (a lab namespace's own sysctl); undefined leaves the kernel's 120 s */
  timeWaitSeconds?: number;
  agentNodeOptions: string[];
}

const USAGE = `usage: node -r @swc-node/register bench/conntrack-events.ts [options]   (as root, SWC_NODE_PROJECT=tsconfig.base.json)
  --topology FILE            lab topology (default examples/nodeport-local.yaml)
  --name NAME                lab name (default bce-<random>)
  --connections N            connections in the clean run A (default 20000)
  --audit-connections N      connections in run B, audited by polling the agent's API (default 0: skipped; run A is
                             audited by identity against the hub's records)
  --probe-connections N      connections per rate-search probe (default 4000)
  --configs LIST             traffic settings to try, PROCSxCONCURRENCY, comma-separated (default 1x64,1x128,1x256,2x128);
                             one setting skips the search
  --no-resync                do not wait for and measure the agent's periodic resync
  --extra-reference          also run 'conntrack -E -e NEW,DESTROY -o id' (the agent subscribes to NEW and DESTROY)
  --keep-files               keep the work directory (agent log, conntrack -E output)
  --time-wait-seconds N      node1's conntrack TIME_WAIT timeout for the run (default: the kernel's 120 s); a few
                             seconds bring each connection's end (the conntrack source's DESTROY and the ended
                             record's export) into the measured window
  --out FILE                 JSON results (default bench/results/conntrack-events.json)
  --agent-node-options FLAGS node flags for the agent's process, space-separated (e.g. --max-semi-space-size=16)`;

function parseOptions(argv: string[]): Options {
  const o: Options = {
    topology: path.join(ROOT, 'examples', 'nodeport-local.yaml'),
    name: `bce-${randomBytes(3).toString('hex')}`,
    node: 'node1',
    service: 'default/web',
    client: 'alice',
    connections: 20_000,
    auditConnections: 0,
    probeConnections: 4000,
    configs: parseConfigs('1x64,1x128,1x256,2x128'),
    measureResync: true,
    extraReference: false,
    keepFiles: false,
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
      if (!Number.isInteger(n) || n < 0) throw new Error(`${flag}: expected a whole number`);
      return n;
    };
    switch (flag) {
      case '--topology': o.topology = path.resolve(value()); break;
      case '--name': o.name = value(); break;
      case '--connections': o.connections = count(); break;
      case '--audit-connections': o.auditConnections = count(); break;
      case '--probe-connections': o.probeConnections = count(); break;
      case '--configs': o.configs = parseConfigs(value()); break;
      case '--no-resync': o.measureResync = false; break;
      case '--extra-reference': o.extraReference = true; break;
      case '--keep-files': o.keepFiles = true; break;
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
  if (o.connections < 1) throw new Error('--connections must be at least 1');
  return o;
}

function parseConfigs(text: string): { procs: number; concurrency: number }[] {
  return text.split(',').map((part) => {
    const m = /^(\d+)x(\d+)$/.exec(part.trim());
    if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new Error(`--configs: '${part}' is not PROCSxCONCURRENCY (e.g. 2x64)`);
    return { procs: Number(m[1]), concurrency: Number(m[2]) };
  });
}

// ---------------------------------------------------------------------------------------------------------------
// processes this bench starts (and must stop): bench/lib/processes.ts

let labUpAttempted = false;
let cleaningUp: Promise<void> | undefined;
let interrupted: NodeJS.Signals | undefined;

async function cleanup(opts: Options, workDir: string | undefined, socket: string | undefined): Promise<void> {
  for (const s of [...started].reverse()) await stopChild(s, s.name === 'agent' ? 8000 : 3000);
  if (labUpAttempted) {
    log(`lab down ${opts.name}`);
    const res = await natlens(['lab', 'down', opts.name], 120_000, false).catch((err: Error) => ({ code: -1, stdout: '', stderr: err.message }));
    if (res.code !== 0) log(`lab down ${opts.name} failed (exit ${res.code}): ${res.stderr.trim() || res.stdout.trim()}`);
    else log(res.stdout.trim() || `lab ${opts.name} removed`);
  }
  if (socket) fs.rmSync(socket, { force: true });
  if (workDir) {
    if (opts.keepFiles) log(`work files kept in ${workDir}`);
    else fs.rmSync(workDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// the agent's local API over its Unix socket (bench/lib/agent-api.ts), and what this bench adds

function metricDeltas(before: Metrics, after: Metrics, prefixes: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of after) {
    if (!prefixes.some((p) => key.startsWith(p))) continue;
    const d = value - (before.get(key) ?? 0);
    if (d !== 0) out[key] = round(d, 6);
  }
  return out;
}

interface Healthz {
  status: string;
  activeFlows?: number;
  sources?: { conntrack?: { losses?: number; lastDump?: { reason: string; entries: number; ms: number; at: number } } };
  cluster?: { ready?: boolean };
  queues?: { observed?: { depth: number; dropped: number } };
}

async function healthz(socket: string): Promise<Healthz> {
  const res = await apiGet(socket, '/healthz', 5000);
  return JSON.parse(res.body) as Healthz;
}

interface FlowRecordLite {
  flowId: string;
  firstSeen: number;
  lastSeen: number;
  state?: string;
  ended?: boolean;
  original: { src: string; sport: number; dst: string; dport: number; proto: string };
  counters?: { original?: { packets?: number }; reply?: { packets?: number } };
}

/** One exported snapshot of a flow: the ring holds snapshots, and a flow is exported again when it changes. */
const snapshotKey = (r: FlowRecordLite) =>
  `${r.flowId}|${r.lastSeen}|${r.state ?? ''}|${r.ended ? 1 : 0}|${r.counters?.original?.packets ?? ''}|${r.counters?.reply?.packets ?? ''}`;

// ---------------------------------------------------------------------------------------------------------------
// conntrack -E output

interface CtParse {
  /** [NEW] lines of the run, every destination. */
  lines: number;
  /** [NEW] lines of the run for the frontend: one per connection made. */
  frontendLines: number;
  /** Distinct flowIds (the agent's format: conntrack id + original tuple) of the run's frontend connections. */
  runIds: Set<string>;
  /** flowIds of every frontend connection before the run (earlier phases of this bench). */
  beforeIds: Set<string>;
  /** Connections of the run whose id + tuple equals an earlier connection's of the same run. */
  reusedWithinRun: number;
  /** Connections of the run whose id + tuple equals a connection's from before the run. */
  reusedFromBefore: number;
  /** The run's frontend connections by id + tuple (`<id>:<tuple>`, identityOf): how many connections each names. */
  runCounts: Map<string, number>;
}

/**
 * The conntrack identity (`<id>:<proto>:<src>:<sport>><dst>:<dport>`) of a flowId: the agent's is
 * `conntrack:<instance>:<id>:<tuple>` (the instance tells apart connections that reuse an id and tuple), this bench's
 * from a conntrack -E line `conntrack:<id>:<tuple>`. Several connections can share one identity; each of them has a
 * flowId of its own in the agent's records (its own instance), so the audit compares counts per identity.
 */
function identityOf(flowId: string, from: 'agent' | 'conntrack -E'): string {
  const rest = flowId.slice('conntrack:'.length);
  return from === 'agent' ? rest.slice(rest.indexOf(':') + 1) : rest;
}

const CT_LINE = /\[NEW\]\s+(\S+)\s+\d+\s+\d+\s+(?:\S+\s+)?src=(\S+) dst=(\S+) sport=(\d+) dport=(\d+)/;

/**
 * conntrack -E prints one line per event, so each line is one connection, whatever its id. The kernel's conntrack
 * id (a hash of the entry's address and tuple) repeats when a client reuses a source port: the new SYN replaces the
 * old entry in TIME_WAIT and the freed entry's memory is reused at once, so the same tuple gets the same id.
 */
function parseConntrackFile(text: string, runStartOffset: number, frontend: { address: string; port: number }): CtParse {
  const out: CtParse = { lines: 0, frontendLines: 0, runIds: new Set(), beforeIds: new Set(), reusedWithinRun: 0, reusedFromBefore: 0, runCounts: new Map() };
  let offset = 0;
  for (const line of text.split('\n')) {
    const inRun = offset >= runStartOffset;
    offset += Buffer.byteLength(line) + 1;
    if (!line.includes('[NEW]')) continue;
    if (inRun) out.lines++;
    const m = CT_LINE.exec(line);
    const id = / id=(\d+)/.exec(line)?.[1];
    if (!m || m[3] !== frontend.address || Number(m[5]) !== frontend.port) continue;
    const flowId = `conntrack:${id ?? '?'}:${m[1]}:${m[2]}:${m[4]}>${m[3]}:${m[5]}`;
    if (!inRun) {
      out.beforeIds.add(flowId);
      continue;
    }
    out.frontendLines++;
    if (out.runIds.has(flowId)) out.reusedWithinRun++;
    else if (out.beforeIds.has(flowId)) out.reusedFromBefore++;
    out.runIds.add(flowId);
    const identity = identityOf(flowId, 'conntrack -E');
    out.runCounts.set(identity, (out.runCounts.get(identity) ?? 0) + 1);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// the bench

interface LabUp {
  name: string;
  nodes: { name: string; netns: string; addresses: string[] }[];
  pods: { namespace: string; name: string; node: string; netns: string; ip: string }[];
  services?: { namespace: string; name: string; nodePorts?: number[] }[];
  inventory: string;
}

interface Observer { name: string; pid: number; child: ChildProcess; outFile?: string; errFile?: string }

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('run as root: the lab builds network namespaces and the observers join one');
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), `${opts.name}-`));
  const socket = `/tmp/${opts.name}.sock`;

  const onSignal = (signal: NodeJS.Signals) => {
    if (cleaningUp) {
      log(`${signal}: already cleaning up`);
      return;
    }
    interrupted = signal;
    log(`${signal}: stopping and removing the lab`);
    cleaningUp = cleanup(opts, workDir, socket).finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, onSignal);

  try {
    const results = await bench(opts, workDir, socket);
    printTable(results);
    fs.mkdirSync(path.dirname(opts.out), { recursive: true });
    fs.writeFileSync(opts.out, `${JSON.stringify(results, null, 2)}\n`);
    log(`results written to ${path.relative(ROOT, opts.out)}`);
    if (!cleaningUp) {
      cleaningUp = cleanup(opts, workDir, socket);
      await cleaningUp;
    }
    process.stdout.write(`${JSON.stringify(results)}\n`);
  } catch (err) {
    if (!cleaningUp) {
      cleaningUp = cleanup(opts, workDir, socket);
      await cleaningUp;
    }
    throw err;
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function bench(opts: Options, workDir: string, socket: string): Promise<Json> {
  const kernel = os.release();
  log(`conntrack-events bench: lab ${opts.name}, ${os.cpus().length} cores, kernel ${kernel}, clock ${CLK_TCK} ticks/s; work dir ${workDir}`);

  // 1. the lab
  log(`lab up ${path.relative(ROOT, opts.topology)} --name ${opts.name}`);
  labUpAttempted = true;
  const up = await natlens(['lab', 'up', opts.topology, '--name', opts.name, '--json'], 180_000);
  if (up.code !== 0) throw new Error(`lab up failed (exit ${up.code}):\n${up.stderr.trim() || up.stdout.trim()}`);
  const lab = lastJsonLine<LabUp>(up.stdout, 'lab up');
  const node = lab.nodes.find((n) => n.name === opts.node);
  if (!node) throw new Error(`lab has no node ${opts.node}`);
  const [svcNs, svcName] = opts.service.split('/');
  const nodePort = lab.services?.find((s) => s.namespace === svcNs && s.name === svcName)?.nodePorts?.[0] ?? 30080;
  const frontend = { address: node.addresses[0] ?? '198.18.0.11', port: nodePort };
  log(`lab ready: ${node.name} netns ${node.netns}, frontend ${frontend.address}:${frontend.port}, inventory ${lab.inventory}`);
  if (opts.timeWaitSeconds !== undefined) {
    // per network namespace: only the lab node's table ages faster; the host's own setting is untouched
    execFileSync('ip', ['netns', 'exec', node.netns, 'sysctl', '-qw', `net.netfilter.nf_conntrack_tcp_timeout_time_wait=${opts.timeWaitSeconds}`]);
    log(`${node.netns}: conntrack TIME_WAIT timeout ${opts.timeWaitSeconds} s`);
  }
  const nodeNsIno = netnsInode(`/run/netns/${node.netns}`);
  const labNsInodes = new Map<number, string>();
  for (const ns of fs.readdirSync('/run/netns').filter((n) => n.startsWith(`${opts.name}-`))) {
    const ino = netnsInode(`/run/netns/${ns}`);
    if (ino !== undefined) labNsInodes.set(ino, ns);
  }

  // 2. the observers, started together
  const ctOut = path.join(workDir, 'conntrack-events.txt');
  const ctErr = path.join(workDir, 'conntrack-events.err');
  const agentLog = path.join(workDir, 'agent.log');
  // --source conntrack: this bench measures the conntrack source (the agent's default is eBPF where the kernel allows)
  const hub = await startHub({ workDir, name: 'hub', inventory: lab.inventory });
  log(`hub: natlens hub --store sqlite://<workdir>/hub.db on ${hub.socket} (pid ${hub.pid})`);
  const agentArgs = ['agent', '--node', node.name, '--inventory', lab.inventory, '--api-socket', socket, '--source', 'conntrack',
    '--flush-interval-ms', String(FLUSH_INTERVAL_MS), '--enable-accounting', '--log-level', 'warn',
    '--hub', `unix:${hub.socket}`, '--spool-dir', path.join(workDir, 'spool')];
  fs.rmSync(socket, { force: true });
  const spawnIn = (name: string, argv: string[], out: string, err: string): Observer => {
    const outFd = fs.openSync(out, 'a');
    const errFd = out === err ? outFd : fs.openSync(err, 'a');
    const child = spawn('ip', ['netns', 'exec', node.netns, ...argv], { cwd: ROOT, env: { ...process.env, NATLENS_HUB_TOKEN: hub.ingestToken }, stdio: ['ignore', outFd, errFd] });
    fs.closeSync(outFd);
    if (errFd !== outFd) fs.closeSync(errFd);
    if (child.pid === undefined) throw new Error(`could not start ${name}`);
    started.push({ name, child });
    return { name, pid: child.pid, child, outFile: out, errFile: err };
  };
  const agentCommand = agentCommandLine(agentArgs, opts.agentNodeOptions);
  const agentShown = `node ${agentCommand.slice(1).map((a) => path.relative(ROOT, a) === 'bin/natlens' ? 'bin/natlens' : a).join(' ')}`;
  log(`starting in ${node.netns}: ${agentShown}  and  conntrack -E -e NEW -o id > ${ctOut}`);
  const agent = spawnIn('agent', agentCommand, agentLog, agentLog);
  const ct = spawnIn('conntrack -E', ['conntrack', '-E', '-e', 'NEW', '-o', 'id'], ctOut, ctErr);
  const ctAll = opts.extraReference
    ? spawnIn('conntrack -E (NEW,DESTROY)', ['conntrack', '-E', '-e', 'NEW,DESTROY', '-o', 'id'], path.join(workDir, 'conntrack-all.txt'), path.join(workDir, 'conntrack-all.err'))
    : undefined;

  const verify = async (o: Observer, comm: string, mustContain: string): Promise<Json> => {
    const deadline = Date.now() + 10_000;
    // `ip netns exec` joins the namespace and exec()s the command in the same process: wait for the exec (the new
    // comm can show before /proc/<pid>/cmdline has the new arguments: an empty read is still the exec under way)
    while ((readProcStat(o.pid)?.comm === 'ip' || cmdline(o.pid) === '') && !exited(o.child) && Date.now() < deadline) await sleep(20);
    if (exited(o.child)) throw new Error(`${o.name} exited at once (code ${o.child.exitCode}); log:\n${tail(o.errFile)}`);
    const stat = readProcStat(o.pid);
    const cmd = cmdline(o.pid);
    const ino = netnsInode(`/proc/${o.pid}/ns/net`);
    const children = [...allProcs()].filter(([, s]) => s.ppid === o.pid).map(([pid, s]) => `${pid}:${s.comm}`);
    const ok = stat?.comm === comm && cmd.includes(mustContain) && ino === nodeNsIno && children.length === 0;
    const v = { pid: o.pid, comm: stat?.comm, inNodeNetns: ino === nodeNsIno, children, cmdline: cmd, ok };
    log(`${o.name}: pid ${o.pid} is '${stat?.comm}' (${cmd.slice(0, 90)}${cmd.length > 90 ? '…' : ''}), in ${node.netns}: ${ino === nodeNsIno}, children: ${children.length ? children.join(' ') : 'none'}`);
    if (!ok) throw new Error(`${o.name}: pid ${o.pid} is not the process to measure (${JSON.stringify(v)})`);
    return v;
  };
  const agentVerified = await verify(agent, 'node', 'agent');
  const ctVerified = await verify(ct, 'conntrack', '-E');
  if (ctAll) await verify(ctAll, 'conntrack', '-E');

  log('waiting for the agent: GET /readyz over its socket (its source observes)');
  await waitForAgentsReady([{ node: node.name, apiSocket: socket, failed: () => (exited(agent.child) ? `exited (code ${agent.child.exitCode}); log:\n${tail(agentLog)}` : undefined) }], { timeoutMs: 90_000, intervalMs: 250 });
  const health = await healthz(socket);
  const startDump = health.sources?.conntrack?.lastDump;
  const resyncBase = startDump?.at ?? Date.now();
  const nextResync = (after: number) => resyncBase + AGENT_RESYNC_INTERVAL_MS * Math.max(1, Math.ceil((after - resyncBase) / AGENT_RESYNC_INTERVAL_MS));
  const rssAtReadyKb = procStatusKb(agent.pid, 'VmRSS');
  log(`agent ready (start dump: ${startDump?.entries} entries in ${startDump?.ms} ms); periodic resyncs expected at +60 s steps from then`);
  await sleep(1000); // conntrack -E has no ready signal; it subscribes within milliseconds of exec

  // helpers bound to this lab
  const agentTicks = () => cpuTicks(agent.pid, 'the agent');
  const hubTicks = () => cpuTicks(hub.pid, 'the hub');
  const agentPendingBatches = async () => ((await apiGet(socket, '/healthz', 5000).then((r) => JSON.parse(r.body) as { hub?: { pending?: { batches?: number } } })).hub?.pending?.batches ?? 0);
  const ctTicks = () => cpuTicks(ct.pid, 'conntrack -E');
  const ctAllTicks = () => (ctAll ? cpuTicks(ctAll.pid, 'conntrack -E (NEW,DESTROY)') : 0);
  const checkAlive = () => {
    if (exited(hub.child)) throw new Error(`the hub exited (code ${hub.child.exitCode}); log:\n${tail(hub.logFile)}`);
    for (const o of [agent, ct, ctAll]) if (o && exited(o.child)) throw new Error(`${o.name} exited (code ${o.child.exitCode}); log:\n${tail(o.errFile)}`);
  };

  /** Waits until the agent uses no CPU and conntrack -E writes nothing more (both have caught up). */
  const waitQuiet = async (minMs: number, maxTicksPerHalfSecond = 1): Promise<{ waitedMs: number; quiet: boolean }> => {
    const start = Date.now();
    await sleep(minMs);
    let prevA = agentTicks();
    let prevH = hubTicks();
    let prevSize = fileSize(ctOut);
    let stable = 0;
    let last = '';
    while (Date.now() - start < 30_000) {
      await sleep(500);
      checkAlive();
      const a = agentTicks();
      const h = hubTicks();
      const s = fileSize(ctOut);
      // the hub also stores each agent's node report (every few seconds) and evaluates alerts: a little more leeway
      stable = a - prevA <= maxTicksPerHalfSecond && h - prevH <= Math.max(3, maxTicksPerHalfSecond) && s === prevSize ? stable + 1 : 0;
      last = `agent ${a - prevA} ticks, hub ${h - prevH} ticks in the last 0.5 s, conntrack -E output ${s === prevSize ? 'still' : 'growing'}`;
      prevA = a;
      prevH = h;
      prevSize = s;
      // every batch delivered: the hub has what the agent exported (the health read is after the CPU readings)
      if (stable >= 2 && (await agentPendingBatches()) === 0) return { waitedMs: Date.now() - start, quiet: true };
    }
    log(`warning: the observers did not go quiet within 30 s (${last}; batches waiting for the hub: ${await agentPendingBatches()}); reading the counts anyway`);
    return { waitedMs: Date.now() - start, quiet: false };
  };

  const clientNetns = `${opts.name}-client-${opts.client}`;
  let lastTuples: string[] = [];
  const runTraffic = async (procs: number, concurrency: number, connections: number): Promise<TrafficRun> => {
    const { run, tuples } = await runTupleTraffic({ clientNetns, host: frontend.address, port: frontend.port, procs, concurrency, connections, workDir });
    lastTuples = tuples;
    return run;
  };

  /** If a window of `ms` starting now would include the agent's periodic resync, wait until it is over. */
  let resyncResult: Json = null;
  const avoidResync = async (expectedMs: number, label: string) => {
    const tick = nextResync(Date.now());
    if (Date.now() + expectedMs < tick - 2000) return;
    if (expectedMs > AGENT_RESYNC_INTERVAL_MS - 5000) {
      log(`${label}: expected to take ${Math.round(expectedMs / 1000)} s, longer than the resync interval: it may include a resync`);
      return;
    }
    if (opts.measureResync && !resyncResult) {
      resyncResult = await measureResync(tick);
      return;
    }
    log(`${label}: waiting ${((tick + 6000 - Date.now()) / 1000).toFixed(0)} s for the agent's periodic resync to pass first`);
    await sleep(tick + 3000 - Date.now());
    await waitQuiet(1000);
  };

  const measureResync = async (tick: number): Promise<Json> => {
    log(`measuring the agent's periodic resync, due in ${((tick - Date.now()) / 1000).toFixed(1)} s (no traffic meanwhile)`);
    await sleep(tick - 2500 - Date.now());
    const mBefore = await readMetrics(socket);
    const before = agentTicks();
    const windowStart = Date.now();
    await sleep(tick + 1500 - Date.now());
    await waitQuiet(2500); // the reconcile's end-flush (250 ms) and the next interval flush re-export the table
    const after = agentTicks();
    const windowSeconds = (Date.now() - windowStart) / 1000;
    const h = await healthz(socket);
    const mAfter = await readMetrics(socket);
    const dump = h.sources?.conntrack?.lastDump;
    const seen = metric(mAfter, 'natlens_agent_conntrack_resyncs_total', 'reason="interval"') - metric(mBefore, 'natlens_agent_conntrack_resyncs_total', 'reason="interval"');
    const r = {
      observed: seen > 0,
      tableEntries: dump?.entries,
      dumpMs: dump?.ms,
      agentCpuSeconds: round((after - before) / CLK_TCK),
      windowSeconds: round(windowSeconds, 1),
      dumpedEntriesDecoded: metric(mAfter, 'natlens_agent_conntrack_events_total', 'kind="dump"') - metric(mBefore, 'natlens_agent_conntrack_events_total', 'kind="dump"'),
    };
    log(`periodic resync: ${r.observed ? '' : 'NOT SEEN; '}${r.tableEntries} entries dumped in ${r.dumpMs} ms; agent CPU ${r.agentCpuSeconds} s over the ${r.windowSeconds} s window`);
    return r;
  };

  // idle baseline: the agent's and the hub's own CPU use with nothing happening (10 s: a tick is 10 ms)
  await waitQuiet(500);
  const idleA0 = agentTicks();
  const idleH0 = hubTicks();
  await sleep(IDLE_SECONDS * 1000);
  const idleCpuPerSecond = round((agentTicks() - idleA0) / CLK_TCK / IDLE_SECONDS, 4);
  const idleHubCpuPerSecond = round((hubTicks() - idleH0) / CLK_TCK / IDLE_SECONDS, 4);
  log(`idle CPU: agent ${idleCpuPerSecond} s/s, hub ${idleHubCpuPerSecond} s/s`);

  // 3. rate search
  const probes: TrafficRun[] = [];
  let best = opts.configs[0] ?? { procs: 1, concurrency: 64 };
  if (opts.configs.length > 1 && opts.probeConnections > 0) {
    log(`rate search: ${opts.configs.map((c) => `${c.procs}x${c.concurrency}`).join(', ')}, ${opts.probeConnections} connections each`);
    for (const c of opts.configs) {
      await avoidResync(opts.probeConnections / 500 * 1000 + 8000, 'rate search');
      const r = await runTraffic(c.procs, c.concurrency, opts.probeConnections);
      probes.push(r);
      log(`  ${c.procs} process(es) x concurrency ${c.concurrency}: ${r.succeeded}/${r.made} succeeded in ${r.activeSeconds.toFixed(2)} s = ${r.connectionsPerSecond} conn/s${r.failed ? ` (failed ${r.failed}: ${JSON.stringify(r.errors)})` : ''}`);
      await waitQuiet(1500);
    }
    const clean = probes.filter((p) => p.failed === 0);
    const pick = (clean.length ? clean : probes).reduce((a, b) => (b.connectionsPerSecond > a.connectionsPerSecond ? b : a));
    best = { procs: pick.procs, concurrency: pick.concurrency };
    log(`fastest: ${best.procs} process(es) x concurrency ${best.concurrency} (${pick.connectionsPerSecond} conn/s)`);
  }
  // without a rate search, assume this lab's usual rate on 2 cores (≈2000-3000 conn/s) for scheduling only
  const expectedRate = probes.length ? Math.max(300, ...probes.map((p) => p.connectionsPerSecond)) : 2000;

  // 4./6. measured runs
  const measuredRun = async (label: string, connections: number, audit: boolean): Promise<Json> => {
    await avoidResync((connections / expectedRate) * 1000 * 1.5 + 15_000, label);
    await waitQuiet(500);
    const ctStart = fileSize(ctOut);
    const ctErrStart = fileSize(ctErr);
    const mBefore = await readMetrics(socket);
    // audit: the newest snapshot in the ring before the run, so each poll can prove it reached back far enough
    const auditState = {
      lastNewest: undefined as string | undefined,
      polls: 0,
      retries: 0,
      gaps: 0,
      served: 0,
      flows: new Map<string, FlowRecordLite>(),
      snapshots: [] as FlowRecordLite[],
      limits: [] as number[],
      nextLimit: 100,
    };
    const poll = async (): Promise<void> => {
      let limit = auditState.nextLimit;
      for (;;) {
        const res = await apiGet(socket, `/api/flows?service=${encodeURIComponent(opts.service)}&limit=${limit}`);
        if (res.status !== 200) throw new Error(`GET /api/flows: HTTP ${res.status} ${res.body.slice(0, 300)}`);
        const records = (JSON.parse(res.body) as { records: FlowRecordLite[] }).records;
        auditState.polls++;
        auditState.served += records.length;
        auditState.limits.push(limit);
        const at =
          auditState.lastNewest !== undefined
            ? records.findIndex((r) => snapshotKey(r) === auditState.lastNewest)
            : records.length < limit ? records.length : -1;
        let fresh: FlowRecordLite[];
        if (at >= 0) fresh = records.slice(0, at);
        else if (limit < AGENT_RING && records.length === limit) {
          auditState.retries++;
          limit = AGENT_RING;
          continue;
        } else {
          auditState.gaps++; // the previous newest snapshot has left the ring: some snapshots may not have been seen
          fresh = records;
        }
        for (const r of fresh) {
          if (r.original.dst === frontend.address && r.original.dport === frontend.port) auditState.snapshots.push(r);
          if (r.original.dst === frontend.address && r.original.dport === frontend.port && !auditState.flows.has(r.flowId)) auditState.flows.set(r.flowId, r);
        }
        if (records[0]) auditState.lastNewest = snapshotKey(records[0]);
        auditState.nextLimit = Math.min(AGENT_RING, Math.max(100, Math.ceil(fresh.length * 1.5) + 100));
        return;
      }
    };
    if (audit) {
      const first = await apiGet(socket, `/api/flows?service=${encodeURIComponent(opts.service)}&limit=1`);
      const newest = (JSON.parse(first.body) as { records: FlowRecordLite[] }).records[0];
      auditState.lastNewest = newest ? snapshotKey(newest) : undefined;
    }
    const procsBefore = allProcs();
    const sysBefore = systemCpu();
    const a0 = agentTicks();
    const h0 = hubTicks();
    const c0 = ctTicks();
    const ca0 = ctAllTicks();
    const windowStart = Date.now();

    let stopPolling = false;
    let pollError: Error | undefined;
    const poller = audit
      ? (async () => {
          while (!stopPolling) {
            await poll().catch((err: Error) => {
              pollError = err;
              stopPolling = true;
            });
            await sleep(250);
          }
        })()
      : Promise.resolve();

    log(`${label}: ${connections} connections, ${best.procs} process(es) x concurrency ${best.concurrency}${audit ? ', polling /api/flows every 250 ms' : ', no API calls during the run'}`);
    let firstGrowth = 0;
    let lastGrowth = 0;
    let lastSize = ctStart;
    const watcher = setInterval(() => {
      const s = fileSize(ctOut);
      if (s !== lastSize) {
        if (!firstGrowth) firstGrowth = Date.now();
        lastGrowth = Date.now();
        lastSize = s;
      }
    }, 100);
    let traffic: TrafficRun;
    try {
      traffic = await runTraffic(best.procs, best.concurrency, connections);
    } finally {
      clearInterval(watcher);
    }
    log(`${label}: traffic done: ${traffic.succeeded}/${traffic.made} succeeded in ${traffic.activeSeconds.toFixed(2)} s = ${traffic.connectionsPerSecond} conn/s; waiting for the observers to catch up`);
    if (opts.timeWaitSeconds !== undefined) {
      // the kernel sends a DESTROY when its garbage collector reaps the expired entry, seconds after TIME_WAIT ends:
      // wait for the run's DESTROY events (reading /metrics, a small cost inside the window) so their work is counted
      const destroys = async () => metric(await readMetrics(socket), 'natlens_agent_conntrack_events_total', 'kind="destroy"') - metric(mBefore, 'natlens_agent_conntrack_events_total', 'kind="destroy"');
      let seen = 0;
      for (const deadline = Date.now() + 120_000; (seen = await destroys()) < traffic.made && Date.now() < deadline; ) await sleep(1000);
      log(`${label}: ${seen} DESTROY events by now (connections made ${traffic.made})`);
    }
    const quiet = await waitQuiet(3000, audit ? 3 : 1);
    const a1 = agentTicks();
    const h1 = hubTicks();
    const c1 = ctTicks();
    const ca1 = ctAllTicks();
    const sysAfter = systemCpu();
    const procsAfter = allProcs();
    const windowSeconds = (Date.now() - windowStart) / 1000;
    stopPolling = true;
    await poller;
    if (pollError) throw pollError;
    let finalPolls = 0;
    if (audit) {
      // after the window: poll until nothing new arrives (the last flush is in the ring by now)
      for (let i = 0; i < 3; i++) {
        const before = auditState.flows.size;
        await poll();
        finalPolls++;
        if (auditState.flows.size === before) break;
        await sleep(FLUSH_INTERVAL_MS);
      }
    }
    const mAfter = await readMetrics(socket);
    const ctEnd = fileSize(ctOut);
    const h = await healthz(socket);
    // the audit by identity: every connection the generator made, looked up among the records the hub stored
    const runTuples = lastTuples;
    const stored = await storedFlows(hub, { service: opts.service, node: node.name, from: windowStart - 1000 });
    const hubAudit = auditByIdentity(runTuples, stored, frontend);
    log(`${label}: hub audit by identity: ${hubAudit.found} of ${hubAudit.made} connections made have a stored record of their own (missing ${hubAudit.missing}${hubAudit.missing ? `, e.g. ${hubAudit.missingExamples.slice(0, 3).join(' ')}` : ''}); ${hubAudit.storedForFrontend} records stored for the frontend, ${hubAudit.storedNotMade} not from this run's tuples`);

    const ctParsed = parseConntrackFile(readSegment(ctOut, 0, ctEnd), ctStart, frontend);
    const ctErrText = readSegment(ctErr, ctErrStart, fileSize(ctErr));
    const ctEnobufs = (ctErrText.match(/ENOBUFS/g) ?? []).length;
    const agentSeconds = (a1 - a0) / CLK_TCK;
    const hubSeconds = (h1 - h0) / CLK_TCK;
    const ctSeconds = (c1 - c0) / CLK_TCK;
    const per10k = (s: number) => round((s / traffic.succeeded) * 10_000);
    const mDelta = (name: string, labels?: string) => metric(mAfter, name, labels) - metric(mBefore, name, labels);

    // who used the machine during the window
    const consumers: { pid: number; comm: string; where: string; cpuSeconds: number }[] = [];
    for (const [pid, s] of procsAfter) {
      const prev = procsBefore.get(pid);
      const d = s.ticks - (prev && prev.comm === s.comm ? prev.ticks : 0);
      if (d <= 0) continue;
      const ino = netnsInode(`/proc/${pid}/ns/net`);
      const where = pid === agent.pid ? 'agent' : pid === hub.pid ? 'hub' : pid === ct.pid ? 'conntrack -E' : pid === ctAll?.pid ? 'conntrack -E (NEW,DESTROY)' : pid === process.pid ? 'this bench' : ino !== undefined && labNsInodes.has(ino) ? `lab ${labNsInodes.get(ino)}` : 'outside this lab';
      consumers.push({ pid, comm: where === 'outside this lab' ? cmdline(pid).slice(0, 120) || s.comm : s.comm, where, cpuSeconds: round(d / CLK_TCK, 2) });
    }
    consumers.sort((x, y) => y.cpuSeconds - x.cpuSeconds);
    const busySeconds = (sysAfter.busy - sysBefore.busy) / CLK_TCK;
    const outside = consumers.filter((c) => c.where === 'outside this lab');

    const result: Json = {
      label,
      audit,
      traffic,
      activeTrafficSeconds: firstGrowth && lastGrowth ? round((lastGrowth - firstGrowth) / 1000, 2) : null,
      activeRate: firstGrowth && lastGrowth > firstGrowth ? round(ctParsed.frontendLines / ((lastGrowth - firstGrowth) / 1000), 1) : null,
      windowSeconds: round(windowSeconds, 2),
      caughtUp: quiet,
      agent: {
        cpuSeconds: round(agentSeconds),
        cpuSecondsPer10k: per10k(agentSeconds),
        newEventsAllPorts: mDelta('natlens_agent_conntrack_events_total', 'kind="new"'),
        destroyEvents: mDelta('natlens_agent_conntrack_events_total', 'kind="destroy"'),
        dumpEntries: mDelta('natlens_agent_conntrack_events_total', 'kind="dump"'),
        recordsProduced: mDelta('natlens_agent_records_total'),
        enobufs: mDelta('natlens_agent_netlink_enobufs_total'),
        resyncs: mDelta('natlens_agent_conntrack_resyncs_total'),
        dropped: mDelta('natlens_agent_dropped_total'),
        queueDroppedTotal: h.queues?.observed?.dropped,
        exportedRecords: mDelta('natlens_agent_exported_records_total'),
        lostRecords: mDelta('natlens_agent_lost_records_total'),
        peakRssMB: round((procStatusKb(agent.pid, 'VmHWM') ?? 0) / 1024, 1),
        activeFlowsAfter: h.activeFlows,
        metricDeltas: metricDeltas(mBefore, mAfter, ['natlens_agent_conntrack', 'natlens_agent_records', 'natlens_agent_dropped', 'natlens_agent_netlink']),
      },
      conntrackE: {
        cpuSeconds: round(ctSeconds),
        cpuSecondsPer10k: per10k(ctSeconds),
        newLinesAllPorts: ctParsed.lines,
        newLinesFrontend: ctParsed.frontendLines,
        distinctIdsAndTuples: ctParsed.runIds.size,
        reusedIdAndTupleWithinRun: ctParsed.reusedWithinRun,
        reusedIdAndTupleFromBefore: ctParsed.reusedFromBefore,
        enobufsWarnings: ctEnobufs,
        stderr: ctErrText.trim().slice(0, 500),
      },
      hub: { cpuSeconds: round(hubSeconds), cpuSecondsPer10k: per10k(hubSeconds), peakRssMB: round((procStatusKb(hub.pid, 'VmHWM') ?? 0) / 1024, 1), auditByIdentity: hubAudit },
      conntrackEAll: ctAll ? { cpuSeconds: round((ca1 - ca0) / CLK_TCK), cpuSecondsPer10k: per10k((ca1 - ca0) / CLK_TCK) } : undefined,
      cpuRatio: ctSeconds > 0 ? round(agentSeconds / ctSeconds, 2) : null,
      machine: {
        busyCpuSeconds: round(busySeconds, 2),
        utilisation: round(busySeconds / windowSeconds / os.cpus().length, 3),
        outsideThisLabCpuSeconds: round(outside.reduce((a, c) => a + c.cpuSeconds, 0), 2),
        topProcesses: consumers.slice(0, 8),
        loadavg: os.loadavg().map((l) => round(l, 2)),
      },
    };

    // recorded shares. conntrack -E: one line per connection. The agent: one record per flowId (DESIGN.md: records are
    // idempotent by (node, flowId)), so a connection has a record of its own only if its flowId is new.
    result.conntrackE.recordedShare = round(ctParsed.frontendLines / traffic.made, 5);
    const newIdentities = [...ctParsed.runIds].filter((id) => !ctParsed.beforeIds.has(id)).length;
    result.connectionsSharingAnEarlierFlowId = ctParsed.reusedWithinRun + ctParsed.reusedFromBefore;
    if (audit) {
      // Per conntrack identity (id + tuple): connections conntrack -E printed in the run, and flowIds (one per
      // connection: the instance differs) the agent exported for connections that began in the run.
      const agentCounts = new Map<string, number>();
      const agentFlowIds = new Set<string>();
      for (const [flowId, r] of auditState.flows) {
        if (r.firstSeen < windowStart - 2000) continue;
        agentFlowIds.add(flowId);
        const identity = identityOf(flowId, 'agent');
        agentCounts.set(identity, (agentCounts.get(identity) ?? 0) + 1);
      }
      let matched = 0;
      const missing: string[] = [];
      const agentOnly: string[] = [];
      for (const [identity, n] of ctParsed.runCounts) {
        const a = agentCounts.get(identity) ?? 0;
        matched += Math.min(n, a);
        for (let k = a; k < n; k++) missing.push(identity);
      }
      for (const [identity, a] of agentCounts) {
        for (let k = ctParsed.runCounts.get(identity) ?? 0; k < a; k++) agentOnly.push(identity); // conntrack -E lost it
      }
      const ownRecords = matched + agentOnly.length;
      const agentIds = { size: matched };
      // a DESTROY and the next connection's NEW merged into one record: it ends, yet carries the new SYN's state
      const folded = auditState.snapshots.filter((r) => r.ended === true && r.state === 'SYN_SENT').length;
      // The export stream, ignoring the flowId contract: a snapshot that ends a connection carries the kernel's start
      // time (DESTROY events have it), one made at NEW carries the agent's receive time (NEW events lack it), so
      // the two are paired within 1 s. Approximate; it shows how many connections surface at all before they end.
      const ownSnapshots = (() => {
        const inRun = (r: FlowRecordLite) => r.firstSeen >= windowStart - 200 && agentFlowIds.has(r.flowId);
        const endedStarts = new Map<string, Set<number>>();
        const openStarts = new Map<string, Set<number>>();
        for (const r of auditState.snapshots) {
          if (!inRun(r)) continue;
          const m = r.ended ? endedStarts : openStarts;
          const set = m.get(r.flowId) ?? new Set<number>();
          set.add(r.firstSeen);
          m.set(r.flowId, set);
        }
        let count = 0;
        for (const set of endedStarts.values()) count += set.size;
        for (const [flowId, starts] of openStarts) {
          const ended = [...(endedStarts.get(flowId) ?? [])];
          for (const t of starts) if (!ended.some((e) => Math.abs(e - t) <= 1000)) count++;
        }
        return count;
      })();
      result.agent.audit = {
        distinctFlowIds: agentFlowIds.size,
        matchedConntrackE: agentIds.size,
        missingVsConntrackE: missing.length,
        missingExamples: missing.slice(0, 10),
        agentOnly: agentOnly.length,
        agentOnlyExamples: agentOnly.slice(0, 10),
        connectionsWithOwnRecord: ownRecords,
        endedRecordsCarryingANewSyn: folded,
        connectionsWithOwnSnapshotByStartTimeApprox: ownSnapshots,
        polls: auditState.polls,
        finalPolls,
        widenedPolls: auditState.retries,
        gaps: auditState.gaps,
        snapshotsServed: auditState.served,
      };
      if (opts.keepFiles) {
        fs.writeFileSync(path.join(workDir, `audit-snapshots-${windowStart}.jsonl`), auditState.snapshots.map((r) => JSON.stringify(r)).join('\n'));
        fs.writeFileSync(path.join(workDir, `audit-window-${windowStart}.json`), JSON.stringify({ windowStart, ctStart, ctEnd }));
      }
      result.agent.recordedShare = round(ownRecords / traffic.made, 5);
      result.agent.recordedBasis = 'exact: flowIds the agent exported (polled from /api/flows) for connections of the run, matched with conntrack -E by conntrack id and tuple, counting connections per id + tuple (a reused id + tuple gets a flowId of its own per connection)';
      // what serving those polls cost the agent: replay the same amount against the quiet agent
      await waitQuiet(500);
      const meanLimit = Math.max(100, Math.round(auditState.served / Math.max(1, auditState.polls)));
      const replayPolls = Math.max(1, Math.round(auditState.served / meanLimit));
      const r0 = agentTicks();
      for (let i = 0; i < replayPolls; i++) await apiGet(socket, `/api/flows?service=${encodeURIComponent(opts.service)}&limit=${meanLimit}`);
      const replaySeconds = (agentTicks() - r0) / CLK_TCK;
      result.agent.pollServingCpuSecondsEstimate = round(replaySeconds);
      result.agent.cpuSecondsPer10kWithoutPolls = per10k(Math.max(0, agentSeconds - replaySeconds));
      result.cpuRatioWithoutPolls = ctSeconds > 0 ? round(Math.max(0, agentSeconds - replaySeconds) / ctSeconds, 2) : null;
      log(`${label}: conntrack -E: ${ctParsed.frontendLines} connections, ${ctParsed.runIds.size} distinct id+tuple (${ctParsed.reusedWithinRun} repeat one of this run, ${ctParsed.reusedFromBefore} one from before); ` +
        `agent exported ${agentFlowIds.size} flowIds, ${agentIds.size} matching them (missing ${missing.length}, agent-only ${agentOnly.length}); connections with a record of their own: ${ownRecords}; ` +
        `polls ${auditState.polls} (${auditState.retries} widened, ${auditState.gaps} gaps), serving them cost ≈${round(replaySeconds, 2)} CPU-s`);
    } else {
      // no records read during this run: the counters say whether every NEW event was decoded and kept, and the
      // conntrack -E ids say how many connections can have a record of their own (flowIds not used before)
      const kept = result.agent.newEventsAllPorts - result.agent.dropped - (ctParsed.lines - ctParsed.frontendLines);
      result.agent.newEventsKeptShare = round(Math.min(1, kept / traffic.made), 5);
      // each NEW starts a flow of its own (the flowId carries an instance besides the conntrack id and tuple), so the
      // records the agent produced for the frontend measure what it recorded; run B checks them one by one
      void newIdentities;
      result.agent.recordedShareUpperBound = round(Math.min(1, (result.agent.recordsProduced ?? 0) / traffic.made), 5);
      result.agent.recordedShare = hubAudit.foundShare;
      result.agent.recordedBasis = "exact: each client tuple the traffic generator made, found among the records the hub stored (GET /api/flows), counting connections per tuple (a reused tuple needs a record of its own per connection)";
    }
    log(`${label}: agent ${round(agentSeconds, 2)} CPU-s (${result.agent.cpuSecondsPer10k}/10k), conntrack -E ${round(ctSeconds, 2)} CPU-s (${result.conntrackE.cpuSecondsPer10k}/10k), ratio ${result.cpuRatio}; agent NEW events ${result.agent.newEventsAllPorts}, conntrack -E lines ${ctParsed.lines} (${ctParsed.frontendLines} to the frontend); machine ${round(busySeconds, 1)} CPU-s busy of ${round(windowSeconds * os.cpus().length, 1)}, ${result.machine.outsideThisLabCpuSeconds} CPU-s outside this lab`);
    return result;
  };

  const runA = await measuredRun('run A (clean)', opts.connections, false);
  const hwmAfterRunA = procStatusKb(agent.pid, 'VmHWM');
  if (opts.measureResync && !resyncResult) resyncResult = await measureResync(nextResync(Date.now() + 3000));
  // the audit's polls make the agent build responses of up to 10k records: its peak before them is the headline
  const hwmBeforeAudit = procStatusKb(agent.pid, 'VmHWM');
  const runB = opts.auditConnections > 0 ? await measuredRun('run B (audit)', opts.auditConnections, true) : null;

  checkAlive();
  const peak = {
    agentVmRSSkBAtReady: rssAtReadyKb,
    agentVmHWMkBAfterRunA: hwmAfterRunA,
    agentVmHWMkBBeforeAudit: hwmBeforeAudit,
    agentVmHWMkB: procStatusKb(agent.pid, 'VmHWM'),
    agentVmRSSkB: procStatusKb(agent.pid, 'VmRSS'),
    conntrackVmHWMkB: procStatusKb(ct.pid, 'VmHWM'),
    conntrackAllVmHWMkB: ctAll ? procStatusKb(ctAll.pid, 'VmHWM') : undefined,
  };
  const agentTotalCpu = round(agentTicks() / CLK_TCK, 2);
  const ctTotalCpu = round(ctTicks() / CLK_TCK, 2);
  const totalConnections = probes.reduce((a, p) => a + p.made, 0) + runA.traffic.made + (runB?.traffic.made ?? 0);

  // periodic resync, amortised: once a minute at the measured rate
  const rate = runA.traffic.connectionsPerSecond as number;
  const resyncPer10k = resyncResult?.observed ? round((resyncResult.agentCpuSeconds as number) * (10_000 / rate) / (AGENT_RESYNC_INTERVAL_MS / 1000)) : null;

  const targets = {
    // audited = connections that connected (their tuples); every answered connection connected, so fewer means tuples went unrecorded
    everyConnectionStoredAtTheHub: runA.hub.auditByIdentity.missing === 0 && runA.hub.auditByIdentity.made >= runA.traffic.succeeded,
    cpuAtMost1_2xConntrackE: runA.cpuRatio !== null ? runA.cpuRatio <= TARGET_CPU_RATIO : null,
    ...(runB ? { noConnectionMissingFromTheAgentApi: runB.agent.audit.connectionsWithOwnRecord >= runB.traffic.made } : {}),
  };
  // the figures issue 19 names, from run A (the clean run)
  const summary = {
    source: 'conntrack',
    connectionsPerSecond: runA.traffic.connectionsPerSecond,
    connections: runA.traffic.made,
    agentCpuSecondsPer10k: runA.agent.cpuSecondsPer10k,
    agentCpuMicrosecondsPerConnection: round(runA.agent.cpuSecondsPer10k * 100, 1),
    agentPeakRssMB: round((procStatusKb(agent.pid, 'VmHWM') ?? 0) / 1024, 1),
    hubCpuSecondsPer10k: runA.hub.cpuSecondsPer10k,
    conntrackECpuSecondsPer10k: runA.conntrackE.cpuSecondsPer10k,
    cpuRatioVsConntrackE: runA.cpuRatio,
    auditedByIdentity: { made: runA.hub.auditByIdentity.made, storedAtHub: runA.hub.auditByIdentity.found, missing: runA.hub.auditByIdentity.missing },
    targets: { cpuRatioAtMost: TARGET_CPU_RATIO },
  };

  return {
    bench: 'conntrack-events',
    date: new Date().toISOString(),
    command: `SWC_NODE_PROJECT=${path.join(ROOT, 'tsconfig.base.json')} node -r @swc-node/register bench/conntrack-events.ts ${process.argv.slice(2).join(' ')}`.trim(),
    machine: { cores: os.cpus().length, cpuModel: os.cpus()[0]?.model, kernel, node: process.version, memMB: Math.round(os.totalmem() / 2 ** 20), clockTicks: CLK_TCK },
    lab: { name: opts.name, topology: path.relative(ROOT, opts.topology), node: node.name, netns: node.netns, frontend: `${frontend.address}:${frontend.port}`, service: opts.service, via: node.name, client: opts.client, conntrackTimeWaitSeconds: opts.timeWaitSeconds ?? 120 },
    observers: {
      agent: { command: `ip netns exec ${node.netns} ${agentShown}`, verified: agentVerified },
      conntrackE: { command: `ip netns exec ${node.netns} conntrack -E -e NEW -o id`, verified: ctVerified },
    },
    idleAgentCpuPerSecond: idleCpuPerSecond,
    idleHubCpuPerSecond,
    rateSearch: probes,
    chosen: best,
    runA,
    periodicResync: resyncResult ? { ...resyncResult, amortisedCpuSecondsPer10kAtRunARate: resyncPer10k } : null,
    runB,
    peak,
    lifetimeCpuSeconds: { agent: agentTotalCpu, conntrackE: ctTotalCpu },
    totalConnections,
    hub: { command: `natlens hub --store sqlite://<workdir>/hub.db --socket <workdir>/hub.sock --inventory <lab inventory>`, pid: hub.pid, peakRssMB: round((procStatusKb(hub.pid, 'VmHWM') ?? 0) / 1024, 1) },
    summary,
    targets,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// report

function printTable(r: Json): void {
  const out: string[] = [];
  const line = (cols: (string | number | null | undefined)[], widths: number[]) =>
    cols.map((c, i) => (i === 0 ? String(c ?? '').padEnd(widths[i] ?? 10) : String(c ?? '–').padStart(widths[i] ?? 10))).join('  ');
  const pct = (x: number | null | undefined) => (x === null || x === undefined ? '–' : `${(x * 100).toFixed(3)}%`);
  out.push('');
  out.push(`conntrack-events — ${r.date}`);
  out.push(`machine: ${r.machine.cores} cores (${r.machine.cpuModel}), kernel ${r.machine.kernel}, node ${r.machine.node}`);
  out.push(`lab ${r.lab.name} (${r.lab.topology}); observers in ${r.lab.netns}; traffic ${r.lab.client} → ${r.lab.frontend} (${r.lab.service} via ${r.lab.via})`);
  out.push('');
  if (r.rateSearch.length) {
    out.push('rate search (succeeded ÷ seconds from the first request to the last answer, generator start-up excluded)');
    const w = [18, 10, 8, 8, 10];
    out.push(line(['procs x concurrency', 'succeeded', 'failed', 'active s', 'conn/s'], w));
    for (const p of r.rateSearch) out.push(line([`${p.procs} x ${p.concurrency}`, p.succeeded, p.failed, p.activeSeconds.toFixed(2), p.connectionsPerSecond], w));
    out.push(`chosen: ${r.chosen.procs} x ${r.chosen.concurrency}`);
    out.push('');
  }
  const runs = [r.runA, r.runB].filter(Boolean);
  for (const run of runs) {
    const t = run.traffic;
    out.push(`${run.label}: ${t.made} made, ${t.succeeded} succeeded, ${t.failed} failed in ${t.activeSeconds.toFixed(2)} s = ${t.connectionsPerSecond} conn/s` +
      (run.activeRate ? ` (${run.activeRate} conn/s while conntrack -E was receiving events, ${run.activeTrafficSeconds} s)` : ''));
    out.push(`  CPU window ${run.windowSeconds} s (traffic + catch-up${run.caughtUp.quiet ? '' : ', NOT quiet at the end'}); machine busy ${run.machine.busyCpuSeconds} CPU-s (${(run.machine.utilisation * 100).toFixed(0)}%), of which ${run.machine.outsideThisLabCpuSeconds} CPU-s by processes outside this lab`);
    const w = [44, 16, 16, 10];
    out.push(line(['', 'natlens agent', 'conntrack -E', 'agent/ct'], w));
    const n = (x: number) => `${x}`;
    out.push(line(['connections made (succeeded)', `${t.made} (${t.succeeded})`, n(run.conntrackE.newLinesFrontend), ''], w));
    out.push(line(['… exported to the hub (records, agent counter)', run.agent.exportedRecords, '', ''], w));
    out.push(line(['… distinct conntrack id + tuple (= flowId)', run.audit ? run.agent.audit.distinctFlowIds : '', run.conntrackE.distinctIdsAndTuples, ''], w));
    out.push(line(['… repeating an earlier connection\'s id + tuple', '', run.connectionsSharingAnEarlierFlowId, ''], w));
    if (run.audit) {
      const a = run.agent.audit;
      out.push(line(['flowIds missing vs conntrack -E', a.missingVsConntrackE, '', ''], w));
      out.push(line(['connections recorded (exact, own flowId)', `${a.connectionsWithOwnRecord} ${pct(run.agent.recordedShare)}`, `${run.conntrackE.newLinesFrontend} ${pct(run.conntrackE.recordedShare)}`, ''], w));
    } else {
      out.push(line(['NEW events decoded (all ports)', run.agent.newEventsAllPorts, run.conntrackE.newLinesAllPorts, ''], w));
      out.push(line(['connections recorded (records produced)', pct(run.agent.recordedShareUpperBound), pct(run.conntrackE.recordedShare), ''], w));
    }
    out.push(line(['CPU seconds (utime+stime) over the window', run.agent.cpuSeconds, run.conntrackE.cpuSeconds, run.cpuRatio], w));
    out.push(line(['CPU seconds per 10k connections', run.agent.cpuSecondsPer10k, run.conntrackE.cpuSecondsPer10k, run.cpuRatio], w));
    out.push(line(['hub CPU seconds per 10k (ingest into SQLite)', run.hub.cpuSecondsPer10k, '', ''], w));
    out.push(line(['stored at the hub, by client tuple', `${run.hub.auditByIdentity.found}/${run.hub.auditByIdentity.made}`, '', ''], w));
    if (run.audit) out.push(line(['  … without serving the audit polls (est.)', run.agent.cpuSecondsPer10kWithoutPolls, run.conntrackE.cpuSecondsPer10k, run.cpuRatioWithoutPolls], w));
    if (run.conntrackEAll) out.push(line(['  conntrack -E -e NEW,DESTROY per 10k', '', run.conntrackEAll.cpuSecondsPer10k, round(run.agent.cpuSecondsPer10k / run.conntrackEAll.cpuSecondsPer10k, 2)], w));
    out.push(line(['kernel losses (ENOBUFS)', run.agent.enobufs, run.conntrackE.enobufsWarnings, ''], w));
    out.push(`  agent: ${run.agent.destroyEvents} DESTROY events, ${run.agent.dumpEntries} dump entries, ${run.agent.recordsProduced} records produced, resyncs ${run.agent.resyncs}, dropped ${run.agent.dropped}`);
    if (run.audit) {
      const a = run.agent.audit;
      out.push(`  audit: ${a.polls} polls (${a.widenedPolls} widened to ${AGENT_RING}, ${a.gaps} gaps), ${a.snapshotsServed} snapshots served; agent-only flows ${a.agentOnly}; serving the polls ≈ ${run.agent.pollServingCpuSecondsEstimate} CPU-s`);
      out.push(`  ended records carrying a new connection's SYN_SENT state (a DESTROY and the next NEW merged under one flowId): ${a.endedRecordsCarryingANewSyn}`);
      out.push(`  ignoring the flowId contract, connections with a snapshot of their own start time by the end (approx.): ${a.connectionsWithOwnSnapshotByStartTimeApprox} of ${t.made}`);
      if (a.missingExamples.length) out.push(`  missing e.g. ${a.missingExamples.slice(0, 3).join(', ')}`);
    }
    out.push('');
  }
  if (r.periodicResync) {
    const p = r.periodicResync;
    out.push(`periodic resync (every 60 s, measured alone): ${p.observed ? '' : 'NOT SEEN; '}${p.tableEntries} table entries dumped in ${p.dumpMs} ms; agent ${p.agentCpuSeconds} CPU-s; ` +
      `amortised at run A's rate ≈ ${p.amortisedCpuSecondsPer10kAtRunARate ?? '–'} CPU-s per 10k connections`);
  }
  const kb = (x: number | undefined) => (x === undefined ? '–' : `${(x / 1024).toFixed(1)} MiB`);
  out.push(`peak RSS (VmHWM): agent ${kb(r.peak.agentVmHWMkBBeforeAudit)} before run B's polls (${kb(r.peak.agentVmHWMkBAfterRunA)} after run A; ${kb(r.peak.agentVmHWMkB)} at the end, RSS now ${kb(r.peak.agentVmRSSkB)}, at start ${kb(r.peak.agentVmRSSkBAtReady)}), conntrack -E ${kb(r.peak.conntrackVmHWMkB)}`);
  out.push(`idle CPU: agent ${r.idleAgentCpuPerSecond} s/s, hub ${r.idleHubCpuPerSecond} s/s; total connections made: ${r.totalConnections}`);
  out.push(`targets: every connection stored at the hub (audited by client tuple): ${fmtTarget(r.targets.everyConnectionStoredAtTheHub)}; agent CPU (export included) ≤ ${TARGET_CPU_RATIO}× conntrack -E: ${fmtTarget(r.targets.cpuAtMost1_2xConntrackE)} (run A ratio ${r.runA.cpuRatio})`);
  out.push('');
  process.stdout.write(`${out.join('\n')}\n`);
}

function fmtTarget(x: boolean | null): string {
  return x === null ? 'not measured' : x ? 'MET' : 'NOT MET';
}

main().catch((err: Error) => {
  if (interrupted) return; // the signal handler is cleaning up and exits when done
  log(`failed: ${err.stack ?? err.message}`);
  process.exitCode = 1;
});
