import type { Finding, ServiceEvidence, ServiceTopology } from './evidence-types';
import { healthCheckDisagreement } from './health-check-agreement';

type EvidenceNumbers = Omit<ServiceEvidence, 'findings'>;

/** Observed max/mean above which uneven load is worth a finding (the common Prometheus LoadImbalance threshold). */
export const IMBALANCE_MAX_OVER_MEAN = 2;
/** Predicted shares further apart than this ratio mean the topology itself makes the load uneven. */
const PREDICTED_SPREAD_RATIO = 1.5;

const percent = (x: number): string => `${(x * 100).toFixed(x > 0 && x < 0.1 ? 1 : 0)}%`;

/**
 * Plain-language findings for one Service: what NAT did, what it cost, the remedy and the remedy's own cost.
 * Ordered critical → warning → info. Pure: the same numbers always give the same sentences.
 */
export function serviceFindings(evidence: EvidenceNumbers, topology: ServiceTopology): Finding[] {
  const findings: Finding[] = [];
  const ref = `${evidence.service.namespace}/${evidence.service.name}`;
  const verdict = (name: keyof EvidenceNumbers['byVerdict']): number => evidence.byVerdict[name] ?? 0;

  // Observed by the agents (health-check answers), not derived: the load balancer acts on these answers, traffic or
  // not (a Service whose every node fails its health check gets none).
  const disagreeing = evidence.nodes.map(healthCheckDisagreement).filter((why): why is string => why !== undefined);
  if (disagreeing.length > 0) {
    findings.push({
      severity: 'critical',
      code: 'health-check-mismatch',
      message:
        `The health check of ${ref} on healthCheckNodePort${evidence.service.healthCheckNodePort ? ` ${evidence.service.healthCheckNodePort}` : ''}, as probed on the node like a load balancer does, disagrees with its endpoints: ${disagreeing.join('; ')}. ` +
        `Check kube-proxy on ${disagreeing.length === 1 ? 'that node' : 'those nodes'} (is it running, and do its logs show errors syncing this Service?) and anything that blocks or answers that port in its place (a host firewall, another process); the load balancer routes by these answers, not by the endpoints.`,
    });
  }

  if (evidence.connections === 0) {
    findings.push({ severity: 'info', code: 'no-traffic', message: `No connections to ${ref} were recorded in this window; widen the window or check that agents run on the nodes that receive its traffic.` });
    return findings;
  }

  const unexpected = verdict('snat-unexpected');
  if (unexpected > 0) {
    const why = evidence.service.externalTrafficPolicy === 'Local'
      ? 'its externalTrafficPolicy is Local, which should keep the client address'
      : `it is annotated natlens.io/expect-client-ip: "true"`;
    findings.push({
      severity: 'critical',
      code: 'snat-unexpected',
      message: `${unexpected} external connection(s) to ${ref} reached a pod with the client address rewritten although ${why}. Look for a masquerade rule outside kube-proxy (CNI egress/ip-masq-agent, a hairpin through a node address) or a proxying load balancer; if the client IP is really required under Cluster policy, switch to externalTrafficPolicy: Local or carry it with PROXY protocol / X-Forwarded-For.`,
    });
  }

  const dropped = evidence.nodes.filter((node) => node.dropped > 0);
  if (dropped.length > 0) {
    const total = dropped.reduce((sum, node) => sum + node.dropped, 0);
    findings.push({
      severity: 'critical',
      code: 'dropped-no-local-endpoint',
      message: `${total} connection(s) to ${ref} were dropped on ${dropped.map((n) => n.node).join(', ')}, which ${dropped.length === 1 ? 'has' : 'have'} no local endpoint under externalTrafficPolicy: Local. Send traffic only to nodes that pass the health check on healthCheckNodePort${evidence.service.healthCheckNodePort ? ` (${evidence.service.healthCheckNodePort})` : ''} (a LoadBalancer does this; clients hitting a NodePort directly do not), or run a pod on every node that receives traffic (a DaemonSet), or accept the SNAT of externalTrafficPolicy: Cluster.`,
    });
  }

  // A proxied connection's client is carried in its PROXY protocol / X-Forwarded-For header: not lost to the SNAT.
  const lostClientIP = evidence.service.externalTrafficPolicy === 'Cluster' ? evidence.snat.snatted - unexpected - evidence.snat.carried : 0;
  if (lostClientIP > 0) {
    const addresses = [...new Set(evidence.snat.byNode.map((group) => group.snatAddress))];
    const seen = evidence.clients.distinctSeenByPods;
    findings.push({
      severity: 'warning',
      code: 'client-ip-lost',
      message:
        `${lostClientIP} of ${evidence.snat.external} external connection(s) to ${ref} (${percent(evidence.snat.ratio)}) reached pods from a node address (${addresses.join(', ')}) instead of the client's: externalTrafficPolicy: Cluster masquerades traffic so any node can forward it. ` +
        `${evidence.clients.distinctOriginal} distinct client(s) appear to the pods as ${seen} address(es). ` +
        `Remedies: set externalTrafficPolicy: Local to keep client IPs (cost: nodes without a local pod drop traffic unless the load balancer health-checks healthCheckNodePort, and load is split per node, not per pod — ${describePredicted(topology)}); ` +
        `or keep Cluster and carry the client address from the load balancer with PROXY protocol or X-Forwarded-For (cost: the application or ingress must parse it, and only L7/proxying load balancers provide it).`,
    });
  }

  const spread = predictedSpread(evidence);
  const observedUneven = evidence.imbalance.maxOverMean > IMBALANCE_MAX_OVER_MEAN;
  if (evidence.service.externalTrafficPolicy === 'Local' && (spread > PREDICTED_SPREAD_RATIO || observedUneven)) {
    const crowded = evidence.nodes.filter((node) => node.localEndpoints > 0).map((node) => `${node.node}: ${node.localEndpoints} pod(s)`).join(', ');
    findings.push({
      severity: 'warning',
      code: 'local-policy-imbalance',
      message:
        `Load on ${ref} is uneven because externalTrafficPolicy: Local splits traffic per node, then per pod on that node (${crowded}). ` +
        `Predicted shares: ${describePredicted(topology)}; observed max/mean ${evidence.imbalance.maxOverMean.toFixed(2)} (max share ${percent(evidence.imbalance.maxShare)}, min ${percent(evidence.imbalance.minShare)}). ` +
        `Fix: spread the pods evenly over nodes with topologySpreadConstraints (maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule) or podAntiAffinity, or run one pod per node as a DaemonSet (cost: scheduling can block when nodes are short, and a DaemonSet scales with nodes rather than load); ` +
        `or switch to externalTrafficPolicy: Cluster for an even per-pod split at the price of the client IP.`,
    });
  }

  const bypassed = evidence.nodes.filter((node) => node.localEndpoints === 0 && node.received > 0 && node.forwarded > 0);
  if (evidence.service.externalTrafficPolicy === 'Cluster' && bypassed.length > 0) {
    findings.push({
      severity: 'info',
      code: 'traffic-to-node-without-endpoints',
      message: `${bypassed.map((n) => `${n.node} (${n.forwarded})`).join(', ')} received connections to ${ref} without running any of its pods and forwarded them to other nodes: an extra hop and an SNAT to the entry node's address for each. A load balancer that health-checks only nodes with endpoints (externalTrafficPolicy: Local) avoids both.`,
    });
  }

  const hairpin = verdict('hairpin-snat');
  if (hairpin > 0) {
    findings.push({ severity: 'info', code: 'hairpin-snat', message: `${hairpin} connection(s) were a pod reaching itself through ${ref}; kube-proxy masquerades these (hairpin) so the reply returns through the bridge. The pod sees its node's bridge address; this is expected.` });
  }

  const proxied = verdict('proxied');
  if (proxied > 0) {
    const share = proxied === evidence.connections ? 'every' : `${proxied} of ${evidence.connections}`;
    findings.push({
      severity: 'info',
      code: 'proxied-clients',
      message:
        `For ${share} connection(s) to ${ref} the client IP reaches the pods via PROXY protocol or X-Forwarded-For/Forwarded, not as the packets' source: a proxying load balancer opened them and named the real client in a header (${evidence.clients.distinctOriginal} distinct client(s) as sent, counting those). ` +
        `The pods' sockets show the proxy's address (${evidence.clients.distinctSeenByPods} address(es) seen), so the application or ingress must read that header to log or authorize by client IP (nginx: real_ip_header proxy_protocol or X-Forwarded-For with set_real_ip_from the proxy's address).`,
    });
  }

  const order = { critical: 0, warning: 1, info: 2 } as const;
  return findings.sort((a, b) => order[a.severity] - order[b.severity]);
}

function predictedSpread(evidence: EvidenceNumbers): number {
  const shares = evidence.imbalance.predicted.map((p) => p.share).filter((share) => share > 0);
  if (shares.length === 0) return 1;
  return Math.max(...shares) / Math.min(...shares);
}

function describePredicted(topology: ServiceTopology): string {
  if (topology.endpoints.length === 0) return 'no endpoints known';
  const local = topology.externalTrafficPolicy === 'Local' ? topology : { ...topology, externalTrafficPolicy: 'Local' as const };
  const podsPerNode = new Map<string, number>();
  for (const endpoint of local.endpoints) podsPerNode.set(endpoint.node ?? '?', (podsPerNode.get(endpoint.node ?? '?') ?? 0) + 1);
  const nodes = podsPerNode.size;
  return [...podsPerNode.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([node, pods]) => `${pods} pod(s) on ${node} get ${percent(1 / nodes / pods)} each`)
    .join(', ');
}
