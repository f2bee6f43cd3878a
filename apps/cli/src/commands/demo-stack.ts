import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { LabState } from '@natlens/lab';
import { labDir, waitForAgentsReady } from '@natlens/lab';
import type { Logger } from 'pino';
import { nodeFlagsFor } from '../launch/node-flags';

/*
 * What the demo runs beside the lab: the hub (SQLite, in this process, also on a Unix socket inside the lab's
 * directory) and one `natlens agent` per lab node, inside that node's namespace, sending to the hub's socket —
 * agents reach the hub without any change to the host's network.
 */
const BIN = join(__dirname, '..', '..', '..', '..', 'bin', 'natlens');
/** An agent loads its eBPF program (or dumps conntrack) and reads the inventory within seconds; this is the outer bound. */
const AGENTS_READY_TIMEOUT_MS = 120_000;

export interface DemoStack {
  hubUrl: string;
  token: string;
  /** A read-only hub token: what the dashboard uses. */
  readToken: string;
  /** Builds the dashboard if its build is missing or older than its sources, runs `next start`; resolves to its URL. */
  startDashboard(options: { port: number }): Promise<string>;
  close(): Promise<void>;
}

export async function startDemoStack(state: LabState, options: { hubPort: number; agentSource?: string; log: Logger }): Promise<DemoStack> {
  const dir = labDir(state.name);
  const token = randomBytes(24).toString('hex');
  const readToken = randomBytes(24).toString('hex');
  const tokenFile = join(dir, 'hub-token');
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  const socket = join(dir, 'hub.sock');
  // Loaded by path: the hub is an app of its own, and only the demo and `natlens hub` need it.
  const hubApp = (await import(join(__dirname, '..', '..', '..', 'hub', 'src', 'main'))) as typeof import('../../../hub/src/main');
  const config = hubApp.hubConfigSchema.parse({
    store: `sqlite://${join(dir, 'natlens.db')}`,
    port: options.hubPort,
    host: '127.0.0.1',
    socket,
    inventory: join(dir, 'inventory.json'),
    ingestTokens: [token],
    readTokens: [readToken],
    logLevel: 'warn',
  });
  const hub = await hubApp.startHub(config);
  const agentLog = (node: string) => join(dir, 'logs', `agent-${node}.log`);
  const agentSocket = (node: string) => join(dir, 'run', `agent-${node}.sock`);
  const agents: ChildProcess[] = state.lab.nodes.map((node) => {
    const log = openSync(agentLog(node.name), 'a');
    const args = [
      'netns', 'exec', state.netns.nodes[node.name] as string, process.execPath, ...nodeFlagsFor(['agent'], process.env), BIN, 'agent',
      '--node', node.name,
      '--inventory', join(dir, 'inventory.json'),
      '--hub', `unix:${socket}`,
      '--hub-token-file', tokenFile,
      '--api-socket', agentSocket(node.name),
      '--spool-dir', join(dir, 'spool', node.name),
      '--flush-interval-ms', '1000',
      '--enable-accounting',
      ...(options.agentSource ? ['--source', options.agentSource] : []),
    ];
    const child = spawn('ip', args, { stdio: ['ignore', log, log] });
    closeSync(log);
    return child;
  });
  // Announced only once every agent observes (its /readyz): traffic sent before that would not be recorded.
  try {
    await waitForAgentsReady(
      state.lab.nodes.map((node, i) => ({
        node: node.name,
        apiSocket: agentSocket(node.name),
        failed: () => {
          const child = agents[i];
          return child && (child.exitCode !== null || child.signalCode !== null) ? `it exited (${child.exitCode ?? child.signalCode}); ${agentLog(node.name)}:\n${tail(agentLog(node.name))}` : undefined;
        },
      })),
      { timeoutMs: AGENTS_READY_TIMEOUT_MS },
    );
  } catch (err) {
    for (const agent of agents) agent.kill('SIGTERM');
    await hub.close();
    throw err;
  }
  options.log.info({ hub: hub.url, agents: agents.length }, 'hub and agents ready: every agent observes');
  const dashboard = new DashboardProcess(join(dir, 'logs'), options.log);
  return {
    hubUrl: hub.url,
    token,
    readToken,
    startDashboard: ({ port }) => dashboard.start({ port, hubUrl: hub.url, hubToken: readToken, importToken: token }),
    close: async () => {
      for (const agent of agents) agent.kill('SIGTERM');
      await dashboard.stop();
      await hub.close();
    },
  };
}

/*
 * The dashboard (apps/dashboard, Next.js) as a child process: `next build` when needed, then `next start` with the
 * hub's URL and a read token in its environment. Both run as `node <next's own bin>` so the child PID is Next itself:
 * killing an npx wrapper would leave the port held.
 */
