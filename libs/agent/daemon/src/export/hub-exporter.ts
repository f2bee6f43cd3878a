import type { Logger } from 'pino';
import type { FlowBatch } from '@natlens/shared-model';
import type { AgentMetrics } from '../metrics/agent-metrics';
import { DiskSpool } from './disk-spool';
import { type HubEndpoint, HttpHubClient, type HubTransport } from '@natlens/agent-records';

/*
 * Sends record batches to the hub (`POST /api/ingest`, or NATS JetStream with a NatsHubClient). Every batch is spooled to disk first and deleted only once
 * the hub accepted it, so a hub outage or an agent restart loses nothing until the spool is full; then the loss is
 * counted. Retries back off exponentially with full jitter (0.5 s doubling to 30 s) so many agents do not stampede
 * a recovering hub. Records are idempotent by (node, flowId), so a batch sent twice after a crash changes nothing.
 */
export const INGEST_PATH = HttpHubClient.INGEST_PATH;
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 30_000;

export class HubExporter {
  private running = false;
  private wake: (() => void) | undefined;
  private attempt = 0;
  lastSuccessAt: number | undefined;
  lastError: string | undefined;
  private readonly transport: HubTransport;
  /**
   * What delivery needs to know of a batch this process spooled (its node, for the transport, and its record count,
   * for the metrics), kept beside the spool so delivery does not parse the batch it has just serialised again: that
   * parse was the export path's largest single cost (bench/RESULTS.md, conntrack-events with a hub). Batches spooled
   * before a restart are not here and are parsed once.
   */
  private readonly spooled = new Map<string, { node: string; records: number }>();

  /** `endpoint`: the hub's HTTP address, or any other transport (NATS JetStream). */
  constructor(
    endpoint: HubEndpoint | HubTransport,
    private readonly spool: DiskSpool,
    private readonly metrics: AgentMetrics,
    private readonly log: Logger,
  ) {
    this.transport = 'deliver' in endpoint ? endpoint : new HttpHubClient(endpoint);
    metrics.spoolBytes.set(spool.bytes);
    metrics.spoolMaxBytes.set(spool.maxBytes);
  }

  get target(): string {
    return this.transport.target;
  }

  /** Queues a batch for delivery; false when the spool is full and the batch is lost. */
  enqueue(batch: FlowBatch): boolean {
    if (batch.records.length === 0) return true;
    const name = this.spool.append(JSON.stringify(batch));
    if (name === undefined) {
      this.metrics.lostRecords.inc({ reason: 'spool-full' }, batch.records.length);
      this.log.error({ spoolBytes: this.spool.bytes, maxBytes: this.spool.maxBytes, lost: batch.records.length }, 'spool full: records lost; is the hub reachable? raise --spool-max-bytes to ride out longer outages');
      return false;
    }
    this.spooled.set(name, { node: batch.node, records: batch.records.length });
    this.metrics.spoolBytes.set(this.spool.bytes);
    this.signal();
    return true;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.loop();
  }

  stop(): void {
    this.running = false;
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
      const next = this.spool.oldest();
      if (!next) {
        await this.pause(60_000);
        continue;
      }
      const outcome = await this.deliver(next.name, next.body);
      if (outcome === 'sent' || outcome === 'rejected') {
        this.spool.remove(next.name);
        this.spooled.delete(next.name);
        this.metrics.spoolBytes.set(this.spool.bytes);
        this.attempt = 0;
        continue;
      }
      const delay = Math.random() * Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** this.attempt++);
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  private static describe(body: string): { node: string; records: number } {
    const batch = JSON.parse(body) as FlowBatch;
    return { node: batch.node, records: batch.records.length };
  }

  private async deliver(name: string, body: string): Promise<'sent' | 'rejected' | 'retry'> {
    const { node, records } = this.spooled.get(name) ?? HubExporter.describe(body);
    const outcome = await this.transport.deliver({ id: name.replace(/\.batch\.json$/, ''), node, body });
    if (outcome.kind === 'sent') {
      this.metrics.exported.inc(records);
      this.lastSuccessAt = Date.now();
      this.lastError = undefined;
      return 'sent';
    }
    this.lastError = outcome.detail;
    if (outcome.kind === 'rejected') {
      this.metrics.lostRecords.inc({ reason: 'rejected' }, records);
      this.log.error({ detail: outcome.detail.slice(0, 500), records }, 'the hub rejected a batch; it is dropped (this is a bug in the agent or a version mismatch with the hub)');
      return 'rejected';
    }
    this.metrics.exportFailures.inc({ reason: outcome.reason });
    if (outcome.hint) this.log.warn({ detail: outcome.detail }, `${outcome.hint}; retrying`);
    else if (this.attempt === 0) this.log.warn({ err: outcome.detail, hub: this.transport.target }, 'hub unreachable; spooling batches to disk and retrying');
    return 'retry';
  }
}
