import { BadRequestException, Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { LiveFeed } from '../live/live-feed';
import { HubMetrics } from '../metrics/hub-metrics';
import type { FlowRepository, IngestResult } from '../storage/flow-repository';
import { FLOW_REPOSITORY, LOGGER } from '../tokens';
import { validateBatch } from './batch-validation';

@Injectable()
export class IngestService {
  constructor(
    @Inject(FLOW_REPOSITORY) private readonly repository: FlowRepository,
    @Inject(LiveFeed) private readonly live: LiveFeed,
    @Inject(HubMetrics) private readonly metrics: HubMetrics,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  /** Validates the whole batch, stores it in one transaction, then tells live subscribers. */
  async ingest(body: unknown): Promise<IngestResult> {
    const stopTimer = this.metrics.ingestSeconds.startTimer();
    const validation = validateBatch(body);
    if (!validation.ok) {
      this.metrics.ingestBatches.inc({ outcome: 'invalid' });
      throw new BadRequestException({ code: 'invalid-batch', message: validation.message });
    }
    const { batch } = validation;
    let result: IngestResult;
    try {
      result = await this.repository.ingest(batch.records);
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
}
