import type { NatFailureEvidence } from '@natlens/shared-api';
import type { NatFailure } from '@natlens/shared-model';

/** A Service's dropped-nat-failure connection as storage hands it over: its node and why. */
export interface NatFailureRow {
  readonly node: string;
  readonly natFailure?: NatFailure;
  /** Connections this row stands for (1 per raw record). */
  readonly connections: number;
}

/**
 * The Service's NAT failures in a window, observed (eBPF saw the drop with its tuple) kept apart from estimated
 * (the conntrack source correlated counter increases with failed attempts). A record without natFailure (an agent
 * that set the verdict only) counts as estimated with reason netfilter-drop: the least specific claim. Pure.
 */
export function natFailureEvidence(rows: readonly NatFailureRow[]): NatFailureEvidence {
  const groups = new Map<string, { reason: NatFailure['reason']; node: string; kernelReason?: string; observed: boolean; connections: number }>();
  let observed = 0;
  let estimated = 0;
  for (const row of rows) {
    const failure: NatFailure = row.natFailure ?? { reason: 'netfilter-drop', observed: false };
    if (failure.observed) observed += row.connections;
    else estimated += row.connections;
    const key = JSON.stringify([row.node, failure.reason, failure.kernelReason ?? null, failure.observed]);
    const group = groups.get(key);
    if (group) group.connections += row.connections;
    else groups.set(key, { reason: failure.reason, node: row.node, ...(failure.kernelReason !== undefined ? { kernelReason: failure.kernelReason } : {}), observed: failure.observed, connections: row.connections });
  }
  const byReason = [...groups.values()].sort((a, b) => b.connections - a.connections || a.node.localeCompare(b.node) || a.reason.localeCompare(b.reason));
  return { observed, estimated, byReason };
}
