import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Logger } from 'pino';
import type { HubConfig } from '../config/hub-config';
import { HubMetrics } from '../metrics/hub-metrics';
import type { FlowRepository } from '../storage/flow-repository';
import type { ServiceNatFailureRow } from '../storage/nat-failure-sql';
import { type Clock, CLOCK, FLOW_REPOSITORY, HUB_CONFIG, LOGGER } from '../tokens';

/** The span natlens_hub_service_nat_failures counts over: the `for` of the NATInsertFailures rule. */
export const NAT_FAILURE_METRIC_WINDOW_MS = 5 * 60_000;

/** Label sets with their counts: one per (Service, node, reason, basis). Pure. */
export function natFailureSeries(rows: readonly ServiceNatFailureRow[]): Map<string, { labels: Record<string, string>; connections: number }> {
  const series = new Map<string, { labels: Record<string, string>; connections: number }>();
  for (const row of rows) {
    const labels = { namespace: row.service.namespace, service: row.service.name, node: row.node, reason: row.natFailure?.reason ?? 'netfilter-drop', basis: row.natFailure?.observed ? 'observed' : 'estimated' };
    const key = JSON.stringify(labels);
    const known = series.get(key);
    if (known) known.connections += row.connections;
    else series.set(key, { labels, connections: row.connections });
  }
  return series;
}

/**
 * Keeps natlens_hub_service_nat_failures current: every alert interval, the Services' NAT failures in the last 5
 * minutes, read from the store (so every hub replica shows the same, whichever consumed the records). Series of
 * Services without failures any more are removed, not left at their last value.
 */
@Injectable()
export class NatFailureMetricsService implements OnApplicationBootstrap, OnModuleDestroy {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private shown = new Map<string, Record<string, string>>();

  constructor(
    @Inject(FLOW_REPOSITORY) private readonly flows: FlowRepository,
    @Inject(HubMetrics) private readonly metrics: HubMetrics,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
    @Inject(CLOCK) private readonly now: Clock,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.refresh(), this.config.alertIntervalMs);
    this.timer.unref();
    void this.refresh();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** Recomputes the gauge now (after the refresh in progress); never throws (logged, retried next interval). */
  async refresh(): Promise<void> {
    while (this.running) await this.running;
    this.running = this.refreshOnce()
      .catch((err: unknown) => this.log.error({ err }, 'counting NAT failures for /metrics failed; will retry at the next interval'))
      .finally(() => {
        this.running = undefined;
      });
    await this.running;
  }

  private async refreshOnce(): Promise<void> {
    const now = this.now();
    const series = natFailureSeries(await this.flows.natFailures({ from: now - NAT_FAILURE_METRIC_WINDOW_MS, to: now + 1 }));
    for (const [key, labels] of this.shown) if (!series.has(key)) this.metrics.serviceNatFailures.remove(labels);
    for (const { labels, connections } of series.values()) this.metrics.serviceNatFailures.set(labels, connections);
    this.shown = new Map([...series].map(([key, { labels }]) => [key, labels]));
  }
}
