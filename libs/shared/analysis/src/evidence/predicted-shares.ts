import type { EndpointRef, TrafficPolicyName } from './evidence-types';

/** A pod's key in evidence tables: `namespace/pod`. */
export function podKey(endpoint: { namespace: string; pod: string }): string {
  return `${endpoint.namespace}/${endpoint.pod}`;
}

/**
 * The share of new connections each endpoint should get, from the Service's policy alone.
 *
 * Cluster policy: kube-proxy on the entry node picks among all endpoints with equal probability (KUBE-SVC-* with
 * `statistic --probability 1/n`), so each pod gets 1/N wherever the traffic enters.
 * Local policy: the load balancer splits evenly over the nodes that pass its health check (those with a local
 * endpoint), and each node picks only among its own pods (KUBE-SVL-*): a pod gets 1/K ÷ (pods on its node).
 */
export function predictedShares(policy: TrafficPolicyName, endpoints: readonly EndpointRef[]): { pod: string; share: number }[] {
  if (endpoints.length === 0) return [];
  if (policy === 'Cluster') return endpoints.map((endpoint) => ({ pod: podKey(endpoint), share: 1 / endpoints.length }));
  const podsPerNode = new Map<string, number>();
  for (const endpoint of endpoints) podsPerNode.set(endpoint.node ?? '', (podsPerNode.get(endpoint.node ?? '') ?? 0) + 1);
  const nodes = podsPerNode.size;
  return endpoints.map((endpoint) => ({ pod: podKey(endpoint), share: 1 / nodes / (podsPerNode.get(endpoint.node ?? '') ?? 1) }));
}
