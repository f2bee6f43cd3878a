import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A real HTTP receiver for alert notifications, for tests: records every accepted body by path. */
export interface TestReceiver {
  readonly url: string;
  /** Bodies accepted (2xx), in arrival order. */
  readonly received: { path: string; body: unknown; at: number }[];
  /** Requests answered with an error status (see failNext). */
  rejected: number;
  /** Answer the next `n` requests with `status` instead of accepting them. */
  failNext(n: number, status?: number): void;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c)).on('end', () => resolve(Buffer.concat(chunks).toString('utf8'))).on('error', reject);
  });
}

export async function startTestReceiver(): Promise<TestReceiver> {
  let failures = 0;
  let failStatus = 503;
  const receiver = {
    url: '',
    received: [] as TestReceiver['received'],
    rejected: 0,
    failNext(n: number, status = 503) {
      failures = n;
      failStatus = status;
    },
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // the hub's fetch keeps connections alive; do not wait for them to time out
      server.closeAllConnections();
      await closed;
    },
  };
  const server: Server = createServer((req, res) => {
    void readBody(req).then((text) => {
      if (failures > 0) {
        failures--;
        receiver.rejected++;
        res.writeHead(failStatus).end('try later');
        return;
      }
      receiver.received.push({ path: req.url ?? '/', body: JSON.parse(text), at: Date.now() });
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return receiver;
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
