import { z } from 'zod';
import { dns1035LabelSchema, dns1123LabelSchema, dns1123SubdomainSchema, qualifiedNameSchema } from './kubernetes-names';

/*
 * The records that cross process boundaries (agent → hub, hub → dashboard), as DESIGN.md "The core record" defines
 * them. A conntrack entry's ORIGINAL tuple is the connection as the client sent it; `translated` is its REPLY tuple
 * inverted: the connection as the backend receives it.
 *
 * Versioning, so agents and hubs of different releases work together (issue 18: a hub refusing an agent one version
 * ahead of it lost every batch, since a refused batch is deleted for good):
 * - additions are optional fields; a reader drops keys it does not know (the objects here are not strict) and the
 *   hub counts what it dropped (natlens_hub_unknown_fields_total{object}), so nothing the old fields say is lost;
 * - a field never changes meaning or type: a changed meaning is a new field;
 * - every value is bounded: names follow Kubernetes' rules and lengths (kubernetes-names.ts), other strings have a
 *   cap, and the hub holds timestamps to a window around its clock (libs/hub/server batch-validation.ts).
 */

export const protocolSchema = z.enum(['tcp', 'udp', 'sctp', 'icmp', 'icmpv6', 'other']);
export type Protocol = z.infer<typeof protocolSchema>;

const port = z.number().int().min(0).max(65535);

export const tupleSchema = z.object({
  src: z.union([z.ipv4(), z.ipv6()]),
  sport: port,
  dst: z.union([z.ipv4(), z.ipv6()]),
  dport: port,
  proto: protocolSchema,
});
export type Tuple = z.infer<typeof tupleSchema>;

export const verdictSchema = z.enum([
  'preserved',
  'snat-expected',
  'snat-unexpected',
  'hairpin-snat',
  'not-service',
  'dropped-no-local-endpoint',
  'proxied',
  /** The kernel dropped the connection's first packet: conntrack could not insert it or NAT found no free tuple. */
  'dropped-nat-failure',
]);
export type Verdict = z.infer<typeof verdictSchema>;

export const serviceEntrySchema = z.enum(['clusterIP', 'nodePort', 'loadBalancer', 'externalIP']);
export type ServiceEntry = z.infer<typeof serviceEntrySchema>;

/**
 * Why a connection that arrived on a node port is the load balancer's (entry `loadBalancer`, via `nodePort`) rather
 * than a client's direct NodePort hit (libs/shared/analysis entry.ts):
 * - `proxy-header`: it carried a PROXY protocol / X-Forwarded-For header naming another client: a proxy opened it;
 * - `health-check-prober`: its source health-checks the nodes (healthCheckNodePort, kube-proxy's :10256), as a load
 *   balancer does;
 * - `hostname-only-ingress`: the Service's load balancer publishes a hostname and no address, so it can only deliver
 *   to node ports (cloud load balancers in instance mode); a direct hit from outside looks the same.
 */
export const loadBalancerBasisSchema = z.enum(['proxy-header', 'health-check-prober', 'hostname-only-ingress']);
export type LoadBalancerBasis = z.infer<typeof loadBalancerBasisSchema>;

/**
 * Why a connection failed in conntrack or NAT (issue 20), as the agent saw it:
 * - `insert-failed`: conntrack could not confirm the new entry (a clash, e.g. two UDP queries from one socket at once);
 * - `table-full`: conntrack's table was full and no entry could be dropped early;
 * - `nat-port-exhausted`: SNAT/masquerade found no free source port in its range for this destination;
 * - `netfilter-drop`: a netfilter hook dropped the first packet of a NEW entry for another reason.
 */
export const natFailureReasonSchema = z.enum(['insert-failed', 'table-full', 'nat-port-exhausted', 'netfilter-drop']);
export type NatFailureReason = z.infer<typeof natFailureReasonSchema>;

export const natFailureSchema = z.object({
  reason: natFailureReasonSchema,
  /** The kernel's own name for it when it gave one (kfree_skb drop reason, e.g. NETFILTER_DROP). */
  kernelReason: z.string().max(64).optional(),
  /**
   * true: this connection's drop was seen (eBPF, with its tuple); false: estimated by correlating the node's
   * insert_failed/drop counters with connection attempts that failed in the same interval (conntrack source).
   */
  observed: z.boolean(),
});
export type NatFailure = z.infer<typeof natFailureSchema>;

