import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { Logger } from 'pino';
import type { HubConfig } from '../config/hub-config';
import { HubMetrics } from '../metrics/hub-metrics';
import type { ExpiredCounts, FlowRepository } from '../storage/flow-repository';
import { type Clock, CLOCK, FLOW_REPOSITORY, HUB_CONFIG, LOGGER } from '../tokens';

/** The scheduled job that enforces retention: raw records and rollups each by their own age limit. */
@Injectable()
export class RetentionService implements OnApplicationBootstrap, OnModuleDestroy {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    @Inject(FLOW_REPOSITORY) private readonly repository: FlowRepository,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
    @Inject(HubMetrics) private readonly metrics: HubMetrics,
    @Inject(CLOCK) private readonly now: Clock,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.runOnce(), this.config.retentionIntervalMs);
    this.timer.unref();
    void this.runOnce();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** Deletes what is past retention; never throws (a failure is logged and retried at the next tick). */
  async runOnce(): Promise<ExpiredCounts | undefined> {
    if (this.running) return undefined;
    const now = this.now();
    const job = this.repository
      .deleteExpired({ rawBefore: now - this.config.rawRetentionMs, rollupsBefore: now - this.config.rollupRetentionMs })
      .then((deleted) => {
        this.metrics.retentionDeleted.inc({ kind: 'raw' }, deleted.raw);
        this.metrics.retentionDeleted.inc({ kind: 'rollup' }, deleted.rollups);
        this.metrics.retentionDeleted.inc({ kind: 'service' }, deleted.services);
        if (deleted.raw + deleted.rollups + deleted.services > 0) this.log.info(deleted, 'retention: expired rows deleted');
        return deleted;
      })
      .catch((err: unknown) => {
        this.log.error({ err }, 'retention job failed; will retry at the next interval');
        return undefined;
      })
      .finally(() => {
        this.running = undefined;
      });
    this.running = job;
    return job;
  }
}
