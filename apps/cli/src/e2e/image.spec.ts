import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dockerignore from '@balena/dockerignore';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import type { FlowsResponse } from '@natlens/shared-api';
import { parse } from 'yaml';
import { AGENT_NODE_FLAGS } from '../launch/node-flags';
import { assembleRuntimeLayout, filesUnder, openToOtherUsers } from './runtime-layout';

/*
 * The image (deploy/docker/Dockerfile, .dockerignore, docker-compose.yml). No container engine runs on the build
 * machines, so this checks what can be checked without one: the Dockerfile's syntax (the VS Code Docker extension's
 * validator), its stages and what its runtime stage installs and copies, what .dockerignore keeps out of the build
 * context (Docker's own matching rules), and that the compiled build runs from a directory laid out like the runtime
 * stage: `natlens --help`, the hub on SQLite and the dashboard as a non-root user, the agent as root in a throwaway
 * network namespace with its addons and BPF object from dist/, its records reaching the hub.
 */
const ROOT = join(__dirname, '..', '..', '..', '..');
const dockerfileText = readFileSync(join(ROOT, 'deploy', 'docker', 'Dockerfile'), 'utf8');
const dockerfile = DockerfileParser.parse(dockerfileText);

/** The instructions of each stage, by the stage's name. */
function stages(): Map<string, Instruction[]> {
  const out = new Map<string, Instruction[]>();
  let current: Instruction[] | undefined;
  for (const instruction of dockerfile.getInstructions()) {
    if (instruction.getKeyword() === 'FROM') {
      const from = dockerfile.getFROMs().find((f) => f.getRange().start.line === instruction.getRange().start.line);
      current = [];
      out.set(from?.getBuildStage() ?? `#${out.size}`, current);
    }
    current?.push(instruction);
  }
  return out;
}

const argsOf = (i: Instruction) => i.getArguments().map((a) => a.getValue());
const runText = (i: Instruction) => argsOf(i).join(' ');

/** The packages each `apt-get install` of a stage names. */
function aptPackages(instructions: Instruction[]): string[] {
  const out: string[] = [];
  for (const run of instructions.filter((i) => i.getKeyword() === 'RUN')) {
    for (const command of runText(run).split(/&&|;/)) {
      const words = command.trim().split(/\s+/);
      const at = words.indexOf('install');
      if (words[0] === 'apt-get' && at > 0) out.push(...words.slice(at + 1).filter((w) => !w.startsWith('-')));
    }
  }
  return out;
}

/** Flag values of an instruction (`COPY --from=build …`). */
function flag(i: Instruction, name: string): string | undefined {
  const flags = (i as Instruction & { getFlags?: () => { getName(): string; getValue(): string | null }[] }).getFlags?.() ?? [];
  return flags.find((f) => f.getName() === name)?.getValue() ?? undefined;
}

