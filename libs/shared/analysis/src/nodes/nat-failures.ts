import type { NatFailureEvidence } from '@natlens/shared-api';
import type { NatFailure, NatFailureReason } from '@natlens/shared-model';
import type { Finding } from '../evidence/evidence-types';

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

/** What to do about each reason, and what that costs (README "Conntrack and SNAT health" says the same at length). */
const REMEDIES: Record<NatFailureReason, string> = {
  'insert-failed':
    'insert-failed is the conntrack race of two packets of one new flow at once (typically a DNS client sending its A and AAAA queries from one socket): run NodeLocal DNSCache (one more DaemonSet, and DNS answers now depend on it), or set `options single-request-reopen` in the pods\' resolv.conf (dnsConfig; queries become sequential, slightly slower)',
  'table-full':
    'table-full means nf_conntrack_max was reached: raise nf_conntrack_max (and the buckets) on the node (about 300 bytes of kernel memory per entry) or shorten idle timeouts such as nf_conntrack_tcp_timeout_established (idle long-lived connections are then forgotten and break)',
  'nat-port-exhausted':
    'nat-port-exhausted means masquerade found no free source port toward that destination: spread the traffic over more destination pods or more SNAT addresses (more node or egress IPs: more addresses to manage), use --random-fully (kube-proxy does; it lowers clashes, not the port count), widen the port range, or reuse connections (keep-alive, pooling) so fewer ports are held',
  'netfilter-drop': 'netfilter-drop is another drop of a new connection in the NAT hooks: check the node\'s firewall rules and the kernel log',
};

/** The finding for a Service with NAT failures in the window: how many, where, why, and what to do. Undefined without. */
export function natFailureFinding(ref: string, failures: NatFailureEvidence): Finding | undefined {
  const total = failures.observed + failures.estimated;
  if (total === 0) return undefined;
  const where = failures.byReason.map((g) => `${g.connections} ${g.reason}${g.kernelReason ? ` (${g.kernelReason})` : ''} on ${g.node}${g.observed ? '' : ' (estimated)'}`);
  const basis = [
    ...(failures.observed > 0 ? [`${failures.observed} observed (the agent saw each drop with its tuple)`] : []),
    ...(failures.estimated > 0 ? [`${failures.estimated} estimated (the node's insert_failed/drop counters rose in the interval these attempts failed; an estimate, not a per-connection observation)`] : []),
  ];
  const reasons = [...new Set(failures.byReason.map((g) => g.reason))];
  return {
    severity: 'critical',
    code: 'nat-failures',
    message: `${total} connection(s) to ${ref} were dropped by conntrack or NAT before reaching a pod: ${basis.join('; ')}. By reason and node: ${where.join(', ')}. ${reasons.map((r) => REMEDIES[r]).join('. ')}. GET /api/nodes (the Nodes page) shows each node's table fill, failure rates and busiest SNAT pairs.`,
  };
}
