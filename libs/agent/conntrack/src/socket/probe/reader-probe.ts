/*
 * Runs inside a throwaway network namespace for conntrack-reader.spec.ts (a reader sees only its own namespace's
 * table): makes real TCP connections over lo and reports, as one JSON line, what the reader saw.
 *   reader-probe.ts <connections> <receiveBufferBytes> <live|stalled> [full|lean]
 * live: the connections are made by this process while its event loop runs.
 * stalled: a python child makes them while spawnSync blocks this process's event loop, so the reader cannot drain
 * its socket; with a small receive buffer the kernel must drop events (ENOBUFS). The reader has to survive that,
 * report it, and find every connection again with a dump.
 */
import { spawnSync } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { ConntrackReader } from '../conntrack-reader';
import type { ConntrackEntry } from '../../netlink/conntrack-entry';
import type { LeanConntrackEntry } from '../../netlink/lean-conntrack-entry';

const [connectionsArg = '50', bufferArg = String(1 << 20), mode = 'live', decode = 'full'] = process.argv.slice(2);
const connections = Number(connectionsArg);
const PORT = 18080;
const ADDRESS = '198.18.201.1';

// Server and client in one python process: prints the client ports it used, one per line.
const PYTHON_WORKLOAD = `
import socket, sys, threading
n = int(sys.argv[1])
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("${ADDRESS}", ${PORT})); srv.listen(1024)
def serve():
    while True:
        c, _ = srv.accept(); c.sendall(b"ok"); c.close()
threading.Thread(target=serve, daemon=True).start()
for _ in range(n):
    c = socket.create_connection(("${ADDRESS}", ${PORT})); print(c.getsockname()[1]); c.recv(2); c.close()
`;

/** Connections made (a client port can come round again within one run: the kernel reuses a TIME_WAIT tuple). */
let made = 0;

async function liveConnections(ourPorts: Set<number>): Promise<void> {
  const server = createServer((socket) => socket.end('ok'));
  await new Promise<void>((resolve) => server.listen(PORT, ADDRESS, resolve));
  await Promise.all(
    Array.from(
      { length: connections },
      () =>
        new Promise<void>((resolve) => {
          const c = connect(PORT, ADDRESS);
          c.on('connect', () => {
            made++;
            ourPorts.add(c.localPort ?? -1);
          });
          c.on('data', () => c.end());
          c.on('close', () => resolve());
          c.on('error', () => resolve());
        }),
    ),
  );
  server.close();
}

function stalledConnections(ourPorts: Set<number>): void {
  const result = spawnSync('python3', ['-c', PYTHON_WORKLOAD, String(connections)], { encoding: 'utf8', timeout: 60_000 });
  if (result.status !== 0) throw new Error(`python workload failed: ${result.stderr}`);
  for (const line of result.stdout.split('\n')) {
    if (!line) continue;
    made++;
    ourPorts.add(Number(line));
  }
}

/** Resolves once `progress()` has not changed for 300 ms (at most 20 s). */
async function settled(progress: () => number): Promise<void> {
  const deadline = Date.now() + 20_000;
  let last = -1;
  while (Date.now() < deadline) {
    const now = progress();
    if (now === last) return;
    last = now;
    await new Promise((r) => setTimeout(r, 300));
  }
}

async function main() {
  const reader = new ConntrackReader({ receiveBufferBytes: Number(bufferArg), decode: decode === 'lean' ? 'lean' : 'full' });
  const ourPorts = new Set<number>();
  const newEvents: (ConntrackEntry | LeanConntrackEntry)[] = [];
  const dumpedEntries: (ConntrackEntry | LeanConntrackEntry)[] = [];
  const collect = (entries: (ConntrackEntry | LeanConntrackEntry)[], via: 'events' | 'dump') => {
    for (const e of entries) {
      if (e.original.dport !== PORT) continue;
      if (via === 'events' && e.event === 'new') newEvents.push(e);
      if (via === 'dump') dumpedEntries.push(e);
    }
  };
  const losses: string[] = [];
  let parseErrors = 0;
  reader.start({
    onEntries: collect,
    onLeanEntries: collect,
    onLoss: (reason) => losses.push(reason),
    onParseErrors: (errors) => (parseErrors += errors.length),
  });

  if (mode === 'stalled') stalledConnections(ourPorts);
  else await liveConnections(ourPorts);
  // Let the event loop deliver what the socket holds (and the ENOBUFS error) before dumping: until the reader has
  // been idle for 300 ms. A fixed pause was too short on a loaded machine, where reading 2,000 stalled events with
  // the full decoder can take longer (the test then saw 853 of 2,000 events, none lost).
  await settled(() => newEvents.length + losses.length);
  await reader.dump();
  const ours = (e: ConntrackEntry | LeanConntrackEntry) => ourPorts.has(e.original.sport ?? -1);
  // one NEW event per connection made, also when it reuses an earlier connection's tuple (and so its conntrack id)
  const newCount = newEvents.filter(ours).length;
  // the table holds one entry per tuple: a reused tuple's earlier entry was replaced
  const dumped = new Map(dumpedEntries.filter(ours).map((e) => [e.id, e]));
  const stats = reader.stats();
  reader.close();
  const result = { connections: made, tuples: ourPorts.size, newEvents: newCount, dumped: dumped.size, losses, parseErrors, enobufs: stats.events?.enobufs ?? 0, sample: [...dumped.values()][0] };
  process.stdout.write(`${JSON.stringify(result, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}\n`);
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
