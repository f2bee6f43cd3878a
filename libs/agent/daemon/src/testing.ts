/*
 * Fixtures for the agent's tests: a hub stand-in that receives `POST /api/ingest` batches on a Unix socket (a real
 * HTTP server the exporter talks to, which tests can make fail). Agents in lab namespaces: @natlens/lab/testing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flowBatchSchema, type FlowRecord, type NodeReport, nodeReportSchema } from '@natlens/shared-model';


/** Keeps the latest version of each record by (node, flowId), as the hub's idempotent upsert does. */
export class IngestReceiver {
  readonly records = new Map<string, FlowRecord>();
  /** Node reports (`POST /api/nodes/report`), in arrival order. */
  readonly nodeReports: NodeReport[] = [];
  batches = 0;
  rejected = 0;
  /** Bodies larger than this are refused with 413, as the hub's body limit does (undefined: no limit). */
  maxBodyBytes: number | undefined;
  /** Requests refused with 413. */
  tooLarge = 0;
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
        if (this.maxBodyBytes !== undefined && Buffer.byteLength(body) > this.maxBodyBytes) {
          this.tooLarge++;
          res.writeHead(413).end(JSON.stringify({ status: 413, code: 'payload-too-large', message: `request entity too large (limit ${this.maxBodyBytes} bytes)` }));
          return;
        }
        if (this.token && req.headers.authorization !== `Bearer ${this.token}`) {
          res.writeHead(401).end('{"status":401,"code":"unauthorized","message":"bad token"}');
          return;
        }
        if (req.url === '/api/nodes/report') {
          const report = nodeReportSchema.safeParse(JSON.parse(body));
          if (!report.success) {
            this.rejected++;
            res.writeHead(400).end(JSON.stringify({ status: 400, code: 'invalid-node-report', message: report.error.message }));
            return;
          }
          this.nodeReports.push(report.data);
          res.writeHead(200).end('{"stored":true}');
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

export { startTestNatsServer, natsServerInstalled, type TestNatsServer } from './export/nats-test-server';
