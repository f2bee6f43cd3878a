import type { FindingCode, ServiceEvidence } from './api-types';

/*
 * The change an operator makes for each finding, as the YAML to apply. The findings' messages (from
 * libs/shared/analysis) explain the cause and the cost; this adds the concrete edit to the Service or workload.
 */
export interface Remedy {
  title: string;
  /** What the change costs, in one sentence: every NAT fix trades something. */
  cost?: string;
  yaml?: string;
  /** A shell command that applies it, when one is shorter than the YAML. */
  command?: string;
}

type ServiceInfo = ServiceEvidence['service'];

export function remedyFor(code: FindingCode, service: ServiceInfo): Remedy | undefined {
  const meta = `metadata:\n  name: ${service.name}\n  namespace: ${service.namespace}`;
  const patch = (spec: string) => `kubectl -n ${service.namespace} patch service ${service.name} -p '${spec}'`;
  switch (code) {
    case 'client-ip-lost':
      return {
        title: 'Keep the client address: route external traffic only to nodes with a local endpoint',
        cost: 'Load is then split per node, not per pod, and a node without a pod drops NodePort traffic sent to it directly.',
        yaml: `apiVersion: v1\nkind: Service\n${meta}\nspec:\n  type: ${service.type === 'ClusterIP' ? 'LoadBalancer' : service.type}\n  externalTrafficPolicy: Local   # was: ${service.externalTrafficPolicy}`,
        command: patch('{"spec":{"externalTrafficPolicy":"Local"}}'),
      };
    case 'snat-unexpected':
      return {
        title: 'Find the masquerade that is not kube-proxy\'s',
        cost: 'None for kube-proxy; the other rule (CNI egress masquerade, ip-masq-agent) may be there for a reason.',
        yaml: `# ip-masq-agent: do not masquerade traffic to the pod and client ranges\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ip-masq-agent\n  namespace: kube-system\ndata:\n  config: |\n    nonMasqueradeCIDRs: [198.19.0.0/16, 198.51.100.0/24]\n    masqLinkLocal: false`,
        command: 'iptables-save -t nat | grep -v KUBE- | grep -i masq   # on the node that SNATed',
      };
    case 'local-policy-imbalance':
      return {
        title: 'Spread the pods evenly over the nodes that receive traffic',
        cost: 'The scheduler may leave pods Pending when no node satisfies the constraint (use ScheduleAnyway to soften it).',
        yaml: `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${service.name}\n  namespace: ${service.namespace}\nspec:\n  template:\n    spec:\n      topologySpreadConstraints:\n        - maxSkew: 1\n          topologyKey: kubernetes.io/hostname\n          whenUnsatisfiable: DoNotSchedule\n          labelSelector:\n            matchLabels: {app: ${service.name}}`,
      };
    case 'dropped-no-local-endpoint':
      return {
        title: 'Send traffic only to nodes that pass the health check, or run a pod on each of them',
        cost: 'A DaemonSet runs a pod on every node; switching back to Cluster policy loses the client address.',
        yaml: `apiVersion: v1\nkind: Service\n${meta}\nspec:\n  type: LoadBalancer             # its load balancer checks healthCheckNodePort\n  externalTrafficPolicy: Local${service.healthCheckNodePort ? `\n  healthCheckNodePort: ${service.healthCheckNodePort}` : ''}`,
      };
    case 'traffic-to-node-without-endpoints':
      return {
        title: 'Let the load balancer skip nodes without endpoints',
        cost: 'With Local policy the load balancer splits per node, so spread the pods evenly too.',
        yaml: `apiVersion: v1\nkind: Service\n${meta}\nspec:\n  externalTrafficPolicy: Local   # nodes without a pod fail the health check and get no traffic`,
        command: patch('{"spec":{"externalTrafficPolicy":"Local"}}'),
      };
    case 'proxied-clients':
      return {
        title: 'Read the real client from the proxy header in the application',
        yaml: `# nginx example\nset_real_ip_from 203.0.113.0/24;\nreal_ip_header proxy_protocol;   # or X-Forwarded-For\nlisten 8080 proxy_protocol;`,
      };
    case 'hairpin-snat':
    case 'no-traffic':
      return undefined;
  }
}
