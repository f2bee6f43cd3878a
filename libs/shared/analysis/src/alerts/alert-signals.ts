import type { EvidenceCounts, ServiceEvidence } from '../evidence/evidence-types';
import { healthCheckDisagreement } from '../evidence/health-check-agreement';
import type { AlertName, AlertRules, AlertSignal } from '@natlens/shared-api';

/*
 * What each rule measures in one Service's evidence over the evaluation window. A signal is `undefined` when the
 * rule does not apply (disabled, too few connections, a rule for another policy); the rule is active when the
 * signal's value is strictly above its threshold.
 */

const ref = (evidence: ServiceEvidence) => `${evidence.service.namespace}/${evidence.service.name}`;

/** UnexpectedSNAT: external connections SNAT'd although the policy or annotation says the client IP must survive. */
function unexpectedSnat(evidence: ServiceEvidence): AlertSignal {
  const value = evidence.byVerdict['snat-unexpected'] ?? 0;
  const nodes = [...new Set(evidence.snat.byNode.map((group) => `${group.node} → ${group.snatAddress}`))].join(', ');
  return { value, summary: `${value} external connection(s) to ${ref(evidence)} reached pods with the client address rewritten${nodes ? ` (${nodes})` : ''}, although the Service should keep it` };
}

/** LoadImbalance: the busiest pod's connections over the mean per pod. */
function loadImbalance(evidence: ServiceEvidence): AlertSignal | undefined {
  if (evidence.endpoints.length < 2) return undefined;
  const busiest = [...evidence.endpoints].sort((a, b) => b.connections - a.connections)[0];
  const value = evidence.imbalance.maxOverMean;
  return { value, summary: `${ref(evidence)}: the busiest pod${busiest ? ` (${busiest.pod} on ${busiest.node}, ${(busiest.share * 100).toFixed(0)}%)` : ''} serves ${value.toFixed(2)}× the mean of its ${evidence.endpoints.length} pods` };
}

/**
 * TrafficToNodeWithoutEndpoints: connections from outside (nodePort, load balancer, external IP) entering a node that
 * runs none of the Service's pods: dropped under Local policy, an extra hop plus SNAT under Cluster. ClusterIP
 * traffic is left out: a pod calling a Service from its own node is how ClusterIPs are meant to work.
 */
function trafficToNodeWithoutEndpoints(evidence: ServiceEvidence, counts: EvidenceCounts): AlertSignal {
  const empty = new Set(evidence.nodes.filter((node) => node.localEndpoints === 0).map((node) => node.node));
  const perNode = new Map<string, { received: number; dropped: number }>();
  for (const row of counts.rows) {
    if (row.entry === 'clusterIP' || !empty.has(row.node)) continue;
    const entry = perNode.get(row.node) ?? { received: 0, dropped: 0 };
    if (row.verdict === 'dropped-no-local-endpoint') entry.dropped += row.connections;
    else entry.received += row.connections;
    perNode.set(row.node, entry);
  }
  const value = [...perNode.values()].reduce((sum, n) => sum + n.received + n.dropped, 0);
  const where = [...perNode.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([node, n]) => `${node}: ${n.received} forwarded${n.dropped > 0 ? `, ${n.dropped} dropped` : ''}`)
    .join('; ');
  return { value, summary: `${value} connection(s) to ${ref(evidence)} entered node(s) without any of its pods${where ? ` (${where})` : ''}` };
}

/**
 * HealthCheckMismatch (Local-policy LoadBalancers), two causes, each named in the summary:
 * - observed: a node's health-check answer, probed on the node by its agent, disagrees with its endpoints (a node
 *   with local endpoints answering 503 or nothing, or one without any answering 200); counts one per node;
 * - inferred from traffic: the load balancer sent connections to a node without local endpoints, so it believed a
 *   health check that should have failed there; counts one per connection.
 */
function healthCheckMismatch(evidence: ServiceEvidence, counts: EvidenceCounts): AlertSignal | undefined {
  if (evidence.service.externalTrafficPolicy !== 'Local' || evidence.service.type !== 'LoadBalancer') return undefined;
  const empty = new Set(evidence.nodes.filter((node) => node.localEndpoints === 0).map((node) => node.node));
  const misrouted = new Map<string, number>();
  for (const row of counts.rows) {
    if (row.entry === 'loadBalancer' && empty.has(row.node)) misrouted.set(row.node, (misrouted.get(row.node) ?? 0) + row.connections);
  }
  const observed = evidence.nodes.map(healthCheckDisagreement).filter((why): why is string => why !== undefined);
  const value = observed.length + [...misrouted.values()].reduce((a, b) => a + b, 0);
  const parts = [
    ...observed.map((why) => `observed: ${why}`),
    ...[...misrouted.entries()].map(([node, n]) => `inferred from traffic: the load balancer sent ${n} connection(s) to ${node}, which has no local endpoint`),
  ];
  return { value, summary: `${ref(evidence)}: ${parts.length > 0 ? parts.join('; ') : 'health checks agree with the endpoints'}` };
}

/**
 * NATInsertFailures: the Service's connections dropped by conntrack or NAT in the window (verdict dropped-nat-failure),
 * observed and estimated named apart in the summary, with their reasons and nodes.
 */
function natInsertFailures(evidence: ServiceEvidence): AlertSignal {
  const failures = evidence.natFailures ?? { observed: 0, estimated: 0, byReason: [] };
  const value = failures.observed + failures.estimated;
  const where = failures.byReason.map((g) => `${g.connections} ${g.reason} on ${g.node}${g.observed ? '' : ' (estimated)'}`).join(', ');
  return { value, summary: `${value} connection(s) to ${ref(evidence)} dropped by conntrack or NAT (${failures.observed} observed, ${failures.estimated} estimated)${where ? `: ${where}` : ''}` };
}

/** Each rule's signal for one Service, or `undefined` where the rule does not apply. */
export function alertSignals(evidence: ServiceEvidence, counts: EvidenceCounts, rules: AlertRules): Record<AlertName, AlertSignal | undefined> {
  const applies = (name: AlertName) => rules[name].enabled && evidence.connections >= rules[name].minConnections;
  return {
    UnexpectedSNAT: applies('UnexpectedSNAT') ? unexpectedSnat(evidence) : undefined,
    LoadImbalance: applies('LoadImbalance') ? loadImbalance(evidence) : undefined,
    TrafficToNodeWithoutEndpoints: applies('TrafficToNodeWithoutEndpoints') ? trafficToNodeWithoutEndpoints(evidence, counts) : undefined,
    HealthCheckMismatch: applies('HealthCheckMismatch') ? healthCheckMismatch(evidence, counts) : undefined,
    NATInsertFailures: applies('NATInsertFailures') ? natInsertFailures(evidence) : undefined,
  };
}
