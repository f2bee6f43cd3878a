import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Logger } from 'pino';
import type { AgentConfig } from '../config/agent-config';
import { ConntrackHealthSampler } from '../conntrack-health/conntrack-health.sampler';
import { HealthCheckProber } from '../health-checks/health-check-prober';
import { AgentMetrics } from '../metrics/agent-metrics';
import type { NodeViewSource } from '../node/node-view.source';
import { AGENT_CONFIG, CLUSTER_SOURCE, HUB_TRANSPORT, LOGGER } from '../tokens';
import type { HubTransport } from '@natlens/agent-records';
import { buildNodeReport } from './node-report';

/*
 * Sends this node's report (interface addresses, health-check answers, conntrack statistics, SNAT port usage) to the hub every --node-report-interval-ms,
 * over the transport the records use (HTTP POST /api/nodes/report, or NATS natlens.nodes.<node>). A report is the
 * node's state now, so it is not spooled: one that fails is superseded by the next, and records are never held up.
 */
@Injectable()
export class NodeReportExporter implements OnApplicationBootstrap, OnModuleDestroy {
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> | undefined;
  private sent = 0;
  private failed = 0;
  private lastSentAt: number | undefined;
  private lastError: string | undefined;

  constructor(
    @Inject(AGENT_CONFIG) private readonly config: AgentConfig,
    @Inject(LOGGER) private readonly log: Logger,
    @Inject(AgentMetrics) private readonly metrics: AgentMetrics,
    @Inject(CLUSTER_SOURCE) private readonly cluster: Pick<NodeViewSource, 'current' | 'addresses'>,
    @Inject(HealthCheckProber) private readonly prober: HealthCheckProber,
    @Inject(HUB_TRANSPORT) private readonly transport: HubTransport | null,
    @Inject(ConntrackHealthSampler) private readonly conntrackHealth: Pick<ConntrackHealthSampler, 'latest' | 'latestSnatPorts'>,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.transport) return;
    this.timer = setInterval(() => void this.sendNow(), this.config.nodeReportIntervalMs);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.sending;
  }

  /** Builds and sends a report now, unless one is on its way. */
  sendNow(): Promise<void> {
    if (!this.sending) {
      this.sending = this.send().finally(() => {
        this.sending = undefined;
      });
    }
    return this.sending;
  }

  status() {
    if (!this.transport) return null;
    return { intervalMs: this.config.nodeReportIntervalMs, sent: this.sent, failed: this.failed, lastSentAt: this.lastSentAt ?? null, ...(this.lastError ? { lastError: this.lastError } : {}) };
  }

  private async send(): Promise<void> {
    if (!this.transport) return;
    const report = buildNodeReport(this.config.node, Date.now(), this.config.nodeReportIntervalMs, this.cluster.addresses(), this.prober.results(), {
      conntrack: this.conntrackHealth.latest(),
      snatPorts: this.conntrackHealth.latestSnatPorts(),
    });
    const outcome = await this.transport.sendNodeReport(report.node, report.at, JSON.stringify(report));
    if (outcome.kind === 'sent') {
      this.sent++;
      this.metrics.nodeReports.inc({ outcome: 'sent' });
      if (this.lastError) this.log.info({ hub: this.transport.target }, 'node reports reach the hub again');
      this.lastSentAt = report.at;
      this.lastError = undefined;
      return;
    }
    this.failed++;
    this.metrics.nodeReports.inc({ outcome: outcome.kind === 'rejected' ? 'rejected' : 'failed' });
    // One line when reports start failing or fail differently, not one per interval.
    if (outcome.detail !== this.lastError) {
      this.log.warn({ hub: this.transport.target, detail: outcome.detail.slice(0, 500) }, `a node report did not reach the hub (${outcome.kind === 'rejected' ? 'refused' : 'will send the next one'}); records are not affected`);
    }
    this.lastError = outcome.detail;
  }
}
