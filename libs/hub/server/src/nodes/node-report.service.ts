import { BadRequestException, ForbiddenException, Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown, type OnModuleDestroy } from '@nestjs/common';
import { busiestSnatPairs, type ConntrackSample, conntrackSeries, nodeConntrackHealth, type ObservedHealthCheck, type TimeWindow } from '@natlens/shared-analysis';
import type { ConntrackHistoryResponse, NodeSummary } from '@natlens/shared-api';
import { type NodeBindingProblem, nodeWriteProblem, type Principal, reportSubjectProblem } from '@natlens/shared-auth';
import type { Logger } from 'pino';
import type { HubConfig } from '../config/hub-config';
import { HubMetrics } from '../metrics/hub-metrics';
import { type Clock, CLOCK, HUB_CONFIG, LOGGER } from '../tokens';
import type { NodeReportRepository, NodeReportStoreResult, ServiceRef, StoredHealthCheck } from './node-report-repository';
import { validateNodeReport } from './node-report-validation';
import { NodeHealthMetrics } from './node-health-metrics';
import { NODE_REPORT_REPOSITORY } from './node-tokens';

/** Where a report came from: over HTTP with a token (a node token may report only its node), or on a NATS subject. */
export type ReportOrigin = { readonly via: 'http'; readonly principal: Principal } | { readonly via: 'bus'; readonly subject: string };

/** The span `GET /api/nodes` rates the conntrack failure counters over: the `for` of the alerting rules. */
export const CONNTRACK_RATE_WINDOW_MS = 5 * 60_000;
/** Points per node in a history answer: enough for a chart, bounded however long the window. */
export const CONNTRACK_HISTORY_POINTS = 300;

/** An agent that reports every `intervalMs` is overdue after a few intervals (plus slack for a slow hub or network). */
export function staleAfterMs(intervalMs: number | undefined): number {
  return 3 * (intervalMs ?? 5000) + 5000;
}

/** A stored answer as evidence shows it: `stale` when the latest answer is older than its agent's interval allows. Pure. */
export function toObserved(check: StoredHealthCheck, at: number): ObservedHealthCheck {
  const stale = check.kind === 'latest' && at - check.at > staleAfterMs(check.intervalMs);
  return {
    httpStatus: check.httpStatus,
    localEndpoints: check.localEndpoints,
    at: check.at,
    ...(check.latencyMs !== undefined ? { latencyMs: check.latencyMs } : {}),
    ...(check.error !== undefined ? { error: check.error } : {}),
    since: check.since,
    ...(stale ? { stale: true } : {}),
  };
}

/*
 * Node reports in (HTTP POST /api/nodes/report, or the NATS consumer), observations out: each node's health-check
 * answers for the evidence and the alerts, and the nodes' latest reports for GET /api/nodes. Listeners hear which
 * Services' answers changed, so alerts re-evaluate without waiting for their interval.
 */
@Injectable()
export class NodeReportService implements OnApplicationBootstrap, OnModuleDestroy, OnApplicationShutdown {
  private readonly listeners = new Set<(services: readonly ServiceRef[]) => void>();
  private retentionTimer: NodeJS.Timeout | undefined;
  private expiring: Promise<unknown> | undefined;
  private readonly healthMetrics: NodeHealthMetrics;

  constructor(
    @Inject(NODE_REPORT_REPOSITORY) private readonly repository: NodeReportRepository,
    @Inject(HubMetrics) private readonly metrics: HubMetrics,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
    @Inject(CLOCK) private readonly now: Clock,
    @Inject(LOGGER) private readonly log: Logger,
  ) {
    this.healthMetrics = new NodeHealthMetrics(metrics);
  }