export const flowServiceSchema = z.object({
  namespace: dns1123LabelSchema,
  name: dns1035LabelSchema,
  port: port,
  portName: dns1123LabelSchema.optional(),
  type: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName']),
  externalTrafficPolicy: z.enum(['Cluster', 'Local']),
  entry: serviceEntrySchema,
  expectClientIP: z.boolean().optional(),
  /** Set when a `loadBalancer` entry reached the node on its node port (the LB delivered to nodeIP:nodePort). */
  via: z.literal('nodePort').optional(),
  /** With `via`: how the connection was told from a direct NodePort hit. */
  viaBasis: loadBalancerBasisSchema.optional(),
});
export type FlowService = z.infer<typeof flowServiceSchema>;

export const flowEndpointSchema = z.object({
  namespace: dns1123LabelSchema,
  pod: dns1123SubdomainSchema,
  node: dns1123SubdomainSchema.optional(),
  ip: z.union([z.ipv4(), z.ipv6()]),
  port: port,
});
export type FlowEndpoint = z.infer<typeof flowEndpointSchema>;

export const clientKindSchema = z.enum(['external', 'pod', 'node']);
export const flowClientSchema = z.object({
  ip: z.union([z.ipv4(), z.ipv6()]),
  kind: clientKindSchema,
  /** The pod (`namespace/name`) or node the address belongs to, when it is one of the cluster's. */
  name: qualifiedNameSchema.optional(),
});
export type FlowClient = z.infer<typeof flowClientSchema>;

const counter = z.object({ packets: z.number().int().nonnegative(), bytes: z.number().int().nonnegative() });

export const flowSourceSchema = z.enum(['conntrack', 'ebpf', 'pcap']);
export type FlowSource = z.infer<typeof flowSourceSchema>;

/**
 * `entry`: the leg that carries the translation the client experienced (counted in evidence).
 * `forwarded`: the second, un-NATed leg on the endpoint's node of a connection that entered another node; its
 * original tuple is the entry leg's translated tuple. Evidence skips it so each connection counts once.
 */
export const flowLegSchema = z.enum(['entry', 'forwarded']);
export type FlowLeg = z.infer<typeof flowLegSchema>;

export const flowRecordSchema = z.object({
  node: dns1123SubdomainSchema,
  source: flowSourceSchema,
  /** Stable across updates of one connection on one node; (node, flowId) is the record's identity. */
  flowId: z.string().min(1).max(128),
  firstSeen: z.number().int().nonnegative(),
  lastSeen: z.number().int().nonnegative(),
  original: tupleSchema,
  translated: tupleSchema,
  snat: z.boolean(),
  dnat: z.boolean(),
  portRemap: z.boolean(),
  counters: z.object({ original: counter.optional(), reply: counter.optional() }).optional(),
  state: z.string().max(32).optional(),
  ended: z.boolean().optional(),
  leg: flowLegSchema,
  service: flowServiceSchema.optional(),
  endpoint: flowEndpointSchema.optional(),
  client: flowClientSchema,
  verdict: verdictSchema,
  realClient: z.object({ ip: z.union([z.ipv4(), z.ipv6()]), port: port.optional() }).optional(),
  /** The node where the entry leg of a forwarded connection was NATed, when known. */
  entryNode: dns1123SubdomainSchema.optional(),
  /**
   * The conntrack zone the connection was tracked in (CTA_ZONE, nf_conn's zone id; 0, the default zone, when the
   * kernel names none). Part of the connection's identity: two entries with the same tuple in different zones are
   * two connections, with two flowIds.
   */
  zone: z.number().int().min(0).max(65535).default(0),
  /** Set with verdict `dropped-nat-failure`. */
  natFailure: natFailureSchema.optional(),
});
export type FlowRecord = z.infer<typeof flowRecordSchema>;

export const flowBatchSchema = z.object({
  node: dns1123SubdomainSchema,
  sentAt: z.number().int().nonnegative(),
  records: z.array(flowRecordSchema).max(10_000),
});
export type FlowBatch = z.infer<typeof flowBatchSchema>;
