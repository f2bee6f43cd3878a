/*
 * A `natlens agent` started by a benchmark inside a network namespace, as the launchers start it (the DaemonSet and
 * the compose service put the agent's Node flags on node's command line, so the PID spawned is the agent's own), and
 * the wait until it is ready.
 *
 * Ready: the agent's GET /readyz answers 200 where the agent has that endpoint; an agent without it (404) is ready
 * when GET /healthz answers and every source asked for reports itself attached: the eBPF source's `attached` hooks
 * are listed, the conntrack source has finished its first table dump (`lastDump`); and the cluster metadata is loaded.
 */
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AGENT_NODE_FLAGS, AGENT_NODE_FLAGS_ENV } from '../../apps/cli/src/launch/node-flags';
import { apiGet } from './agent-api';
import { cmdline, netnsInode, readProcStat } from './proc-stats';
import { NATLENS, exited, sleep, spawnInNetns, tail } from './processes';

export type AgentSource = 'ebpf' | 'conntrack';

/** The agent's Node flags as shipped (apps/cli/src/launch/node-flags.ts), or none. */
export const NODE_FLAG_SETS: Readonly<Record<'shipped' | 'none', readonly string[]>> = { shipped: AGENT_NODE_FLAGS, none: [] };

export interface AgentUnderTest {
  pid: number;
  child: ChildProcess;
  socket: string;
  logFile: string;
  /** process.hrtime.bigint() just before the spawn */
  spawnedAt: bigint;
  /** the command line, for the results */
  command: string;
}

export interface StartAgent {
  netns: string;
  /** `natlens agent` arguments, without --api-socket */
  args: readonly string[];
  nodeFlags: readonly string[];
  workDir: string;
  name: string;
  env?: NodeJS.ProcessEnv;
}

export function startAgentInNetns(o: StartAgent): AgentUnderTest {
  const socket = path.join(o.workDir, `${o.name}.sock`);
  const logFile = path.join(o.workDir, `${o.name}.log`);
  fs.rmSync(socket, { force: true });
  const argv = [process.execPath, ...o.nodeFlags, NATLENS, 'agent', ...o.args, '--api-socket', socket];
  // The same flags in the environment: `natlens` then sees nothing missing and does not start itself again.
  const env = { ...process.env, ...o.env, [AGENT_NODE_FLAGS_ENV]: o.nodeFlags.join(' ') };
  const spawnedAt = process.hrtime.bigint();
  const s = spawnInNetns(o.netns, o.name, argv, logFile, logFile, env);
  const shown = argv.map((a) => (a === NATLENS ? 'bin/natlens' : a === process.execPath ? 'node' : a)).join(' ');
  return { pid: s.pid, child: s.child, socket, logFile, spawnedAt, command: `ip netns exec ${o.netns} ${shown}` };
}

/**
 * Waits for `ip netns exec` to exec node in the namespace, and checks that the PID is the agent itself (no relaunched
 * child), so what /proc says of it is the agent's.
 */
export async function verifyAgentProcess(agent: AgentUnderTest, netns: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((readProcStat(agent.pid)?.comm === 'ip' || cmdline(agent.pid) === '') && !exited(agent.child) && Date.now() < deadline) await sleep(5);
  if (exited(agent.child)) throw new Error(`the agent exited at once (code ${agent.child.exitCode}); log:\n${tail(agent.logFile)}`);
  const comm = readProcStat(agent.pid)?.comm;
  const inNetns = netnsInode(`/proc/${agent.pid}/ns/net`) === netnsInode(`/run/netns/${netns}`);
  if (comm !== 'node' || !cmdline(agent.pid).includes(' agent') || !inNetns) {
    throw new Error(`pid ${agent.pid} is not the agent in ${netns} (comm ${comm}, in the namespace: ${inNetns}): ${cmdline(agent.pid)}`);
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Health = any;

export interface Readiness {
  /** spawn → the local API's first answer */
  apiSeconds: number;
  /** spawn → ready */
  readySeconds: number;
  via: '/readyz' | '/healthz';
  health: Health;
}

function attached(health: Health, source: AgentSource): boolean {
  const status = health?.sources?.[source];
  if (source === 'ebpf') return Array.isArray(status?.attached) && status.attached.length > 0;
  return status?.lastDump !== undefined && status?.lastDump !== null;
}

export async function waitUntilReady(agent: AgentUnderTest, sources: readonly AgentSource[], timeoutMs: number, pollMs = 20): Promise<Readiness> {
  const deadline = Date.now() + timeoutMs;
  const since = (t: bigint) => Number(t - agent.spawnedAt) / 1e9;
  let apiAt: bigint | undefined;
  let hasReadyz = true;
  for (;;) {
    if (exited(agent.child)) throw new Error(`the agent exited (code ${agent.child.exitCode}); log:\n${tail(agent.logFile)}`);
    const res = await apiGet(agent.socket, hasReadyz ? '/readyz' : '/healthz', 2000).catch(() => undefined);
    const now = process.hrtime.bigint();
    if (res) apiAt ??= now;
    if (res && hasReadyz && res.status === 404) hasReadyz = false;
    else if (res && hasReadyz && res.status === 200) {
      const health = JSON.parse((await apiGet(agent.socket, '/healthz')).body) as Health;
      return { apiSeconds: since(apiAt ?? now), readySeconds: since(now), via: '/readyz', health };
    } else if (res && !hasReadyz && res.status === 200) {
      const health = JSON.parse(res.body) as Health;
      const fallback = health?.sources?.conntrack?.selectedBecause;
      if (sources.includes('ebpf') && fallback) throw new Error(`the eBPF source did not load (${fallback}); this machine cannot measure it`);
      if (health?.status === 'ok' && health?.cluster?.ready !== false && sources.every((s) => attached(health, s))) {
        return { apiSeconds: since(apiAt ?? now), readySeconds: since(now), via: '/healthz', health };
      }
    }
    if (Date.now() > deadline) throw new Error(`the agent was not ready after ${timeoutMs / 1000} s; log:\n${tail(agent.logFile)}`);
    await sleep(pollMs);
  }
}
