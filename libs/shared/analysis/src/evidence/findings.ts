import type { Finding, ServiceEvidence, ServiceTopology } from './evidence-types';
import { describePredicted, localPolicyImbalance, percent } from './imbalance-finding';
import { healthCheckDisagreement } from './health-check-agreement';
import { natFailureFinding } from '../nodes/nat-failures';

export { IMBALANCE_MAX_OVER_MEAN } from './imbalance-finding';

type EvidenceNumbers = Omit<ServiceEvidence, 'findings'>;

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

  const natFailures = evidence.natFailures ? natFailureFinding(ref, evidence.natFailures) : undefined;
  if (natFailures) findings.push(natFailures);

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
        `Remedies: set externalTrafficPolicy: Local to keep client IPs (cost: nodes without a local pod drop traffic unless the load balancer health-checks healthCheckNodePort, and load is split per node, not per pod — ${describePredicted(topology, evidence.imbalance.model)}); ` +
        `or keep Cluster and carry the client address from the load balancer with PROXY protocol or X-Forwarded-For (cost: the application or ingress must parse it, and only L7/proxying load balancers provide it).`,
    });
  }

  const imbalance = localPolicyImbalance(evidence, topology);
  if (imbalance) findings.push(imbalance);

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
