import { spawn } from 'node:child_process';
import { existsSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, tsEntryArgs, tsEntryEnv } from './repo-root';
import { run } from './exec';

/**
 * The lab's processes: in the compiled build (this code bundled into dist/apps/cli) `lab-daemon.js` beside the bundle,
 * plain JavaScript; from the sources, daemons/main.ts through SWC.
 */
const COMPILED_DAEMON = join(__dirname, 'lab-daemon.js');
const daemonArgs = (): string[] => (existsSync(COMPILED_DAEMON) ? [COMPILED_DAEMON] : tsEntryArgs(join(__dirname, '..', 'daemons', 'main.ts')));

export type DaemonRole = 'echo' | 'health' | 'load-balancer';

/** Starts a lab process inside a namespace, detached from us, logging to a file; returns its pid. */
export function launchDaemon(netns: string, role: DaemonRole, config: object, logFile: string): number {
  const log = openSync(logFile, 'a');
  const child = spawn('ip', ['netns', 'exec', netns, process.execPath, ...daemonArgs(), role, JSON.stringify(config)], {
    cwd: repoRoot(),
    env: tsEntryEnv(),
    detached: true,
    stdio: ['ignore', log, log],
  });
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start the ${role} process in ${netns}`);
  return child.pid;
}

/** Runs a one-shot lab process (the traffic generator) inside a namespace and returns its JSON answer. */
export async function runOnce<T>(netns: string, role: 'traffic', config: object, timeoutMs: number): Promise<T> {
  const out = await run(['ip', 'netns', 'exec', netns, process.execPath, ...daemonArgs(), role, JSON.stringify(config)], {
    timeoutMs,
    env: tsEntryEnv(),
  });
  return JSON.parse(out) as T;
}

export async function waitForFiles(files: string[], timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const missing = files.filter((f) => !existsSync(f));
    if (missing.length === 0) return;
    if (Date.now() > deadline) {
      throw new Error(`${what}: ${missing.length} of ${files.length} processes did not become ready within ${timeoutMs} ms (first: ${missing[0]}); see the logs beside it`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
