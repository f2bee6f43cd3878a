import type { LoadBalancerBasis } from '@natlens/shared-model';
import type { ClientKind } from './types';

/*
 * Who delivered a connection that arrived on a node port: a client hitting the NodePort directly, or the Service's
 * load balancer delivering to nodeIP:nodePort (cloud network load balancers in instance mode, proxying load
 * balancers such as ELB classic, Octavia, the lab's proxy modes). The packets look alike, so natlens goes by what
 * tells them apart, in this order:
 *
 * 1. Only a LoadBalancer Service has a load balancer: on a NodePort Service every node-port hit is direct.
 * 2. A node or a pod of the cluster is no load balancer: their node-port connections are direct.
 * 3. A PROXY protocol / X-Forwarded-For header naming another client: a proxy opened the connection (`proxy-header`).
 * 4. A source that health-checks the nodes (healthCheckNodePort, kube-proxy's :10256) is the load balancer, which
 *    probes the nodes it delivers to from the addresses it delivers from (`health-check-prober`; the agent remembers
 *    the sources of those probes).
 * 5. A load balancer that publishes only a hostname in status.loadBalancer.ingress (AWS ELB/NLB) has no address
 *    kube-proxy could match, so it delivers to node ports: an external node-port hit is taken as its
 *    (`hostname-only-ingress`). A client reaching the node port directly from outside cannot be told apart here.
 * 6. Otherwise direct. With an ingress IP, a packet-forwarding load balancer keeps that IP as the destination (entry
 *    `loadBalancer` by address, kube-proxy's KUBE-FW chain); a load balancer that delivers to node ports with the
 *    client's own address, probes from other addresses and publishes an IP looks like a direct hit.
 */

export interface NodePortHit {
  readonly serviceType: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
  readonly loadBalancerIngress?: 'address' | 'hostname-only';
  readonly clientKind: ClientKind;
  /** A PROXY protocol / X-Forwarded-For header named the client. */
  readonly proxyHeader: boolean;
  /** The source was seen health-checking the nodes. */
  readonly prober: boolean;
}

export type NodePortEntry = { readonly entry: 'nodePort' } | { readonly entry: 'loadBalancer'; readonly via: 'nodePort'; readonly viaBasis: LoadBalancerBasis };

const DIRECT: NodePortEntry = { entry: 'nodePort' };
const viaNodePort = (viaBasis: LoadBalancerBasis): NodePortEntry => ({ entry: 'loadBalancer', via: 'nodePort', viaBasis });

export function nodePortEntry(hit: NodePortHit): NodePortEntry {
  if (hit.serviceType !== 'LoadBalancer' || hit.clientKind !== 'external') return DIRECT;
  if (hit.proxyHeader) return viaNodePort('proxy-header');
  if (hit.prober) return viaNodePort('health-check-prober');
  if (hit.loadBalancerIngress === 'hostname-only') return viaNodePort('hostname-only-ingress');
  return DIRECT;
}
