import { ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';

/*
 * The dashboard (apps/dashboard, Next.js) as a child process, with the hub's URL and a read token in its environment.
 * Compiled (this code bundled in dist/apps/cli): the standalone server `npm run build` wrote to dist/apps/dashboard.
 * From the sources: `next build` when needed, then `next start`. Each runs as `node <script>` so the child PID is the
 * server itself: killing an npx wrapper would leave the port held.
 */
function installRoot(from = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'bin', 'natlens'))) return dir;
    if (dirname(dir) === dir) throw new Error(`cannot find bin/natlens above ${from}: is natlens installed whole?`);
  }
}
const ROOT = installRoot();
const FROM_SOURCES = __filename.endsWith('.ts');
/** The compiled dashboard server (tools/build/dashboard-dist.mjs). */
export const DASHBOARD_SERVER = join(ROOT, 'dist', 'apps', 'dashboard', 'apps', 'dashboard', 'server.js');
const DASHBOARD_DIR = join(ROOT, 'apps', 'dashboard');
const NEXT_BIN = join(ROOT, 'node_modules', '.bin', 'next');
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
    if (!FROM_SOURCES && !existsSync(DASHBOARD_SERVER)) throw new Error(`the dashboard is not built (${DASHBOARD_SERVER} is missing): run \`npm run build\``);
    if (FROM_SOURCES && dashboardBuildStale()) await this.build(env);
    if (this.stopped) throw new Error('the demo stopped before the dashboard started');
    const port = options.port === 0 ? await freePort() : options.port;
    const logFile = join(this.logDir, 'dashboard.log');
    const out = openSync(logFile, 'a');
    const preload = join(FROM_SOURCES ? DASHBOARD_DIR : dirname(DASHBOARD_SERVER), 'server', 'exit-with-parent.cjs');
    const command = FROM_SOURCES ? [realpathSync(NEXT_BIN), 'start', '--port', String(port), '--hostname', '127.0.0.1'] : [DASHBOARD_SERVER];
    const child = spawn(process.execPath, command, {
      cwd: FROM_SOURCES ? DASHBOARD_DIR : dirname(DASHBOARD_SERVER),
      stdio: ['ignore', out, out],
      env: { ...env, PORT: String(port), HOSTNAME: '127.0.0.1', NATLENS_HUB_URL: options.hubUrl, NATLENS_HUB_TOKEN: options.hubToken, ...(options.importToken ? { NATLENS_HUB_IMPORT_TOKEN: options.importToken } : {}), NODE_OPTIONS: `${process.env['NODE_OPTIONS'] ?? ''} --require ${preload}`.trim() },
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
