import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/*
 * A real nats-server with JetStream for tests and benchmarks (Debian package nats-server): a free port, a temporary
 * store directory, stopped by its PID. `restart()` keeps the port and the store, as a server upgrade would.
 */
export interface TestNatsServer {
  readonly url: string;
  readonly port: number;
  readonly storeDir: string;
  readonly pid: number | undefined;
  /** SIGTERM (JetStream flushes its store) or SIGKILL, then wait for the process to exit. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  start(): Promise<void>;
  restart(): Promise<void>;
  /** Stops the server and deletes its store; safe to call twice. */
  dispose(): Promise<void>;
}

export function natsServerInstalled(): boolean {
  return spawnSync('nats-server', ['--version'], { encoding: 'utf8' }).status === 0;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export interface TestNatsServerOptions {
  /**
   * More server configuration (an `authorization { … }` block, a `tls { … }` block): the server then starts from a
   * configuration file holding these lines after the port and JetStream settings.
   */
  readonly config?: string;
  /** More environment for the server (the configuration may read $VARIABLES from it). */
  readonly env?: Record<string, string>;
}

export async function startTestNatsServer(options: TestNatsServerOptions = {}): Promise<TestNatsServer> {
  if (!natsServerInstalled()) throw new Error('nats-server is not installed: apt-get install -y nats-server');
  const storeDir = mkdtempSync(join(tmpdir(), 'natlens-nats-'));
  const port = await freePort();
  let args = ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir, '-n', `natlens-test-${port}`];
  if (options.config !== undefined) {
    const file = join(storeDir, 'nats-server.conf');
    writeFileSync(file, `listen: "127.0.0.1:${port}"\nserver_name: "natlens-test-${port}"\njetstream { store_dir: ${JSON.stringify(join(storeDir, 'js'))} }\n${options.config}\n`, { mode: 0o600 });
    args = ['-c', file];
  }
  let child: ChildProcess | undefined;
  let output = '';

  const start = async () => {
    if (child) return;
    output = '';
    const proc = spawn('nats-server', args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
    child = proc;
    proc.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    proc.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    proc.once('exit', () => {
      if (child === proc) child = undefined;
    });
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (!child) throw new Error(`nats-server exited at start:\n${output.slice(-2000)}`);
      if (/Server is ready/.test(output) && (await portAnswers(port))) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`nats-server did not become ready within 15 s:\n${output.slice(-2000)}`);
  };

  const stop = async (signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM') => {
    const proc = child;
    if (!proc || proc.exitCode !== null) {
      child = undefined;
      return;
    }
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    child = undefined;
  };

  try {
    await start();
  } catch (err) {
    await stop('SIGKILL');
    rmSync(storeDir, { recursive: true, force: true });
    throw err;
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    get pid() {
      return child?.pid;
    },
    stop,
    start,
    restart: async () => {
      await stop('SIGTERM');
      await start();
    },
    dispose: async () => {
      await stop('SIGKILL');
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}
