import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { ConntrackStats, SnatPortUsage } from '@natlens/shared-model';
import type { Logger } from 'pino';
import type { AgentConfig } from '../config/agent-config';
import { AgentMetrics } from '../metrics/agent-metrics';
import { AGENT_CONFIG, CONNTRACK_HEALTH_PORT, LOGGER } from '../tokens';
import type { ConntrackHealthPort } from './conntrack-health.repository';
import { ConntrackCounterMirror } from './counter-mirror';
import type { SourceNatRule } from './nat-port-ranges';
import { SNAT_TOP_PAIRS, SnatPortTally, snatPortShare } from './snat-port-usage';

/** The NAT rules change with Services, not by the second: read them again this often. */
const RULES_REFRESH_MS = 30_000;

type Part = 'stats' | 'snat' | 'rules';

/*
 * Every --conntrack-sample-interval-ms: the node's conntrack statistics (ctnetlink, summed over CPUs), the table's
 * size and limit, and SNAT port usage from a dump of the table against the ranges of the node's SNAT rules. The
 * latest sample goes into the node report and onto /metrics. Each part fails on its own: the statistics still
 * arrive when the NAT rules cannot be read, and the other way round.
 */
@Injectable()
export class ConntrackHealthSampler implements OnApplicationBootstrap, OnModuleDestroy {
  private timer: NodeJS.Timeout | undefined;
  private sampling: Promise<void> | undefined;
  private conntrack: ConntrackStats | undefined;
  private snatPorts: SnatPortUsage[] | undefined;
  private rules: { rules: SourceNatRule[]; at: number } | undefined;
  private readonly problems = new Map<Part, string>();
  private readonly mirror: ConntrackCounterMirror;
  private samples = 0;

  constructor(
    @Inject(AGENT_CONFIG) private readonly config: AgentConfig,
    @Inject(LOGGER) private readonly log: Logger,
    @Inject(AgentMetrics) private readonly metrics: AgentMetrics,
    @Inject(CONNTRACK_HEALTH_PORT) private readonly port: ConntrackHealthPort,
  ) {
    this.mirror = new ConntrackCounterMirror(metrics.conntrackStat);
  }

  onApplicationBootstrap(): void {
    if (this.config.conntrackSampleIntervalMs === 0) return;
    void this.sampleNow();
    this.timer = setInterval(() => void this.sampleNow(), this.config.conntrackSampleIntervalMs);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.sampling;
    this.port.close();
  }

  /** Samples now, unless a sample is under way (then waits for that one). */
  sampleNow(): Promise<void> {
    if (!this.sampling) {
      this.sampling = this.sample().finally(() => {
        this.sampling = undefined;
      });
    }
    return this.sampling;
  }

  /** The latest statistics (counters summed over CPUs); undefined until a read succeeds, and after one fails. */
  latest(): ConntrackStats | undefined {
    return this.conntrack;
  }

  /** The busiest SNAT pairs of the latest dump; undefined until a dump succeeds, and after one fails. */
  latestSnatPorts(): SnatPortUsage[] | undefined {
    return this.snatPorts;
  }

  status() {
    if (this.config.conntrackSampleIntervalMs === 0) return null;
    return {
      intervalMs: this.config.conntrackSampleIntervalMs,
      samples: this.samples,
      lastAt: this.conntrack?.at ?? null,
      ...(this.problems.size > 0 ? { problems: Object.fromEntries(this.problems) } : {}),
    };
  }

  private async sample(): Promise<void> {
    const at = Date.now();
    await Promise.all([this.sampleStats(at), this.sampleSnat()]);
    this.samples++;
  }

  private async sampleStats(at: number): Promise<void> {
    try {
      const [reading, sysctlMax, buckets] = await Promise.all([this.port.readStats(), this.port.readSysctl('nf_conntrack_max'), this.port.readSysctl('nf_conntrack_buckets')]);
      const max = reading.maxEntries ?? sysctlMax ?? null;
      this.conntrack = { at, counters: reading.counters, entries: reading.entries, max, buckets: buckets ?? null };
      this.mirror.update(reading.counters);
      this.metrics.conntrackEntries.set(reading.entries);
      if (max !== null) this.metrics.conntrackMax.set(max);
      if (buckets !== undefined) this.metrics.conntrackBuckets.set(buckets);
      if (reading.parseErrors.length > 0) this.metrics.dropped.inc({ stage: 'conntrack-stats', reason: 'parse-error' }, reading.parseErrors.length);
      this.recovered('stats');
    } catch (err) {
      this.conntrack = undefined; // the report carries only figures read now, never an old sample as if it were new
      this.failed('stats', err as Error, 'the conntrack statistics could not be read; the node report goes without them');
    }
  }

  private async sampleSnat(): Promise<void> {
    const rules = await this.currentRules();
    try {
      const tally = new SnatPortTally();
      await this.port.dumpTable((entries) => tally.add(entries));
      const top = tally.top(rules, SNAT_TOP_PAIRS);
      this.snatPorts = top;
      this.metrics.conntrackSnatPairs.set(tally.pairs);
      this.metrics.conntrackSnatBusiestShare.set(top[0] ? snatPortShare(top[0]) : 0);
      this.metrics.conntrackSnatPortsInUse.reset();
      this.metrics.conntrackSnatPortRange.reset();
      for (const pair of this.config.snatPairMetrics ? top : []) {
        const labels = { snat_address: pair.snatAddress, destination: pair.destination, destination_port: String(pair.destinationPort), protocol: pair.protocol };
        this.metrics.conntrackSnatPortsInUse.set(labels, pair.inUse);
        this.metrics.conntrackSnatPortRange.set({ ...labels, basis: pair.rangeBasis }, pair.range.max - pair.range.min + 1);
      }
      this.recovered('snat');
    } catch (err) {
      this.snatPorts = undefined;
      this.failed('snat', err as Error, 'the conntrack table could not be dumped for SNAT port usage; the node report goes without it');
    }
  }

  private async currentRules(): Promise<SourceNatRule[]> {
    if (this.rules && Date.now() - this.rules.at < RULES_REFRESH_MS) return this.rules.rules;
    const { rules, problems } = await this.port.readSourceNatRules();
    this.rules = { rules, at: Date.now() };
    // Both tools absent or refused: ranges fall back to the kernel's default, which the report says (rangeBasis).
    if (problems.length > 0 && rules.length === 0) this.failed('rules', new Error(problems.join('; ')), 'the NAT rules could not be read; SNAT ranges are the kernel default');
    else this.recovered('rules');
    return rules;
  }

  private failed(part: Part, error: Error, consequence: string): void {
    this.metrics.conntrackSampleFailures.inc({ part });
    // One line when a part starts failing or fails differently, not one per interval.
    if (this.problems.get(part) !== error.message) this.log.warn({ part, err: error.message }, consequence);
    this.problems.set(part, error.message);
  }

  private recovered(part: Part): void {
    if (this.problems.delete(part)) this.log.info({ part }, 'conntrack sampling works again');
  }
}
