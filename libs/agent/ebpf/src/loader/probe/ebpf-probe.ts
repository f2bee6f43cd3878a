/*
 * Runs inside a throwaway network namespace for ebpf-program.spec.ts (a netfilter link hooks the namespace of the
 * process that makes it): loads the BPF program, makes real TCP connections through a DNAT and an SNAT rule and to a
 * port the filter table drops, UDP queries through a DNAT rule and to a dropped UDP Service port, and one UDP tuple
 * in two conntrack zones, and prints as one JSON line what the ring buffer delivered.
 *   ebpf-probe.ts <netfilter|fexit> <connections> [all|snat-exhaustion]
 * snat-exhaustion instead holds <connections> TCP connections open at once through an SNAT rule with fewer source
 * ports than that, and reports the NAT_FAILURE events of the ones conntrack could not insert.
 * The namespace is prepared by the spec (addresses, rules); see there.
 */
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { connect, createServer, type Socket } from 'node:net';
import { decodeEventBatch } from '../../decode/decode-events';
import type { EbpfEvent } from '../../decode/ebpf-event';
import { EVENT_SIZE } from '../../decode/event-layout';
import { probeCapabilities, type EbpfMode } from '../capabilities';
import { EbpfProgram } from '../ebpf-program';
import { explainLoadError } from '../open-ebpf';
import { PROBE } from './probe-network';

const [modeArg = 'netfilter', connectionsArg = '20', scenario = 'all'] = process.argv.slice(2);
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

/** One datagram from `sourcePort` (0: any) and, unless it is dropped, its answer. */
function queryOnce(host: string, port: number, localAddress: string, sourcePort: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const finish = (answered: boolean) => {
      clearTimeout(timer);
      socket.close();
      resolve(answered);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('message', () => finish(true));
    socket.on('error', () => finish(false));
    socket.bind(sourcePort, localAddress, () => socket.send('query', port, host));
  });
}

function udpEcho(address: string, port: number): Promise<ReturnType<typeof createSocket>> {
  return new Promise((resolve) => {
    const server = createSocket('udp4');
    server.on('message', (message, remote) => server.send(message, remote.port, remote.address));
    server.bind(port, address, () => resolve(server));
  });
}

/** The raw-table rules that put UDP to the zone port in `zone` (ebpf-program.spec.ts appends them for zone 1). */
function zoneRules(zone: number): void {
  execFileSync('iptables', ['-t', 'raw', '-R', 'OUTPUT', '1', '-p', 'udp', '--dport', String(PROBE.zonePort), '-j', 'CT', '--zone', String(zone)]);
  execFileSync('iptables', ['-t', 'raw', '-R', 'OUTPUT', '2', '-p', 'udp', '--sport', String(PROBE.zonePort), '-j', 'CT', '--zone', String(zone)]);
}

/** Opens `count` connections at once and keeps them open `holdMs`; how many got connected. */
async function holdConnections(count: number, holdMs: number): Promise<number> {
  const sockets: Socket[] = [];
  let connected = 0;
  for (let i = 0; i < count; i++) {
    const socket = connect({ host: PROBE.service, port: PROBE.exhaustPort, localAddress: PROBE.client });
    socket.on('connect', () => connected++);
    socket.on('error', () => undefined);
    sockets.push(socket);
  }
  await new Promise((r) => setTimeout(r, holdMs));
  for (const socket of sockets) socket.destroy();
  return connected;
}

async function snatExhaustion(program: EbpfProgram, netns: number): Promise<void> {
  const events: EbpfEvent[] = [];
  let raw: string | undefined;
  program.start({
    onEvents: (batch) => {
      const decoded = decodeEventBatch(batch);
      const first = decoded.events.findIndex((e) => e.kind === 'nat-failure');
      if (raw === undefined && first >= 0) raw = batch.subarray(first * EVENT_SIZE, (first + 1) * EVENT_SIZE).toString('hex');
      events.push(...decoded.events);
    },
    onError: (errno, message) => process.stderr.write(`ring buffer error ${errno}: ${message}\n`),
  });
  const server = createServer(() => undefined);
  await new Promise<void>((resolve) => server.listen(PROBE.exhaustServerPort, PROBE.server, resolve));
  const connected = await holdConnections(connections, 1500);
  await new Promise((r) => setTimeout(r, 200));
  server.close();
  const ours = events.filter((e) => e.original.dport === PROBE.exhaustPort);
  process.stdout.write(
    JSON.stringify({
      mode,
      loaded: true,
      netns,
      connected,
      news: ours.filter((e) => e.kind === 'new'),
      failures: ours.filter((e) => e.kind === 'nat-failure'),
      raw,
      counters: program.namespaceCounters(),
    }) + '\n',
  );
  program.close();
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
  if (scenario === 'snat-exhaustion') return snatExhaustion(program, caps.netns);
  const events: EbpfEvent[] = [];
  let raw: string | undefined;
  let decodeErrors = 0;
  program.setServicePorts([
    { protocol: 6, port: PROBE.droppedPort },
    { protocol: 17, port: PROBE.udpDroppedPort },
  ]);
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
  // UDP: queries through the DNAT rule, one to a UDP Service port the filter table drops, one tuple in zones 1 and 2
  const udpServers = await Promise.all([udpEcho(PROBE.server, PROBE.udpServerPort), udpEcho(PROBE.server, PROBE.zonePort)]);
  let udpAnswered = 0;
  for (let i = 0; i < connections; i++) if (await queryOnce(PROBE.service, PROBE.udpServicePort, PROBE.client, 0, 2000)) udpAnswered++;
  await queryOnce(PROBE.client, PROBE.udpDroppedPort, PROBE.client, 0, 300);
  let zoneAnswered = 0;
  // a port of this run: an earlier probe's entries for the tuple (UDP lives 30 s) would make these no new connection
  const zoneClientPort = PROBE.zoneClientPort + (process.pid % 10_000);
  for (const zone of [1, 2]) {
    zoneRules(zone);
    if (await queryOnce(PROBE.server, PROBE.zonePort, PROBE.client, zoneClientPort, 2000)) zoneAnswered++;
  }
  await new Promise((r) => setTimeout(r, 300));
  server.close();
  for (const udpServer of udpServers) udpServer.close();
  const ours = events.filter((e) => e.protocol === 6 && e.original.dport === PROBE.servicePort);
  const udp = events.filter((e) => e.protocol === 17 && e.original.dport === PROBE.udpServicePort);
  const zoned = events.filter((e) => e.protocol === 17 && e.original.dport === PROBE.zonePort);
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
      udp: { answered: udpAnswered, news: udp.filter((e) => e.kind === 'new').length, ends: udp.filter((e) => e.kind === 'end').length, sampleNew: udp.find((e) => e.kind === 'new') },
      zones: { answered: zoneAnswered, news: zoned.filter((e) => e.kind === 'new') },
      raw,
      decodeErrors,
      counters: program.namespaceCounters(),
      stats: program.stats(),
    }) + '\n',
  );
  program.close();
}

void main();
