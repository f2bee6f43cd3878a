/*
 * One whole process, timed from outside: wall time from spawn to exit (measured here) and the operating system's own
 * accounting of the finished process (user and system CPU, peak resident set from wait4's ru_maxrss) as GNU time
 * (Debian package `time`, installed by scripts/setup.sh) reports it.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const GNU_TIME = '/usr/bin/time';

export interface ProcessRun {
  wallSeconds: number;
  userSeconds: number;
  systemSeconds: number;
  /** ru_maxrss of the process (GNU time's %M), KiB. */
  maxRssKb: number;
  exitCode: number | null;
}

export function requireGnuTime(): void {
  if (!fs.existsSync(GNU_TIME)) throw new Error(`${GNU_TIME} is missing: apt-get install -y time (scripts/setup.sh installs it)`);
}

/** Runs `argv` once under GNU time, its output discarded. */
export function timeProcess(argv: readonly string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<ProcessRun> {
  const report = path.join(os.tmpdir(), `natlens-bench-time-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.txt`);
  return new Promise((resolve, reject) => {
    const startedAt = process.hrtime.bigint();
    const child = spawn(GNU_TIME, ['-o', report, '-f', '%U %S %M', ...argv], { cwd: options.cwd, env: options.env ?? process.env, stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (code) => {
      const wallSeconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
      clearTimeout(timer);
      try {
        // GNU time writes "Command exited with non-zero status N" first when the command failed
        const last = fs.readFileSync(report, 'utf8').trim().split('\n').pop() ?? '';
        const [user, system, maxRss] = last.split(' ').map(Number);
        if (![user, system, maxRss].every((n) => Number.isFinite(n))) throw new Error(`unexpected GNU time report: ${last}`);
        resolve({ wallSeconds, userSeconds: user as number, systemSeconds: system as number, maxRssKb: maxRss as number, exitCode: code });
      } catch (err) {
        reject(err);
      } finally {
        fs.rmSync(report, { force: true });
      }
    });
  });
}
