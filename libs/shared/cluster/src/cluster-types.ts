import type { KubeService, Protocol, ServiceEntry } from '@natlens/shared-model';

/*
 * What the index answers. Shapes follow the enrichment fields of a flow record (DESIGN.md "The core record") so the
 * agent can copy them across; names follow the Kubernetes API where a field comes straight from it.
 */

/** The transport protocol as a Service port spells it (core/v1 Protocol). */
export type ServiceProtocol = 'TCP' | 'UDP' | 'SCTP';

/** Lookups accept either spelling: a Service's `TCP` or a flow tuple's `tcp`. Anything else matches no port. */
export type LookupProtocol = ServiceProtocol | Protocol;

export type ServiceType = KubeService['spec']['type'];
export type TrafficPolicy = 'Cluster' | 'Local';

export interface ServiceRef {
  readonly namespace: string;
  readonly name: string;
}

export interface PodRef {
  readonly namespace: string;
  readonly name: string;
  /** `spec.nodeName`: absent while the pod is unscheduled. */
  readonly node?: string;
}

/** One entry of a Service's `spec.ports`. */
export interface ServicePortInfo {
  readonly port: number;
  readonly protocol: ServiceProtocol;
  readonly name?: string;
  readonly targetPort?: number | string;
  readonly nodePort?: number;
}

/** A Service as the evidence needs it, without its ports. */
export interface ServiceInfo extends ServiceRef {
  readonly type: ServiceType;
  /** `spec.externalTrafficPolicy`; the API server defaults it to Cluster, and so do we when it is absent. */
  readonly externalTrafficPolicy: TrafficPolicy;
  readonly healthCheckNodePort?: number;
  /** The Service carries `natlens.io/expect-client-ip: "true"`: SNAT of external clients is a finding. */
  readonly expectClientIP: boolean;
  /** The Service's `natlens.io/lb-distribution` annotation as written (shared-analysis parses it). */
  readonly lbDistribution?: string;
  /**
   * LoadBalancer Services: what `status.loadBalancer.ingress` publishes. `address`: at least one IP, which kube-proxy
   * matches packets against; `hostname-only`: names only (e.g. AWS ELB/NLB), so the load balancer's addresses are
   * unknown here and it delivers to node ports. Absent while no ingress is published.
   */
  readonly loadBalancerIngress?: 'address' | 'hostname-only';
}

/** The Service port a destination address:port reaches, and through which door. */
export interface ServiceFrontend extends ServiceInfo {
  readonly port: ServicePortInfo;
  readonly entry: ServiceEntry;
}

/** A backend address:port of a Service, from its EndpointSlices. */
export interface ServiceEndpoint {
  readonly service: ServiceRef;
  /** The Service port this endpoint port serves (matched by port name); absent when the Service is not known. */
  readonly servicePort?: ServicePortInfo;
  readonly ip: string;
  readonly port: number;
  readonly protocol: ServiceProtocol;
  /** The endpoint's `targetRef` when it is a Pod. */
  readonly pod?: ServiceRef;
  /** `nodeName` of the endpoint, or else the node of its pod. */
  readonly node?: string;
  /** `conditions.ready`; the API defines an absent value as true. */
  readonly ready: boolean;
}

/** Who a client address is, as far as the cluster knows. */
export type ClientIdentity =
  | { readonly kind: 'node'; readonly node: string }
  /** `pod` is absent for an address inside a node's pod CIDR that no known pod holds (e.g. a pod not yet listed). */
  | { readonly kind: 'pod'; readonly pod?: PodRef; readonly node?: string }
  | { readonly kind: 'external' };

export const EXPECT_CLIENT_IP_ANNOTATION = 'natlens.io/expect-client-ip';

/** `"namespace/name"`: the key of a namespaced object. */
export function objectKey(ref: ServiceRef): string {
  return `${ref.namespace}/${ref.name}`;
}
