import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown, OnModuleDestroy } from '@nestjs/common';
import {
  ALERT_NAMES,
  type AlertRules,
  type AlertState,
  alertOverridesFromAnnotations,
  alertSignals,
  buildServiceEvidence,
  effectiveAlertRules,
  natFailureEvidence,
  nextAlertState,
  type ServiceTopology,
  topologyFromRecords,
} from '@natlens/shared-analysis';
import type { ClusterMetadataSource } from '@natlens/shared-cluster';
import type { Logger } from 'pino';
import { ClusterTopologyRepository } from '../cluster/cluster-topology.repository';
import type { HubConfig } from '../config/hub-config';
import { LiveFeed } from '../live/live-feed';
import { HubMetrics } from '../metrics/hub-metrics';
import { NodeReportService } from '../nodes/node-report.service';
import type { FlowRepository, ServiceKey } from '../storage/flow-repository';
import { type Clock, CLOCK, CLUSTER_SOURCE, FLOW_REPOSITORY, HUB_CONFIG, LOGGER } from '../tokens';
import { AlertDeliveryService } from './alert-delivery.service';
import { type AlertChange, alertKey, type AlertRepository } from './alert-repository';
import { ALERT_REPOSITORY } from './alert-tokens';

/** After an ingest, evaluate within this long (one evaluation for a burst of batches). */
const AFTER_INGEST_MS = 1000;

const serviceId = (ref: ServiceKey) => `${ref.namespace}/${ref.name}`;

/**
 * Evaluates every Service's alert rules over the last `alertWindowMs` of evidence, on a schedule and soon after
 * each ingest, and stores each transition with its notifications in one transaction. The stored state is the only
 * memory: every evaluation starts from it, so a restarted hub continues exactly where the last one stopped.
 */
