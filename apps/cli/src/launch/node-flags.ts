import { spawn } from 'node:child_process';
import { constants } from 'node:os';

/*
 * Node/V8 flags a command needs from the process it runs in. V8 reads its garbage collector's threading at start-up
 * (setting it later with v8.setFlagsFromString aborts the process at the next GC) and refuses these flags in
 * NODE_OPTIONS, so `natlens` starts itself again with them when they are missing: `node bin/natlens agent …`
 * becomes one small parent that forwards signals and the exit status, and the agent in a child. Launchers that
 * can pass them (the DaemonSet, the compose service, the demo, the benches) do, and no second process starts.
 *
 * The agent keeps a record and an identity for every connection the kernel holds (from NEW until DESTROY, up to
 * conntrack's 120 s TIME_WAIT timeout) and the last 10,000 records: at thousands of connections a second that is a
 * steady stream of objects promoted to V8's old generation, and garbage collection was most of its CPU
 * (bench/RESULTS.md, conntrack-events):
 * - --single-threaded-gc: V8's parallel and concurrent collectors on four helper threads spent as much CPU as the
 *   agent's own thread on a 2-vCPU node; one thread does the same work for less in total. Its pauses (a few ms per
 *   scavenge) are absorbed by the 32 MiB netlink receive buffer.
 * - --initial-old-space-size=128: V8 starts the old generation's limit small and grows it by full collections, each
 *   of which marks every live flow; starting at about twice the working set of ≈4,000 connections/s (≈60 MB) spares
 *   most of them. Peak RSS measured the same (≈250 MiB), as the heap reaches that size under load anyway.
 */
export const AGENT_NODE_FLAGS: readonly string[] = ['--single-threaded-gc', '--initial-old-space-size=128'];

/** Operators may replace the agent's flags (space-separated; empty for none). */
export const AGENT_NODE_FLAGS_ENV = 'NATLENS_AGENT_NODE_FLAGS';
/** Set in the relaunched child: a relaunch happens once, whatever the flags. */
export const RELAUNCHED_ENV = 'NATLENS_RELAUNCHED';

/** The Node flags `natlens <args>` wants for its process. */
export function nodeFlagsFor(args: readonly string[], env: NodeJS.ProcessEnv): string[] {
  if (args[0] !== 'agent') return [];
  const override = env[AGENT_NODE_FLAGS_ENV];
  if (override !== undefined) return override.split(/\s+/).filter(Boolean);
  return [...AGENT_NODE_FLAGS];
}

/**
 * The command line that starts `natlens <args>` again with the flags this process lacks, or undefined when it has
 * them all (or is itself a relaunch). A flag counts as present in either spelling V8 accepts (`--a-b`, `--a_b`).
 */
export function relaunchCommand(p: { execPath: string; execArgv: readonly string[]; script: string; args: readonly string[]; env: NodeJS.ProcessEnv }): string[] | undefined {
  if (p.env[RELAUNCHED_ENV] === '1') return undefined;
  const present = new Set(p.execArgv.map(normaliseFlag));
  const missing = nodeFlagsFor(p.args, p.env).filter((flag) => !present.has(normaliseFlag(flag)));
  if (missing.length === 0) return undefined;
  return [p.execPath, ...missing, ...p.execArgv, p.script, ...p.args];
}

function normaliseFlag(flag: string): string {
  const eq = flag.indexOf('=');
  const name = eq < 0 ? flag : flag.slice(0, eq);
  return name.replace(/_/g, '-') + (eq < 0 ? '' : flag.slice(eq));
}

const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/**
 * Starts the command line as a child with this process's stdio, forwards the signals an operator or a container
 * runtime sends, and ends this process as the child ended (same exit code, or same signal).
 */
export function relaunch(command: readonly string[]): void {
  const [file, ...rest] = command as [string, ...string[]];
  const child = spawn(file, rest, { stdio: 'inherit', env: { ...process.env, [RELAUNCHED_ENV]: '1' } });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
  child.on('error', (err) => {
    process.stderr.write(`natlens: could not start ${file} with its Node flags (${err.message}); set ${AGENT_NODE_FLAGS_ENV}="" to run without them\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    for (const s of FORWARDED_SIGNALS) process.off(s, forward);
    if (signal === null) process.exit(code ?? 1);
    // End as the child did; a signal Node itself handles (SIGUSR1 opens the inspector) would not end us, hence the exit.
    process.kill(process.pid, signal);
    setTimeout(() => process.exit(128 + (constants.signals[signal] ?? 0)), 100);
  });
}

/**
 * In a relaunched child: when the parent is gone (killed with SIGKILL, which it cannot forward), end gracefully
 * rather than run on unsupervised. Linux's PR_SET_PDEATHSIG is not reachable from Node, so the parent id is polled.
 */
export function endWithParent(env: NodeJS.ProcessEnv, intervalMs = 1000): void {
  if (env[RELAUNCHED_ENV] !== '1') return;
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    process.kill(process.pid, 'SIGTERM');
  }, intervalMs);
  timer.unref();
}
