import { parse as parseYaml } from 'yaml';
import { Topology, topologySchema } from './topology.schema';

export class TopologyError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`${source}: invalid topology:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'TopologyError';
  }
}

/** Parses and validates topology YAML (or JSON) text; every problem is listed, not only the first. */
export function parseTopology(text: string, source = 'topology'): Topology {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new TopologyError(source, [`not valid YAML: ${(err as Error).message}`]);
  }
  const result = topologySchema.safeParse(raw);
  if (!result.success) {
    throw new TopologyError(
      source,
      result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`),
    );
  }
  const problems = crossReferenceProblems(result.data);
  if (problems.length > 0) throw new TopologyError(source, problems);
  return result.data;
}

/** Checks the schema cannot express: references between objects and uniqueness. */
function crossReferenceProblems(topology: Topology): string[] {
  const problems: string[] = [];
  const nodeNames = new Set<string>();
  for (const node of topology.nodes) {
    if (nodeNames.has(node.name)) problems.push(`nodes: duplicate node "${node.name}"`);
    nodeNames.add(node.name);
  }
  const podKeys = new Set<string>();
  topology.pods.forEach((pod, i) => {
    const key = `${pod.namespace}/${pod.name}`;
    if (podKeys.has(key)) problems.push(`pods.${i}: duplicate pod "${key}"`);
    podKeys.add(key);
    if (!nodeNames.has(pod.node)) problems.push(`pods.${i}: node "${pod.node}" is not in nodes`);
  });
  const serviceKeys = new Set<string>();
  const nodePorts = new Map<number, string>();
  topology.services.forEach((svc, i) => {
    const key = `${svc.namespace}/${svc.name}`;
    if (serviceKeys.has(key)) problems.push(`services.${i}: duplicate service "${key}"`);
    serviceKeys.add(key);
    if (svc.type === 'ClusterIP') {
      if (svc.externalTrafficPolicy === 'Local') {
        problems.push(`services.${i}: externalTrafficPolicy applies only to NodePort and LoadBalancer services`);
      }
      if (svc.ports.some((p) => p.nodePort !== undefined)) problems.push(`services.${i}: a ClusterIP service has no nodePort`);
    }
    if (svc.loadBalancer && svc.type !== 'LoadBalancer') {
      problems.push(`services.${i}: loadBalancer is only for type LoadBalancer`);
    }
    if (svc.type === 'LoadBalancer' && (svc.loadBalancer?.mode ?? 'forward') !== 'forward' && svc.ports.some((p) => p.protocol === 'UDP')) {
      problems.push(`services.${i}: a UDP port needs loadBalancer mode forward (the lab's proxying load balancers speak TCP)`);
    }
    if (svc.loadBalancer?.distribution === 'single-node' && svc.loadBalancer.mode !== 'forward') {
      problems.push(`services.${i}: loadBalancer.distribution single-node is for mode forward (the proxies spread per node)`);
    }
    if (svc.healthCheckNodePort !== undefined && !(svc.type === 'LoadBalancer' && svc.externalTrafficPolicy === 'Local')) {
      problems.push(`services.${i}: healthCheckNodePort is only for LoadBalancer services with externalTrafficPolicy Local`);
    }
    const portNames = new Set<string>();
    for (const p of svc.ports) {
      const name = p.name ?? '';
      if (portNames.has(name)) problems.push(`services.${i}: ports need distinct names when there is more than one`);
      portNames.add(name);
    }
    for (const claimed of [...svc.ports.map((p) => p.nodePort), svc.healthCheckNodePort]) {
      if (claimed === undefined) continue;
      const owner = nodePorts.get(claimed);
      if (owner) problems.push(`services.${i}: node port ${claimed} is already used by ${owner}`);
      nodePorts.set(claimed, key);
    }
  });
  const clientNames = new Set<string>();
  const clientAddresses = new Set<string>();
  topology.clients.forEach((client, i) => {
    if (clientNames.has(client.name)) problems.push(`clients.${i}: duplicate client "${client.name}"`);
    if (clientAddresses.has(client.address)) problems.push(`clients.${i}: address ${client.address} is used twice`);
    clientNames.add(client.name);
    clientAddresses.add(client.address);
  });
  return problems;
}
