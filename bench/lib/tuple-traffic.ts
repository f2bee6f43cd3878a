/*
 * The lab's traffic (libs/lab/src/daemons/traffic-client.ts: one HTTP request per TCP connection, `Connection: close`,
 * at most C at once) that also writes down each connection's client tuple, so a bench can look every connection up
 * by identity among the records a hub stored. `natlens lab traffic` reports counts only. Run inside a lab client's
 * namespace:
 *
 *   ip netns exec <lab>-client-alice node -r @swc-node/register bench/lib/tuple-traffic.ts HOST PORT N CONCURRENCY TUPLES_FILE
 *
 * TUPLES_FILE gets one line per connection that reached the server's socket (`src:sport`, as the client's kernel
 * chose them). Prints one JSON line at the end: made, succeeded, failed, errors, connected (tuples written), and
 * startedAt / endedAt (ms since the epoch: the first request and the last answer; process start-up excluded, so the
 * spans of several generators can be joined).
 */
import * as fs from 'node:fs';
import { request } from 'node:http';

const [host, portText, countText, concurrencyText, tuplesFile] = process.argv.slice(2);
const port = Number(portText);
const count = Number(countText);
const concurrency = Number(concurrencyText);
if (!host || !tuplesFile || !Number.isInteger(port) || !Number.isInteger(count) || count < 1 || !Number.isInteger(concurrency) || concurrency < 1) {
  process.stderr.write('usage: tuple-traffic.ts HOST PORT N CONCURRENCY TUPLES_FILE\n');
  process.exit(2);
}

const TIMEOUT_MS = 5000;
const tuples: string[] = [];
const errors: Record<string, number> = {};
let made = 0;
let succeeded = 0;
let failed = 0;

function once(): Promise<void> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (error?: string) => {
      if (settled) return;
      settled = true;
      if (error === undefined) succeeded++;
      else {
        failed++;
        errors[error] = (errors[error] ?? 0) + 1;
      }
      resolve();
    };
    const req = request({ host, port, path: '/', agent: false, headers: { Connection: 'close' }, timeout: TIMEOUT_MS }, (res) => {
      res.resume();
      res.on('end', () => finish(res.statusCode === 200 ? undefined : `HTTP ${res.statusCode}`));
      res.on('error', (err) => finish(err.message));
    });
    // the tuple as the client's kernel chose it, read once the handshake completed
    req.on('socket', (socket) => socket.once('connect', () => tuples.push(`${socket.localAddress}:${socket.localPort}`)));
    req.on('timeout', () => {
      finish('timeout');
      req.destroy();
    });
    req.on('error', (err: NodeJS.ErrnoException) => finish(err.code ?? err.message));
    req.end();
  });
}

async function main(): Promise<void> {
  const startedAt = Date.now();
  const worker = async () => {
    while (made < count) {
      made++;
      await once();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  const endedAt = Date.now();
  fs.writeFileSync(tuplesFile as string, tuples.length ? `${tuples.join('\n')}\n` : '');
  process.stdout.write(`${JSON.stringify({ made, succeeded, failed, errors, connected: tuples.length, startedAt, endedAt })}\n`);
}

void main();
