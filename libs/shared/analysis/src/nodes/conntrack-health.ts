import { CONNTRACK_RATE_COUNTERS, type ConntrackPoint, type ConntrackRateCounter, type ConntrackRates, type NodeConntrackHealth, type SnatPairUsage } from '@natlens/shared-api';
import type { ConntrackStats, SnatPortUsage } from '@natlens/shared-model';

/*
 * Conntrack health from the statistics agents report (pure): table fill, failure rates from successive samples, and
 * SNAT port usage. The kernel's counters only grow within a network namespace's life; a smaller value than before means
 * the counters restarted (a new namespace, a rebooted node), and the increase is then the new value itself, as
 * Prometheus' rate() treats a counter reset.
 */

/** One stored report's statistics: what the hub keeps per node and report to chart and rate them. */
export interface ConntrackSample {
  readonly node: string;
  readonly at: number;
  /** null when the report carried SNAT pairs but no conntrack statistics. */
  readonly entries: number | null;
  readonly max: number | null;
  readonly buckets: number | null;
  readonly counters: ConntrackStats['counters'];
  /** The fullest SNAT pair's usage in that report (0–1); null without SNAT pairs. */
  readonly snatPeakUsage: number | null;
}

const counterIncrease = (before: number, after: number) => (after >= before ? after - before : after);

/** entries / max, or null when max is unknown or 0. */
export function tableFill(entries: number | null, max: number | null): number | null {
  return entries === null || max === null || max <= 0 ? null : entries / max;
}

/**
 * Increases per second of the failure counters between the first and the last of `samples` (one node's, oldest first),
 * summed pair by pair so a counter reset in between costs nothing. null for a counter with no pair of samples carrying it.
 */
export function conntrackRates(samples: readonly ConntrackSample[]): ConntrackRates {
  const rates = {} as Record<ConntrackRateCounter, number | null>;
  for (const counter of CONNTRACK_RATE_COUNTERS) {
    let increase = 0;
    let ms = 0;
    for (let i = 1; i < samples.length; i++) {
      const before = samples[i - 1]?.counters[counter];
      const after = samples[i]?.counters[counter];
      const span = (samples[i]?.at ?? 0) - (samples[i - 1]?.at ?? 0);
      if (before === undefined || after === undefined || span <= 0) continue;
      increase += counterIncrease(before, after);
      ms += span;
    }
    rates[counter] = ms > 0 ? (increase * 1000) / ms : null;
  }
  return rates;
}

/** A node's health now: its latest statistics, and the rates over the samples of the last rate window (oldest first). */
export function nodeConntrackHealth(latest: ConntrackStats, recent: readonly ConntrackSample[]): NodeConntrackHealth {
  const withCounters = recent.filter((s) => s.entries !== null);
  const spanMs = withCounters.length >= 2 ? (withCounters.at(-1)?.at ?? 0) - (withCounters[0]?.at ?? 0) : 0;
  return {
    at: latest.at,
    entries: latest.entries,
    max: latest.max,
    fill: tableFill(latest.entries, latest.max),
    buckets: latest.buckets ?? null,
    counters: latest.counters,
    rates: { ...conntrackRates(withCounters), spanMs },
  };
}

/**
 * One node's history as chart points (samples oldest first): each point the last sample of a run of consecutive
 * samples, with the largest fill and SNAT usage of the run (a peak between two points is not hidden) and the rates
 * from the previous point. At most `maxPoints` points.
 */
export function conntrackSeries(samples: readonly ConntrackSample[], maxPoints: number): ConntrackPoint[] {
  const perPoint = Math.max(1, Math.ceil(samples.length / Math.max(1, maxPoints)));
  const points: ConntrackPoint[] = [];
  let previous: ConntrackSample | undefined;
  for (let start = 0; start < samples.length; start += perPoint) {
    const run = samples.slice(start, start + perPoint);
    const last = run.at(-1);
    if (!last) break;
    const fullest = run.reduce((best, s) => ((tableFill(s.entries, s.max) ?? -1) > (tableFill(best.entries, best.max) ?? -1) ? s : best), last);
    const snat = run.map((s) => s.snatPeakUsage).filter((u): u is number => u !== null);
    const rated = [previous, ...run].filter((s): s is ConntrackSample => s !== undefined && s.entries !== null);
    points.push({
      at: last.at,
      entries: fullest.entries,
      max: fullest.max,
      fill: tableFill(fullest.entries, fullest.max),
      rates: previous === undefined && run.length === 1 ? nullRates() : conntrackRates(rated),
      snatPeakUsage: snat.length > 0 ? Math.max(...snat) : null,
    });
    previous = last;
  }
  return points;
}

function nullRates(): ConntrackRates {
  return Object.fromEntries(CONNTRACK_RATE_COUNTERS.map((c) => [c, null])) as unknown as ConntrackRates;
}

/** A pair's port range size and how much of it is in use. */
export function snatPairUsage(pair: SnatPortUsage): SnatPairUsage {
  const rangeSize = Math.max(1, pair.range.max - pair.range.min + 1);
  return { ...pair, rangeSize, usage: pair.inUse / rangeSize };
}

/** The pairs fullest first (then most ports in use, then by address, so the order is stable). */
export function busiestSnatPairs(pairs: readonly SnatPortUsage[]): SnatPairUsage[] {
  return pairs
    .map(snatPairUsage)
    .sort((a, b) => b.usage - a.usage || b.inUse - a.inUse || `${a.snatAddress}>${a.destination}:${a.destinationPort}`.localeCompare(`${b.snatAddress}>${b.destination}:${b.destinationPort}`));
}

/** The fullest pair's usage, for the history; null without pairs. */
export function snatPeakUsage(pairs: readonly SnatPortUsage[] | undefined): number | null {
  if (!pairs || pairs.length === 0) return null;
  return Math.max(...pairs.map((p) => snatPairUsage(p).usage));
}
