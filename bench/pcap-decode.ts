/*
 * bench/pcap-decode: what decoding a real capture costs with natlens, next to tcpdump on the same file, like for like.
 *
 *   SWC_NODE_PROJECT=$PWD/tsconfig.base.json node -r @swc-node/register bench/pcap-decode.ts [options]
 *     --connections N   connections recorded in the lab, default 20000
 *     --procs P         traffic processes at once, default 2
 *     --concurrency C   connections in flight per process, default 64
 *     --runs N          timed runs of each contender, default 5 (the median is reported)
 *     --record          record a new capture even if bench/results/pcap-decode-lab.pcap exists
 *
 * 1. The capture: a lab (examples/nodeport-cluster.yaml) where a client makes N connections as fast as the lab takes
 *    them (P `natlens lab traffic` processes × C in flight) through node3's node port; node3 has no endpoint, so every
 *    connection is forwarded and SNAT'd, and `tcpdump -i any -w FILE` in node3's namespace records both legs of every
 *    connection with its HTTP request and answer: many distinct connections and real payloads, recorded at the lab's
 *    highest rate. Kept in bench/results/ (with the lab's inventory) and reused by later runs.
 * 2. Whole processes, process start included for every contender, run in turns on the same file:
 *    - `natlens import FILE --node node3 --inventory INV --dry-run --json`: decode every packet, join the NAT legs,
 *      read the PROXY/X-Forwarded-For bytes, and turn connections into enriched records (what a user gets);
 *    - `tcpdump -nn -r FILE > /dev/null`: tcpdump's decode and print, output discarded;
 *    - `tcpdump -r FILE -w /dev/null`: libpcap reading and writing records, no decoding (a floor);
 *    - `natlens --help`: the command line's own start, for reading the first row.
 * 3. The live path in one process, on the same bytes streamed as tcpdump's stdout delivers them (64 KiB chunks
 *    through a stream): pcap-parser (readLivePcap, what the agent's capture source reads tcpdump with) against the
 *    in-house CaptureReader (what `natlens import` reads files with), each followed by decodePacket; packets/s of
 *    each against the capture's own packet rate, which says whether the live path keeps up with the lab's highest rate.
 *
 * Prints a table, then one JSON line (the last line of stdout); writes bench/results/pcap-decode.json.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { CaptureReader, decodePacket, readCapture, readLivePcap, type CaptureRecord, type CaptureVisitor } from '@natlens/agent-pcap';
import { lastJsonLine, log, natlens, NATLENS, ROOT, round, sleep } from './lib/processes';

const args = process.argv.slice(2);
const option = (name: string, fallback: string): string => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? (args[i + 1] as string) : fallback;
};
const CONNECTIONS = Number(option('--connections', '20000'));
const PROCS = Number(option('--procs', '2'));
const CONCURRENCY = Number(option('--concurrency', '64'));
const RUNS = Number(option('--runs', '5'));
const RESULTS = join(ROOT, 'bench', 'results');
const CAPTURE = join(RESULTS, 'pcap-decode-lab.pcap');
const INVENTORY = join(RESULTS, 'pcap-decode-lab.inventory.json');
const RECORDING = join(RESULTS, 'pcap-decode-lab.json');

interface LabUp {
  name: string;
  nodes: { name: string; netns: string }[];
  inventory: string;
}
interface TrafficOut {
  made: number;
  succeeded: number;
  failed: number;
}
interface Recording {
  connections: number;
  succeeded: number;
  wallSeconds: number;
  connectionsPerSecond: number;
  packets: number;
  bytes: number;
  captureSeconds: number;
  packetsPerSecond: number;
  tcpdumpDropped: string;
}

async function record(): Promise<Recording> {
  const name = `bpd${process.pid.toString(36)}`;
  const up = await natlens(['lab', 'up', join(ROOT, 'examples', 'nodeport-cluster.yaml'), '--name', name, '--json'], 180_000);
  if (up.code !== 0) throw new Error(`lab up failed: ${up.stderr.slice(-2000)}`);
  try {
    const lab = lastJsonLine<LabUp>(up.stdout, 'lab up');
    const node3 = lab.nodes.find((n) => n.name === 'node3');
    if (!node3) throw new Error('the lab has no node3');
    copyFileSync(lab.inventory, INVENTORY);
    // -B: a 64 MiB kernel buffer so the recording itself loses nothing at this rate (checked below).
    const tcpdump = spawn('ip', ['netns', 'exec', node3.netns, 'tcpdump', '-i', 'any', '-n', '-B', '65536', '-w', CAPTURE, 'tcp port 30080 or tcp port 8080'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    tcpdump.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    await sleep(1500);
    log(`recording ${CONNECTIONS} connections through node3 (${PROCS} × ${CONCURRENCY} in flight)`);
    const started = Date.now();
    const per = Math.ceil(CONNECTIONS / PROCS);
    const outs = await Promise.all(
      Array.from({ length: PROCS }, () =>
        natlens(['lab', 'traffic', name, '--service', 'default/web', '--via', 'node3', '--client', 'alice', '--connections', String(per), '--concurrency', String(CONCURRENCY), '--json'], 600_000).then((r) => lastJsonLine<TrafficOut>(r.stdout, 'lab traffic')),
      ),
    );
    const wallSeconds = (Date.now() - started) / 1000;
    await sleep(1500);
    tcpdump.kill('SIGINT'); // by its PID: `ip netns exec` execs tcpdump
    await new Promise((resolve) => tcpdump.on('close', resolve));
    const made = outs.reduce((n, o) => n + o.made, 0);
    const succeeded = outs.reduce((n, o) => n + o.succeeded, 0);
    const file = readCapture(readFileSync(CAPTURE));
    if (file.errors.length > 0) throw new Error(`the recording has ${file.errors.length} damaged records`);
    const first = file.records[0] as CaptureRecord;
    const last = file.records[file.records.length - 1] as CaptureRecord;
    const captureSeconds = last.seconds - first.seconds + (last.nanoseconds - first.nanoseconds) / 1e9;
    const rec: Recording = {
      connections: made,
      succeeded,
      wallSeconds: round(wallSeconds, 2),
      connectionsPerSecond: Math.round(succeeded / wallSeconds),
      packets: file.records.length,
      bytes: statSync(CAPTURE).size,
      captureSeconds: round(captureSeconds, 2),
      packetsPerSecond: Math.round(file.records.length / captureSeconds),
      tcpdumpDropped: (/(\d+) packets? dropped by kernel/.exec(stderr)?.[1] ?? '?') + ' dropped by kernel',
    };
    writeFileSync(RECORDING, `${JSON.stringify(rec, null, 2)}\n`);
    return rec;
  } finally {
    const down = await natlens(['lab', 'down', name], 120_000, false);
    if (down.code !== 0) log(`lab down ${name} failed: ${down.stderr.slice(-500)}`);
  }
}

function timeProcess(command: string, commandArgs: string[], stdout: 'ignore' | 'pipe' = 'ignore'): { ms: number; stdout: string } {
  const started = process.hrtime.bigint();
  const result = spawnSync(command, commandArgs, { stdio: ['ignore', stdout, 'pipe'], maxBuffer: 256 << 20 });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`${command} ${commandArgs.join(' ')} failed with ${result.status}: ${result.stderr?.toString().slice(-1000)}`);
  return { ms, stdout: result.stdout?.toString() ?? '' };
}

/** The live path: the capture streamed in 64 KiB chunks, read by `reader`, every packet decoded. */
async function liveStream(reader: 'pcap-parser' | 'CaptureReader', bytes: Buffer): Promise<{ ms: number; packets: number; errors: number }> {
  const started = process.hrtime.bigint();
  let packets = 0;
  let errors = 0;
  const visitor: CaptureVisitor = {
    packet: (r) => {
      decodePacket(r.linkType, r.frame);
      packets++;
    },
    error: () => errors++,
  };
  const stream = new PassThrough({ highWaterMark: 1 << 16 });
  const done = new Promise<void>((resolve) => {
    if (reader === 'pcap-parser') readLivePcap(stream, { ...visitor, end: resolve });
    else {
      const captureReader = new CaptureReader();
      stream.on('data', (chunk: Buffer) => captureReader.push(chunk, visitor));
      stream.on('end', () => {
        captureReader.end(visitor);
        resolve();
      });
    }
  });
  for (let at = 0; at < bytes.length; at += 1 << 16) {
    if (!stream.write(bytes.subarray(at, at + (1 << 16)))) await new Promise((resolve) => stream.once('drain', resolve));
  }
  stream.end();
  await done;
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, packets, errors };
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

