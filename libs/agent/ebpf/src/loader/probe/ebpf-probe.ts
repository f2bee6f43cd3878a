/*
 * Runs inside a throwaway network namespace for ebpf-program.spec.ts (a netfilter link hooks the namespace of the
 * process that makes it): loads the BPF program, makes real TCP connections through a DNAT and an SNAT rule and to a
 * port the filter table drops, and prints as one JSON line what the ring buffer delivered.
 *   ebpf-probe.ts <netfilter|fexit> <connections>
 * The namespace is prepared by the spec (addresses, rules); see there.
 */
import { connect, createServer, type Socket } from 'node:net';
import { decodeEventBatch } from '../../decode/decode-events';
import type { EbpfEvent } from '../../decode/ebpf-event';
import { EVENT_SIZE } from '../../decode/event-layout';
import { probeCapabilities, type EbpfMode } from '../capabilities';
import { EbpfProgram } from '../ebpf-program';
import { explainLoadError } from '../open-ebpf';
import { PROBE } from './probe-network';

const [modeArg = 'netfilter', connectionsArg = '20'] = process.argv.slice(2);
const mode = modeArg as EbpfMode;
const connections = Number(connectionsArg);

function connectOnce(host: string, port: number, localAddress: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket: Socket = connect({ host, port, localAddress });
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('data', () => socket.end());
    socket.on('close', (hadError) => resolve(!hadError));
    socket.on('error', () => resolve(false));
  });
}

async function main(): Promise<void> {
  const caps = probeCapabilities();
  let program: EbpfProgram;
  try {
    program = EbpfProgram.open({ mode, drops: true, netns: caps.netns, ringBufferBytes: 1 << 20, wakeupBytes: 4096, pollIntervalMs: 20 });
  } catch (err) {
    process.stdout.write(JSON.stringify({ mode, loaded: false, error: explainLoadError(err) }) + '\n');
    return;
  }
  const events: EbpfEvent[] = [];
  let raw: string | undefined;
  let decodeErrors = 0;
  program.setServicePorts([{ protocol: 6, port: PROBE.droppedPort }]);
  program.start({
    onEvents: (batch) => {
      const decoded = decodeEventBatch(batch);
      decodeErrors += decoded.errors.length;
      const firstNew = decoded.events.findIndex((e) => e.kind === 'new' && e.original.dport === PROBE.servicePort);
      if (raw === undefined && firstNew >= 0) raw = batch.subarray(firstNew * EVENT_SIZE, (firstNew + 1) * EVENT_SIZE).toString('hex');
      events.push(...decoded.events);
    },
    onError: (errno, message) => process.stderr.write(`ring buffer error ${errno}: ${message}\n`),
  });
  const server = createServer((socket) => socket.end('ok'));
  await new Promise<void>((resolve) => server.listen(PROBE.serverPort, PROBE.server, resolve));
  let succeeded = 0;
  for (let i = 0; i < connections; i++) if (await connectOnce(PROBE.service, PROBE.servicePort, PROBE.client, 2000)) succeeded++;
  // one SYN to a Service port the filter table drops, one to a port that is no Service's
  await connectOnce(PROBE.client, PROBE.droppedPort, PROBE.client, 300);
  await connectOnce(PROBE.client, PROBE.otherDroppedPort, PROBE.client, 300);
  await new Promise((r) => setTimeout(r, 300));
  server.close();
  const ours = events.filter((e) => e.original.dport === PROBE.servicePort);
  process.stdout.write(
    JSON.stringify({
      mode,
      loaded: true,
      attachments: program.attachments(),
      netns: caps.netns,
      succeeded,
      news: ours.filter((e) => e.kind === 'new').length,
      ends: new Set(ours.filter((e) => e.kind === 'end').map((e) => e.connCookie)).size,
      drops: events.filter((e) => e.kind === 'drop'),
      sampleNew: ours.find((e) => e.kind === 'new'),
      sampleEnd: ours.find((e) => e.kind === 'end'),
      raw,
      decodeErrors,
      counters: program.namespaceCounters(),
      stats: program.stats(),
    }) + '\n',
  );
  program.close();
}

void main();
