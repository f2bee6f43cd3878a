/*
 * A hub as the demo runs one on a node's machine: `natlens hub` (the compiled build) on SQLite in the bench's work
 * directory, agents exporting over a Unix socket with an ingest token, a read token for the audit. Its PID is the
 * hub's own (`natlens hub` needs no Node flags, so it does not start itself again), the one whose CPU a bench reads.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import type { StoredFlow } from './identity-audit';
import { NATLENS, ROOT, exited, sleep, started, tail, type Started } from './processes';

export interface HubUnderTest extends Started {
  pid: number;
  socket: string;
  dbFile: string;
  logFile: string;
  /** What agents pass as NATLENS_HUB_TOKEN. */
  ingestToken: string;
  readToken: string;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no free port'))));
    });
  });
}

export function hubGet(socket: string, urlPath: string, token: string, timeoutMs = 30_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: socket, path: urlPath, method: 'GET', timeout: timeoutMs, headers: { authorization: `Bearer ${token}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${urlPath}: timeout`)));
    req.on('error', reject);
    req.end();
  });
}

/** Starts the hub and waits for its /healthz; tracked in `started` so the bench's cleanup stops it by PID. */
/** `inventory`: the cluster's objects, as agents read them; without it the hub knows the cluster from records alone. */
export async function startHub(o: { workDir: string; name: string; inventory?: string }): Promise<HubUnderTest> {
  const socket = path.join(o.workDir, `${o.name}.sock`);
  const dbFile = path.join(o.workDir, `${o.name}.db`);
  const logFile = path.join(o.workDir, `${o.name}.log`);
  const ingestToken = randomBytes(24).toString('hex');
  const readToken = randomBytes(24).toString('hex');
  const fd = fs.openSync(logFile, 'a');
  // NATLENS_BENCH_HUB_NODE_OPTIONS (e.g. "--cpu-prof --cpu-prof-dir /tmp/prof"): where the hub's time goes in a bench run
  const nodeOptions = (process.env['NATLENS_BENCH_HUB_NODE_OPTIONS'] ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeOptions, NATLENS, 'hub', '--store', `sqlite://${dbFile}`, '--socket', socket, '--host', '127.0.0.1', '--port', String(await freePort()), ...(o.inventory ? ['--inventory', o.inventory] : []), '--log-level', 'warn'], {
    cwd: ROOT,
    env: { ...process.env, NATLENS_HUB_TOKENS: ingestToken, NATLENS_HUB_READ_TOKENS: readToken },
    stdio: ['ignore', fd, fd],
  });
  fs.closeSync(fd);
  if (child.pid === undefined) throw new Error('could not start natlens hub');
  const hub: HubUnderTest = { name: o.name, child, pid: child.pid, socket, dbFile, logFile, ingestToken, readToken };
  started.push(hub);
  for (const deadline = Date.now() + 120_000; ; await sleep(250)) {
    if (exited(child)) throw new Error(`${o.name} exited (code ${child.exitCode}): ${tail(logFile)}`);
    if ((await hubGet(socket, '/healthz', readToken, 2000).catch(() => undefined))?.status === 200) return hub;
    if (Date.now() > deadline) throw new Error(`${o.name} did not answer in 120 s: ${tail(logFile)}`);
  }
}

/** Every record the hub stored for a Service and node whose first packet is at or after `from` (ms), all pages. */
export async function storedFlows(hub: HubUnderTest, q: { service: string; node: string; from: number }): Promise<StoredFlow[]> {
  const out: StoredFlow[] = [];
  let cursor: string | undefined;
  do {
    const query = new URLSearchParams({ service: q.service, node: q.node, from: String(q.from), limit: '1000', ...(cursor ? { cursor } : {}) });
    const res = await hubGet(hub.socket, `/api/flows?${query}`, hub.readToken);
    if (res.status !== 200) throw new Error(`hub GET /api/flows: HTTP ${res.status} ${res.body.slice(0, 300)}`);
    const page = JSON.parse(res.body) as { flows: StoredFlow[]; nextCursor?: string };
    out.push(...page.flows);
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}
