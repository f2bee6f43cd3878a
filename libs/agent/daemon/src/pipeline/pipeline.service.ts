import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { ClusterIndex, ClusterMetadataSource } from '@natlens/shared-cluster';
import type { FlowRecord } from '@natlens/shared-model';
import type { Logger } from 'pino';
import type { Gauge } from 'prom-client';
import type { AgentConfig } from '../config/agent-config';
import type { HubExporter } from '../export/hub-exporter';
import { ensureAccounting, KernelSettingsRepository } from '../kernel/kernel-settings.repository';
import { AgentMetrics } from '../metrics/agent-metrics';
import { lastActivityOf } from './last-activity';
import type { ConnectionSource } from '../sources/connection-source';
import { agentReadiness, type Readiness } from '../api/readiness';
import { AGENT_CONFIG, CLUSTER_SOURCE, CONNECTION_SOURCES, HUB_EXPORTER, LOGGER } from '../tokens';
import { FlowAggregator } from './aggregate.stage';
import { BoundedQueue, consume } from './bounded-queue';
import { enrichConnection, flowIdOf } from '@natlens/agent-records';
import { HealthCheckProbers } from './health-check-probers';
import { memoisedIndex } from './memoised-index';
import type { ObservedConnection } from '@natlens/agent-records';
import { RecentFlows } from './recent-flows';
import { SourceMerge } from './source-merge';

/** Connections remembered at once; beyond it new ones are dropped and counted (a flood must not exhaust memory). */
const MAX_ACTIVE_FLOWS = 1_000_000;
/** A connection's end is exported this soon rather than at the next interval. */
const END_FLUSH_DELAY_MS = 250;
/**
 * A new, open connection waits up to this long for its end before it is exported (aggregate.stage.ts), so a short
 * connection is sent once, ended, rather than open and then ended; never longer than the flush interval.
 */
const NEW_FLOW_HOLD_MS = 1000;
const ENRICH_BATCH = 2048;
/** How often first sights waiting for a better source (source-merge.ts) are checked. */
const MERGE_EXPIRE_INTERVAL_MS = 500;

/*
 * The agent's one wiring place (docs/architecture.md draws it):
 *
 *   sources (collect+decode) ──[observed: bounded]──► merge ──► enrich ──► aggregate ──(flush: interval | end)──► export
 *                                                    (two or more sources: one record per connection)
 *                                                                               ├─► recent records (GET /api/flows)
 *                                                                               ├─► socket.io /flows
 *                                                                               └─► hub exporter (spool → HTTP)
 */
