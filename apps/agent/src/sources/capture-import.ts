import { CaptureReader, ConnectionTracker, decodePacket, isPcapMagic, parseConntrackDump, ParseError, type CaptureVisitor } from '@natlens/agent-pcap';
import { ClusterIndex, parseInventory } from '@natlens/shared-cluster';
import { flowRecordSchema, type FlowRecord } from '@natlens/shared-model';
import { createReadStream } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { postJson } from '../export/hub-client';
import { enrichConnection } from '../pipeline/enrich';
import type { ObservedConnection } from '../pipeline/observed-connection';
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
  onProgress?: (progress: ImportProgress) => void;
  onRecords?: (records: FlowRecord[]) => void;
}

export interface ImportProgress {
  bytesRead: number;
  bytesTotal: number;
  packets: number;
  connections: number;
  sent: number;
}

export interface ImportSummary {
  file: string;
  node: string;
  format: 'pcap' | 'pcapng' | 'conntrack-text' | 'conntrack-xml' | 'unknown';
  bytes: number;
  packets: number;
  malformedPackets: number;
  /** Malformed file structure, with byte offsets (the first 20). */
  errors: { offset: number; message: string }[];
  errorCount: number;
  connections: number;
  records: number;
  /** Records that failed the flow-record schema locally and were not sent. */
  invalid: number;
  sent: number;
  byVerdict: Record<string, number>;
}

const MAX_ERRORS_LISTED = 20;
/** Report settled connections every this many packets, so memory stays bounded on a long capture. */
const POLL_EVERY_PACKETS = 10_000;

export async function importFile(options: ImportOptions): Promise<ImportSummary> {
  const index = options.inventory ? ClusterIndex.fromObjects(parseInventory(await readFile(options.inventory, 'utf8'), options.inventory).objects) : ClusterIndex.empty();
  const bytesTotal = (await stat(options.file)).size;
  const summary: ImportSummary = { file: options.file, node: options.node, format: 'unknown', bytes: bytesTotal, packets: 0, malformedPackets: 0, errors: [], errorCount: 0, connections: 0, records: 0, invalid: 0, sent: 0, byVerdict: {} };
  const sender = new BatchSender(options, summary);
  const progress = (bytesRead: number) => options.onProgress?.({ bytesRead, bytesTotal, packets: summary.packets, connections: summary.connections, sent: summary.sent });
  const noteError = (err: ParseError) => {
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

  const head = Buffer.alloc(4);
  const handle = await open(options.file, 'r');
  await handle.read(head, 0, 4, 0);
  await handle.close();

  if (isPcapMagic(head) || head.readUInt32BE(0) === 0x0a0d0d0a) {
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
    let bytesRead = 0;
    for await (const chunk of createReadStream(options.file, { highWaterMark: 1 << 20 })) {
      reader.push(chunk as Buffer, visitor);
      bytesRead += (chunk as Buffer).length;
      await sender.drained(); // back-pressure: read on only when the hub has taken what we sent
      progress(bytesRead);
    }
    reader.end(visitor);
    summary.format = reader.stats.format === 'pcapng' ? 'pcapng' : 'pcap';
    flushTracker(tracker.finish());
  } else {
    const dump = parseConntrackDump(await readFile(options.file, 'utf8'));
    summary.format = dump.format === 'xml' ? 'conntrack-xml' : 'conntrack-text';
    dump.errors.forEach(noteError);
    const observedAt = Date.now();
    summary.connections = dump.entries.length;
    emit(dump.entries.map((entry, i) => observationOfDumpEntry(entry, i, observedAt)));
    progress(bytesTotal);
  }
  await sender.flush();
  progress(bytesTotal);
  return summary;
}

/** Collects records and posts them in batches, one at a time and in order (a later report of a flow must land last). */
class BatchSender {
  private batch: FlowRecord[] = [];
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly options: ImportOptions,
    private readonly summary: ImportSummary,
  ) {}

  add(records: FlowRecord[]): void {
    for (const record of records) {
      this.summary.records++;
      this.summary.byVerdict[record.verdict] = (this.summary.byVerdict[record.verdict] ?? 0) + 1;
      this.batch.push(record);
      if (this.batch.length >= (this.options.batchSize ?? 1000)) this.send();
    }
  }

  /** Resolves once every batch so far was accepted; rejects with the hub's answer when one was refused. */
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
    this.chain = this.chain.then(() => this.post(records));
  }

  private async post(records: FlowRecord[]): Promise<void> {
    this.options.onRecords?.(records);
    if (!this.options.hub) return;
    const body = JSON.stringify({ node: this.options.node, sentAt: Date.now(), records });
    const response = await postJson(this.options.hub, '/api/ingest', body);
    if (response.status < 200 || response.status >= 300) {
      throw new Error(`the hub refused a batch of ${records.length} records (HTTP ${response.status}): ${response.body.slice(0, 500)}`);
    }
    this.summary.sent += records.length;
  }
}
