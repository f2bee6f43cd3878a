import { busiestSnatPairs, type ConntrackSample } from '@natlens/shared-analysis';
import type { NodeReport } from '@natlens/shared-model';
import type { Counter } from 'prom-client';
import type { HubMetrics } from '../metrics/hub-metrics';

type RatedCounter = 'insertFailed' | 'drop' | 'earlyDrop' | 'clashResolve';

/**
 * A node's conntrack statistics and SNAT pairs onto the hub's gauges and counters, report by report. Counters go up by
 * the increase since the node's previous *stored* sample, whichever hub replica stored it (a counter that went down
 * restarted: it goes up by its new value), so the replicas' counters sum to the node's increase; the node's first
 * sample only creates its series, at 0. The SNAT series of a node are replaced on each report (the busiest pairs
 * change; old ones must not linger).
 */
export class NodeHealthMetrics {
  /** Nodes with series here, so those of expired nodes can be removed. */
  private readonly nodes = new Set<string>();
  private readonly snatSeries = new Map<string, { pairs: Record<string, string>[]; ranges: Record<string, string>[] }>();
  private readonly counters: readonly (readonly [RatedCounter, Counter<'node'>])[];

  constructor(private readonly metrics: HubMetrics) {
    this.counters = [
      ['insertFailed', metrics.conntrackInsertFailed],
      ['drop', metrics.conntrackDrop],
      ['earlyDrop', metrics.conntrackEarlyDrop],
      ['clashResolve', metrics.conntrackClashResolve],
    ];
  }

  /** A newly stored report (never an outdated one) and the node's sample stored before it, if any. */
  observe(report: NodeReport, previous?: ConntrackSample): void {
    const node = report.node;
    if (report.conntrack || report.snatPorts !== undefined) this.nodes.add(node);
    if (report.conntrack) {
      const stats = report.conntrack;
      this.metrics.conntrackEntries.set({ node }, stats.entries);
      if (stats.max !== null) this.metrics.conntrackMax.set({ node }, stats.max);
      else this.metrics.conntrackMax.remove({ node });
      for (const [name, counter] of this.counters) {
        const now = stats.counters[name];
        if (now === undefined) continue;
        const then = previous?.counters[name];
        counter.inc({ node }, then === undefined ? 0 : now >= then ? now - then : now);
      }
    }
    if (report.snatPorts !== undefined) this.replaceSnat(node, report);
  }

  /** Removes every series of the nodes not in `kept` (their reports expired: the node is gone or silent for good). */
  forgetAllBut(kept: ReadonlySet<string>): string[] {
    const forgotten = [...this.nodes].filter((node) => !kept.has(node));
    for (const node of forgotten) {
      this.metrics.conntrackEntries.remove({ node });
      this.metrics.conntrackMax.remove({ node });
      for (const [, counter] of this.counters) counter.remove({ node });
      this.replaceSnat(node, { snatPorts: [] });
      this.snatSeries.delete(node);
      this.nodes.delete(node);
    }
    return forgotten;
  }

  private replaceSnat(node: string, report: Pick<NodeReport, 'snatPorts'>): void {
    const old = this.snatSeries.get(node);
    for (const labels of old?.pairs ?? []) this.metrics.snatPortsInUse.remove(labels);
    for (const labels of old?.ranges ?? []) this.metrics.snatPortRange.remove(labels);
    const pairs: Record<string, string>[] = [];
    const ranges: Record<string, string>[] = [];
    for (const pair of busiestSnatPairs(report.snatPorts ?? [])) {
      const labels = { node, snat_address: pair.snatAddress, destination: pair.destination, destination_port: String(pair.destinationPort), protocol: pair.protocol };
      const rangeLabels = { ...labels, basis: pair.rangeBasis };
      this.metrics.snatPortsInUse.set(labels, pair.inUse);
      this.metrics.snatPortRange.set(rangeLabels, pair.rangeSize);
      pairs.push(labels);
      ranges.push(rangeLabels);
    }
    this.snatSeries.set(node, { pairs, ranges });
  }
}
