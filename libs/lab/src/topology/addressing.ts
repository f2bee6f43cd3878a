import { KubeProxySettings, LabClient, LabService, LabServicePort, LoadBalancerDistribution, LoadBalancerMode, Topology } from './topology.schema';

/*
 * Address plan (DESIGN.md): nodes 198.18.0.0/24, pod CIDRs 198.19.N.0/24, Service CIDR 198.18.255.0/24,
 * clients 198.51.100.0/24, load balancers 203.0.113.0/24. Everything is derived from list positions so the same
 * topology always yields the same addresses, chain names and golden rules, whatever the lab is called.
 */
export const NODE_SUBNET_PREFIX = 24;
export const EDGE_NODE_SIDE_ADDRESS = '198.18.0.254';
export const EDGE_CLIENT_SIDE_ADDRESS = '198.51.100.1';
export const CLIENT_SUBNET_PREFIX = 24;
export const CLUSTER_CIDR = '198.19.0.0/16';
export const SERVICE_CIDR = '198.18.255.0/24';
/** kube-proxy's own health endpoint (healthzBindAddress :10256), what cloud LBs probe for Cluster-policy Services. */
export const PROXY_HEALTHZ_PORT = 10256;
const FIRST_NODE_PORT = 30080;
const FIRST_HEALTH_CHECK_PORT = 32100;

export interface ResolvedNode {
  name: string;
  index: number;
  address: string;
  podCidr: string;
  podGateway: string;
  /** The conntrack zone the node tracks its connections in, when not the default zone. */
  conntrackZone?: number;
}

export interface ResolvedPod {
  name: string;
  namespace: string;
  node: string;
  labels: Record<string, string>;
  address: string;
}

export interface ResolvedServicePort extends LabServicePort {
  /** Set for NodePort and LoadBalancer services (allocated when the topology leaves it out). */
  nodePort?: number;
}

export interface ResolvedService extends Omit<LabService, 'ports'> {
  clusterIP: string;
  ports: ResolvedServicePort[];
  loadBalancerIP?: string;
  loadBalancerMode?: LoadBalancerMode;
  loadBalancerDistribution?: LoadBalancerDistribution;
  healthCheckNodePort?: number;
  endpoints: ResolvedPod[];
}

export interface ResolvedLab {
  name: string;
  nodes: ResolvedNode[];
  pods: ResolvedPod[];
  services: ResolvedService[];
  clients: LabClient[];
  /** How each node's kube-proxy runs (the topology's `kubeProxy`, `--proxy-mode` applied). */
  kubeProxy: KubeProxySettings;
}

function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

export function resolveLab(topology: Topology): ResolvedLab {
  const nodes: ResolvedNode[] = topology.nodes.map((node, i) => ({
    name: node.name,
    index: i + 1,
    address: `198.18.0.${10 + i + 1}`,
    podCidr: `198.19.${i + 1}.0/24`,
    podGateway: `198.19.${i + 1}.1`,
    ...(node.conntrackZone !== undefined ? { conntrackZone: node.conntrackZone } : {}),
  }));
  const nodeByName = new Map(nodes.map((n) => [n.name, n]));
  const podsPerNode = new Map<string, number>();
  const pods: ResolvedPod[] = topology.pods.map((pod) => {
    const node = nodeByName.get(pod.node);
    if (!node) throw new Error(`pod ${pod.namespace}/${pod.name}: unknown node ${pod.node}`);
    const k = (podsPerNode.get(pod.node) ?? 0) + 1;
    podsPerNode.set(pod.node, k);
    if (k > 240) throw new Error(`node ${pod.node}: more than 240 pods do not fit its /24 pod CIDR`);
    return { ...pod, address: `198.19.${node.index}.${10 + k}` };
  });

  const usedNodePorts = new Set<number>(
    topology.services.flatMap((s) => [...s.ports.map((p) => p.nodePort), s.healthCheckNodePort]).filter((p): p is number => p !== undefined),
  );
  let nextNodePort = FIRST_NODE_PORT;
  let nextHealthPort = FIRST_HEALTH_CHECK_PORT;
  const allocate = (from: number): number => {
    let p = from;
    while (usedNodePorts.has(p)) p++;
    usedNodePorts.add(p);
    return p;
  };

  const services: ResolvedService[] = topology.services.map((svc, i) => {
    const external = svc.type !== 'ClusterIP';
    const ports = svc.ports.map((p) => {
      if (!external) return { ...p };
      const nodePort = p.nodePort ?? allocate(nextNodePort);
      nextNodePort = Math.max(nextNodePort, nodePort + 1);
      return { ...p, nodePort };
    });
    const isLb = svc.type === 'LoadBalancer';
    let healthCheckNodePort: number | undefined;
    if (isLb && svc.externalTrafficPolicy === 'Local') {
      healthCheckNodePort = svc.healthCheckNodePort ?? allocate(nextHealthPort);
      nextHealthPort = healthCheckNodePort + 1;
    }
    return {
      ...svc,
      ports,
      clusterIP: `198.18.255.${10 + i}`,
      loadBalancerIP: isLb ? `203.0.113.${10 + i}` : undefined,
      loadBalancerMode: isLb ? (svc.loadBalancer?.mode ?? 'forward') : undefined,
      loadBalancerDistribution: isLb ? (svc.loadBalancer?.distribution ?? 'per-node') : undefined,
      healthCheckNodePort,
      endpoints: pods.filter((p) => p.namespace === svc.namespace && selects(svc.selector, p.labels)),
    };
  });
  if (services.length > 240) throw new Error('more than 240 services do not fit the lab Service CIDR');
  return { name: topology.name, nodes, pods, services, clients: topology.clients, kubeProxy: topology.kubeProxy };
}

export function serviceKey(svc: { namespace: string; name: string }): string {
  return `${svc.namespace}/${svc.name}`;
}
