import type { Logger } from 'pino';
import type { FlowBatch } from '@natlens/shared-model';
import type { AgentMetrics } from '../metrics/agent-metrics';
import { type AppendOutcome, type BatchSummary, DEAD_LETTER_DIR, DiskSpool, QUARANTINE_DIR } from './disk-spool';
import { type HubEndpoint, HttpHubClient, type HubTransport } from '@natlens/agent-records';

/*
 * Sends record batches to the hub (`POST /api/ingest`, or NATS JetStream with a NatsHubClient). A batch is held in
 * memory while the hub keeps up and written to the disk spool once it has waited `holdMs`, when the hub fails, when
 * the held batches outgrow `maxHeldBytes`, or when the agent stops; from then on it is deleted only once the hub
 * accepted it, so a hub outage or an agent restart loses nothing until the spool is full; then the loss is counted.
 * What a crash of the agent itself can lose is what it held in memory: the aggregator's records of the last flush
 * interval (as before) and the batches of the last `holdMs`. A batch the hub takes at once never touches the disk.
 * Nothing here stops the agent: a batch the disk refuses, a spool
 * file that cannot be read and a batch the hub refuses for good are each counted as lost and the queue goes on (the
 * last two are kept beside the spool, in quarantine/ and dead-letter/); a batch refused as too large (413) is split
 * in halves and sent again. Retries back off exponentially with full jitter (0.5 s doubling to 30 s) so many agents
 * do not stampede a recovering hub. Records are idempotent by (node, flowId), so a batch sent twice changes nothing.
 */
export const INGEST_PATH = HttpHubClient.INGEST_PATH;
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 30_000;

export interface HubExporterOptions {
  /** How long a batch may wait in memory for the hub before it is written to the spool (default 1,000 ms; 0: at once). */
  readonly holdMs?: number;
  /** Held batches beyond this many bytes go to the spool at once (default 8 MiB). */
  readonly maxHeldBytes?: number;
}

export class HubExporter {
  private running = false;
  private wake: (() => void) | undefined;
  private attempt = 0;
  lastSuccessAt: number | undefined;
  lastError: string | undefined;
  private readonly transport: HubTransport;
  private readonly holdMs: number;
  private readonly maxHeldBytes: number;
  private persistTimer: NodeJS.Timeout | undefined;

  /** `endpoint`: the hub's HTTP address, or any other transport (NATS JetStream). */
  constructor(
    endpoint: HubEndpoint | HubTransport,
    private readonly spool: DiskSpool,
    private readonly metrics: AgentMetrics,
    private readonly log: Logger,
    options: HubExporterOptions = {},
  ) {
    this.transport = 'deliver' in endpoint ? endpoint : new HttpHubClient(endpoint);
    this.holdMs = options.holdMs ?? 1_000;
    this.maxHeldBytes = options.maxHeldBytes ?? 8 * 1024 * 1024;
    metrics.spoolMaxBytes.set(spool.maxBytes);
    this.updateSpoolGauges();
  }

  get target(): string {
    return this.transport.target;
  }

  /** Queues a batch for delivery; false when it could not be spooled (full, or the disk refused it) and is lost. */
  enqueue(batch: FlowBatch): boolean {
    if (batch.records.length === 0) return true;
    // Encoded once: the same bytes go to the disk (if they must) and to the socket. The summary spares the sender
    // parsing the batch back (JSON.parse of every record: ≈10 % of the agent's profile).
    const body = Buffer.from(JSON.stringify(batch));
    const summary = { node: batch.node, records: batch.records.length };
    const holding = this.holdMs > 0 && this.lastError === undefined && this.spool.heldBytes + body.length <= this.maxHeldBytes;
    const outcome = holding ? this.spool.hold(body, summary) : this.spool.append(body, summary);
    if (outcome.kind !== 'spooled') {
      this.countLost(outcome, batch.records.length);
      return false;
    }
    this.metrics.spoolBytes.set(this.spool.bytes);
    this.signal();
    return true;
  }

  /** Writes to the spool the held batches older than holdMs (all of them with `all`): counted lost if the disk refuses. */
  persistHeld(all = false): void {
    for (const failure of this.spool.persistHeld(all ? Number.POSITIVE_INFINITY : Date.now() - this.holdMs)) {
      this.countLost(failure.outcome, failure.summary?.records ?? 0);
    }
    this.metrics.spoolBytes.set(this.spool.bytes);
  }

  private countLost(outcome: Exclude<AppendOutcome, { kind: 'spooled' }>, records: number): void {
    const reason = outcome.kind === 'full' ? 'spool-full' : 'spool-write-failed';
    this.metrics.lostRecords.inc({ reason }, records);
    this.metrics.lostBatches.inc({ reason });
    if (outcome.kind === 'full') {
      this.log.error({ spoolBytes: this.spool.bytes, maxBytes: this.spool.maxBytes, lost: records }, 'spool full: records lost; is the hub reachable? raise --spool-max-bytes to ride out longer outages');
    } else {
      this.log.error({ err: outcome.error.message, code: outcome.error.code, dir: this.spool.dir, lost: records }, 'the spool directory refused a batch (disk full or failing?): records lost; the agent goes on');
    }
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    if (this.holdMs > 0) {
      this.persistTimer = setInterval(() => this.persistHeld(), Math.max(50, Math.floor(this.holdMs / 2)));
      this.persistTimer.unref();
    }
    void this.loop();
  }

  /** Stops sending; what is held in memory goes to the spool, to be sent by the next agent. */
  stop(): void {
    this.running = false;
    clearInterval(this.persistTimer);
    this.persistHeld(true);
    this.signal();
    // Whatever was not delivered is on disk; the connection (if the transport keeps one) can go.
    void this.transport.close().catch(() => undefined);
  }