@Injectable()
export class AlertEvaluationService implements OnApplicationBootstrap, OnModuleDestroy, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private resendTimer: NodeJS.Timeout | undefined;
  private soonTimer: NodeJS.Timeout | undefined;
  private retentionTimer: NodeJS.Timeout | undefined;
  private expiring: Promise<unknown> | undefined;
  private unsubscribe: (() => void) | undefined;
  private unsubscribeReports: (() => void) | undefined;
  private running: Promise<void> | undefined;
  /** What the next evaluation covers: every Service (schedule) or the Services of recent batches (ingest). */
  private queued: 'all' | Set<string> | undefined;
  private stopped = false;
  private readonly warned = new Set<string>();
  /** Services named by batches since the last evaluation after ingest. */
  private ingested = new Set<string>();
  private readonly globalRules: AlertRules;

  constructor(
    @Inject(FLOW_REPOSITORY) private readonly flows: FlowRepository,
    @Inject(ClusterTopologyRepository) private readonly cluster: ClusterTopologyRepository,
    @Inject(CLUSTER_SOURCE) private readonly clusterSource: ClusterMetadataSource | null,
    @Inject(ALERT_REPOSITORY) private readonly alerts: AlertRepository,
    @Inject(AlertDeliveryService) private readonly delivery: AlertDeliveryService,
    @Inject(LiveFeed) private readonly live: LiveFeed,
    @Inject(HubMetrics) private readonly metrics: HubMetrics,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
    @Inject(CLOCK) private readonly now: Clock,
    @Inject(LOGGER) private readonly log: Logger,
    @Inject(NodeReportService) private readonly nodeReports: NodeReportService,
  ) {
    this.globalRules = effectiveAlertRules(config.alertRules);
  }

  /** The rules every Service starts from (built-in defaults and the rules file). */
  get rules(): AlertRules {
    return this.globalRules;
  }

  async onApplicationBootstrap(): Promise<void> {
    this.showInMetrics(await this.alerts.states());
    this.delivery.start();
    this.timer = setInterval(() => this.evaluate(), this.config.alertIntervalMs);
    this.timer.unref();
    // Alert history is kept as long as the rollups it describes (--rollup-retention-days).
    this.retentionTimer = setInterval(() => void this.expireHistory(), this.config.retentionIntervalMs);
    this.retentionTimer.unref();
    void this.expireHistory();
    if (this.config.alertmanagers.length > 0) {
      this.resendTimer = setInterval(() => void this.resend(), this.config.alertResendMs);
      this.resendTimer.unref();
    }
    this.unsubscribe = this.live.subscribe((records) => {
      for (const record of records) if (record.service) this.ingested.add(serviceId(record.service));
      this.soon();
    });
    // A node's health-check answer changed: its Services' HealthCheckMismatch may have started or ended.
    this.unsubscribeReports = this.nodeReports.onChange((services) => {
      for (const service of services) this.ingested.add(serviceId(service));
      this.soon();
    });
    this.evaluate();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearInterval(this.resendTimer);
    clearInterval(this.retentionTimer);
    clearTimeout(this.soonTimer);
    await this.expiring;
    this.unsubscribe?.();
    this.unsubscribeReports?.();
    await this.running;
    await this.delivery.stop();
  }

  /** The HTTP server is closed by now: nothing reads the alert store any more. */
  async onApplicationShutdown(): Promise<void> {
    await this.alerts.close();
  }

  /** Deletes history and resolved states older than the rollups' retention; never throws (retried next interval). */
  async expireHistory(): Promise<{ history: number; states: number } | undefined> {
    if (this.expiring || this.stopped) return undefined;
    const job = this.alerts
      .deleteExpired(this.now() - this.config.rollupRetentionMs)
      .then((deleted) => {
        this.metrics.retentionDeleted.inc({ kind: 'alert-history' }, deleted.history);
        if (deleted.history + deleted.states > 0) this.log.info(deleted, 'retention: expired alert history deleted');
        return deleted;
      })
      .catch((err: unknown) => {
        this.log.error({ err }, 'alert history retention failed; will retry at the next interval');
        return undefined;
      })
      .finally(() => {
        this.expiring = undefined;
      });
    this.expiring = job;
    return job;
  }

  private soon(): void {
    if (this.soonTimer || this.stopped) return;
    this.soonTimer = setTimeout(() => {
      this.soonTimer = undefined;
      const services = this.ingested;
      this.ingested = new Set();
      this.evaluate(services);
    }, Math.min(AFTER_INGEST_MS, this.config.alertIntervalMs));
    this.soonTimer.unref();
  }

  /**
   * Starts an evaluation of every Service (`all`, the schedule) or of some (after ingest: only the Services the batches
   * named, so a busy hub does not rebuild every Service's evidence per batch), or queues it behind the one in progress.
   */
  evaluate(scope: 'all' | Set<string> = 'all'): void {
    if (this.stopped) return;
    this.queued = this.queued === 'all' || scope === 'all' ? 'all' : new Set([...(this.queued ?? []), ...scope]);
    if (this.running) return;
    const next = this.queued;
    this.queued = undefined;
    this.running = this.evaluateOnce(next)
      .catch((err: unknown) => this.log.error({ err }, 'alert evaluation failed; will retry at the next interval'))
      .finally(() => {
        this.running = undefined;
        if (this.queued !== undefined) this.evaluate(this.queued === 'all' ? 'all' : new Set());
      });
  }

  /** Runs one evaluation of every Service now, after the one in progress. */
  async evaluateNow(): Promise<void> {
    while (this.running) await this.running;
    this.evaluate();
    await this.running;
  }

  private async evaluateOnce(scope: 'all' | Set<string>): Promise<void> {
    const stopTimer = this.metrics.alertEvaluationSeconds.startTimer();
    const now = this.now();
    const window = { from: now - this.config.alertWindowMs, to: now };
    const previous = new Map((await this.alerts.states()).map((state) => [alertKey(state.rule, state.service), state]));
    const stored = await this.flows.services();
    const services = new Map<string, ServiceKey>();
    for (const ref of [...stored, ...this.cluster.services(), ...[...previous.values()].map((s) => s.service)]) {
      if (scope === 'all' || scope.has(serviceId(ref))) services.set(serviceId(ref), { namespace: ref.namespace, name: ref.name });
    }

    const changes: AlertChange[] = [];
    for (const ref of services.values()) {
      const counts = await this.flows.evidenceCounts(ref, window);
      const known = stored.find((s) => s.namespace === ref.namespace && s.name === ref.name);
      const topology: ServiceTopology | undefined =
        this.cluster.topology(ref) ?? (known ? topologyFromRecords({ ...ref, type: known.type, externalTrafficPolicy: known.externalTrafficPolicy, expectClientIP: known.expectClientIP }, counts) : undefined);
      const rules = this.rulesFor(ref);
      const healthChecks = topology?.healthCheckNodePort !== undefined ? await this.nodeReports.healthChecks(ref, window) : undefined;
      const failed = topology && rules.NATInsertFailures.enabled && counts.rows.some((row) => row.verdict === 'dropped-nat-failure');
      const natFailures = failed ? natFailureEvidence(await this.flows.natFailures(window, ref)) : undefined;
      const observations = { ...(healthChecks ? { healthChecks } : {}), ...(natFailures ? { natFailures } : {}) };
      const signals = topology ? alertSignals(buildServiceEvidence(topology, window, counts, observations), counts, rules) : undefined;
      for (const rule of ALERT_NAMES) {
        const key = alertKey(rule, ref);
        const before = previous.get(key);
        const step = nextAlertState(before, { rule, service: ref, settings: rules[rule], signal: signals?.[rule], now });
        if (step.transition || (step.state && before && changedBeyondTime(before, step.state))) {
          changes.push({ key, state: step.state, previousUpdatedAt: before?.updatedAt ?? null, ...(step.transition ? { transition: step.transition } : {}) });
        }
      }
    }
    const applied = await this.alerts.apply(changes, this.delivery.receivers.map((r) => r.id), now);
    if (applied.length < changes.length) this.log.debug({ skipped: changes.length - applied.length }, 'alert changes skipped: another evaluation changed them first');
    for (const change of applied) {
      if (!change.transition) continue;
      const about = change.state ?? previous.get(change.key);
      this.log.info({ alert: about?.rule, service: about ? serviceId(about.service) : change.key, transition: change.transition, value: about?.value, summary: about?.summary }, `alert ${change.transition}`);
    }
    if (applied.some((c) => c.transition)) {
      this.showInMetrics(await this.alerts.states());
      if (applied.some((c) => c.transition === 'firing' || c.transition === 'resolved')) this.delivery.wake();
    }
    stopTimer();
  }

  /** The Service's rules: defaults, the rules file, then its natlens.io/alert.* annotations. */
  private rulesFor(ref: ServiceKey): AlertRules {
    const service = this.clusterSource?.current().objects.services.find((s) => (s.metadata.namespace ?? 'default') === ref.namespace && s.metadata.name === ref.name);
    const { overrides, problems } = alertOverridesFromAnnotations(service?.metadata.annotations);
    for (const problem of problems) {
      const id = `${serviceId(ref)}: ${problem}`;
      if (this.warned.has(id)) continue;
      this.warned.add(id);
      this.log.warn({ service: serviceId(ref), problem }, 'alert annotation ignored; fix it on the Service');
    }
    return effectiveAlertRules(this.config.alertRules, overrides);
  }

  private showInMetrics(states: readonly AlertState[]): void {
    this.metrics.alerts.reset();
    for (const state of states) {
      if (state.state === 'resolved') continue;
      this.metrics.alerts.set({ alertname: state.rule, namespace: state.service.namespace, service: state.service.name, severity: state.severity, alertstate: state.state }, 1);
    }
  }

  private async resend(): Promise<void> {
    try {
      await this.delivery.resendFiring((await this.alerts.states()).filter((s) => s.state === 'firing'));
    } catch (err) {
      this.log.warn({ err }, 're-sending firing alerts failed; will try again');
    }
  }
}

/** Worth writing: something a reader would see changed, not only the evaluation time. */
function changedBeyondTime(before: AlertState, after: AlertState): boolean {
  return before.value !== after.value || before.summary !== after.summary || before.severity !== after.severity || before.threshold !== after.threshold || before.state !== after.state;
}