  onApplicationBootstrap(): void {
    // Reports and answer history are kept as long as raw records (--raw-retention-hours).
    this.retentionTimer = setInterval(() => void this.expire(), this.config.retentionIntervalMs);
    this.retentionTimer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.retentionTimer);
    await this.expiring;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.repository.close();
  }

  /**
   * Validates and stores one report; a bad one is a BadRequestException that says what to fix (nothing stored). Its
   * origin must be allowed to speak for its node: a node token only for its own node (ForbiddenException), a NATS
   * subject only for the node it names (BadRequestException: the consumer terminates it).
   */
  async store(body: unknown, origin: ReportOrigin): Promise<NodeReportStoreResult> {
    const validation = validateNodeReport(body, this.now() + this.config.maxClockSkewMs);
    if (!validation.ok) {
      this.metrics.nodeReports.inc({ outcome: 'invalid' });
      throw new BadRequestException({ code: 'invalid-node-report', message: validation.message });
    }
    const node = validation.report.node;
    const problem: NodeBindingProblem | undefined = origin.via === 'bus' ? reportSubjectProblem(origin.subject, node) : nodeWriteProblem(origin.principal, node);
    if (problem) {
      this.metrics.nodeReports.inc({ outcome: problem.code === 'node-not-allowed' ? 'forbidden' : 'invalid' });
      this.metrics.nodeBindingRefusals.inc({ reason: problem.code, via: origin.via });
      this.log.warn({ node, via: origin.via, ...(origin.via === 'bus' ? { subject: origin.subject } : { principal: origin.principal.label }), problem: problem.code }, problem.message);
      if (problem.code === 'node-not-allowed') throw new ForbiddenException({ code: problem.code, message: problem.message });
      throw new BadRequestException({ code: problem.code, message: problem.message });
    }
    let result: NodeReportStoreResult;
    try {
      result = await this.repository.store(validation.report, this.now());
    } catch (err) {
      this.metrics.nodeReports.inc({ outcome: 'failed' });
      this.log.error({ err, node: validation.report.node }, 'storing a node report failed; the agent sends the next one shortly');
      throw err;
    }
    this.metrics.nodeReports.inc({ outcome: result.stored ? 'stored' : 'outdated' });
    if (result.stored) this.healthMetrics.observe(validation.report, result.previousSample);
    if (result.changed.length > 0) {
      this.log.debug({ node: validation.report.node, changed: result.changed }, 'health-check answers changed');
      for (const listener of this.listeners) listener(result.changed);
    }
    return result;
  }

  /** Calls the listener with the Services whose health-check answer changed on some node; returns the unsubscriber. */
  onChange(listener: (services: readonly ServiceRef[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Each node's health-check answer for the Service in force at the end of the window (never later than now). */
  async healthChecks(service: ServiceRef, window: TimeWindow): Promise<Map<string, ObservedHealthCheck>> {
    const at = Math.min(window.to, this.now());
    const checks = await this.repository.healthChecksAt(service, at);
    return new Map(checks.map((check) => [check.node, toObserved(check, at)]));
  }

  /** The changes of answer of a Service's health check within a window, oldest first. */
  healthCheckHistory(service: ServiceRef, window: TimeWindow) {
    return this.repository.healthCheckHistory(service, window);
  }

  /** Every node's latest report, with whether its agent is overdue, its conntrack health and its busiest SNAT pairs. */
  async nodes(): Promise<NodeSummary[]> {
    const now = this.now();
    const samples = groupByNode(await this.repository.conntrackSamples({ from: now - CONNTRACK_RATE_WINDOW_MS, to: now + 1 }));
    return (await this.repository.nodes()).map(({ node, at, receivedAt, report }) => ({
      node,
      at,
      receivedAt,
      stale: now - at > staleAfterMs(report.intervalMs),
      ...(report.intervalMs !== undefined ? { intervalMs: report.intervalMs } : {}),
      addresses: report.addresses,
      healthChecks: report.healthChecks,
      ...(report.proxyHealth ? { proxyHealth: report.proxyHealth } : {}),
      ...(report.conntrack ? { conntrack: nodeConntrackHealth(report.conntrack, samples.get(node) ?? []) } : {}),
      snatPorts: busiestSnatPairs(report.snatPorts ?? []),
    }));
  }

  /** Each node's conntrack history in the window, as chart points. */
  async conntrackHistory(window: TimeWindow, node?: string): Promise<ConntrackHistoryResponse> {
    const byNode = groupByNode(await this.repository.conntrackSamples(window, node));
    return { window, nodes: [...byNode].map(([name, samples]) => ({ node: name, points: conntrackSeries(samples, CONNTRACK_HISTORY_POINTS) })) };
  }

  private async expire(): Promise<void> {
    if (this.expiring) return;
    this.expiring = this.repository
      .deleteExpired(this.now() - this.config.rawRetentionMs)
      .then((deleted) => {
        this.metrics.retentionDeleted.inc({ kind: 'node-report' }, deleted.reports);
        this.metrics.retentionDeleted.inc({ kind: 'health-check-history' }, deleted.history);
        this.metrics.retentionDeleted.inc({ kind: 'conntrack-sample' }, deleted.samples);
        return deleted.reports > 0 ? this.repository.nodes() : undefined;
      })
      .then((remaining) => {
        // a node whose last report expired leaves /metrics too, rather than holding its last values for ever
        if (remaining) this.healthMetrics.forgetAllBut(new Set(remaining.map((n) => n.node)));
      })
      .catch((err: unknown) => this.log.error({ err }, 'node-report retention failed; will retry at the next interval'))
      .finally(() => {
        this.expiring = undefined;
      });
    await this.expiring;
  }
}

/** Samples (ordered by node, then time) split per node, order kept. */
function groupByNode(samples: readonly ConntrackSample[]): Map<string, ConntrackSample[]> {
  const byNode = new Map<string, ConntrackSample[]>();
  for (const sample of samples) {
    const list = byNode.get(sample.node);
    if (list) list.push(sample);
    else byNode.set(sample.node, [sample]);
  }
  return byNode;
}
