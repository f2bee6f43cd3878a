import { connect, type Socket } from 'node:net';
import { parseEchoAnswer } from './echo-answer';

/*
 * Many concurrent connections held open (`lab traffic --hold-ms`): what exhausts a node's SNAT ports for one
 * destination. Every connection is opened at once and kept open, idle, until `holdMs` after the start, so each
 * holds its conntrack entry, and with it its translated source port, for the whole time. Only then does each send
 * its HTTP request (Connection: close) and read which pod answered and what client address it saw; sending it
 * earlier would let the echo server's keep-alive timeout close the connection and free the port. A connection not
 * established within the timeout (its SYNs dropped: conntrack could not insert it) has failed.
 */

export interface HeldConnectionsConfig {
  host: string;
  port: number;
  connections: number;
  timeoutMs: number;
  holdMs: number;
}

type Outcome = { pod: string; client: string } | { error: string };

function holdOne(config: HeldConnectionsConfig, releaseAt: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket: Socket = connect({ host: config.host, port: config.port });
    let settled = false;
    let body = '';
    const finish = (outcome: Outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(connectTimer);
      socket.destroy();
      resolve(outcome);
    };
    const connectTimer = setTimeout(() => finish({ error: 'timeout' }), config.timeoutMs);
    socket.on('error', (err: NodeJS.ErrnoException) => finish({ error: err.code ?? err.message }));
    socket.on('connect', () => {
      clearTimeout(connectTimer);
      setTimeout(() => {
        socket.setTimeout(config.timeoutMs, () => finish({ error: 'timeout' }));
        socket.write(`GET / HTTP/1.1\r\nHost: ${config.host}\r\nConnection: close\r\n\r\n`);
      }, Math.max(0, releaseAt - Date.now()));
    });
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (body += chunk));
    socket.on('end', () => {
      const answer = /^HTTP\/1\.1 200 /.test(body) ? parseEchoAnswer(body) : undefined;
      finish(answer ?? { error: `HTTP ${/^HTTP\/1\.1 (\d+)/.exec(body)?.[1] ?? 'no answer'}` });
    });
  });
}

export async function holdConnections(config: HeldConnectionsConfig): Promise<Outcome[]> {
  const releaseAt = Date.now() + config.holdMs;
  return Promise.all(Array.from({ length: config.connections }, () => holdOne(config, releaseAt)));
}
