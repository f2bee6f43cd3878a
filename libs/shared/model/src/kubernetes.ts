import { z } from 'zod';

/*
 * The subset of Kubernetes API objects natlens reads: what `kubectl get
 * nodes,pods,services,endpointslices,replicasets,deployments,statefulsets,daemonsets -A -o json` prints and what the
 * lab writes as its inventory. Field names and nesting follow the core/v1 and
 * discovery.k8s.io/v1 API exactly so real cluster output parses; unknown fields are kept out of the types but
 * tolerated in the input (the API server adds many we do not need).
 */

/** metadata.ownerReferences[]: who created the object (a ReplicaSet for a Deployment's pods, …). */
export const ownerReferenceSchema = z.object({
  apiVersion: z.string().optional(),
  kind: z.string().min(1),
  name: z.string().min(1),
  uid: z.string().optional(),
  controller: z.boolean().optional(),
});

const objectMeta = z.object({
  name: z.string().min(1),
  namespace: z.string().min(1).optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  ownerReferences: z.array(ownerReferenceSchema).optional(),
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
    // What kube-proxy also programs: client-IP affinity and the load balancer's allowed source ranges.
    sessionAffinity: z.enum(['None', 'ClientIP']).optional(),
    sessionAffinityConfig: z.object({ clientIP: z.object({ timeoutSeconds: z.number().int().optional() }).optional() }).optional(),
    loadBalancerSourceRanges: z.array(z.string()).optional(),
  }),
  status: z
    .object({
      loadBalancer: z
        .object({
          ingress: z.array(z.object({ ip: z.string().optional(), hostname: z.string().optional(), ipMode: z.enum(['VIP', 'Proxy']).optional() })).optional(),
        })
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

/** A label selector (meta/v1 LabelSelector), as workloads carry it in spec.selector. */
export const labelSelectorSchema = z.object({
  matchLabels: z.record(z.string(), z.string()).optional(),
  matchExpressions: z
    .array(z.object({ key: z.string().min(1), operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']), values: z.array(z.string()).optional() }))
    .optional(),
});

/*
 * The apps/v1 workloads that own pods: what a remedy edits (topology spread, a DaemonSet instead). Only the owner
 * chain and the selector are read; the pod template and status are left to the API.
 */
const workloadSpec = z.object({ selector: labelSelectorSchema.optional(), replicas: z.number().int().nonnegative().optional() }).default({});
const workload = <K extends string>(kind: K) => z.object({ apiVersion: z.literal('apps/v1').optional(), kind: z.literal(kind), metadata: objectMeta, spec: workloadSpec });
export const kubeReplicaSetSchema = workload('ReplicaSet');
export const kubeDeploymentSchema = workload('Deployment');
export const kubeStatefulSetSchema = workload('StatefulSet');
export const kubeDaemonSetSchema = workload('DaemonSet');

export const kubeObjectSchema = z.discriminatedUnion('kind', [
  kubeNodeSchema,
  kubePodSchema,
  kubeServiceSchema,
  kubeEndpointSliceSchema,
  kubeReplicaSetSchema,
  kubeDeploymentSchema,
  kubeStatefulSetSchema,
  kubeDaemonSetSchema,
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
export type KubeOwnerReference = z.infer<typeof ownerReferenceSchema>;
export type KubeLabelSelector = z.infer<typeof labelSelectorSchema>;
export type KubeReplicaSet = z.infer<typeof kubeReplicaSetSchema>;
export type KubeDeployment = z.infer<typeof kubeDeploymentSchema>;
export type KubeStatefulSet = z.infer<typeof kubeStatefulSetSchema>;
export type KubeDaemonSet = z.infer<typeof kubeDaemonSetSchema>;
/** The objects of apps/v1 that own pods. */
export type KubeWorkload = KubeReplicaSet | KubeDeployment | KubeStatefulSet | KubeDaemonSet;
export type KubeList = z.infer<typeof kubeListSchema>;

/** The label every EndpointSlice carries to name the Service it belongs to (discovery.k8s.io/v1). */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/**
 * How the load balancer in front of a LoadBalancer Service spreads connections over nodes: `per-node`,
 * `single-node` (MetalLB L2) or `per-pod` (IP-mode load balancers). natlens infers it when it is absent.
 */
export const LB_DISTRIBUTION_ANNOTATION = 'natlens.io/lb-distribution';
