/*
 * Opens N TCP connections to one address and keeps them open, sending nothing (the lab's echo servers wait for a
 * request without a timeout), so the kernel's conntrack table and the node agent hold N live connections. Run inside
 * a lab client's namespace by bench/agent-memory.ts:
 *
 *   ip netns exec <lab>-client-alice node -r @swc-node/register bench/lib/hold-connections.ts HOST PORT N [CONCURRENCY]
 *
 * Prints one JSON line when every connection is open or failed ({"open","failed","seconds","errors"}), then holds
 * them until SIGTERM or SIGINT, closes them all and exits.
 */
import * as net from 'node:net';

const [host, portText, countText, concurrencyText] = process.argv.slice(2);
const port = Number(portText);
const count = Number(countText);
const concurrency = Number(concurrencyText ?? 200);
if (!host || !Number.isInteger(port) || !Number.isInteger(count) || count < 1 || !Number.isInteger(concurrency) || concurrency < 1) {
  process.stderr.write('usage: hold-connections.ts HOST PORT N [CONCURRENCY]\n');
  process.exit(2);
}

const sockets: net.Socket[] = [];
const errors: Record<string, number> = {};
let open = 0;
let failed = 0;
const startedAt = Date.now();

function connectOne(): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(10_000);
    const fail = (reason: string) => {
      failed++;
      errors[reason] = (errors[reason] ?? 0) + 1;
      socket.destroy();
      resolve();
    };
    socket.once('connect', () => {
      socket.setTimeout(0);
      socket.removeAllListeners('error');
      socket.on('error', () => undefined); // a reset while held is the server's business, not a failed open
      open++;
      sockets.push(socket);
      resolve();
    });
    socket.once('timeout', () => fail('timeout'));
    socket.once('error', (err: NodeJS.ErrnoException) => fail(err.code ?? err.message));
  });
}

async function main(): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      await connectOne();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  process.stdout.write(`${JSON.stringify({ open, failed, seconds: (Date.now() - startedAt) / 1000, errors })}\n`);
  const keepAlive = setInterval(() => undefined, 60_000);
  const close = () => {
    clearInterval(keepAlive);
    for (const socket of sockets) socket.destroy();
    process.exit(0);
  };
  process.once('SIGTERM', close);
  process.once('SIGINT', close);
}

void main();
