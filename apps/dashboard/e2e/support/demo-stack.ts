import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

/*
 * `natlens demo` as the browser tests' fixture: a real lab, one agent per node, the hub and the dashboard (built by
 * the demo when its build is missing or stale), on free ports under a unique lab name so runs can share a host.
 */
export const ROOT = join(__dirname, '..', '..', '..', '..');
const BIN = join(ROOT, 'bin', 'natlens');

export interface DemoStack {
  name: string;
  hubUrl: string;
  token: string;
  /** The hub read token the demo prints for signing in to the dashboard. */
  readToken: string;
  dashboardUrl: string;
  output(): string;
  stop(): Promise<void>;
}

export function uniqueName(prefix: string): string {
  return `${prefix}${randomBytes(3).toString('hex')}`;
}

export async function startDemo(name: string, timeoutMs = 240_000): Promise<DemoStack> {
  const child: ChildProcess = spawn(process.execPath, [BIN, 'demo', '--name', name, '--hub-port', '0', '--dashboard-port', '0', '--connections-per-tick', '6'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' },
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => (out = (out + chunk.toString()).slice(-200_000)));
  child.stderr?.on('data', (chunk: Buffer) => (err = (err + chunk.toString()).slice(-50_000)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGINT');
      const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(killer);
    }
    // whatever happened to the demo, leave no lab behind
    spawnSync(process.execPath, [BIN, 'lab', 'down', name], { cwd: ROOT, stdio: 'ignore' });
  };
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const hub = /hub API:\s+(http:\/\/\S+)\s+\(token: export NATLENS_HUB_TOKEN=(\w+)\)/.exec(out);
      const readToken = /read token \(dashboard sign-in\): (\w+)/.exec(out)?.[1];
      const dashboard = /dashboard: (http:\/\/\S+?)\/services/.exec(out);
      if (hub?.[1] && hub[2] && readToken && dashboard?.[1]) return { name, hubUrl: hub[1], token: hub[2], readToken, dashboardUrl: dashboard[1], output: () => out, stop };
      if (child.exitCode !== null) throw new Error(`natlens demo exited (${child.exitCode}):\n${out}\n${err.slice(-3000)}`);
      if (/the dashboard did not start/.test(err)) throw new Error(`the demo's dashboard did not start:\n${err.slice(-3000)}`);
      if (Date.now() > deadline) throw new Error(`natlens demo printed no hub and dashboard URL within ${timeoutMs / 1000} s:\n${out.slice(-2000)}\n${err.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  } catch (e) {
    await stop();
    throw e;
  }
}

/** GET from the hub with the demo's token; throws on an error status. */
export async function hubGet<T>(stack: Pick<DemoStack, 'hubUrl' | 'token'>, path: string): Promise<T> {
  const res = await fetch(`${stack.hubUrl}${path}`, { headers: { Authorization: `Bearer ${stack.token}` } });
  const body = (await res.json()) as T;
  if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
