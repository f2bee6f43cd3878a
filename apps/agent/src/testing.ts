/*
 * Fixtures for tests that run real agents: a hub stand-in that receives `POST /api/ingest` batches on a Unix
 * socket (until the hub exists, this is the real HTTP server the exporter talks to), and agents started inside lab
 * node namespaces through the `natlens agent` command, exactly as an operator would.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flowBatchSchema, type FlowRecord } from '@natlens/shared-model';

const ROOT = join(__dirname, '..', '..', '..');
const BIN = join(ROOT, 'bin', 'natlens');

/** Keeps the latest version of each record by (node, flowId), as the hub's idempotent upsert does. */
export class IngestReceiver {
  readonly records = new Map<string, FlowRecord>();
  batches = 0;
  rejected = 0;
  private server: Server | undefined;

  constructor(
    readonly socketPath: string,
    private readonly token?: string,
    private readonly failNext = { count: 0 },
  ) {}

  /** The next `count` requests answer 503, as a hub that is down would. */
  failRequests(count: number): void {
    this.failNext.count = count;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        if (this.failNext.count > 0) {
          this.failNext.count--;
          res.writeHead(503).end('{"status":503,"code":"unavailable","message":"test hub is down"}');
          return;
        }
        if (this.token && req.headers.authorization !== `Bearer ${this.token}`) {
          res.writeHead(401).end('{"status":401,"code":"unauthorized","message":"bad token"}');
          return;
        }
        const parsed = flowBatchSchema.safeParse(JSON.parse(body));
        if (req.url !== '/api/ingest' || !parsed.success) {
          this.rejected++;
          res.writeHead(400).end(JSON.stringify({ status: 400, code: 'bad-batch', message: parsed.success ? 'wrong path' : parsed.error.message }));
          return;
        }
        this.batches++;
        for (const record of parsed.data.records) this.records.set(`${record.node} ${record.flowId}`, record);
        res.writeHead(202).end('{"accepted":true}');
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(this.socketPath, resolve));
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    rmSync(this.socketPath, { force: true });
  }

  all(): FlowRecord[] {
    return [...this.records.values()];
  }
}

export interface AgentProcess {
  node: string;
  apiSocket: string;
  process: ChildProcess;
  log: () => string;
}

/** `natlens agent` inside a node's namespace; resolves once its /healthz answers. */
export async function startLabAgent(options: { netns: string; node: string; inventory: string; hub: string; workDir: string; extraArgs?: string[] }): Promise<AgentProcess> {
  const apiSocket = join(options.workDir, `agent-${options.node}.sock`);
  let output = '';
  const child = spawn(
    'ip',
    [
      'netns', 'exec', options.netns, process.execPath, BIN, 'agent',
      '--node', options.node,
      '--inventory', options.inventory,
      '--hub', options.hub,
      '--api-socket', apiSocket,
      '--spool-dir', join(options.workDir, `spool-${options.node}`),
      '--flush-interval-ms', '300',
      '--enable-accounting',
      '--log-level', 'warn',
      ...(options.extraArgs ?? []),
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`agent for ${options.node} exited (${child.exitCode}): ${output}`);
    if (await getJson(apiSocket, '/healthz').catch(() => undefined)) break;
    if (Date.now() > deadline) throw new Error(`agent for ${options.node} did not answer /healthz within 30 s: ${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { node: options.node, apiSocket, process: child, log: () => output };
}

export async function stopAgent(agent: AgentProcess): Promise<void> {
  if (agent.process.exitCode !== null) return;
  const exited = new Promise((resolve) => agent.process.once('exit', resolve));
  agent.process.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  if (agent.process.exitCode === null) agent.process.kill('SIGKILL');
}

export function getJson(socketPath: string, path: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        if ((res.statusCode ?? 500) >= 400) reject(new Error(`${path}: HTTP ${res.statusCode} ${body}`));
        else resolve(path === '/metrics' ? body : JSON.parse(body));
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

export function makeWorkDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `${prefix}-`));
}

export async function waitFor(condition: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
