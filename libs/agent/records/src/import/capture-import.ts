import { CaptureReader, ConnectionTracker, decodePacket, isPcapMagic, openConntrackDumpStream, type CaptureVisitor } from '@natlens/agent-pcap';
import { ParseError } from '@natlens/agent-wire';
import { ClusterIndex, parseInventory } from '@natlens/shared-cluster';
import { flowRecordSchema, type FlowRecord, type ImportSummary } from '@natlens/shared-model';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { postJson } from '../hub-client';
import { enrichConnection } from '../enrich';
import type { ObservedConnection } from '../observed-connection';
import { observationOfCapture, observationOfDumpEntry } from './capture-observation';

/*
 * `natlens import`: a capture (pcap, pcapng) or a saved conntrack table (`conntrack -L [-o extended|xml]`) taken on
 * some node, turned into that node's flow records with the agent's own decode → correlate → enrich stages, and
 * posted to the hub's ingest API in batches (idempotent: importing a file twice changes nothing).
 */

export interface ImportOptions {
  file: string;
  node: string;
  /** Where the records go; absent: only the summary (and `onRecords`). */
  hub?: { url: string; token?: string };
  /** Cluster metadata (a Kubernetes List, as `natlens agent --inventory` reads); without it every record is not-service. */
  inventory?: string;
  batchSize?: number;
  /** See ImportStreamOptions.maxTextBytes. */
  maxTextBytes?: number;
  onProgress?: (progress: ImportProgress) => void;
  onRecords?: (records: FlowRecord[]) => void;
}

/** Where an import's bytes come from and its records go, whatever carries them (a file, an HTTP upload). */
export interface ImportStreamOptions {
  /** A name for the summary (a file path, an upload's file name). */
  name: string;
  node: string;
  index: ClusterIndex;
  /** The whole size when known (progress); 0 when not. */
  bytesTotal: number;
  /** `auto` tells pcap and pcapng from their magic numbers and reads anything else as `conntrack -L` output. */
  format?: 'auto' | 'pcap' | 'pcapng' | 'conntrack';
  batchSize?: number;
  /**
   * Takes one batch of records; the next is not sent before it resolves (back-pressure on the reading). Resolves to
   * whether the records went somewhere (they count as `sent`); rejects to stop the import.
   */
  deliver: (records: FlowRecord[]) => Promise<boolean>;
  onProgress?: (progress: ImportProgress) => void;
  /** Stop reading a conntrack dump past this many bytes (what came before is delivered). Default 64 MiB. */
  maxTextBytes?: number;
}

export class ImportTooLargeError extends Error {}

export interface ImportProgress {
  bytesRead: number;
  bytesTotal: number;
  packets: number;
  connections: number;
  sent: number;
}

export type { ImportSummary };

const MAX_ERRORS_LISTED = 20;
/** Report settled connections every this many packets, so memory stays bounded on a long capture. */
const POLL_EVERY_PACKETS = 10_000;

