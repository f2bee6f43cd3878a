/*
 * Processes a benchmark starts and must stop (by their own PID, never by name): the `natlens` command line, and
 * observers started inside a lab namespace with `ip netns exec` (which execs, so the PID is the observer's own).
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { nodeFlagsFor } from '../../apps/cli/src/launch/node-flags';

export const ROOT = path.resolve(__dirname, '..', '..');
export const NATLENS = path.join(ROOT, 'bin', 'natlens');

/**
 * `node <the agent's Node flags> bin/natlens agent …`: with the flags on the command line `natlens` does not start
 * itself again (apps/cli/src/launch/node-flags.ts), so the PID spawned is the agent's own, the one to measure.
 */
export function agentCommandLine(args: readonly string[], extraNodeFlags: readonly string[] = []): string[] {
  return [process.execPath, ...nodeFlagsFor(['agent'], process.env), ...extraNodeFlags, NATLENS, ...args];
}

const t0 = Date.now();
export function log(message: string): void {
  process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${message}\n`);
}
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));
export const round = (n: number, digits = 3) => Number(n.toFixed(digits));

export interface Started {
  name: string;
  child: ChildProcess;
}
export const started: Started[] = [];

export function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

export async function stopChild(s: Started, graceMs: number): Promise<void> {
  const { child } = s;
  if (child.pid === undefined || exited(child)) return;
  child.kill('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (!exited(child) && Date.now() < deadline) await sleep(50);
  if (!exited(child)) {
    log(`${s.name} (pid ${child.pid}) ignored SIGTERM; SIGKILL`);
    child.kill('SIGKILL');
  }
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `node bin/natlens ...`, collected; the child is tracked so a signal stops it. */
export function natlens(args: string[], timeoutMs: number, track = true): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [NATLENS, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const entry: Started = { name: `natlens ${args.slice(0, 2).join(' ')}`, child };
    if (track) started.push(entry);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      log(`natlens ${args.join(' ')}: no answer after ${timeoutMs} ms; stopping it`);
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const i = started.indexOf(entry);
      if (i >= 0) started.splice(i, 1);
      resolve({ code, stdout, stderr });
    });
  });
}

export function lastJsonLine<T>(text: string, what: string): T {
  const lines = text.trim().split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]?.trim() ?? '';
    if (line.startsWith('{') || line.startsWith('[')) return JSON.parse(line) as T;
  }
  throw new Error(`${what}: no JSON in its output:\n${text.slice(-2000)}`);
}

/** Starts `argv` inside a network namespace, output to files; tracked for cleanup. */
export function spawnInNetns(netns: string, name: string, argv: string[], out: string, err: string, env: NodeJS.ProcessEnv = process.env): Started & { pid: number; outFile: string; errFile: string } {
  const outFd = fs.openSync(out, 'a');
  const errFd = out === err ? outFd : fs.openSync(err, 'a');
  const child = spawn('ip', ['netns', 'exec', netns, ...argv], { cwd: ROOT, env, stdio: ['ignore', outFd, errFd] });
  fs.closeSync(outFd);
  if (errFd !== outFd) fs.closeSync(errFd);
  if (child.pid === undefined) throw new Error(`could not start ${name}`);
  const s = { name, child };
  started.push(s);
  return { ...s, pid: child.pid, outFile: out, errFile: err };
}

export function tail(file: string | undefined, bytes = 3000): string {
  if (!file) return '';
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.slice(-bytes);
  } catch {
    return '';
  }
}
