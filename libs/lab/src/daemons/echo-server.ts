import { openSync, writeSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createTcpServer, Socket } from 'node:net';
import { ProxyHeader, parseProxyProtocol } from '@natlens/agent-pcap';
import type { Logger } from 'pino';
import { echoPreamble } from './echo-answer';
import { startUdpEcho } from './udp-echo';

/*
 * The pod's workload: answers like registry.k8s.io/echoserver (`client_address=<what the socket saw>`), reads a
 * PROXY protocol header when one comes first (else an X-Forwarded-For header names the real client), and appends one
 * ground-truth line per request before answering,
 * so the truth is complete the moment the client has its answer. UDP target ports get one answer datagram per
 * datagram, in the same words (udp-echo.ts).
 */
export interface EchoServerConfig {
  namespace: string;
  pod: string;
  node: string;
  podIP: string;
  /** TCP target ports (HTTP). */
  ports: number[];
  /** UDP target ports. */
  udpPorts?: number[];
  truthFile: string;
  readyFile: string;
}

export interface TruthLine {
  /** ms since the epoch */
  t: number;
  port: number;
  client: string;
  clientPort: number;
  /** Absent for TCP (every line written before the lab had UDP is TCP). */
  protocol?: 'udp';
  realClient?: string;
  realClientPort?: number;
}

/** The longest prefix we wait for before deciding a stream carries no PROXY header (v1 lines are ≤ 107 bytes). */
const PROXY_HEADER_WAIT_BYTES = 232;

export async function startEchoServer(config: EchoServerConfig, log: Logger): Promise<void> {
  const truthFd = openSync(config.truthFile, 'a');
  const proxyHeaders = new WeakMap<Socket, ProxyHeader>();

  const http = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    const header = proxyHeaders.get(socket);
    const line: TruthLine = {
      t: Date.now(),
      port: socket.localPort ?? 0,
      client: socket.remoteAddress ?? '?',
      clientPort: socket.remotePort ?? 0,
      ...(header?.source ? { realClient: header.source.address, realClientPort: header.source.port } : forwardedFor(req)),
    };
    writeSync(truthFd, `${JSON.stringify(line)}\n`);
    res.setHeader('Content-Type', 'text/plain');
    res.end(renderEcho(config, req, line, header));
  });
  http.keepAliveTimeout = 1000;

  const acceptWithProxyHeader = (socket: Socket) => {
    let pending = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      let result;
      try {
        result = parseProxyProtocol(pending);
      } catch (err) {
        log.warn({ err: (err as Error).message, client: socket.remoteAddress }, 'malformed PROXY header; closing');
        socket.destroy();
        return;
      }
      if (result.kind === 'incomplete' && pending.length < PROXY_HEADER_WAIT_BYTES) return;
      socket.off('data', onData);
      socket.pause();
      if (result.kind === 'header') {
        proxyHeaders.set(socket, result.value);
        pending = pending.subarray(result.consumed);
      }
      if (pending.length > 0) socket.unshift(pending);
      http.emit('connection', socket);
      socket.resume();
    };
    socket.on('data', onData);
    socket.on('error', () => socket.destroy());
  };

  await Promise.all([
    ...(config.udpPorts ?? []).map((port) => startUdpEcho(config, port, truthFd, log)),
    ...config.ports.map(
      (port) =>
        new Promise<void>((resolve, reject) => {
          const server = createTcpServer(acceptWithProxyHeader);
          server.once('error', reject);
          server.listen({ port, host: '0.0.0.0', backlog: 4096 }, () => resolve());
        }),
    ),
  ]);
  writeFileSync(config.readyFile, String(process.pid));
  log.info({ ports: config.ports, udpPorts: config.udpPorts ?? [] }, 'echo server ready');
}

function renderEcho(config: EchoServerConfig, req: IncomingMessage, line: TruthLine, header?: ProxyHeader): string {
  const headers = Object.entries(req.headers)
    .map(([k, v]) => `\t${k}=${Array.isArray(v) ? v.join(',') : v}`)
    .join('\n');
  const proxy = header?.source
    ? `\nProxy Protocol:\n\tversion=${header.version}\n\tsource=${header.source.address}:${header.source.port}\n\tdestination=${header.destination?.address}:${header.destination?.port}\n`
    : '';
  return [
    ...echoPreamble(config),
    'Request Information:',
    `\tclient_address=${line.client}`,
    `\tmethod=${req.method}`,
    `\treal path=${req.url}`,
    `\trequest_version=${req.httpVersion}`,
    `\trequest_uri=http://${req.headers.host ?? ''}${req.url}`,
    '',
    'Request Headers:',
    headers,
    proxy,
    'Request Body:',
    '\t-no body in request-',
    '',
  ].join('\n');
}

/** The client an HTTP proxy named in X-Forwarded-For (the leftmost address is the one the first proxy saw). */
function forwardedFor(req: IncomingMessage): { realClient?: string } {
  const header = req.headers['x-forwarded-for'];
  const first = (Array.isArray(header) ? header[0] : header)?.split(',')[0]?.trim();
  return first ? { realClient: first } : {};
}
