import { createSocket } from 'node:dgram';
import { request } from 'node:http';
import { parseEchoAnswer } from './echo-answer';
import { holdConnections } from './held-connections';
import { runUdpPairs, type UdpPairsResult } from './udp-pairs';
import { udpSourcePortAt, UDP_SOURCE_PORT_COUNT, UDP_SOURCE_PORT_FIRST } from './udp-source-ports';

/*
 * The lab's traffic generator: N real connections, at most C at once. TCP: each carries one HTTP request with
 * `Connection: close` (a fresh 5-tuple, hence a fresh conntrack entry, every time). UDP: each is one datagram from a
 * port no earlier datagram of the lab used lately (udp-source-ports.ts) and the one answer it gets, like a DNS
 * query. A connection that gets no answer within the timeout (a SYN or datagram dropped by a node without local
 * endpoints) counts as failed.
 */
export interface TrafficConfig {
  host: string;
  port: number;
  connections: number;
  concurrency: number;
  timeoutMs: number;
  /** Default tcp. */
  protocol?: 'tcp' | 'udp';
  /** UDP: the source port of the first datagram; the i-th uses udpSourcePortAt(firstSourcePort, i). */
  firstSourcePort?: number;
  /** TCP: open every connection at once and hold it open this long before its request (held-connections.ts). */
  holdMs?: number;
  /** UDP: each connection is a pair of queries sent at once from one source port (udp-pairs.ts). */
  pairs?: boolean;
}

export interface TrafficResult {
  made: number;
  succeeded: number;
  failed: number;
  /** Which pod answered, from the echo server's Hostname line. */
  servedBy: Record<string, number>;
  /** The client address each answer reported. */
  seen: Record<string, number>;
  errors: Record<string, number>;
  /** With `pairs`: how the pairs fared. */
  pairs?: UdpPairsResult['pairs'];
}

type Outcome = { pod: string; client: string } | { error: string };

function tcpOnce(config: TrafficConfig): Promise<Outcome> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (value: Outcome) => {
      if (!settled) {
        settled = true;
        resolve(value);
      }
    };
    const req = request(
      { host: config.host, port: config.port, path: '/', agent: false, headers: { Connection: 'close' }, timeout: config.timeoutMs },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          const answer = parseEchoAnswer(body);
          if (res.statusCode === 200 && answer) finish(answer);
          else finish({ error: `HTTP ${res.statusCode}` });
        });
        res.on('error', (err) => finish({ error: err.message }));
      },
    );
    req.on('timeout', () => {
      finish({ error: 'timeout' });
      req.destroy();
    });
    req.on('error', (err: NodeJS.ErrnoException) => finish({ error: err.code ?? err.message }));
    req.end();
  });
}

/** One datagram from `sourcePort` and its answer; connected, so an ICMP port unreachable (REJECT) is reported. */
function udpOnce(config: TrafficConfig, sourcePort: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    let settled = false;
    const finish = (value: Outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.close();
      resolve(value);
    };
    const timer = setTimeout(() => finish({ error: 'timeout' }), config.timeoutMs);
    socket.on('error', (err: NodeJS.ErrnoException) => finish({ error: err.code ?? err.message }));
    socket.on('message', (message) => {
      const answer = parseEchoAnswer(message.toString('utf8'));
      finish(answer ?? { error: 'not an echo answer' });
    });
    socket.bind(sourcePort, () => {
      socket.connect(config.port, config.host, () => socket.send('natlens lab query\n'));
    });
  });
}

export async function runTraffic(config: TrafficConfig): Promise<TrafficResult> {
  const udp = config.protocol === 'udp';
  if (config.pairs) {
    if (!udp) throw new Error('pairs of queries are for UDP Services');
    return runUdpPairs({ host: config.host, port: config.port, pairs: config.connections, timeoutMs: config.timeoutMs, ...(config.firstSourcePort !== undefined ? { firstSourcePort: config.firstSourcePort } : {}) });
  }
  const result: TrafficResult = { made: 0, succeeded: 0, failed: 0, servedBy: {}, seen: {}, errors: {} };
  if (config.holdMs !== undefined) {
    if (udp) throw new Error('held connections are for TCP Services (a UDP "connection" is one datagram)');
    for (const outcome of await holdConnections({ host: config.host, port: config.port, connections: config.connections, timeoutMs: config.timeoutMs, holdMs: config.holdMs })) tally(result, outcome);
    return result;
  }
  if (udp && config.connections > UDP_SOURCE_PORT_COUNT) throw new Error(`at most ${UDP_SOURCE_PORT_COUNT} UDP datagrams per run (one source port each)`);
  let next = 0;
  const worker = async () => {
    while (next < config.connections) {
      const i = next++;
      const outcome = udp ? await udpOnce(config, udpSourcePortAt(config.firstSourcePort ?? UDP_SOURCE_PORT_FIRST, i)) : await tcpOnce(config);
      tally(result, outcome);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(config.concurrency, config.connections)) }, worker));
  return result;
}

function tally(result: TrafficResult, outcome: Outcome): void {
  result.made++;
  if ('error' in outcome) {
    result.failed++;
    result.errors[outcome.error] = (result.errors[outcome.error] ?? 0) + 1;
  } else {
    result.succeeded++;
    result.servedBy[outcome.pod] = (result.servedBy[outcome.pod] ?? 0) + 1;
    result.seen[outcome.client] = (result.seen[outcome.client] ?? 0) + 1;
  }
}
