/*
 * bench/agent-memory: the node agent's peak resident memory while the node holds 10,000 live connections, with the
 * eBPF and the conntrack source, with the agent's shipped Node flags and without them. Target (issue 17): ≤ 100 MB.
 *
 *   npm run build && sudo SWC_NODE_PROJECT=$PWD/tsconfig.base.json node -r @swc-node/register bench/agent-memory.ts [options]
 *     --connections N    live connections to hold, default 10000
 *     --hold-seconds S   how long they are held once the agent counts them all, default 10
 *     --sources LIST     default ebpf,conntrack
 *     --flag-sets LIST   default shipped,none (shipped: apps/cli/src/launch/node-flags.ts; none: no Node flags);
 *                        or one custom set as --node-flags "…"
 *     --rounds N         repeat the whole matrix, default 1
 *     --agent-args "…"   more `natlens agent` arguments for every run (e.g. --ebpf-ring-buffer-bytes 1048576)
 *     --heap-snapshot    also write a V8 heap snapshot of each agent at its peak (bench/results/) and summarise it
 *                        (by node type and constructor); the snapshot itself raises the peak, so the peak figures of
 *                        such a run are not the ones to quote
 *
 * Steps (≈4 min): `natlens lab up examples/nodeport-local.yaml --name bam<random>`; a hub (`natlens hub`, SQLite, on
 * a Unix socket) the agents export to, as on a node; then for each source × flag set: the conntrack table of node1
 * flushed, `natlens agent` started in node1's namespace as the DaemonSet starts it, ready (bench/lib/agent-under-test.ts),
 * then bench/lib/hold-connections.ts opens N connections from the client alice to node1's nodePort (DNAT to the
 * local pod; the echo server waits for a request that never comes) and holds them until the agent's /healthz counts N
 * active flows and for --hold-seconds more (ten flushes and exports); the agent's VmHWM (peak RSS, /proc/<pid>/status)
 * is read then, and again after the connections closed and their ends were exported. Where the memory is: RSS by
 * mapping (/proc/<pid>/smaps: the node binary, the BPF ring buffer, malloc, other anonymous memory) and V8's heap
 * (the agent's own /metrics). The lab is removed at the end, also on failure and Ctrl-C.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { apiGet, healthz, metric, readMetrics } from './lib/agent-api';
import { type AgentSource, NODE_FLAG_SETS, startAgentInNetns, verifyAgentProcess, waitUntilReady } from './lib/agent-under-test';
import { onCleanup, runBench } from './lib/cleanup';
import { CLK_TCK, cpuTicks, procStatusKb, rssByMapping } from './lib/proc-stats';
import { NATLENS, ROOT, exited, lastJsonLine, log, natlens, round, sleep, started, stopChild, tail, type Started } from './lib/processes';

const RESULTS_FILE = path.join(ROOT, 'bench', 'results', 'agent-memory.json');
const TOPOLOGY = path.join(ROOT, 'examples', 'nodeport-local.yaml');
const NODE = 'node1';
const CLIENT = 'alice';
const TARGET_MB = 100;

interface Options {
  connections: number;
  holdSeconds: number;
  sources: AgentSource[];
  flagSets: { name: string; flags: readonly string[] }[];
  rounds: number;
  /** write a V8 heap snapshot of each agent at its peak, and summarise it */
  heapSnapshot: boolean;
  /** more `natlens agent` arguments, e.g. --ebpf-ring-buffer-bytes 1048576 */
  agentArgs: string[];
}

