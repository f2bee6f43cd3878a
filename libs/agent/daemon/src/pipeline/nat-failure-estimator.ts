import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DEFAULT_ESTIMATE_LIMIT, estimateNatFailures, failureCountersOf, type FailureCounterSample } from '@natlens/agent-records';
import type { ConntrackStats, FlowRecord, SnatPortUsage } from '@natlens/shared-model';
import type { Logger } from 'pino';
import type { AgentConfig } from '../config/agent-config';
import type { ConnectionSource } from '../sources/connection-source';
import { AGENT_CONFIG, CONNECTION_SOURCES, CONNTRACK_STATS_READER, LOGGER } from '../tokens';
import { PipelineService } from './pipeline.service';

/*
 * NAT failures for the conntrack source, estimated (records/nat-failure-estimate.ts): each time the node's conntrack
 * statistics are read again, the growth of insert_failed/drop is attributed to the Services whose connections began
 * since the previous reading, and exported as records with `natFailure.observed: false`. With the eBPF source the
 * failures are observed one by one instead, so nothing is estimated.
 */

/**
 * The node's conntrack statistics as the agent last read them over ctnetlink, and its busiest SNAT pairs: the
 * statistics sampler provides it (one reading every few seconds).
 */
export interface ConntrackStatsReader {
  latest(): ConntrackStats | undefined;
  snatPorts?(): SnatPortUsage[];
}

/** The estimate's state between two readings; plain, so it can be tested with plain objects. */
export class NatFailureEstimator {
  private previous: FailureCounterSample | undefined;
  private readonly attempts = new Map<string, FlowRecord>();

  constructor(
    private readonly node: string,
    private readonly reader: ConntrackStatsReader,
    private readonly limit = DEFAULT_ESTIMATE_LIMIT,
  ) {}

  /** Records the pipeline exported: the connections that began since the last reading are the candidates. */
  observe(records: FlowRecord[]): void {
    const since = this.previous?.at ?? 0;
    for (const r of records) if (r.source === 'conntrack' && r.natFailure === undefined && r.firstSeen >= since) this.attempts.set(r.flowId, r);
  }

  /** Called after each reading; the estimated records to export (none until a second reading). */
  sample(): FlowRecord[] {
    const stats = this.reader.latest();
    if (!stats) return [];
    const current = failureCountersOf(stats);
    const previous = this.previous;
    if (previous && current.at <= previous.at) return [];
    this.previous = current;
    if (!previous) {
      this.attempts.clear();
      return [];
    }
    const attempts = [...this.attempts.values()].filter((r) => r.firstSeen >= previous.at && r.firstSeen <= current.at);
    for (const [flowId, r] of this.attempts) if (r.firstSeen <= current.at) this.attempts.delete(flowId);
    const snatPairs = this.reader.snatPorts?.();
    return estimateNatFailures({ node: this.node, previous, current, attempts, ...(snatPairs ? { snatPairs } : {}), limit: this.limit })?.records ?? [];
  }
}

/** How often the estimate looks for a new reading; the sampler's own cadence decides how often there is one. */
const SAMPLE_CHECK_MS = 1000;

@Injectable()
export class NatFailureEstimateService implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(
    @Inject(AGENT_CONFIG) private readonly config: AgentConfig,
    @Inject(LOGGER) private readonly log: Logger,
    @Inject(PipelineService) private readonly pipeline: PipelineService,
    @Inject(CONNECTION_SOURCES) private readonly sources: ConnectionSource[],
    @Inject(CONNTRACK_STATS_READER) private readonly reader: ConntrackStatsReader | null,
  ) {}

  onApplicationBootstrap(): void {
    const names = this.sources.map((s) => s.name);
    if (!this.reader || !names.includes('conntrack') || names.includes('ebpf')) return;
    const estimator = new NatFailureEstimator(this.config.node, this.reader);
    this.unsubscribe = this.pipeline.onRecords((records) => estimator.observe(records));
    this.timer = setInterval(() => {
      const records = estimator.sample();
      if (records.length === 0) return;
      this.log.info({ estimated: records.length, reason: records[0]?.natFailure?.reason, services: [...new Set(records.map((r) => `${r.service?.namespace}/${r.service?.name}`))] }, 'conntrack insert failures attributed to Services (an estimate)');
      this.pipeline.publish(records);
    }, SAMPLE_CHECK_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
    this.unsubscribe?.();
  }
}
