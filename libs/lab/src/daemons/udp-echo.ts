import { createSocket } from 'node:dgram';
import { writeSync } from 'node:fs';
import type { Logger } from 'pino';
import { renderUdpEcho } from './echo-answer';
import type { EchoServerConfig, TruthLine } from './echo-server';

/*
 * A pod's UDP target port, answering like a DNS server would: one datagram in, one datagram out, sent back from the
 * port it came to (so conntrack's REPLY direction carries it and un-NATs it). The ground-truth line is written
 * before the answer, as for TCP: the truth is complete the moment the client has its answer.
 */
export function startUdpEcho(config: EchoServerConfig, port: number, truthFd: number, log: Logger): Promise<void> {
  const socket = createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
  socket.on('message', (message, remote) => {
    const line: TruthLine = { t: Date.now(), port, client: remote.address, clientPort: remote.port, protocol: 'udp' };
    writeSync(truthFd, `${JSON.stringify(line)}\n`);
    socket.send(renderUdpEcho(config, { address: remote.address, port: remote.port }, message.length), remote.port, remote.address, (err) => {
      if (err) log.warn({ err: err.message, client: remote.address }, 'UDP answer not sent');
    });
  });
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ port, address: '0.0.0.0' }, () => {
      socket.off('error', reject);
      socket.on('error', (err) => log.warn({ err: err.message, port }, 'UDP echo socket error'));
      resolve();
    });
  });
}