function parseOptions(argv: string[]): Options {
  const opts: Options = { connections: 10_000, holdSeconds: 10, sources: ['ebpf', 'conntrack'], flagSets: [{ name: 'shipped', flags: NODE_FLAG_SETS.shipped }, { name: 'none', flags: NODE_FLAG_SETS.none }], rounds: 1, heapSnapshot: false, agentArgs: [] };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--heap-snapshot') {
      opts.heapSnapshot = true;
      continue;
    }
    const value = argv[++i] ?? '';
    if (flag === '--sources') opts.sources = value.split(',').map((s) => s.trim()).filter((s): s is AgentSource => s === 'ebpf' || s === 'conntrack');
    else if (flag === '--flag-sets') opts.flagSets = value.split(',').map((name) => ({ name, flags: NODE_FLAG_SETS[name as 'shipped' | 'none'] ?? (() => { throw new Error(`unknown flag set ${name} (shipped, none)`); })() }));
    else if (flag === '--agent-args') opts.agentArgs = value.split(/\s+/).filter(Boolean);
    else if (flag === '--node-flags') opts.flagSets = [{ name: 'custom', flags: value.split(/\s+/).filter(Boolean) }];
    else {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} needs a positive whole number`);
      if (flag === '--connections') opts.connections = n;
      else if (flag === '--hold-seconds') opts.holdSeconds = n;
      else if (flag === '--rounds') opts.rounds = n;
      else throw new Error(`unknown option ${flag}`);
    }
  }
  if (opts.sources.length === 0) throw new Error('--sources: ebpf and/or conntrack');
  return opts;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no free port'))));
    });
  });
}

interface LabUp {
  name: string;
  nodes: { name: string; netns: string; addresses: string[] }[];
  inventory: string;
}

const mb = (kb: number | undefined) => round((kb ?? 0) / 1024, 1);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function heapFigures(socket: string): Promise<Json> {
  const m = await readMetrics(socket);
  const bytes = (name: string, labels?: string) => round(metric(m, name, labels) / 1048576, 1);
  return {
    heapUsedMB: bytes('natlens_agent_nodejs_heap_size_used_bytes'),
    heapTotalMB: bytes('natlens_agent_nodejs_heap_size_total_bytes'),
    newSpaceUsedMB: bytes('natlens_agent_nodejs_heap_space_size_used_bytes', 'space="new"'),
    oldSpaceUsedMB: bytes('natlens_agent_nodejs_heap_space_size_used_bytes', 'space="old"'),
    externalMB: bytes('natlens_agent_nodejs_external_memory_bytes'),
  };
}

/**
 * Asks the agent for a heap snapshot (SIGWINCH), waits for it, and sums the live objects' own sizes by V8 node type and
 * by constructor: where the heap goes. The snapshot is kept in bench/results/ for a closer look (Chrome DevTools).
 */
async function heapSnapshotSummary(pid: number, workDir: string, name: string): Promise<Json> {
  const before = new Set(fs.readdirSync(workDir));
  process.kill(pid, 'SIGWINCH');
  let file: string | undefined;
  for (const deadline = Date.now() + 120_000; !file; await sleep(500)) {
    const fresh = fs.readdirSync(workDir).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    // written in one go; the size stops changing when V8 is done
    if (fresh) {
      const size = fs.statSync(path.join(workDir, fresh)).size;
      await sleep(1000);
      if (size > 0 && fs.statSync(path.join(workDir, fresh)).size === size) file = fresh;
    }
    if (Date.now() > deadline) throw new Error('no heap snapshot within 120 s');
  }
  const kept = path.join(path.dirname(RESULTS_FILE), `agent-memory-${name}.heapsnapshot`);
  fs.mkdirSync(path.dirname(kept), { recursive: true });
  fs.renameSync(path.join(workDir, file), kept);
  const snap = JSON.parse(fs.readFileSync(kept, 'utf8')) as { snapshot: { meta: { node_fields: string[]; node_types: [string[]] } }; nodes: number[]; strings: string[] };
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const [iType, iName, iSize] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [number, number, number];
  const byType = new Map<string, number>();
  const byConstructor = new Map<string, { bytes: number; count: number }>();
  let total = 0;
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    const type = types[snap.nodes[i + iType] as number] ?? '?';
    const size = snap.nodes[i + iSize] as number;
    total += size;
    byType.set(type, (byType.get(type) ?? 0) + size);
    const key = type === 'object' ? (snap.strings[snap.nodes[i + iName] as number] ?? '?') : `(${type})`;
    const c = byConstructor.get(key) ?? { bytes: 0, count: 0 };
    c.bytes += size;
    c.count++;
    byConstructor.set(key, c);
  }
  const top = (m: Map<string, number>) => Object.fromEntries([...m].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([k, v]) => [k, round(v / 1048576, 2)]));
  return {
    file: path.relative(ROOT, kept),
    liveMB: round(total / 1048576, 1),
    byTypeMB: top(byType),
    byConstructor: Object.fromEntries([...byConstructor].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, 15).map(([k, v]) => [k, { MB: round(v.bytes / 1048576, 2), count: v.count }])),
  };
}

async function measure(o: { lab: LabUp; workDir: string; hubSocket: string; token: string; source: AgentSource; flagSet: { name: string; flags: readonly string[] }; opts: Options; index: number }): Promise<Json> {
  const node = o.lab.nodes.find((n) => n.name === NODE);
  if (!node) throw new Error(`the lab has no ${NODE}`);
  // Connections of the previous round wait out TIME_WAIT in the table: a conntrack source's first dump would count them.
  for (const netns of [node.netns, `${o.lab.name}-edge`]) execFileSync('ip', ['netns', 'exec', netns, 'conntrack', '-F'], { stdio: 'ignore' });
  const name = `agent-${o.index}-${o.source}-${o.flagSet.name}`;
  const agent = startAgentInNetns({
    netns: node.netns,
    name,
    workDir: o.workDir,
    // a snapshot on SIGWINCH (NestJS shuts the agent down on SIGUSR2), written to the work directory; V8 collects
    // garbage first, so it shows what is live
    nodeFlags: o.opts.heapSnapshot ? [...o.flagSet.flags, '--heapsnapshot-signal=SIGWINCH', `--diagnostic-dir=${o.workDir}`] : o.flagSet.flags,
    args: ['--node', NODE, '--inventory', o.lab.inventory, '--hub', `unix:${o.hubSocket}`, '--source', o.source, '--enable-accounting', '--spool-dir', path.join(o.workDir, `spool-${name}`), '--log-level', 'warn', ...o.opts.agentArgs],
    env: { NATLENS_HUB_TOKEN: o.token },
  });
  const stopAgent = async () => {
    const entry = started.find((s) => s.child === agent.child);
    if (entry) {
      await stopChild(entry, 10_000);
      started.splice(started.indexOf(entry), 1);
    }
  };
  let holder: Started | undefined;
  try {
    await verifyAgentProcess(agent, node.netns);
    const ready = await waitUntilReady(agent, [o.source], 120_000);
    await sleep(2000);
    const atReady = { vmRssMB: mb(procStatusKb(agent.pid, 'VmRSS')), vmHwmMB: mb(procStatusKb(agent.pid, 'VmHWM')) };
    log(`${name}: ready after ${ready.readySeconds.toFixed(2)} s, RSS ${atReady.vmRssMB} MB; opening ${o.opts.connections} connections`);

    const ticksBefore = cpuTicks(agent.pid, 'the agent');
    const openedAt = Date.now();
    const holderOut = path.join(o.workDir, `${name}-holder.out`);
    const outFd = fs.openSync(holderOut, 'w');
    const child = spawn('ip', ['netns', 'exec', `${o.lab.name}-client-${CLIENT}`, process.execPath, '-r', '@swc-node/register', path.join(ROOT, 'bench', 'lib', 'hold-connections.ts'), node.addresses[0] ?? '', '30080', String(o.opts.connections), '200'], { cwd: ROOT, stdio: ['ignore', outFd, outFd] });
    fs.closeSync(outFd);
    holder = { name: 'connection holder', child };
    started.push(holder);
    let opened: { open: number; failed: number; seconds: number; errors: Record<string, number> } | undefined;
    while (!opened) {
      if (exited(child)) throw new Error(`the connection holder exited (code ${child.exitCode}): ${tail(holderOut)}`);
      if (Date.now() - openedAt > 180_000) throw new Error(`the connection holder did not finish in 180 s: ${tail(holderOut)}`);
      const text = fs.readFileSync(holderOut, 'utf8');
      if (text.includes('"open"')) opened = lastJsonLine(text, 'hold-connections');
      else await sleep(250);
    }
    log(`${name}: ${opened.open} open, ${opened.failed} failed in ${opened.seconds.toFixed(1)} s; waiting for the agent to count them`);
    let active = 0;
    for (const deadline = Date.now() + 60_000; active < opened.open; await sleep(1000)) {
      active = Number((await healthz<Json>(agent.socket)).activeFlows ?? 0);
      if (Date.now() > deadline) throw new Error(`the agent counts ${active} active flows, not ${opened.open}, after 60 s`);
    }
    const countedAt = Date.now();
    await sleep(o.opts.holdSeconds * 1000);
    const held = {
      vmHwmMB: mb(procStatusKb(agent.pid, 'VmHWM')),
      vmRssMB: mb(procStatusKb(agent.pid, 'VmRSS')),
      byMappingMB: Object.fromEntries(Object.entries(rssByMapping(agent.pid) ?? {}).map(([k, v]) => [k, mb(v)])),
      cpuSeconds: round((cpuTicks(agent.pid, 'the agent') - ticksBefore) / CLK_TCK, 2),
      openSeconds: round((countedAt - openedAt) / 1000, 1),
    };
    const health = await healthz<Json>(agent.socket);
    const heap = await heapFigures(agent.socket);
    const snapshot = o.opts.heapSnapshot ? await heapSnapshotSummary(agent.pid, o.workDir, name) : undefined;
    log(`${name}: ${health.activeFlows} active flows; peak RSS ${held.vmHwmMB} MB (RSS ${held.vmRssMB} MB: ${JSON.stringify(held.byMappingMB)}; heap used ${heap.heapUsedMB} of ${heap.heapTotalMB} MB)`);

    await stopChild(holder, 5000);
    started.splice(started.indexOf(holder), 1);
    holder = undefined;
    await sleep(5000);
    const afterClose = { vmHwmMB: mb(procStatusKb(agent.pid, 'VmHWM')), vmRssMB: mb(procStatusKb(agent.pid, 'VmRSS')) };
    const finalHealth = await healthz<Json>(agent.socket);
    const exported = await apiGet(agent.socket, '/metrics').then((r) => r.body.match(/^natlens_agent_exported_records_total\s+(\S+)/m)?.[1]);
    return {
      source: o.source,
      nodeFlags: o.flagSet.name,
      flags: o.flagSet.flags,
      command: agent.command.replaceAll(o.workDir, '<workdir>'),
      readySeconds: round(ready.readySeconds, 2),
      atReady,
      connections: { open: opened.open, failed: opened.failed, openSeconds: round(opened.seconds, 1), countedByAgent: health.activeFlows },
      held,
      heapAtPeak: heap,
      ...(snapshot ? { liveHeapAtPeak: snapshot } : {}),
      afterClose: { ...afterClose, activeFlows: finalHealth.activeFlows },
      hub: { pending: finalHealth.hub?.pending, lastError: finalHealth.hub?.lastError ?? null, ...(exported ? { exportedRecords: Number(exported) } : {}) },
      peakMB: afterClose.vmHwmMB,
    };
  } finally {
    if (holder) {
      await stopChild(holder, 5000);
      started.splice(started.indexOf(holder), 1);
    }
    await stopAgent();
  }
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('run as root: the lab builds network namespaces and the agent joins one');
  if (!fs.existsSync(path.join(ROOT, 'dist', 'apps', 'cli', 'main.js'))) throw new Error('dist/apps/cli/main.js is missing: run `npm run build` first');
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'natlens-agent-memory-'));
  onCleanup('remove the work directory', () => fs.rmSync(workDir, { recursive: true, force: true }));
  const labName = `bam${randomBytes(3).toString('hex')}`;
  log(`agent-memory: lab ${labName} (${path.relative(ROOT, TOPOLOGY)}), ${opts.connections} connections, sources ${opts.sources.join(',')}, flag sets ${opts.flagSets.map((f) => f.name).join(',')}; load ${os.loadavg()[0]?.toFixed(1)}`);
  onCleanup(`natlens lab down ${labName}`, async () => {
    const res = await natlens(['lab', 'down', labName], 120_000, false);
    if (res.code !== 0) log(`lab down ${labName} failed: ${res.stderr.trim()}`);
  });
  const up = await natlens(['lab', 'up', TOPOLOGY, '--name', labName, '--json'], 300_000);
  if (up.code !== 0) throw new Error(`lab up failed (exit ${up.code}):\n${up.stderr.trim() || up.stdout.trim()}`);
  const lab = lastJsonLine<LabUp>(up.stdout, 'lab up');
  // Each round's client closes first, leaving N ports in TIME_WAIT for 60 s: let the next round's connections reuse
  // them (a lab namespace's own setting) rather than crawl through connect()'s port search.
  execFileSync('ip', ['netns', 'exec', `${lab.name}-client-${CLIENT}`, 'sysctl', '-qw', 'net.ipv4.tcp_tw_reuse=1']);

  const token = randomBytes(24).toString('hex');
  const hubSocket = path.join(workDir, 'hub.sock');
  const hubLog = path.join(workDir, 'hub.log');
  const hubFd = fs.openSync(hubLog, 'a');
  const hubChild = spawn(process.execPath, [NATLENS, 'hub', '--store', `sqlite://${path.join(workDir, 'hub.db')}`, '--socket', hubSocket, '--host', '127.0.0.1', '--port', String(await freePort()), '--inventory', lab.inventory, '--log-level', 'warn'], {
    cwd: ROOT,
    env: { ...process.env, NATLENS_HUB_TOKENS: token },
    stdio: ['ignore', hubFd, hubFd],
  });
  fs.closeSync(hubFd);
  started.push({ name: 'hub', child: hubChild });
  for (const deadline = Date.now() + 120_000; ; await sleep(250)) {
    if (exited(hubChild)) throw new Error(`the hub exited (code ${hubChild.exitCode}): ${tail(hubLog)}`);
    if ((await apiGet(hubSocket, '/healthz', 2000).catch(() => undefined))?.status === 200) break;
    if (Date.now() > deadline) throw new Error(`the hub did not answer in 120 s: ${tail(hubLog)}`);
  }

  const runs: Json[] = [];
  let index = 0;
  for (let round_ = 0; round_ < opts.rounds; round_++) {
    for (const source of opts.sources) {
      for (const flagSet of opts.flagSets) runs.push(await measure({ lab, workDir, hubSocket, token, source, flagSet, opts, index: index++ }));
    }
  }

  const results = {
    bench: 'agent-memory',
    at: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, kernel: os.release(), node: process.version, loadAverage1m: round(os.loadavg()[0] ?? 0, 2) },
    lab: { topology: path.relative(ROOT, TOPOLOGY), node: NODE, client: CLIENT, entry: `${lab.nodes.find((n) => n.name === NODE)?.addresses[0]}:30080` },
    connections: opts.connections,
    holdSeconds: opts.holdSeconds,
    agentArgs: opts.agentArgs,
    target: { peakMB: TARGET_MB, met: Object.fromEntries(runs.map((r) => [`${r.source}/${r.nodeFlags}`, r.peakMB <= TARGET_MB])) },
    runs,
  };
  const out = [`agent-memory, ${results.machine.cpus} × ${results.machine.cpuModel}, kernel ${results.machine.kernel}, node ${process.version}; ${opts.connections} live connections held ${opts.holdSeconds} s`];
  out.push(`${'source / Node flags'.padEnd(24)} ${'ready'.padEnd(7)} ${'RSS@ready'.padEnd(10)} ${'peak held'.padEnd(10)} ${'peak end'.padEnd(9)} ${'node bin'.padEnd(9)} ${'BPF maps'.padEnd(9)} ${'anon'.padEnd(7)} ${'malloc'.padEnd(7)} ${'heap used/total'.padEnd(16)} agent CPU-s`);
  for (const r of runs) {
    const m = r.held.byMappingMB;
    out.push(`${`${r.source} / ${r.nodeFlags}`.padEnd(24)} ${`${r.readySeconds}s`.padEnd(7)} ${String(r.atReady.vmRssMB).padEnd(10)} ${String(r.held.vmHwmMB).padEnd(10)} ${String(r.afterClose.vmHwmMB).padEnd(9)} ${String(m.nodeBinary).padEnd(9)} ${String(m.bpfMaps).padEnd(9)} ${String(m.anonymous).padEnd(7)} ${String(m.mallocHeap).padEnd(7)} ${`${r.heapAtPeak.heapUsedMB}/${r.heapAtPeak.heapTotalMB}`.padEnd(16)} ${r.held.cpuSeconds}`);
  }
  for (const r of runs.filter((r) => r.liveHeapAtPeak)) {
    out.push(`${r.source} / ${r.nodeFlags}: live heap at the peak ${r.liveHeapAtPeak.liveMB} MB; by constructor: ${Object.entries(r.liveHeapAtPeak.byConstructor).slice(0, 10).map(([k, v]) => `${k} ${(v as { MB: number }).MB}`).join(', ')}`);
  }
  out.push(`MB (MiB); peak = VmHWM. Target ≤ ${TARGET_MB} MB: ${Object.entries(results.target.met).map(([k, v]) => `${k} ${v ? 'met' : 'NOT met'}`).join(', ')}`);
  process.stdout.write(`${out.join('\n')}\n`);
  fs.mkdirSync(path.dirname(RESULTS_FILE), { recursive: true });
  fs.writeFileSync(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(results)}\n`);
}

runBench('agent-memory', main);
