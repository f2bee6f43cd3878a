import type { Counter } from 'prom-client';
import { CONNTRACK_STAT_ATTRIBUTES, type ConntrackStatCounter, type ConntrackStatCounters } from '@natlens/agent-conntrack';

/** The kernel's names (`conntrack -S`, /proc/net/stat/nf_conntrack) for the `counter` label. */
export const KERNEL_COUNTER_NAMES: Readonly<Record<ConntrackStatCounter, string>> = {
  found: 'found',
  invalid: 'invalid',
  insert: 'insert',
  insertFailed: 'insert_failed',
  drop: 'drop',
  earlyDrop: 'early_drop',
  error: 'error',
  searchRestart: 'search_restart',
  clashResolve: 'clash_resolve',
  chainTooLong: 'chaintoolong',
};

/**
 * Mirrors the kernel's counters into a Prometheus counter: the first reading sets the baseline (the kernel's totals
 * since the namespace was made), then each reading adds what grew. A counter that went down (a per-CPU u32 wrapped,
 * or the namespace was remade) counts as a reset, as Prometheus treats one: its new value is added.
 */
export class ConntrackCounterMirror {
  private last: ConntrackStatCounters | undefined;

  constructor(private readonly counter: Counter<'counter'>) {}

  update(current: ConntrackStatCounters): void {
    for (const [, name] of CONNTRACK_STAT_ATTRIBUTES) {
      const value = current[name];
      if (value === undefined) continue;
      const previous = this.last?.[name];
      const increase = previous === undefined ? value : value >= previous ? value - previous : value;
      // inc(0) still creates the series, so every counter the kernel sends is on /metrics from the first sample.
      this.counter.inc({ counter: KERNEL_COUNTER_NAMES[name] }, increase);
    }
    this.last = { ...current };
  }
}