const DASHBOARD_DIR = join(__dirname, '..', '..', '..', 'dashboard');
const NEXT_BIN = join(__dirname, '..', '..', '..', '..', 'node_modules', '.bin', 'next');
const BUILD_LOCK = join(DASHBOARD_DIR, '.next-build.lock');
const DASHBOARD_SOURCES = ['app', 'components', 'lib', 'next.config.mjs', 'tsconfig.json'];

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return path.endsWith('.spec.ts') ? 0 : stat.mtimeMs; // tests are not part of the build
  return readdirSync(path).reduce((newest, entry) => Math.max(newest, newestMtime(join(path, entry))), 0);
}

/** True when there is no build, or a source file changed after it. */
export function dashboardBuildStale(): boolean {
  const buildId = join(DASHBOARD_DIR, '.next', 'BUILD_ID');
  if (!existsSync(buildId)) return true;
  const built = statSync(buildId).mtimeMs;
  return DASHBOARD_SOURCES.some((p) => newestMtime(join(DASHBOARD_DIR, p)) > built);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

export class DashboardProcess {
  private child: ChildProcess | undefined;
  private stopped = false;

  constructor(
    private readonly logDir: string,
    private readonly log: Logger,
  ) {}

  /** `importToken`: an ingest token for the Import page's uploads (the read token cannot write). */
  async start(options: { port: number; hubUrl: string; hubToken: string; importToken?: string }): Promise<string> {
    const env = { ...process.env, NEXT_TELEMETRY_DISABLED: '1' };
    if (dashboardBuildStale()) await this.build(env);
    if (this.stopped) throw new Error('the demo stopped before the dashboard started');
    const port = options.port === 0 ? await freePort() : options.port;
    const logFile = join(this.logDir, 'dashboard.log');
    const out = openSync(logFile, 'a');
    const preload = join(DASHBOARD_DIR, 'server', 'exit-with-parent.cjs');
    const child = spawn(process.execPath, [realpathSync(NEXT_BIN), 'start', '--port', String(port), '--hostname', '127.0.0.1'], {
      cwd: DASHBOARD_DIR,
      stdio: ['ignore', out, out],
      env: { ...env, NATLENS_HUB_URL: options.hubUrl, NATLENS_HUB_TOKEN: options.hubToken, ...(options.importToken ? { NATLENS_HUB_IMPORT_TOKEN: options.importToken } : {}), NODE_OPTIONS: `${process.env['NODE_OPTIONS'] ?? ''} --require ${preload}`.trim() },
    });
    closeSync(out);
    this.child = child;
    let exited: number | null | undefined;
    child.once('exit', (code) => (exited = code));
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (exited !== undefined) throw new Error(`the dashboard exited (${exited}) while starting; ${logFile}:\n${tail(logFile)}`);
      if (Date.now() > deadline) throw new Error(`the dashboard did not answer on ${url} within 60 s; see ${logFile}`);
      const ready = await fetch(`${url}/services`, { method: 'HEAD', redirect: 'manual', signal: AbortSignal.timeout(2000) }).then(
        (res) => res.status > 0,
        () => false,
      );
      if (ready && exited === undefined) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    this.log.info({ dashboard: url, pid: child.pid }, 'dashboard started');
    return url;
  }

  /** `next build`, one at a time across processes (a lock directory next to the build): two demos share one build. */
  private async build(env: NodeJS.ProcessEnv): Promise<void> {
    const deadline = Date.now() + 10 * 60_000;
    for (;;) {
      try {
        mkdirSync(BUILD_LOCK);
        writeFileSync(join(BUILD_LOCK, 'pid'), String(process.pid));
        break;
      } catch {
        const holder = Number(tail(join(BUILD_LOCK, 'pid'), 1));
        if (holder > 0 && !alive(holder)) rmSync(BUILD_LOCK, { recursive: true, force: true });
        else if (Date.now() > deadline) throw new Error(`waited 10 min for another dashboard build (pid ${holder}); remove ${BUILD_LOCK} if it is stale`);
        else await new Promise((r) => setTimeout(r, 500));
      }
    }
    try {
      if (!dashboardBuildStale()) return; // another process built it while we waited
      const logFile = join(this.logDir, 'dashboard-build.log');
      const out = openSync(logFile, 'a');
      this.log.info({ log: logFile }, 'building the dashboard (next build, about 30 s)');
      const child = spawn(process.execPath, [realpathSync(NEXT_BIN), 'build'], { cwd: DASHBOARD_DIR, stdio: ['ignore', out, out], env });
      closeSync(out);
      this.child = child;
      const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
      this.child = undefined;
      if (code !== 0) throw new Error(`next build failed (${code}); ${logFile}:\n${tail(logFile)}`);
    } finally {
      rmSync(BUILD_LOCK, { recursive: true, force: true });
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}