  get pending(): { batches: number; bytes: number } {
    return { batches: this.spool.count, bytes: this.spool.bytes };
  }

  private signal(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private async pause(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private async loop(): Promise<void> {
    while (this.running) {
      let retryLater: boolean;
      try {
        retryLater = await this.step();
      } catch (err) {
        // A bug, not a delivery failure: log it, count it and keep the queue moving after a pause.
        this.metrics.unexpectedErrors.inc({ where: 'export-loop' });
        this.log.error({ err }, 'unexpected error in the export loop; retrying');
        retryLater = true;
      }
      if (retryLater) {
        const delay = Math.random() * Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** this.attempt++);
        await new Promise((r) => setTimeout(r, delay));
      } else {
        this.attempt = 0;
      }
    }
  }

  /** Handles the oldest spooled batch; true when it should be tried again after a back-off. */
  private async step(): Promise<boolean> {
    const name = this.spool.oldestName();
    if (!name) {
      await this.pause(60_000);
      return false;
    }
    let body: Buffer;
    try {
      body = this.spool.read(name);
    } catch (err) {
      this.quarantine(name, `unreadable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      return false;
    }
    // A batch this process spooled is known; a file left by an earlier one is read to learn what it holds.
    const summary = this.spool.summaryOf(name) ?? summaryOf(spooledBatchOf(body.toString('utf8')));
    if (!summary) {
      this.quarantine(name, 'not a record batch (JSON with node and records)');
      return false;
    }
    const records = summary.records;
    const outcome = await this.transport.deliver({ id: name.replace(/\.batch\.json$/, ''), node: summary.node, body });
    switch (outcome.kind) {
      case 'sent':
        this.metrics.exported.inc(records);
        this.lastSuccessAt = Date.now();
        this.lastError = undefined;
        this.spool.remove(name);
        this.metrics.spoolBytes.set(this.spool.bytes);
        return false;
      case 'too-large': {
        this.lastError = outcome.detail;
        const batch = spooledBatchOf(body.toString('utf8'));
        if (!batch) {
          this.quarantine(name, 'not a record batch (JSON with node and records)');
          return false;
        }
        if (records > 1) return this.split(name, batch, outcome.detail);
        this.deadLetter(name, records, `${outcome.detail} (a single record)`);
        return false;
      }
      case 'rejected':
        this.lastError = outcome.detail;
        this.deadLetter(name, records, outcome.detail);
        return false;
      case 'retry':
        this.lastError = outcome.detail;
        // The hub is not taking batches now: what waits in memory goes to disk rather than wait there.
        this.persistHeld(true);
        this.metrics.exportFailures.inc({ reason: outcome.reason });
        if (outcome.hint) this.log.warn({ detail: outcome.detail }, `${outcome.hint}; retrying`);
        else if (this.attempt === 0) this.log.warn({ err: outcome.detail, hub: this.transport.target }, 'hub unreachable; spooling batches to disk and retrying');
        return true;
    }
  }

  /** HTTP 413: the same records in two halves, in the batch's place in the queue; halves are split again if needed. */
  private split(name: string, batch: FlowBatch, detail: string): boolean {
    const half = Math.ceil(batch.records.length / 2);
    const parts = [batch.records.slice(0, half), batch.records.slice(half)].map((records) => ({ body: JSON.stringify({ ...batch, records }), summary: { node: batch.node, records: records.length } }));
    try {
      this.spool.replace(name, parts);
    } catch (err) {
      this.metrics.exportFailures.inc({ reason: 'split-failed' });
      this.log.warn({ err: (err as Error).message, detail }, 'the hub refused a batch as too large and the spool could not take its halves; retrying');
      return true;
    }
    this.metrics.batchSplits.inc();
    this.log.warn({ detail: detail.slice(0, 300), records: batch.records.length }, 'the hub refused a batch as too large: sending it in halves (lower the flush interval or raise the hub\'s body limit)');
    this.metrics.spoolBytes.set(this.spool.bytes);
    return false;
  }

  private deadLetter(name: string, records: number, detail: string): void {
    this.metrics.lostRecords.inc({ reason: 'rejected' }, records);
    this.metrics.lostBatches.inc({ reason: 'rejected' });
    this.spool.retire(name, DEAD_LETTER_DIR);
    this.updateSpoolGauges();
    this.log.error({ detail: detail.slice(0, 500), records, kept: `${this.spool.dir}/${DEAD_LETTER_DIR}/${name}` }, 'the hub rejected a batch for good: kept in the dead-letter directory, not retried (a bug in the agent or a version mismatch with the hub)');
  }

  private quarantine(name: string, why: string): void {
    this.metrics.lostBatches.inc({ reason: 'unreadable' });
    this.spool.retire(name, QUARANTINE_DIR);
    this.updateSpoolGauges();
    this.log.error({ file: name, why, kept: `${this.spool.dir}/${QUARANTINE_DIR}/${name}` }, 'a spool file cannot be sent: moved to quarantine, its records are lost; the agent goes on with the next');
  }

  private updateSpoolGauges(): void {
    this.metrics.spoolBytes.set(this.spool.bytes);
    for (const dir of [QUARANTINE_DIR, DEAD_LETTER_DIR] as const) this.metrics.spoolRetainedBytes.set({ dir }, this.spool.retiredBytes(dir));
  }
}

function summaryOf(batch: FlowBatch | undefined): BatchSummary | undefined {
  return batch ? { node: batch.node, records: batch.records.length } : undefined;
}

/** A spooled file's text as a batch, or undefined when it is not one (damaged on disk, written by something else). */
function spooledBatchOf(body: string): FlowBatch | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { node, records } = value as { node?: unknown; records?: unknown };
  return typeof node === 'string' && Array.isArray(records) ? (value as FlowBatch) : undefined;
}
