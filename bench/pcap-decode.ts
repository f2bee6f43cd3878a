/*
 * bench/pcap-decode: how fast does natlens decode a capture, next to `tcpdump -nn -r FILE > /dev/null`?
 *
 *   SWC_NODE_PROJECT=/work/main/tsconfig.base.json node -r @swc-node/register bench/pcap-decode.ts [options]
 *     --packets N     capture size, default 1000000
 *     --runs N        timed runs of each contender, default 3 (the median is reported)
 *     --fixture F     the real capture repeated to make the file (default the Ethernet capture with HTTP headers)
 *     --keep-file     keep the generated capture in bench/results/
 *
 * The capture is a real lab capture (libs/agent/pcap/src/fixtures) repeated until it holds N packets, each copy 10 s
 * after the previous one, so every packet is a real packet and the file is a valid pcap tcpdump reads. In one run, on
 * the same file, in turns (natlens, tcpdump, natlens, …), it times:
 *   - natlens decode: stream the file (1 MiB reads) through CaptureReader and decodePacket every packet down to TCP
 *     (addresses as text, ports, flags, sequence numbers, payload view);
 *   - natlens decode + correlate: the same plus ConnectionTracker (legs joined, connections reported);
 *   - tcpdump -nn -r FILE > /dev/null: tcpdump's own decode and print, output discarded (what the issue names);
 *   - tcpdump -r FILE -w /dev/null: libpcap reading and writing records without decoding them (a floor).
 * Wall time per run; packets/s and MB/s from the file's packets and bytes. Prints a table, then one JSON line, and
 * writes bench/results/pcap-decode.json.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createReadStream, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { CaptureReader, ConnectionTracker, decodePacket, readCapture, type CaptureVisitor } from '@natlens/agent-pcap';
import { formatPcapFileHeader, formatPcapRecord } from '@natlens/agent-pcap';

const args = process.argv.slice(2);
const option = (name: string, fallback: string): string => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? (args[i + 1] as string) : fallback;
};
const PACKETS = Number(option('--packets', '1000000'));
const RUNS = Number(option('--runs', '3'));
const ROOT = join(__dirname, '..');
const FIXTURE = option('--fixture', join(ROOT, 'libs/agent/pcap/src/fixtures/np-cluster-node1-eth0-xff.pcap'));
const RESULTS = join(ROOT, 'bench', 'results');
const FILE = join(RESULTS, 'pcap-decode.pcap');

function makeCapture(): { packets: number; bytes: number; linkType: number } {
  const source = readCapture(readFileSync(FIXTURE));
  if (source.errors.length > 0 || source.records.length === 0) throw new Error(`${FIXTURE}: not a clean capture`);
  const first = source.records[0] as (typeof source.records)[number];
  const parts: Buffer[] = [formatPcapFileHeader({ linkType: first.linkType })];
  let written = 0;
  for (let copy = 0; written < PACKETS; copy++) {
    for (const record of source.records) {
      if (written === PACKETS) break;
      parts.push(formatPcapRecord({ seconds: record.seconds + copy * 10, fraction: Math.floor(record.nanoseconds / 1000), frame: withClientPorts(record, copy), originalLength: record.originalLength }));
      written++;
    }
  }
  const file = Buffer.concat(parts);
  writeFileSync(FILE, file);
  return { packets: written, bytes: file.length, linkType: first.linkType };
}

/**
 * The frame with every port but the Service's (30080, 8080) moved by `copy`, the same way on both legs and in both
 * directions, so each copy is a new set of connections (tuples that repeat would be one connection to the tracker).
 * Checksums are left as they were: neither tcpdump (without -vv) nor natlens checks them.
 */
function withClientPorts(record: { linkType: number; frame: Buffer }, copy: number): Buffer {
  const frame = Buffer.from(record.frame);
  const packet = decodePacket(record.linkType, frame);
  if (!packet.tcp || !packet.ip) return frame;
  const tcpOffset = packet.ip.payload.byteOffset - frame.byteOffset;
  for (const at of [tcpOffset, tcpOffset + 2]) {
    const port = frame.readUInt16BE(at);
    if (port !== 30080 && port !== 8080) frame.writeUInt16BE(1024 + ((port - 1024 + copy * 7) % 64000), at);
  }
  return frame;
}

