import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';

/*
 * The dashboard (apps/dashboard, Next.js) as a child process, with the hub's URL and a read token in its environment.
 * It always runs the dashboard's own server (server/serve.mjs: Next inside, sessions, TLS, proxy trust), as users run
 * it. Compiled (this code bundled in dist/apps/cli): the copy `npm run build` laid out in dist/apps/dashboard beside
 * the standalone build. From the sources: `next build` when needed, then apps/dashboard/server/serve.mjs. Each runs as
 * `node <script>` so the child PID is the server itself: killing an npx wrapper would leave the port held.
 */
function installRoot(from = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'bin', 'natlens'))) return dir;
    if (dirname(dir) === dir) throw new Error(`cannot find bin/natlens above ${from}: is natlens installed whole?`);
  }
}
const ROOT = installRoot();
const FROM_SOURCES = __filename.endsWith('.ts');
const DASHBOARD_DIR = join(ROOT, 'apps', 'dashboard');
/** The compiled dashboard (tools/build/dashboard-dist.mjs): the standalone build with server/ beside it. */
const COMPILED_DASHBOARD_DIR = join(ROOT, 'dist', 'apps', 'dashboard', 'apps', 'dashboard');
/** The dashboard's server that runs: the compiled one, or the sources' one (then apps/dashboard/.next is its build). */
export const DASHBOARD_SERVER = join(FROM_SOURCES ? DASHBOARD_DIR : COMPILED_DASHBOARD_DIR, 'server', 'serve.mjs');
const NEXT_BIN = join(ROOT, 'node_modules', '.bin', 'next');
const BUILD_LOCK = join(DASHBOARD_DIR, '.next-build.lock');
const DASHBOARD_SOURCES = ['app', 'components', 'lib', 'proxy.ts', 'next.config.mjs', 'tsconfig.json'];

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

  /**
   * `hubToken`: the dashboard's own read token (for users an authenticating proxy vouches for; a demo signs in with
   * the read token it prints); `importToken`: an ingest token for the Import page's uploads (the read token cannot
   * write); `env`: more of the server's settings (TLS files, trusted proxies…).
   */
  async start(options: { port: number; hubUrl: string; hubToken: string; importToken?: string; env?: Record<string, string> }): Promise<string> {
    const env = { ...process.env, NEXT_TELEMETRY_DISABLED: '1' };
    if (!FROM_SOURCES && !existsSync(join(COMPILED_DASHBOARD_DIR, '.next', 'BUILD_ID'))) throw new Error(`the dashboard is not built (${COMPILED_DASHBOARD_DIR} has no build): run \`npm run build\``);
    if (FROM_SOURCES && dashboardBuildStale()) await this.build(env);
    if (this.stopped) throw new Error('the demo stopped before the dashboard started');
    const port = options.port === 0 ? await freePort() : options.port;
    const logFile = join(this.logDir, 'dashboard.log');
    const out = openSync(logFile, 'a');
    const logStart = statSync(logFile).size;
    const serverDir = dirname(DASHBOARD_SERVER);
    const child = spawn(process.execPath, [DASHBOARD_SERVER, '--port', String(port), '--hostname', '127.0.0.1'], {
      cwd: dirname(serverDir),
      stdio: ['ignore', out, out],
      env: {
        ...env,
        NATLENS_HUB_URL: options.hubUrl,
        NATLENS_HUB_TOKEN: options.hubToken,
        // sessions live as long as this process
        NATLENS_DASHBOARD_SESSION_SECRET: randomBytes(32).toString('base64url'),
        ...(options.importToken ? { NATLENS_HUB_IMPORT_TOKEN: options.importToken } : {}),
        NODE_OPTIONS: `${process.env['NODE_OPTIONS'] ?? ''} --require ${join(serverDir, 'exit-with-parent.cjs')}`.trim(),
        ...options.env,
      },
    });
    closeSync(out);
    this.child = child;
    let exited: number | null | undefined;
    child.once('exit', (code) => (exited = code));
    const deadline = Date.now() + 60_000;
    // serve.mjs says where it listens (http or https) once Next is ready
    let url: string | undefined;
    for (;;) {
      if (exited !== undefined) throw new Error(`the dashboard exited (${exited}) while starting; ${logFile}:\n${tail(logFile)}`);
      if (Date.now() > deadline) throw new Error(`the dashboard did not start listening on port ${port} within 60 s; see ${logFile}`);
      url = /natlens dashboard: listening on (https?:\/\/127\.0\.0\.1:\d+)/.exec(readFileSync(logFile).subarray(logStart).toString('utf8'))?.[1];
      if (url) break;
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
