import { BadRequestException, ForbiddenException, Inject, Injectable } from '@nestjs/common';
import { batchNodeProblem, type NodeBindingProblem, type Principal, subjectNodeProblem } from '@natlens/shared-auth';
import type { FlowBatch } from '@natlens/shared-model';
import type { Logger } from 'pino';
import { LiveFeed } from '../live/live-feed';
import { HubMetrics } from '../metrics/hub-metrics';
import type { FlowRepository, IngestResult } from '../storage/flow-repository';
import type { HubConfig } from '../config/hub-config';
import { type Clock, CLOCK, FLOW_REPOSITORY, HUB_CONFIG, LOGGER, NODE_LOCK } from '../tokens';
import { type ClockWindow, validateBatch } from './batch-validation';
import type { NodeLock } from './node-lock';

/** Where a batch came from: an HTTP client (its token's principal; an import names its path) or a NATS subject. */
export type BatchOrigin = { readonly via: 'http' | 'import'; readonly principal: Principal } | { readonly via: 'bus'; readonly subject: string };

@Injectable()
export class IngestService {
  constructor(
    @Inject(FLOW_REPOSITORY) private readonly repository: FlowRepository,
    @Inject(LiveFeed) private readonly live: LiveFeed,
    @Inject(HubMetrics) private readonly metrics: HubMetrics,
    @Inject(LOGGER) private readonly log: Logger,
    @Inject(NODE_LOCK) private readonly lock: NodeLock,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
    @Inject(CLOCK) private readonly now: Clock,
  ) {}

  /**
   * Timestamps a batch may carry: not after the hub's clock plus the tolerated skew, and (from agents) not older than
   * the rollups are kept, since such a record would be deleted by the next retention run. An imported capture is
   * history: only its future is bounded.
   */
  clockWindow(origin: BatchOrigin): ClockWindow {
    const now = this.now();
    return {
      notAfter: now + this.config.maxClockSkewMs,
      notAfterSetting: 'NATLENS_HUB_MAX_CLOCK_SKEW',
      ...(origin.via === 'import' ? {} : { notBefore: now - this.config.rollupRetentionMs, notBeforeSetting: 'NATLENS_ROLLUP_RETENTION_DAYS' }),
    };
  }

  /**
   * Validates the whole batch, checks that its origin may write its node (checkBatchOrigin), stores it in one
   * transaction under its node's lock (node-lock.ts: HTTP, imports and the bus alike, so no two batches of a node
   * count the same record twice), then tells live subscribers.
   */
  async ingest(body: unknown, origin: BatchOrigin): Promise<IngestResult> {
    const stopTimer = this.metrics.ingestSeconds.startTimer();
    const validation = validateBatch(body, this.clockWindow(origin));
    if (!validation.ok) {
      this.metrics.ingestBatches.inc({ outcome: 'invalid' });
      throw new BadRequestException({ code: 'invalid-batch', message: validation.message });
    }
    const { batch } = validation;
    if (validation.unknownFieldCount > 0) this.countUnknownFields(batch.node, validation.unknownFields, validation.unknownFieldCount);
    this.checkBatchOrigin(batch, origin);
    let result: IngestResult;
    try {
      // checkBatchOrigin passed: every record is batch.node's, so that one lock covers the batch.
      result = await this.lock.withNodes([batch.node], () => this.repository.ingest(batch.records));
    } catch (err) {
      this.metrics.ingestBatches.inc({ outcome: 'failed' });
      this.log.error({ err, node: batch.node, records: batch.records.length }, 'storing a batch failed; the agent will retry it');
      throw err;
    }
    stopTimer();
    this.metrics.ingestBatches.inc({ outcome: 'stored' });
    this.metrics.ingestedRecords.inc({ kind: 'new' }, result.inserted);
    this.metrics.ingestedRecords.inc({ kind: 'replaced' }, result.records - result.inserted);
    this.log.debug({ node: batch.node, ...result }, 'batch stored');
    this.live.publish(batch.records);
    return result;
  }

  /** Keys a newer agent sent that this hub does not know: dropped, the rest stored; counted by object, logged by name. */
  private countUnknownFields(node: string, fields: readonly { object: string; key: string }[], total: number): void {
    const byObject = new Map<string, number>();
    for (const field of fields) byObject.set(field.object, (byObject.get(field.object) ?? 0) + 1);
    for (const [object, n] of byObject) this.metrics.unknownFields.inc({ object }, n);
    if (total > fields.length) this.metrics.unknownFields.inc({ object: '(beyond the listed)' }, total - fields.length);
    const names = [...new Set(fields.map((f) => `${f.object}.${f.key.slice(0, 64)}`))].slice(0, 10);
    this.log.debug({ node, unknownFields: total, names }, 'batch carried fields this hub does not know: dropped them, stored the rest (is the agent newer than the hub?)');
  }

  /**
   * The batch's records are all its node's, and its origin may write that node: a node token only its own node, a
   * NATS subject only the node it names. A step of its own, after validation, so whichever code parses the body
   * can call it. 403 for a token bound to another node, 400 for a batch that disagrees with itself or its subject
   * (the bus terminates those); counted in natlens_hub_node_binding_refusals_total.
   */
  checkBatchOrigin(batch: FlowBatch, origin: BatchOrigin): void {
    const problem: NodeBindingProblem | undefined = origin.via === 'bus' ? subjectNodeProblem(origin.subject, batch) : batchNodeProblem(origin.principal, batch);
    if (!problem) return;
    this.metrics.nodeBindingRefusals.inc({ reason: problem.code, via: origin.via });
    this.metrics.ingestBatches.inc({ outcome: problem.code === 'node-not-allowed' ? 'forbidden' : 'invalid' });
    this.log.warn({ node: batch.node, via: origin.via, ...(origin.via === 'bus' ? { subject: origin.subject } : { principal: origin.principal.label }), problem: problem.code }, problem.message);
    if (problem.code === 'node-not-allowed') throw new ForbiddenException({ code: problem.code, message: problem.message });
    throw new BadRequestException({ code: problem.code, message: problem.message });
  }
}