async function main(): Promise<void> {
  mkdirSync(RESULTS, { recursive: true });
  let recording: Recording;
  if (args.includes('--record') || !existsSync(CAPTURE) || !existsSync(RECORDING)) recording = await record();
  else {
    recording = JSON.parse(readFileSync(RECORDING, 'utf8')) as Recording;
    log(`reusing ${CAPTURE} (--record makes a new one)`);
  }
  log(`capture: ${recording.packets} packets, ${(recording.bytes / 1e6).toFixed(1)} MB, ${recording.succeeded} connections at ${recording.connectionsPerSecond} conn/s (${recording.packetsPerSecond} packets/s; ${recording.tcpdumpDropped})`);
  const tcpdumpVersion = execFileSync('tcpdump', ['--version']).toString().split('\n')[0];

  const times: Record<string, number[]> = { import: [], help: [], tcpdumpPrint: [], tcpdumpCopy: [] };
  let imported: { packets?: number; connections?: number; records?: number; byVerdict?: Record<string, number>; errorCount?: number } = {};
  const importArgs = [NATLENS, 'import', CAPTURE, '--node', 'node3', '--inventory', INVENTORY, '--dry-run', '--json'];
  timeProcess(process.execPath, importArgs); // warm the page cache and any build cache; not timed
  for (let run = 0; run < RUNS; run++) {
    log(`run ${run + 1}/${RUNS}`);
    const imp = timeProcess(process.execPath, importArgs, 'pipe');
    times['import']?.push(imp.ms);
    imported = lastJsonLine(imp.stdout, 'natlens import');
    times['tcpdumpPrint']?.push(timeProcess('sh', ['-c', `tcpdump -nn -r '${CAPTURE}' > /dev/null 2>&1`]).ms);
    times['tcpdumpCopy']?.push(timeProcess('tcpdump', ['-r', CAPTURE, '-w', '/dev/null']).ms);
    times['help']?.push(timeProcess(process.execPath, [NATLENS, '--help']).ms);
  }

  const bytes = readFileSync(CAPTURE);
  const live: Record<string, number[]> = { 'pcap-parser': [], CaptureReader: [] };
  await liveStream('pcap-parser', bytes); // JIT warm-up, not timed
  await liveStream('CaptureReader', bytes);
  for (let run = 0; run < RUNS; run++) {
    for (const reader of ['pcap-parser', 'CaptureReader'] as const) {
      const r = await liveStream(reader, bytes);
      if (r.packets !== recording.packets || r.errors !== 0) throw new Error(`${reader} read ${r.packets} packets with ${r.errors} errors, expected ${recording.packets}`);
      live[reader]?.push(r.ms);
    }
  }

  const row = (name: string, ms: number[]) => {
    const m = median(ms);
    return { name, ms: Math.round(m), packetsPerSecond: Math.round(recording.packets / (m / 1000)), mbPerSecond: round(recording.bytes / 1e6 / (m / 1000), 1), runs: ms.map(Math.round) };
  };
  const processes = [
    row('natlens import --dry-run (records)', times['import'] as number[]),
    row('tcpdump -nn -r FILE > /dev/null', times['tcpdumpPrint'] as number[]),
    row('tcpdump -r FILE -w /dev/null (no decode)', times['tcpdumpCopy'] as number[]),
    row('natlens --help (start alone)', times['help'] as number[]),
  ];
  const liveRows = [row('live: pcap-parser + decodePacket', live['pcap-parser'] as number[]), row('live: CaptureReader + decodePacket', live['CaptureReader'] as number[])];
  const importMs = median(times['import'] as number[]);
  const result = {
    bench: 'pcap-decode',
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, tcpdump: tcpdumpVersion, loadavg: loadavg().map((l) => round(l, 2)) },
    capture: recording,
    imported: { packets: imported.packets, connections: imported.connections, records: imported.records, byVerdict: imported.byVerdict, errors: imported.errorCount },
    processes,
    live: liveRows,
    natlensImportOverTcpdumpPrint: round(importMs / median(times['tcpdumpPrint'] as number[]), 2),
    pcapParserOverCaptureReader: round(median(live['pcap-parser'] as number[]) / median(live['CaptureReader'] as number[]), 2),
    pcapParserHeadroomOverLabRate: round((liveRows[0]?.packetsPerSecond ?? 0) / recording.packetsPerSecond, 1),
  };
  process.stdout.write(`\n${'contender'.padEnd(44)} ${'median ms'.padStart(10)} ${'packets/s'.padStart(12)} ${'MB/s'.padStart(8)}  runs (ms)\n`);
  for (const r of [...processes, ...liveRows]) process.stdout.write(`${r.name.padEnd(44)} ${String(r.ms).padStart(10)} ${r.packetsPerSecond.toLocaleString('en').padStart(12)} ${String(r.mbPerSecond).padStart(8)}  ${r.runs.join(', ')}\n`);
  process.stdout.write(`natlens import / tcpdump -nn -r: ${result.natlensImportOverTcpdumpPrint}×; pcap-parser / CaptureReader: ${result.pcapParserOverCaptureReader}×; pcap-parser reads ${result.pcapParserHeadroomOverLabRate}× the lab's packet rate\n`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  writeFileSync(join(RESULTS, 'pcap-decode.json'), `${JSON.stringify(result, null, 2)}\n`);
}

main().catch((err: Error) => {
  process.stderr.write(`pcap-decode: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