@Injectable()
export class PipelineService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly observed: BoundedQueue<ObservedConnection>;
  private readonly aggregator: FlowAggregator;
  private readonly listeners = new Set<(records: FlowRecord[]) => void>();
  private consumer: { stop(): void } | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private endFlush: NodeJS.Timeout | undefined;
  private heldFlush: NodeJS.Timeout | undefined;
  private accounting: ReturnType<typeof ensureAccounting> | undefined;
  private startedAt = Date.now();
  /** Set on every batch: the labelled child is resolved once rather than per call. */
  private readonly observedDepth: Gauge.Internal<'queue'>;
  private indexView: { index: ClusterIndex; view: ClusterIndex } | undefined;
  /** Only with two or more sources; a single source's observations go straight to enrich. */
  private readonly merge: SourceMerge | undefined;
  private mergeTimer: NodeJS.Timeout | undefined;
  /** Sources of health checks to this node: a load balancer's, which tells its node-port deliveries apart. */
  private readonly probers = new HealthCheckProbers();
  /** Set once every source's start() returned. */
  private sourcesStarted = false;
  /** How long a new, open flow waits for its end before it is exported (the hold, capped by the flush interval). */
  private readonly holdNewMs: number;

  constructor(
    @Inject(AGENT_CONFIG) private readonly config: AgentConfig,
    @Inject(LOGGER) private readonly log: Logger,
    @Inject(AgentMetrics) private readonly metrics: AgentMetrics,
    @Inject(RecentFlows) private readonly recent: RecentFlows,
    @Inject(KernelSettingsRepository) private readonly kernel: KernelSettingsRepository,
    @Inject(CLUSTER_SOURCE) private readonly cluster: ClusterMetadataSource,
    @Inject(CONNECTION_SOURCES) private readonly sources: ConnectionSource[],
    @Inject(HUB_EXPORTER) private readonly exporter: HubExporter | null,
  ) {
    this.observed = new BoundedQueue('observed', config.queueCapacity);
    this.holdNewMs = Math.min(NEW_FLOW_HOLD_MS, config.flushIntervalMs);
    this.aggregator = new FlowAggregator(this.holdNewMs);
    this.observedDepth = metrics.queueDepth.labels({ queue: 'observed' });
    const names = [...new Set(sources.map((source) => source.name))];
    this.merge = names.length > 1 ? new SourceMerge({ sources: names }) : undefined;
  }

  async onApplicationBootstrap(): Promise<void> {
    this.startedAt = Date.now();
    this.accounting = ensureAccounting(this.kernel, this.config.enableAccounting);
    this.metrics.kernelSetting.set({ setting: 'nf_conntrack_acct' }, this.accounting.counters ? 1 : 0);
    this.metrics.kernelSetting.set({ setting: 'nf_conntrack_timestamp' }, this.accounting.timestamps ? 1 : 0);
    this.metrics.kernelSetting.set({ setting: 'nf_conntrack_events' }, this.accounting.eventsForAll ? 1 : 0);
    for (const problem of this.accounting.problems) this.log.warn(problem);
    if (!this.accounting.counters || !this.accounting.timestamps) {
      this.log.warn(
        { counters: this.accounting.counters, timestamps: this.accounting.timestamps },
        'conntrack accounting is off: records will lack byte/packet counters or start times; run with --enable-accounting to turn on nf_conntrack_acct and nf_conntrack_timestamp',
      );
    }
    await this.cluster.start();
    this.consumer = consume(this.observed, ENRICH_BATCH, (batch) => this.enrich(batch), (err, lost) => {
      this.metrics.dropped.inc({ stage: 'enrich', reason: 'error' }, lost);
      this.log.error({ err: err.message, lost }, 'enrich failed for a batch; it was dropped');
    });
    this.exporter?.start();
    const observe = (batch: ObservedConnection[]) => {
      let refused = 0;
      for (const observation of batch) if (!this.observed.push(observation)) refused++;
      if (refused > 0) this.metrics.dropped.inc({ stage: 'collect', reason: 'queue-full' }, refused);
      this.observedDepth.set(this.observed.depth);
    };
    for (const source of this.sources) {
      await source.start({
        observe,
        // A source's full read ends only the flows it decides: a conntrack dump knows nothing of a capture-only flow.
        tableSynced: (live: Set<string>, startedAt: number) => {
          setImmediate(() => {
            this.merge?.tableSynced(source.name, live, startedAt, Date.now());
            if (this.aggregator.reconcile(live, startedAt, source.name) > 0) this.scheduleEndFlush();
          });
        },
      });
    }
    this.sourcesStarted = true;
    this.flushTimer = setInterval(() => this.flush(), this.config.flushIntervalMs);
    if (this.merge) {
      const merge = this.merge;
      this.mergeTimer = setInterval(() => {
        const released = merge.expire(Date.now());
        if (released.length > 0) this.enrichMerged(released);
      }, MERGE_EXPIRE_INTERVAL_MS);
    }
    this.log.info({ sources: this.sources.map((s) => s.name), accounting: this.accounting }, 'pipeline running');
  }

  /** The current cluster index, with its per-connection lookups remembered (memoised-index.ts). */
  private currentIndex(): ClusterIndex {
    const index = this.cluster.current();
    if (this.indexView?.index !== index) this.indexView = { index, view: memoisedIndex(index) };
    return this.indexView.view;
  }

  private enrich(batch: ObservedConnection[]): void {
    if (!this.merge) {
      this.enrichMerged(batch);
      return;
    }
    const merged: ObservedConnection[] = [];
    const now = Date.now();
    for (const observation of batch) for (const out of this.merge.accept(observation, now)) merged.push(out);
    this.enrichMerged(merged);
  }

  private enrichMerged(batch: ObservedConnection[]): void {
    const index = this.currentIndex();
    const verdicts = new Map<string, number>();
    let tooMany = 0;
    for (const observation of batch) {
      const flowId = flowIdOf(observation);
      // A flow already known only changes its state, counters and times: no need to enrich it again, unless another
      // source just added what changes its meaning (the real client behind a proxy, a drop).
      const known = observation.realClient !== undefined || observation.dropped === true ? this.aggregator.get(flowId) : undefined;
      const newFacts = known !== undefined && (known.realClient === undefined || observation.dropped === true);
      const ended = newFacts ? undefined : this.aggregator.touch(
        flowId,
        lastActivityOf(observation),
        observation.startedAt,
        observation.state,
        observation.counters,
        observation.kind === 'destroy',
      );
      if (ended !== undefined) {
        if (ended) this.scheduleEndFlush();
        continue;
      }
      if (!newFacts && this.aggregator.size >= MAX_ACTIVE_FLOWS && observation.kind !== 'destroy') {
        tooMany++;
        continue;
      }
      const record = enrichConnection(observation, index, this.config.node, this.probers);
      if (record.verdict === 'not-service' && record.client.kind === 'external' && index.isHealthCheckPort(record.original.dst, record.original.dport, record.original.proto)) {
        this.probers.saw(record.original.src, observation.observedAt);
      }
      verdicts.set(record.verdict, (verdicts.get(record.verdict) ?? 0) + 1);
      if (this.aggregator.upsert(record)) this.scheduleEndFlush();
    }
    for (const [verdict, n] of verdicts) this.metrics.records.inc({ verdict }, n);
    if (tooMany > 0) this.metrics.dropped.inc({ stage: 'aggregate', reason: 'too-many-flows' }, tooMany);
    this.metrics.activeFlows.set(this.aggregator.size);
    this.observedDepth.set(this.observed.depth);
  }

  private scheduleEndFlush(): void {
    if (this.endFlush) return;
    this.endFlush = setTimeout(() => {
      this.endFlush = undefined;
      this.flush();
    }, END_FLUSH_DELAY_MS);
  }

  /** Exports what changed since the last flush; `all`: new flows too, however young (shutdown). */
  flush(all = false): FlowRecord[] {
    const records = this.aggregator.flush(Date.now(), all);
    this.metrics.activeFlows.set(this.aggregator.size);
    // Flows held back for their end go out at the latest one hold later, not a whole interval later.
    if (this.aggregator.holding > 0 && !this.heldFlush && this.sourcesStarted) {
      this.heldFlush = setTimeout(() => {
        this.heldFlush = undefined;
        this.flush();
      }, this.holdNewMs);
    }
    return this.publish(records);
  }

  /** Hands records to the local API, the listeners and the hub (what flush does with the aggregator's). */
  publish(records: FlowRecord[]): FlowRecord[] {
    if (records.length === 0) return records;
    this.recent.add(records);
    for (const listener of this.listeners) listener(records);
    if (this.exporter) {
      for (let i = 0; i < records.length; i += this.config.batchSize) {
        this.exporter.enqueue({ node: this.config.node, sentAt: Date.now(), records: records.slice(i, i + this.config.batchSize) });
      }
    }
    return records;
  }

  onRecords(listener: (records: FlowRecord[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Ready: every source observes and the cluster metadata is loaded (api/readiness.ts). */
  readiness(): Readiness {
    return agentReadiness(this.sourcesStarted, this.sources.map((s) => ({ name: s.name, observing: s.observing() })), this.cluster.status());
  }

  status() {
    const { ready, waitingFor } = this.readiness();
    return {
      ready,
      ...(ready ? {} : { waitingFor }),
      node: this.config.node,
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      sources: Object.fromEntries(this.sources.map((s) => [s.name, s.status()])),
      cluster: this.cluster.status(),
      accounting: this.accounting,
      activeFlows: this.aggregator.size,
      queues: { observed: { depth: this.observed.depth, dropped: this.observed.dropped } },
      ...(this.merge ? { merge: { connections: this.merge.size, ...this.merge.stats } } : {}),
      healthCheckProbers: this.probers.addresses(Date.now()),
      hub: this.exporter ? { url: this.exporter.target, pending: this.exporter.pending, lastSuccessAt: this.exporter.lastSuccessAt, lastError: this.exporter.lastError } : null,
    };
  }

  async onApplicationShutdown(): Promise<void> {
    this.sourcesStarted = false;
    for (const source of this.sources) source.stop();
    clearInterval(this.flushTimer);
    clearInterval(this.mergeTimer);
    clearTimeout(this.endFlush);
    clearTimeout(this.heldFlush);
    this.consumer?.stop();
    this.flush(true);
    this.exporter?.stop();
    await this.cluster.stop();
  }
}