export async function importFile(options: ImportOptions): Promise<ImportSummary> {
  const index = options.inventory ? ClusterIndex.fromObjects(parseInventory(await readFile(options.inventory, 'utf8'), options.inventory).objects) : ClusterIndex.empty();
  const bytesTotal = (await stat(options.file)).size;
  return importChunks(createReadStream(options.file, { highWaterMark: 1 << 20 }), {
    name: options.file,
    node: options.node,
    index,
    bytesTotal,
    ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
    ...(options.maxTextBytes !== undefined ? { maxTextBytes: options.maxTextBytes } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    deliver: async (records) => {
      options.onRecords?.(records);
      if (!options.hub) return false;
      const body = JSON.stringify({ node: options.node, sentAt: Date.now(), records });
      const response = await postJson(options.hub, '/api/ingest', body);
      if (response.status < 200 || response.status >= 300) {
        throw new Error(`the hub refused a batch of ${records.length} records (HTTP ${response.status}): ${response.body.slice(0, 500)}`);
      }
      return true;
    },
  });
}

const PCAPNG_MAGIC = 0x0a0d0d0a;
/**
 * A conntrack dump streams (in a worker thread once it passes 1 MiB), so this bounds the time an upload may hold a
 * worker, not memory: 64 MiB is a table of some 250,000 entries as text, 90,000 as XML.
 */
export const DEFAULT_MAX_TEXT_BYTES = 64 * 1024 * 1024;

/**
 * The import itself over any stream of bytes: the format from its first bytes (or as told), then decode → correlate
 * → enrich as the agent does, records delivered in batches, in order. A damaged part of the input is reported with
 * its byte offset in the summary and the rest is still used.
 */
export async function importChunks(chunks: AsyncIterable<Buffer | Uint8Array | string>, options: ImportStreamOptions): Promise<ImportSummary> {
  const { index, bytesTotal } = options;
  const summary: ImportSummary = { file: options.name, node: options.node, format: 'unknown', bytes: 0, packets: 0, malformedPackets: 0, errors: [], errorCount: 0, connections: 0, records: 0, invalid: 0, sent: 0, byVerdict: {} };
  const sender = new BatchSender(options.batchSize ?? 1000, options.deliver, summary);
  const progress = (bytesRead: number) => options.onProgress?.({ bytesRead, bytesTotal: Math.max(bytesTotal, bytesRead), packets: summary.packets, connections: summary.connections, sent: summary.sent });
  const noteError = (err: ParseError): void => {
    summary.errorCount++;
    if (summary.errors.length < MAX_ERRORS_LISTED) summary.errors.push({ offset: err.offset, message: err.message });
  };
  const emit = (observations: ObservedConnection[]): void => {
    const records: FlowRecord[] = [];
    for (const observation of observations) {
      const record = enrichConnection(observation, index, options.node);
      if (!flowRecordSchema.safeParse(record).success) {
        summary.invalid++;
        continue;
      }
      records.push(record);
    }
    sender.add(records);
  };

  const iterator = chunks[Symbol.asyncIterator]();
  // The first bytes decide the format: gather at least 4 (a stream may deliver fewer at first).
  const first: Buffer[] = [];
  let firstBytes = 0;
  let exhausted = false;
  while (firstBytes < 4) {
    const next = await iterator.next();
    if (next.done) {
      exhausted = true;
      break;
    }
    const chunk = toBuffer(next.value);
    first.push(chunk);
    firstBytes += chunk.length;
  }
  const head = Buffer.concat(first);
  const format = options.format ?? 'auto';
  const isCapture = format === 'pcap' || format === 'pcapng' || (format === 'auto' && head.length >= 4 && (isPcapMagic(head) || head.readUInt32BE(0) === PCAPNG_MAGIC));
  async function* rest(): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head;
    if (exhausted) return;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield toBuffer(next.value);
    }
  }

  if (isCapture) {
    const tracker = new ConnectionTracker({ isServiceFrontend: (ip, port) => index.serviceFrontend(ip, port, 'tcp') !== undefined });
    const reader = new CaptureReader();
    let captureTime = 0;
    let sinceLastPoll = 0;
    const connectionIds = new Set<string>();
    // A connection may be reported more than once (settled, then ended): one flow id, the last report wins at the hub.
    const flushTracker = (events: ReturnType<ConnectionTracker['poll']>) => {
      if (events.length === 0) return;
      for (const event of events) connectionIds.add(event.connection.id);
      summary.connections = connectionIds.size;
      emit(events.map((event) => observationOfCapture(event, event.connection.lastSeenAt)));
    };
    const visitor: CaptureVisitor = {
      packet: (record) => {
        summary.packets++;
        let packet;
        try {
          packet = decodePacket(record.linkType, record.frame);
        } catch (err) {
          if (!(err instanceof ParseError)) throw err;
          summary.malformedPackets++;
          return;
        }
        captureTime = Math.max(captureTime, record.seconds * 1000 + record.nanoseconds / 1e6);
        tracker.add(packet, record.seconds * 1000 + record.nanoseconds / 1e6, record.originalLength - packet.link.payloadOffset);
        if (++sinceLastPoll >= POLL_EVERY_PACKETS) {
          sinceLastPoll = 0;
          flushTracker(tracker.poll(captureTime));
        }
      },
      error: noteError,
    };
    for await (const chunk of rest()) {
      reader.push(chunk, visitor);
      summary.bytes += chunk.length;
      await sender.drained(); // back-pressure: read on only when the receiver has taken what we sent
      progress(summary.bytes);
    }
    reader.end(visitor);
    summary.format = reader.stats.format === 'pcapng' ? 'pcapng' : 'pcap';
    flushTracker(tracker.finish());
  } else {
    const maxTextBytes = options.maxTextBytes ?? DEFAULT_MAX_TEXT_BYTES;
    const dump = openConntrackDumpStream({ maxErrors: MAX_ERRORS_LISTED });
    const observedAt = Date.now();
    const emitEntries = () => {
      const entries = dump.take();
      if (entries.length === 0) return;
      const first = summary.connections;
      summary.connections += entries.length;
      emit(entries.map((entry, i) => observationOfDumpEntry(entry, first + i, observedAt)));
    };
    try {
      for await (const chunk of rest()) {
        summary.bytes += chunk.length;
        if (summary.bytes > maxTextBytes) {
          throw new ImportTooLargeError(
            `${options.name}: not a pcap or pcapng capture, and as conntrack -L output it is larger than ${maxTextBytes} bytes; the entries before that point were imported: split the file (conntrack -L output is one connection per line) or send a capture`,
          );
        }
        dump.push(chunk);
        emitEntries();
        await sender.drained();
        progress(summary.bytes);
      }
      const read = await dump.end();
      emitEntries();
      summary.format = read.format === 'xml' ? 'conntrack-xml' : 'conntrack-text';
      read.errors.forEach(noteError);
      summary.errorCount += read.errorCount - read.errors.length; // counted by the reader, not listed
    } finally {
      dump.close();
    }
  }
  await sender.flush();
  progress(summary.bytes);
  return summary;
}

function toBuffer(chunk: Buffer | Uint8Array | string): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  return typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/** Collects records and delivers them in batches, one at a time and in order (a later report of a flow must land last). */
class BatchSender {
  private batch: FlowRecord[] = [];
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly batchSize: number,
    private readonly deliver: (records: FlowRecord[]) => Promise<boolean>,
    private readonly summary: ImportSummary,
  ) {}

  add(records: FlowRecord[]): void {
    for (const record of records) {
      this.summary.records++;
      this.summary.byVerdict[record.verdict] = (this.summary.byVerdict[record.verdict] ?? 0) + 1;
      this.batch.push(record);
      if (this.batch.length >= this.batchSize) this.send();
    }
  }

  /** Resolves once every batch so far was delivered; rejects with the receiver's error when one was refused. */
  drained(): Promise<void> {
    return this.chain;
  }

  async flush(): Promise<void> {
    this.send();
    await this.chain;
  }

  private send(): void {
    if (this.batch.length === 0) return;
    const records = this.batch;
    this.batch = [];
    this.chain = this.chain.then(async () => {
      if (await this.deliver(records)) this.summary.sent += records.length;
    });
  }
}
