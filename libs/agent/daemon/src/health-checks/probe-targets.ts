import type { ClusterIndex, ServiceRef } from '@natlens/shared-cluster';
import { isIPv4, isIPv6 } from 'node:net';
import { type InterfaceAddressInfo, isLinkLocal } from '../node/interface-addresses';

/** A healthCheckNodePort to probe: kube-proxy opens one per Local-policy LoadBalancer Service, on every node. */
export interface HealthCheckTarget {
  readonly service: ServiceRef;
  readonly port: number;
}

/** The Services whose health check a load balancer probes on this node, in namespace/name order. Pure. */
export function healthCheckTargets(index: ClusterIndex): HealthCheckTarget[] {
  const targets: HealthCheckTarget[] = [];
  for (const service of index.services()) {
    if (service.type !== 'LoadBalancer' || service.externalTrafficPolicy !== 'Local' || service.healthCheckNodePort === undefined || service.healthCheckNodePort <= 0) continue;
    targets.push({ service: { namespace: service.namespace, name: service.name }, port: service.healthCheckNodePort });
  }
  return targets;
}

const isAddress = (text: string) => isIPv4(text) || isIPv6(text);

/**
 * The address to probe, as a load balancer reaches this node: the first InternalIP its Node object lists that is on
 * one of its interfaces (a load balancer targets the InternalIP), else any address the Node object lists that is
 * local, else the first IPv4 then IPv6 interface address that is neither loopback nor link-local. Undefined when the
 * node has none. Pure.
 */
export function probeAddress(nodeObjectAddresses: readonly { type: string; address: string }[], interfaces: readonly InterfaceAddressInfo[]): string | undefined {
  const local = new Set(interfaces.map((a) => a.address));
  const listed = nodeObjectAddresses.filter((a) => isAddress(a.address));
  const internal = listed.filter((a) => a.type === 'InternalIP');
  const candidates = [...internal, ...listed.filter((a) => a.type !== 'InternalIP')];
  const onNode = candidates.find((a) => local.has(a.address));
  if (onNode) return onNode.address;
  const own = interfaces.filter((a) => !a.internal && !isLinkLocal(a.address));
  return own.find((a) => isIPv4(a.address))?.address ?? own.find((a) => isIPv6(a.address))?.address ?? internal[0]?.address;
}
