/*
 * Test fixtures for suites that run against the real kernel: a lab per suite with a unique name, removed after the
 * suite even when it fails; binomial share tolerances; golden rule files (iptables-save, or `nft list ruleset` in
 * kube-proxy's nftables mode).
 */
import { ZONE_NFT_TABLE } from './cni/conntrack-zone';
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { labDown, labTraffic, labTruth, labUp, LabSummary, TrafficOptions } from './lab';
import { waitForAgentsReady } from './runtime/agent-readiness';
import { readState } from './runtime/lab-state';
import { listRuleset, saveRules } from './runtime/network-builder';
import { repoRoot } from './runtime/repo-root';
import { runIn } from './runtime/exec';
import { parseTopology } from './topology/load-topology';
import { PodTruth } from './truth/ground-truth';
import type { IptablesFlavour } from './runtime/lab-state';
import type { ProxyMode } from './topology/topology.schema';

/** Both of kube-proxy's modes, for suites that run every example in each (`describe.each(PROXY_MODES)`). */
export const PROXY_MODES: readonly ProxyMode[] = ['iptables', 'nftables'];

export const EXAMPLES_DIR = join(repoRoot(), 'examples');

export function exampleTopology(file: string, name?: string) {
  const topology = parseTopology(readFileSync(join(EXAMPLES_DIR, file), 'utf8'), file);
  return name ? { ...topology, name } : topology;
}

/** `t<5 random chars>-<base>`: unique per run, so parallel runs and leftovers from a crashed one never collide. */
export function uniqueLabName(base: string): string {
  return `t${randomBytes(3).toString('hex').slice(0, 5)}-${base}`.slice(0, 24).replace(/-+$/, '');
}

export interface LabHandle {
  name: string;
  summary: LabSummary;
  traffic(options: Omit<TrafficOptions, 'via'> & { via: TrafficOptions['via'] }): ReturnType<typeof labTraffic>;
  /** Ground truth of the requests made since `since` (ms). */
  truth(since: number): PodTruth[];
}

/** Builds the example's lab before the suite and removes it after, whatever happened in between. */
export function useLab(exampleFile: string, options: { iptables?: IptablesFlavour; proxyMode?: ProxyMode; healthCheckIntervalMs?: number } = {}): LabHandle {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error('lab tests build network namespaces: run them as root (the README test command does)');
  }
  const topology = exampleTopology(exampleFile);
  const name = uniqueLabName(topology.name);
  const handle = {
    name,
    summary: undefined as unknown as LabSummary,
    traffic: (opts: TrafficOptions) => labTraffic(name, opts),
    truth: (since: number) => labTruth(name, since),
  };
  beforeAll(async () => {
    handle.summary = await labUp({ ...topology, name }, options);
  }, 60_000);
  afterAll(async () => {
    await labDown(name);
  }, 60_000);
  return handle;
}

/**
 * Allowed distance of an observed share from p after n independent trials: 5 standard deviations of the binomial
 * share, sqrt(p(1-p)/n). A correct lab fails it with probability below 1e-6 per check; for n = 1200 it is ±0.054
 * around 1/6 and ±0.072 around 1/2, which still tells 16.7% from 25% or 50% apart.
 */
export function shareTolerance(p: number, n: number, sigmas = 5): number {
  return sigmas * Math.sqrt((p * (1 - p)) / n);
}

export function expectShare(count: number, n: number, p: number): void {
  const share = count / n;
  const tolerance = shareTolerance(p, n);
  if (Math.abs(share - p) > tolerance) {
    throw new Error(`share ${share.toFixed(3)} (${count}/${n}) is further than ${tolerance.toFixed(3)} from the expected ${p.toFixed(3)}`);
  }
}

export function connectionsPerPod(truth: PodTruth[]): Record<string, number> {
  return Object.fromEntries(truth.map((p) => [p.pod, Object.values(p.seen).reduce((a, b) => a + b, 0)]));
}

export function seenAddresses(truth: PodTruth[]): Set<string> {
  return new Set(truth.flatMap((p) => Object.keys(p.seen)));
}

/**
 * iptables-save output without what changes from run to run: header comments, counters, and the order of the tables
 * (iptables-nft prints filter first, iptables-legacy nat first).
 */
export function normalizeIptablesSave(text: string): string {
  const tables: string[] = [];
  let current: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    current.push(line.replace(/\[\d+:\d+\]$/, '[0:0]'));
    if (line === 'COMMIT') {
      tables.push(current.join('\n'));
      current = [];
    }
  }
  return `${tables.sort().join('\n')}\n`;
}

/**
 * `nft list ruleset` without what the kernel may list in any order: the elements of a set or map (and of an inline
 * verdict map) are sorted, and a set's elements, which nft wraps over several lines, are put on one.
 */
