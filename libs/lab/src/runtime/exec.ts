import { execFile } from 'node:child_process';

export class CommandError extends Error {
  constructor(
    readonly command: string[],
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(`command failed (${exitCode ?? 'signal'}): ${command.join(' ')}\n${stderr.trim()}`);
    this.name = 'CommandError';
  }
}

export interface RunOptions {
  input?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

/** Runs a program (never through a shell) and returns its stdout; a non-zero exit throws with stderr attached. */
export function run(command: string[], options: RunOptions = {}): Promise<string> {
  const [program, ...args] = command;
  if (!program) throw new Error('run: empty command');
  return new Promise((resolve, reject) => {
    const child = execFile(
      program,
      args,
      { timeout: options.timeoutMs ?? 60_000, env: options.env, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err) {
          const code = typeof (err as NodeJS.ErrnoException).code === 'number' ? Number((err as NodeJS.ErrnoException).code) : null;
          reject(new CommandError(command, code, stderr || err.message));
        } else resolve(stdout);
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** Runs a program inside a network namespace (ip-netns(8) `exec`). */
export function runIn(netns: string, command: string[], options: RunOptions = {}): Promise<string> {
  return run(['ip', 'netns', 'exec', netns, ...command], options);
}