/** The Debian package that installed a file; dpkg's database names it by the path it shipped (/lib or /usr/lib). */
function debianPackageOf(path: string): string {
  const real = realpathSync(path);
  const candidates = new Set([path, real, ...[path, real].flatMap((p) => (p.startsWith('/usr/') ? [p.slice(4)] : [`/usr${p}`]))]);
  for (const candidate of candidates) {
    try {
      return (execFileSync('dpkg', ['-S', candidate], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split(':')[0] as string).trim();
    } catch {
      // not under this name
    }
  }
  throw new Error(`no Debian package installed ${path}`);
}

const COMPILERS = ['g++', 'gcc', 'cpp', 'clang', 'llvm', 'make', 'cmake', 'python3', 'build-essential', 'bpftool', 'node-gyp', 'libtool', 'autoconf'];

describe('deploy/docker/Dockerfile', () => {
  const byStage = stages();
  const runtime = byStage.get('runtime') ?? [];
  const build = byStage.get('build') ?? [];

  it('is valid Dockerfile syntax', () => {
    expect(validate(dockerfileText).map((d) => `line ${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
  });

  it('builds in a "build" stage and ends with the "runtime" stage, both on the Node.js version the tests run', () => {
    expect([...byStage.keys()]).toEqual(['build', 'runtime']);
    expect(dockerfile.getFROMs().map((f) => f.getImage())).toEqual(['node:${NODE_VERSION}-bookworm', 'node:${NODE_VERSION}-bookworm-slim']);
    const nodeVersion = dockerfile.getInstructions().find((i) => i.getKeyword() === 'ARG' && runText(i).startsWith('NODE_VERSION='));
    expect(process.versions.node.startsWith(`${runText(nodeVersion as Instruction).split('=')[1]}.`)).toBe(true);
  });

  it('compiles in the build stage: the addons and BPF object, npm run build, then the production packages of dist/apps/cli', () => {
    expect(aptPackages(build)).toEqual(expect.arrayContaining(['g++', 'make', 'python3', 'clang', 'libbpf-dev', 'bpftool', 'libmnl-dev']));
    const runs = build.filter((i) => i.getKeyword() === 'RUN').map(runText);
    const buildAt = runs.findIndex((r) => r.includes('npm run build'));
    const productionAt = runs.findIndex((r) => /cd dist\/apps\/cli && npm ci --omit=dev/.test(r));
    expect(buildAt).toBeGreaterThanOrEqual(0);
    expect(productionAt).toBeGreaterThan(buildAt);
    expect(build.find((i) => i.getKeyword() === 'WORKDIR')?.getArguments()[0]?.getValue()).toBe('/src');
  });

  it('installs no compiler or -dev package in the runtime stage, and removes npm (with its node-gyp), corepack and yarn', () => {
    const packages = aptPackages(runtime);
    expect(packages.filter((p) => COMPILERS.includes(p) || p.endsWith('-dev'))).toEqual([]);
    expect(packages).toContain('tcpdump'); // the agent's pcap source runs it
    expect(packages).toEqual(expect.arrayContaining(['iptables', 'nftables'])); // the SNAT port ranges of the node's masquerade rules
    const removed = runtime.filter((i) => i.getKeyword() === 'RUN').map(runText).join(' ');
    for (const path of ['/usr/local/lib/node_modules', '/usr/local/bin/npm', '/usr/local/bin/npx', '/usr/local/bin/corepack', '/opt/yarn-*']) expect(removed).toContain(path);
  });

  it('installs in the runtime stage every shared library the agent addons link (beyond the slim image\'s own)', () => {
    // Debian packages of bookworm-slim's base that the addons link (libc6, and libstdc++6 which apt itself needs).
    const base = new Set(['libc6', 'libgcc-s1', 'libstdc++6', 'zlib1g']);
    const installed = new Set(aptPackages(runtime));
    for (const pkg of [...installed]) {
      const depends = execFileSync('dpkg-query', ['-W', '-f=${Depends}', pkg], { encoding: 'utf8' });
      for (const d of depends.split(',')) installed.add(d.trim().split(/[\s:]/)[0] ?? '');
    }
    const addons = ['natlens_netlink.node', 'natlens_ebpf.node'].map((f) => join(ROOT, 'dist', 'apps', 'cli', 'native', f)).filter((f) => existsSync(f));
    expect(addons.length).toBeGreaterThan(0);
    const needed = new Set<string>();
    for (const addon of addons) {
      for (const line of execFileSync('ldd', [addon], { encoding: 'utf8' }).split('\n')) {
        const path = /=> (\/\S+)/.exec(line)?.[1];
        if (!path) continue;
        needed.add(debianPackageOf(path));
      }
    }
    expect([...needed].filter((pkg) => !base.has(pkg) && !installed.has(pkg))).toEqual([]);
    expect([...needed]).toEqual(expect.arrayContaining(['libmnl0']));
  });

  it('copies into the runtime stage only the compiled build from the build stage: no sources, no workspace node_modules', () => {
    const copies = runtime.filter((i) => i.getKeyword() === 'COPY' || i.getKeyword() === 'ADD');
    expect(copies.map((i) => i.getKeyword())).toEqual(['COPY', 'COPY', 'COPY']);
    expect(copies.map((i) => flag(i, 'from'))).toEqual(['build', 'build', 'build']);
    expect(copies.map((i) => argsOf(i))).toEqual([
      ['/src/bin/natlens', 'bin/natlens'],
      ['/src/dist/apps/cli', 'dist/apps/cli'],
      ['/src/dist/apps/dashboard', 'dist/apps/dashboard'],
    ]);
  });

  it('runs as the non-root user natlens by default, `node bin/natlens` as entrypoint', () => {
    const users = runtime.filter((i) => i.getKeyword() === 'USER').map(runText);
    expect(users).toEqual(['natlens']);
    expect(runtime.find((i) => i.getKeyword() === 'ENTRYPOINT')?.getArgumentsContent()).toBe('["node", "bin/natlens"]');
  });
});

describe('.dockerignore', () => {
  const ig = dockerignore({ ignorecase: false }).add(readFileSync(join(ROOT, '.dockerignore'), 'utf8'));

  it.each([
    '.env',
    '.env.production',
    'deploy/.env',
    '.git/config',
    'node_modules/zod/package.json',
    'apps/dashboard/node_modules/next/package.json',
    'dist/apps/cli/main.js',
    '.nx/workspace-data/project-graph.json',
    'libs/agent/conntrack/native/build/Release/natlens_netlink.node',
    'libs/agent/ebpf/native/build/Release/natlens.bpf.o',
    'apps/dashboard/.next/BUILD_ID',
    'artifacts/screenshots/services.png',
    'bench/results/agent-memory.json',
    'inventory.json',
  ])('keeps %s out of the build context', (path) => {
    expect(ig.ignores(path)).toBe(true);
  });

  it('keeps every file git tracks in the build context (but the .gitignore files)', () => {
    const tracked = execFileSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);
    expect(tracked.length).toBeGreaterThan(100);
    expect(tracked.filter((path) => ig.ignores(path))).toEqual(['.gitignore', 'bench/results/.gitignore']);
  });
});

describe('docker-compose.yml', () => {
  type Service = { build?: { context: string; dockerfile: string }; image?: string; entrypoint?: string[]; user?: string };
  const services = (parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Service> }).services;
  const natlensServices = Object.entries(services).filter(([, s]) => s.build !== undefined);

  it('builds every natlens service from deploy/docker/Dockerfile, and runs only the agent as root', () => {
    expect(natlensServices.map(([name]) => name).sort()).toEqual(['agent', 'dashboard', 'hub-1', 'hub-2']);
    for (const [, s] of natlensServices) expect(s.build).toEqual({ context: '.', dockerfile: 'deploy/docker/Dockerfile' });
    expect(Object.fromEntries(natlensServices.map(([name, s]) => [name, s.user ?? '(image: natlens)']))).toEqual({ agent: '0', dashboard: '(image: natlens)', 'hub-1': '(image: natlens)', 'hub-2': '(image: natlens)' });
  });

  it('starts what the runtime stage holds', () => {
    // the dashboard's own server (sessions, TLS, proxy trust) beside the compiled standalone build
    expect(services['dashboard']?.entrypoint).toEqual(['node', 'dist/apps/dashboard/apps/dashboard/server/serve.mjs']);
    expect(services['agent']?.entrypoint).toEqual(['node', ...AGENT_NODE_FLAGS, 'bin/natlens']);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// the compiled build, started from a directory laid out like the runtime stage

const NOBODY = 65534;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function get(target: { port: number } | { socketPath: string }, path: string, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ ...('port' in target ? { host: '127.0.0.1', port: target.port } : target), path, timeout: 5000, headers: token ? { Authorization: `Bearer ${token}` } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: timeout`)));
    req.on('error', reject);
    req.end();
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, child: ChildProcess, log: () => string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what}: the process exited (${child.exitCode ?? child.signalCode}):\n${log()}`);
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s:\n${log()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('the compiled build in a directory laid out like the runtime stage', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'natlens-image-'));
  const app = join(scratch, 'opt', 'natlens');
  const state = join(scratch, 'var', 'lib', 'natlens');
  const netns = `t${randomBytes(3).toString('hex')}-image`;
  const token = randomBytes(24).toString('hex');
  const children: ChildProcess[] = [];
  const logs = new Map<ChildProcess, string>();
  let hubPort = 0;
  // The image's environment: nothing from the workspace (no NODE_PATH, no sources flag).
  const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', NODE_ENV: 'production' };

  const start = (argv: string[], extraEnv: NodeJS.ProcessEnv = {}) => {
    const child = spawn(argv[0] as string, argv.slice(1), { cwd: app, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    logs.set(child, '');
    const append = (d: Buffer) => logs.set(child, `${logs.get(child) ?? ''}${d.toString('utf8')}`.slice(-6000));
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    children.push(child);
    return child;
  };
  const asNobody = ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups'];

  beforeAll(() => {
    if (process.getuid?.() !== 0) throw new Error('run as root: the agent joins a network namespace this test creates, and the hub runs as another user');
    const { packages } = assembleRuntimeLayout(ROOT, app);
    expect(packages).toBeGreaterThan(50);
    mkdirSync(state, { recursive: true });
    chownSync(state, NOBODY, NOBODY);
    const nextCache = join(app, 'dist', 'apps', 'dashboard', 'apps', 'dashboard', '.next', 'cache');
    mkdirSync(nextCache, { recursive: true });
    chownSync(nextCache, NOBODY, NOBODY);
    openToOtherUsers(scratch, tmpdir());
    execFileSync('ip', ['netns', 'add', netns]);
    execFileSync('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
    // The kernel tracks connections in a namespace only once a rule there uses conntrack (as kube-proxy's rules do).
    execFileSync('ip', ['netns', 'exec', netns, 'iptables', '-A', 'INPUT', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT']);
  }, 120_000);

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.all(children.map((child) => (child.exitCode !== null || child.signalCode !== null ? undefined : new Promise((r) => child.once('exit', r)))));
    execFileSync('ip', ['netns', 'del', netns], { stdio: 'ignore' });
    rmSync(scratch, { recursive: true, force: true });
  }, 60_000);

  it('holds the compiled build only: no TypeScript sources, no compilers, no build tools', () => {
    const files = filesUnder(app);
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.includes('node_modules/'))).toEqual([]);
    expect(files.some((f) => /^(apps|libs|tools)\//.test(f))).toBe(false);
    const installed = new Set(files.filter((f) => f.startsWith('dist/apps/cli/node_modules/')).map((f) => f.split('/').slice(4, f.split('/')[4]?.startsWith('@') ? 6 : 5).join('/')));
    expect(['typescript', 'esbuild', '@swc/core', 'node-gyp', 'nx', 'jest', '@swc-node/register', 'next'].filter((p) => installed.has(p))).toEqual([]);
    expect(['better-sqlite3', '@nestjs/core', '@nestjs/platform-express', '@nestjs/platform-socket.io', 'commander'].filter((p) => !installed.has(p))).toEqual([]);
  });

  it('answers natlens --help', () => {
    const help = execFileSync(process.execPath, ['bin/natlens', '--help'], { cwd: app, env, encoding: 'utf8' });
    expect(help).toMatch(/Usage: natlens/);
    expect(help).toMatch(/agent/);
  });

  it('says that it holds no sources when asked to run from them', () => {
    let failure: { status?: number; stderr?: string } = {};
    try {
      execFileSync(process.execPath, ['bin/natlens', '--help'], { cwd: app, env: { ...env, NATLENS_FROM_SOURCE: '1' }, encoding: 'utf8', stdio: 'pipe' });
    } catch (err) {
      failure = err as typeof failure;
    }
    expect(failure.status).toBe(1);
    expect(failure.stderr).toMatch(/holds only the compiled build: unset it/);
  });

  it('runs the hub on SQLite as a non-root user', async () => {
    hubPort = await freePort();
    const hub = start([...asNobody, process.execPath, 'bin/natlens', 'hub', '--store', `sqlite://${join(state, 'natlens.db')}`, '--host', '127.0.0.1', '--port', String(hubPort), '--socket', join(state, 'hub.sock'), '--log-level', 'warn'], { NATLENS_HUB_TOKENS: token });
    const health = await until('hub /healthz', async () => {
      const res = await get({ port: hubPort }, '/healthz');
      return res.status === 200 ? (JSON.parse(res.body) as { status: string }) : undefined;
    }, hub, () => logs.get(hub) ?? '');
    expect(health.status).toBe('ok');
    expect((await get({ port: hubPort }, '/api/services', token)).status).toBe(200);
    expect(execFileSync('ps', ['-o', 'uid=', '-p', String(hub.pid)], { encoding: 'utf8' }).trim()).toBe(String(NOBODY));
  }, 90_000);

  it('runs the dashboard\'s server as a non-root user: anonymous visitors sign in, then it reads the hub with their token', async () => {
    const port = await freePort();
    const dashboard = start([...asNobody, process.execPath, 'dist/apps/dashboard/apps/dashboard/server/serve.mjs'], { PORT: String(port), HOSTNAME: '127.0.0.1', NATLENS_HUB_URL: `http://127.0.0.1:${hubPort}`, NATLENS_HUB_TOKEN: token });
    const url = `http://127.0.0.1:${port}`;
    const anonymous = await until('dashboard /services', async () => {
      const res = await fetch(`${url}/services`, { redirect: 'manual' }).catch(() => undefined);
      return res ? [res.status, res.headers.get('location')] : undefined;
    }, dashboard, () => logs.get(dashboard) ?? '');
    expect(anonymous).toEqual([303, '/signin?next=%2Fservices']);
    const signin = await fetch(`${url}/api/auth/signin`, { method: 'POST', body: new URLSearchParams({ token, next: '/services' }), redirect: 'manual' });
    const cookie = /natlens_session=[^;]+/.exec(signin.headers.get('set-cookie') ?? '')?.[0];
    expect([signin.status, cookie !== undefined]).toEqual([303, true]);
    const page = await (await fetch(`${url}/services`, { headers: { Cookie: cookie as string } })).text();
    expect(page).toMatch(/<html/i);
    expect(page).not.toMatch(/cannot reach the hub|ECONNREFUSED/i);
    expect(execFileSync('ps', ['-o', 'uid=', '-p', String(dashboard.pid)], { encoding: 'utf8' }).trim()).toBe(String(NOBODY));
  }, 90_000);

  it('runs the agent as root in a network namespace: its addons and BPF object load from dist/, its records reach the hub', async () => {
    const withEbpf = existsSync(join(app, 'dist', 'apps', 'cli', 'native', 'natlens.bpf.o'));
    const sources = withEbpf ? ['ebpf', 'conntrack'] : ['conntrack'];
    const socket = join(state, 'agent.sock');
    const inventory = join(scratch, 'inventory.json');
    writeFileSync(inventory, readFileSync(join(ROOT, 'libs', 'shared', 'cluster', 'src', 'fixtures', 'lab-seeds-inventory.json')));
    const agent = start(['ip', 'netns', 'exec', netns, process.execPath, ...AGENT_NODE_FLAGS, 'bin/natlens', 'agent', '--node', 'node1', '--inventory', inventory, '--source', sources.join(','), '--api-socket', socket, '--hub', `unix:${join(state, 'hub.sock')}`, '--spool-dir', join(scratch, 'spool'), '--flush-interval-ms', '200', '--log-level', 'warn'], { NATLENS_HUB_TOKEN: token });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const health = await until<any>('agent attached', async () => {
      const res = await get({ socketPath: socket }, '/healthz');
      if (res.status !== 200) return undefined;
      const body = JSON.parse(res.body);
      const attached = (!withEbpf || body.sources?.ebpf?.attached?.length > 0) && body.sources?.conntrack?.lastDump !== undefined;
      return attached ? body : undefined;
    }, agent, () => logs.get(agent) ?? '');
    if (withEbpf) expect(health.sources.ebpf.mode).toBe('netfilter');
    expect(health.sources.conntrack.selectedBecause).toBeUndefined();

    // one TCP connection inside the namespace: conntrack sees it, the agent records it and exports it to the hub
    execFileSync('ip', ['netns', 'exec', netns, process.execPath, '-e', `
      const net = require('node:net');
      const server = net.createServer((s) => s.end('x')).listen(18080, '127.0.0.1', () => {
        net.connect(18080, '127.0.0.1').on('data', () => undefined).on('end', () => server.close());
      });`]);
    const flows = await until('the record at the hub', async () => {
      const res = await get({ port: hubPort }, '/api/flows?node=node1&limit=10', token);
      const body = JSON.parse(res.body) as FlowsResponse;
      return body.flows?.some((r) => r.original.dport === 18080) ? body.flows : undefined;
    }, agent, () => logs.get(agent) ?? '');
    expect(flows.length).toBeGreaterThan(0);
  }, 90_000);
});
