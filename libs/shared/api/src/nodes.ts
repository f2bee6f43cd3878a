import type { ConntrackStats, InterfaceAddress, NatFailureReason, ProxyHealth, ServiceHealthCheck, SnatPortUsage } from '@natlens/shared-model';

/*
 * `GET /api/nodes` and `GET /api/nodes/conntrack` (issue 20): each node's conntrack table pressure and NAT failures,
 * observed by its agent over ctnetlink, and the SNAT pairs with the most source ports in use. Rates are derived by the
 * hub from successive reports (counter increases over the time between them), so they say per second over which span.
 */

/** The conntrack counters the hub turns into rates: the failures an operator acts on, and the clashes the kernel resolved. */
export const CONNTRACK_RATE_COUNTERS = ['insertFailed', 'drop', 'earlyDrop', 'clashResolve'] as const;
export type ConntrackRateCounter = (typeof CONNTRACK_RATE_COUNTERS)[number];

/** Increases per second of the failure counters; null when fewer than two samples cover the span, or the kernel omits it. */
export type ConntrackRates = Readonly<Record<ConntrackRateCounter, number | null>>;

/** A node's conntrack health now: the latest statistics and the rates over the last `rates.spanMs`. */
export interface NodeConntrackHealth {
  /** When the agent read the statistics. */
  readonly at: number;
  readonly entries: number;
  /** nf_conntrack_max; null when the agent could not read it. */
  readonly max: number | null;
  /** entries / max (0–1); null without max. */
  readonly fill: number | null;
  readonly buckets: number | null;
  /** The counters as the kernel gave them (since the network namespace was made). */
  readonly counters: ConntrackStats['counters'];
  /** Per second, between the first and last sample of the span (at most `rateWindowMs` long). */
  readonly rates: ConntrackRates & { readonly spanMs: number };
}

/** One SNAT pair with how full its port range is. */
export interface SnatPairUsage extends SnatPortUsage {
  /** Ports masquerade can choose from: range.max − range.min + 1. */
  readonly rangeSize: number;
  /** inUse / rangeSize (0–1). */
  readonly usage: number;
}

/** One row of `GET /api/nodes`. */
export interface NodeSummary {
  readonly node: string;
  readonly at: number;
  readonly receivedAt: number;
  /** The agent is overdue: its last report is older than a few of its intervals. */
  readonly stale: boolean;
  readonly intervalMs?: number;
  readonly addresses: readonly InterfaceAddress[];
  readonly healthChecks: readonly ServiceHealthCheck[];
  readonly proxyHealth?: ProxyHealth;
  /** Absent when the node's agent sends no conntrack statistics (an older agent, or one without ctnetlink access). */
  readonly conntrack?: NodeConntrackHealth;
  /** The busiest SNAT pairs, fullest first (as many as the agent sent, at most 50). */
  readonly snatPorts: readonly SnatPairUsage[];
}

/** `GET /api/nodes`. */
export interface NodesResponse {
  readonly nodes: NodeSummary[];
  /** The span the rates are computed over. */
  readonly rateWindowMs: number;
}

/** One point of a node's conntrack history: the table fill and the failure rates since the previous point. */
export interface ConntrackPoint {
  readonly at: number;
  readonly entries: number | null;
  readonly max: number | null;
  readonly fill: number | null;
  /** Per second since the previous point; null for the first point of a series or where a counter is missing. */
  readonly rates: ConntrackRates;
  /** The fullest SNAT pair's usage (0–1) in that report; null when the report had no SNAT pairs. */
  readonly snatPeakUsage: number | null;
}

/** `GET /api/nodes/conntrack?from&to[&node]`: each node's conntrack history in the window (at most `maxPoints` per node). */
export interface ConntrackHistoryResponse {
  readonly window: { readonly from: number; readonly to: number };
  readonly nodes: readonly { readonly node: string; readonly points: readonly ConntrackPoint[] }[];
}

/** A Service's NAT failures in the evidence window, from records with verdict `dropped-nat-failure`. */
export interface NatFailureEvidence {
  /** Connections the kernel dropped; `observed`: seen one by one (eBPF); `estimated`: correlated with counters. */
  readonly observed: number;
  readonly estimated: number;
  readonly byReason: readonly { readonly reason: NatFailureReason; readonly node: string; readonly kernelReason?: string; readonly observed: boolean; readonly connections: number }[];
}
