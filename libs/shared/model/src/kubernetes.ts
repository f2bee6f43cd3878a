import { z } from 'zod';

/*
 * The subset of Kubernetes API objects natlens reads: what `kubectl get nodes,pods,services,endpointslices -o json`
 * prints and what the lab writes as its inventory. Field names and nesting follow the core/v1 and
 * discovery.k8s.io/v1 API exactly so real cluster output parses; unknown fields are kept out of the types but
 * tolerated in the input (the API server adds many we do not need).
 */

const objectMeta = z.object({
  name: z.string().min(1),
  namespace: z.string().min(1).optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

export const nodeAddressSchema = z.object({
  type: z.enum(['InternalIP', 'ExternalIP', 'Hostname', 'InternalDNS', 'ExternalDNS']),
  address: z.string().min(1),
});

export const kubeNodeSchema = z.object({
  apiVersion: z.literal('v1').optional(),
  kind: z.literal('Node'),
  metadata: objectMeta,
  spec: z.object({ podCIDR: z.string().optional(), podCIDRs: z.array(z.string()).optional() }).default({}),
  status: z.object({ addresses: z.array(nodeAddressSchema).default([]) }).default({ addresses: [] }),
});

export const kubePodSchema = z.object({
  apiVersion: z.literal('v1').optional(),
  kind: z.literal('Pod'),
  metadata: objectMeta,
  spec: z.object({ nodeName: z.string().optional(), hostNetwork: z.boolean().optional() }).default({}),
  status: z
    .object({
      podIP: z.string().optional(),
      podIPs: z.array(z.object({ ip: z.string() })).optional(),
      hostIP: z.string().optional(),
      phase: z.string().optional(),
    })
    .default({}),
});

export const servicePortSchema = z.object({
  name: z.string().optional(),
  protocol: z.enum(['TCP', 'UDP', 'SCTP']).default('TCP'),
  port: z.number().int().min(1).max(65535),
  targetPort: z.union([z.number().int().min(1).max(65535), z.string()]).optional(),
  nodePort: z.number().int().min(1).max(65535).optional(),
});

export const kubeServiceSchema = z.object({
  apiVersion: z.literal('v1').optional(),
  kind: z.literal('Service'),
  metadata: objectMeta,
  spec: z.object({
    type: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName']).default('ClusterIP'),
    selector: z.record(z.string(), z.string()).optional(),
    clusterIP: z.string().optional(),
    clusterIPs: z.array(z.string()).optional(),
    externalIPs: z.array(z.string()).optional(),
    ports: z.array(servicePortSchema).default([]),
    externalTrafficPolicy: z.enum(['Cluster', 'Local']).optional(),
    internalTrafficPolicy: z.enum(['Cluster', 'Local']).optional(),
    healthCheckNodePort: z.number().int().optional(),
  }),
  status: z
    .object({
      loadBalancer: z
        .object({ ingress: z.array(z.object({ ip: z.string().optional(), hostname: z.string().optional() })).optional() })
        .optional(),
    })
    .default({}),
});

export const endpointSchema = z.object({
  addresses: z.array(z.string()).min(1),
  conditions: z
    .object({ ready: z.boolean().optional(), serving: z.boolean().optional(), terminating: z.boolean().optional() })
    .default({}),
  nodeName: z.string().optional(),
  targetRef: z.object({ kind: z.string(), name: z.string(), namespace: z.string().optional() }).optional(),
});

export const kubeEndpointSliceSchema = z.object({
  apiVersion: z.literal('discovery.k8s.io/v1').optional(),
  kind: z.literal('EndpointSlice'),
  metadata: objectMeta,
  addressType: z.enum(['IPv4', 'IPv6', 'FQDN']),
  endpoints: z.array(endpointSchema).nullable().default([]),
  ports: z
    .array(z.object({ name: z.string().optional(), protocol: z.enum(['TCP', 'UDP', 'SCTP']).default('TCP'), port: z.number().int() }))
    .nullable()
    .default([]),
});

export const kubeObjectSchema = z.discriminatedUnion('kind', [
  kubeNodeSchema,
  kubePodSchema,
  kubeServiceSchema,
  kubeEndpointSliceSchema,
]);

export const kubeListSchema = z.object({
  apiVersion: z.literal('v1'),
  kind: z.literal('List'),
  items: z.array(kubeObjectSchema),
});

export type KubeNode = z.infer<typeof kubeNodeSchema>;
export type KubePod = z.infer<typeof kubePodSchema>;
export type KubeService = z.infer<typeof kubeServiceSchema>;
export type KubeServicePort = z.infer<typeof servicePortSchema>;
export type KubeEndpointSlice = z.infer<typeof kubeEndpointSliceSchema>;
export type KubeEndpoint = z.infer<typeof endpointSchema>;
export type KubeObject = z.infer<typeof kubeObjectSchema>;
export type KubeList = z.infer<typeof kubeListSchema>;

/** The label every EndpointSlice carries to name the Service it belongs to (discovery.k8s.io/v1). */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/**
 * How the load balancer in front of a LoadBalancer Service spreads connections over nodes: `per-node`,
 * `single-node` (MetalLB L2) or `per-pod` (IP-mode load balancers). natlens infers it when it is absent.
 */
export const LB_DISTRIBUTION_ANNOTATION = 'natlens.io/lb-distribution';
