import type { NodeEvidence } from './evidence-types';

/*
 * Does a node's observed health-check answer agree with its endpoints? kube-proxy answers 200 on healthCheckNodePort
 * when the node runs a ready endpoint of the Service and 503 when it runs none, and a load balancer sends traffic
 * only to nodes answering 200. So a node with local endpoints that answers anything else (or nothing) loses its share
 * of the traffic, and a node answering 200 without any receives traffic it will drop. Pure.
 */

/** Why the node's observed answer disagrees with its endpoints, in words; undefined when it agrees or is unknown. */
export function healthCheckDisagreement(node: NodeEvidence): string | undefined {
  const observed = node.healthCheck?.observed;
  if (!observed || observed.stale) return undefined;
  const answered = observed.httpStatus === null ? `does not answer${observed.error ? ` (${observed.error})` : ''}` : `answers HTTP ${observed.httpStatus}${observed.localEndpoints !== null ? ` with localEndpoints ${observed.localEndpoints}` : ''}`;
  if (node.localEndpoints > 0 && observed.httpStatus !== 200) return `${node.node} runs ${node.localEndpoints} ready endpoint(s) but its health check ${answered}: the load balancer takes it out and its pods get no traffic from it`;
  if (node.localEndpoints === 0 && observed.httpStatus === 200) return `${node.node} runs no ready endpoint but its health check ${answered}: the load balancer sends it traffic that kube-proxy drops there`;
  return undefined;
}