async function natlensDecode(correlate: boolean): Promise<{ ms: number; packets: number; tcp: number; connections: number; errors: number }> {
  const started = process.hrtime.bigint();
  const reader = new CaptureReader();
  const tracker = correlate ? new ConnectionTracker() : undefined;
  let packets = 0;
  let tcp = 0;
  let errors = 0;
  let connections = 0;
  let captureTime = 0;
  const visitor: CaptureVisitor = {
    packet: (record) => {
      packets++;
      const packet = decodePacket(record.linkType, record.frame);
      if (packet.tcp) tcp++;
      if (tracker) {
        captureTime = record.seconds * 1000 + record.nanoseconds / 1e6;
        tracker.add(packet, captureTime, record.originalLength - packet.link.payloadOffset);
        if (packets % 10_000 === 0) connections += tracker.poll(captureTime).filter((e) => e.kind === 'destroy').length;
      }
    },
    error: () => errors++,
  };
  for await (const chunk of createReadStream(FILE, { highWaterMark: 1 << 20 })) reader.push(chunk as Buffer, visitor);
  reader.end(visitor);
  if (tracker) connections += tracker.finish().filter((e) => e.kind === 'destroy').length;
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, packets, tcp, connections, errors };
}

function timeCommand(command: string, commandArgs: string[]): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(command, commandArgs, { stdio: ['ignore', 'ignore', 'ignore'] });
  if (result.status !== 0) throw new Error(`${command} ${commandArgs.join(' ')} failed with ${result.status}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

async function main(): Promise<void> {
  mkdirSync(RESULTS, { recursive: true });
  process.stderr.write(`making a ${PACKETS}-packet capture from ${FIXTURE}\n`);
  const capture = makeCapture();
  const tcpdumpVersion = execFileSync('tcpdump', ['--version']).toString().split('\n')[0];
  const times: Record<string, number[]> = { decode: [], correlate: [], tcpdumpPrint: [], tcpdumpCopy: [] };
  let check: Awaited<ReturnType<typeof natlensDecode>> | undefined;
  let correlated: Awaited<ReturnType<typeof natlensDecode>> | undefined;
  // one warm-up of our decoder (JIT), not timed
  await natlensDecode(false);
  for (let run = 0; run < RUNS; run++) {
    process.stderr.write(`run ${run + 1}/${RUNS}\n`);
    check = await natlensDecode(false);
    times['decode']?.push(check.ms);
    times['tcpdumpPrint']?.push(timeCommand('sh', ['-c', `tcpdump -nn -r '${FILE}' > /dev/null 2>&1`]));
    correlated = await natlensDecode(true);
    times['correlate']?.push(correlated.ms);
    times['tcpdumpCopy']?.push(timeCommand('tcpdump', ['-r', FILE, '-w', '/dev/null']));
  }
  if (!check || check.packets !== capture.packets || check.errors !== 0) throw new Error(`natlens read ${check?.packets} packets with ${check?.errors} errors, expected ${capture.packets}`);
  const row = (name: string, key: string) => {
    const ms = median(times[key] as number[]);
    return { name, ms: Math.round(ms), packetsPerSecond: Math.round(capture.packets / (ms / 1000)), mbPerSecond: Number((capture.bytes / 1e6 / (ms / 1000)).toFixed(1)), runs: (times[key] as number[]).map(Math.round) };
  };
  const rows = [
    row('natlens decode (CaptureReader + decodePacket)', 'decode'),
    row('natlens decode + correlate (ConnectionTracker)', 'correlate'),
    row('tcpdump -nn -r FILE > /dev/null', 'tcpdumpPrint'),
    row('tcpdump -r FILE -w /dev/null (no decode)', 'tcpdumpCopy'),
  ];
  const result = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, tcpdump: tcpdumpVersion },
    capture: { fixture: FIXTURE.replace(`${ROOT}/`, ''), packets: capture.packets, bytes: capture.bytes, linkType: capture.linkType },
    decoded: { packets: check.packets, tcp: check.tcp, errors: check.errors, connections: correlated?.connections },
    rows,
    speedupOverTcpdump: Number((median(times['tcpdumpPrint'] as number[]) / median(times['decode'] as number[])).toFixed(2)),
  };
  process.stdout.write(`\n${'contender'.padEnd(50)} ${'median ms'.padStart(10)} ${'packets/s'.padStart(12)} ${'MB/s'.padStart(8)}  runs (ms)\n`);
  for (const r of rows) process.stdout.write(`${r.name.padEnd(50)} ${String(r.ms).padStart(10)} ${r.packetsPerSecond.toLocaleString('en').padStart(12)} ${String(r.mbPerSecond).padStart(8)}  ${r.runs.join(', ')}\n`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  writeFileSync(join(RESULTS, 'pcap-decode.json'), `${JSON.stringify(result, null, 2)}\n`);
  if (!args.includes('--keep-file')) rmSync(FILE);
  else process.stderr.write(`kept ${FILE} (${statSync(FILE).size} bytes)\n`);
}

main().catch((err: Error) => {
  process.stderr.write(`pcap-decode: ${err.message}\n`);
  rmSync(FILE, { force: true });
  process.exit(1);
});
