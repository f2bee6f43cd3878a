import { z } from 'zod';

/*
 * The lab topology file (DESIGN.md, "The lab"). Objects are strict: a misspelt key is an error rather than a
 * silently ignored setting, because a lab that quietly differs from what its author wrote would make every
 * test built on it lie.
 */

const dnsLabel = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a lowercase DNS label (a-z, 0-9, "-")')
  .max(40);

const port = z.number().int().min(1).max(65535);

export const labNodeSchema = z.strictObject({
  name: dnsLabel,
  /**
   * Track every connection of this node in this conntrack zone, as CNIs that give kube-proxy's entries a zone of their
   * own do (cni/conntrack-zone.ts). Absent: the default zone 0.
   */
  conntrackZone: z.number().int().min(1).max(65535).optional(),
});

export const labPodSchema = z.strictObject({
  name: dnsLabel,
  namespace: dnsLabel.default('default'),
  node: dnsLabel,
  labels: z.record(z.string(), z.string()).default({}),
});

export const labServicePortSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9-]*$/).optional(),
  // As in Kubernetes. Echo pods answer TCP with HTTP and UDP with one datagram per datagram (daemons/echo-server.ts).
  protocol: z.enum(['TCP', 'UDP'], { message: 'TCP or UDP (the lab has no SCTP echo server)' }).default('TCP'),
  port,
  targetPort: port,
  nodePort: z.number().int().min(30000).max(32767).optional(),
});

export const loadBalancerModeSchema = z.enum(['forward', 'proxy', 'proxy-xff', 'proxy-protocol']);

/**
 * How the `forward` load balancer spreads connections over the healthy nodes: per-node (an ECMP route over all of
 * them, as BGP or a cloud network LB) or single-node (all to one, as MetalLB in L2 mode: the node that answers ARP
 * for the address, until it fails its health check).
 */
export const loadBalancerDistributionSchema = z.enum(['per-node', 'single-node']);

export const labServiceSchema = z.strictObject({
  name: dnsLabel,
  namespace: dnsLabel.default('default'),
  type: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer']).default('ClusterIP'),
  selector: z.record(z.string(), z.string()),
  ports: z.array(labServicePortSchema).min(1),
  externalTrafficPolicy: z.enum(['Cluster', 'Local']).default('Cluster'),
  healthCheckNodePort: z.number().int().min(30000).max(32767).optional(),
  externalIPs: z.array(z.ipv4()).optional(),
  loadBalancer: z.strictObject({ mode: loadBalancerModeSchema.default('forward'), distribution: loadBalancerDistributionSchema.default('per-node') }).optional(),
  annotations: z.record(z.string(), z.string()).default({}),
});

export const labClientSchema = z.strictObject({
  name: dnsLabel,
  address: z.ipv4().refine((a) => a.startsWith('198.51.100.') && !a.endsWith('.1') && !a.endsWith('.0') && !a.endsWith('.255'), {
    message: 'clients live in 198.51.100.0/24 (not .0, .1 or .255: .1 is the edge router)',
  }),
});

export const proxyModeSchema = z.enum(['iptables', 'nftables']);

/**
 * `MIN-MAX`: the source ports the nodes' masquerade rule may pick (`MASQUERADE --to-ports`, nftables `masquerade to
 * :MIN-MAX`). A lab knob, not a kube-proxy flag: it makes a node with few free SNAT ports, so that port exhaustion
 * can be reproduced without touching the host's own conntrack or port-range settings.
 */
export const masqueradePortRangeSchema = z
  .string()
  .regex(/^\d{1,5}-\d{1,5}$/, 'write the range as MIN-MAX, e.g. "40000-40063"')
  .refine(
    (text) => {
      const [min, max] = text.split('-').map(Number) as [number, number];
      return min >= 1 && max <= 65535 && min <= max;
    },
    { message: 'MIN and MAX are ports (1-65535) and MIN <= MAX' },
  );

/** How each node's kube-proxy runs; a strict object so that a misspelt knob is an error. */
export const kubeProxySchema = z.strictObject({
  mode: proxyModeSchema.default('iptables'),
  masqueradePortRange: masqueradePortRangeSchema.optional(),
});

/** A validated `masqueradePortRange` as numbers. */
export function parseMasqueradePortRange(text: string): { min: number; max: number } {
  const [min, max] = text.split('-').map(Number) as [number, number];
  return { min, max };
}

export const topologySchema = z.strictObject({
  name: dnsLabel.max(24, 'keep lab names to 24 characters: namespaces are named <lab>-<role>-<name>'),
  nodes: z.array(labNodeSchema).min(1).max(200),
  pods: z.array(labPodSchema).default([]),
  services: z.array(labServiceSchema).default([]),
  clients: z.array(labClientSchema).default([]),
  kubeProxy: kubeProxySchema.default({ mode: 'iptables' }),
});

export type Topology = z.infer<typeof topologySchema>;
export type LabNode = z.infer<typeof labNodeSchema>;
export type LabPod = z.infer<typeof labPodSchema>;
export type LabService = z.infer<typeof labServiceSchema>;
export type LabServicePort = z.infer<typeof labServicePortSchema>;
export type LabClient = z.infer<typeof labClientSchema>;
export type LoadBalancerMode = z.infer<typeof loadBalancerModeSchema>;
/** kube-proxy's --proxy-mode in the lab. */
export type ProxyMode = z.infer<typeof proxyModeSchema>;
export type KubeProxySettings = z.infer<typeof kubeProxySchema>;
export type LoadBalancerDistribution = z.infer<typeof loadBalancerDistributionSchema>;
