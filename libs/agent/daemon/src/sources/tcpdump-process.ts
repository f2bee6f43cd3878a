import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { CaptureProcess } from './capture.source';

/** Where tcpdump is, or an error that says how to get it. Checked at boot so a missing binary stops the agent clearly. */
export function findTcpdump(pathVariable = process.env['PATH'] ?? '', alsoIn = ['/usr/sbin', '/usr/bin', '/sbin']): string {
  for (const dir of [...pathVariable.split(delimiter), ...alsoIn]) {
    if (!dir) continue;
    const candidate = join(dir, 'tcpdump');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  throw new Error("the pcap source needs tcpdump, which is not installed: install it (apt-get install tcpdump) or leave 'pcap' out of --source");
}

/** The real tcpdump, as a child process. */
export function spawnTcpdump(binary: string): (args: string[]) => CaptureProcess {
  return (args) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    return {
      stdout: child.stdout,
      stderr: child.stderr,
      onExit: (listener) => child.on('exit', listener),
      onError: (listener) => child.on('error', listener),
      kill: () => child.kill('SIGTERM'),
    };
  };
}
