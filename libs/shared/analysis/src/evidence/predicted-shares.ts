import type { EndpointRef, TrafficPolicyName } from './evidence-types';
import type { LbModel } from './lb-distribution';

/** A pod's key in evidence tables: `namespace/pod`. */
export function podKey(endpoint: { namespace: string; pod: string }): string {
  return `${endpoint.namespace}/${endpoint.pod}`;
}

const PER_NODE: Pick<LbModel, 'distribution'> = { distribution: 'per-node' };

/**
 * The share of new connections each endpoint should get, from the Service's policy, its ready endpoints and the
 * load balancer's distribution model (lb-distribution.ts).
 *
 * Cluster policy: kube-proxy on the entry node picks among all endpoints with equal probability (KUBE-SVC-* with
 * `statistic --probability 1/n`), so each pod gets 1/N wherever the traffic enters, whatever the load balancer does.
 * Local policy: each node picks only among its own pods (KUBE-SVL-*), so a pod gets its node's share ÷ the pods on
 * its node, and the node's share is the load balancer's: 1/K over the K nodes with an endpoint (per-node), all on
 * one node (single-node: that node's pods share everything, the others get 0; without a known entry node nothing
 * can be predicted), or the pods' own share, 1/N (per-pod).
 */
export function predictedShares(policy: TrafficPolicyName, endpoints: readonly EndpointRef[], model: Pick<LbModel, 'distribution' | 'entryNode'> = PER_NODE): { pod: string; share: number }[] {
  if (endpoints.length === 0) return [];
  const even = () => endpoints.map((endpoint) => ({ pod: podKey(endpoint), share: 1 / endpoints.length }));
  if (policy === 'Cluster' || model.distribution === 'per-pod') return even();
  const podsPerNode = new Map<string, number>();
  for (const endpoint of endpoints) podsPerNode.set(endpoint.node ?? '', (podsPerNode.get(endpoint.node ?? '') ?? 0) + 1);
  const podsOn = (endpoint: EndpointRef) => podsPerNode.get(endpoint.node ?? '') ?? 1;
  if (model.distribution === 'single-node') {
    if (model.entryNode === undefined) return [];
    return endpoints.map((endpoint) => ({ pod: podKey(endpoint), share: endpoint.node === model.entryNode ? 1 / podsOn(endpoint) : 0 }));
  }
  const nodes = podsPerNode.size;
  return endpoints.map((endpoint) => ({ pod: podKey(endpoint), share: 1 / nodes / podsOn(endpoint) }));
}