export function normalizeNftRuleset(text: string): string {
  const lines: string[] = [];
  const lineList = text.split('\n');
  for (let i = 0; i < lineList.length; i++) {
    let line = lineList[i] as string;
    const open = (l: string) => (l.match(/\{/g) ?? []).length - (l.match(/\}/g) ?? []).length;
    if (/elements = \{/.test(line)) {
      while (open(line) > 0 && i + 1 < lineList.length) line = `${line} ${(lineList[++i] as string).trim()}`;
    }
    lines.push(line.replace(/\{ ([^{}]*, [^{}]*) \}/g, (_, items: string) => `{ ${items.split(/,\s+/).sort().join(', ')} }`));
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

/** Whether golden files may be written: only when asked, never by accident (a missing file is a failure). */
function goldenUpdate(): boolean {
  return process.env['UPDATE_GOLDEN'] === '1';
}

function expectGoldenFile(file: string, actual: string): void {
  if (goldenUpdate()) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, actual);
  } else if (!existsSync(file)) {
    throw new Error(`golden file ${file} is missing; run the test once with UPDATE_GOLDEN=1, review it and commit it`);
  }
  expect(actual).toBe(readFileSync(file, 'utf8'));
}

/**
 * Compares every node's live rules with the example's golden files: `examples/golden/<example>/<node>.iptables-save`
 * in kube-proxy's iptables mode, `<node>.nft` (`nft list ruleset`) in its nftables mode, where the node must also hold
 * no iptables rule at all: its only nftables table is kube-proxy's, and `iptables-save` shows no KUBE- chain.
 * UPDATE_GOLDEN=1 rewrites the files (review the diff before committing it).
 */
export async function expectGoldenRules(labName: string, example: string): Promise<void> {
  const state = readState(labName);
  const dir = join(EXAMPLES_DIR, 'golden', example);
  const mode = state.lab.kubeProxy?.mode ?? 'iptables';
  for (const node of state.lab.nodes) {
    const netns = state.netns.nodes[node.name] as string;
    if (mode === 'iptables') {
      expectGoldenFile(join(dir, `${node.name}.iptables-save`), normalizeIptablesSave(await saveRules(netns, state.iptables)));
      continue;
    }
    const ruleset = await listRuleset(netns);
    // kube-proxy's table, and the lab's CNI zone table on a node that has one (libs/lab/src/cni), nothing else
    const tables = node.conntrackZone === undefined ? ['ip kube-proxy'] : ['ip kube-proxy', `ip ${ZONE_NFT_TABLE}`];
    expect([...ruleset.matchAll(/^table (\S+ \S+)/gm)].map((m) => m[1]).sort()).toEqual(tables.sort());
    for (const table of ['nat', 'filter'] as const) expect(await saveRules(netns, 'nft', table)).not.toMatch(/KUBE-/);
    expectGoldenFile(join(dir, `${node.name}.nft`), normalizeNftRuleset(ruleset));
  }
}

/**
 * A node's conntrack statistics summed over its CPUs, as `conntrack -S` prints them (`cpu=0 found=0 invalid=0 …`
 * per CPU): the same counters ctnetlink's IPCTNL_MSG_CT_GET_STATS_CPU gives the agent, read here independently.
 */
export async function conntrackStats(labName: string, node: string): Promise<Record<string, number>> {
  const out = await runIn(readState(labName).netns.nodes[node] as string, ['conntrack', '-S']);
  const sums: Record<string, number> = {};
  for (const [, key, value] of out.matchAll(/\b(\w+)=(\d+)/g)) {
    if (key === 'cpu') continue;
    sums[key as string] = (sums[key as string] ?? 0) + Number(value);
  }
  return sums;
}

/** How much each counter grew between two conntrackStats readings. */
export function statsDelta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([key, value]) => [key, value - (before[key] ?? 0)]));
}

export interface AgentProcess {
  node: string;
  apiSocket: string;
  process: ChildProcess;
  log: () => string;
}

/**
 * `natlens agent` inside a lab node's namespace, as an operator would start it; resolves once it is ready (/readyz:
 * every source observes, cluster metadata loaded), so traffic sent next is recorded.
 */
export async function startLabAgent(options: { netns: string; node: string; inventory: string; hub: string; workDir: string; extraArgs?: string[] }): Promise<AgentProcess> {
  const apiSocket = join(options.workDir, `agent-${options.node}.sock`);
  let output = '';
  const child = spawn(
    'ip',
    [
      'netns', 'exec', options.netns, process.execPath, join(repoRoot(), 'bin', 'natlens'), 'agent',
      '--node', options.node,
      '--inventory', options.inventory,
      '--hub', options.hub,
      '--api-socket', apiSocket,
      '--spool-dir', join(options.workDir, `spool-${options.node}`),
      '--flush-interval-ms', '300',
      '--enable-accounting',
      '--log-level', 'warn',
      ...(options.extraArgs ?? []),
    ],
    { cwd: repoRoot(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  try {
    await waitForAgentsReady([{ node: options.node, apiSocket, failed: () => (child.exitCode !== null ? `it exited (${child.exitCode}): ${output}` : undefined) }], { timeoutMs: 60_000 });
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\nagent output:\n${output}`);
  }
  return { node: options.node, apiSocket, process: child, log: () => output };
}

export async function stopAgent(agent: AgentProcess): Promise<void> {
  if (agent.process.exitCode !== null) return;
  const exited = new Promise((resolve) => agent.process.once('exit', resolve));
  agent.process.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 5000)))]);
  clearTimeout(timer);
  if (agent.process.exitCode === null) agent.process.kill('SIGKILL');
}

export function getJson(socketPath: string, path: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        if ((res.statusCode ?? 500) >= 400) reject(new Error(`${path}: HTTP ${res.statusCode} ${body}`));
        else resolve(path === '/metrics' ? body : JSON.parse(body));
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Waits until every agent has seen a load balancer health-check its node (its /healthz lists the prober's address):
 * only then can it tell the load balancer's node-port deliveries from direct hits (libs/shared/analysis entry.ts).
 * The lab's load balancer probes every node every second.
 */
export async function waitForHealthCheckProbers(agents: AgentProcess[], timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const seen = await Promise.all(agents.map(async (agent) => ((await getJson(agent.apiSocket, '/healthz')) as { healthCheckProbers?: string[] }).healthCheckProbers ?? []));
    if (seen.every((probers) => probers.length > 0)) return;
    if (Date.now() > deadline) throw new Error(`an agent saw no health check of its node within ${timeoutMs} ms: ${JSON.stringify(seen)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export { readState };
export { runIn };
