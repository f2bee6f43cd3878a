import type { FindingCode, LabelSelectorEvidence, ServiceEvidence, WorkloadEvidence } from './evidence-types';

/*
 * The change an operator makes for each finding, as the YAML (or command) to apply, built from the cluster's own
 * objects and from what was observed: the Nodes' pod CIDRs, the workloads that own the endpoint pods (found by their
 * ownerReferences) with their real selectors, the proxies' observed addresses. Where natlens does not know a piece
 * (an owner it could not follow, no proxy address seen), the remedy says so instead of inventing one. The finding's
 * message explains the cause and the cost; the remedy is the edit. Pure.
 */
export interface Remedy {
  readonly title: string;
  /** What the change costs, in one sentence: every NAT fix trades something. */
  readonly cost?: string;
  readonly yaml?: string;
  /** A shell command that applies it, when one is shorter than the YAML (or goes with it). */
  readonly command?: string;
  /** What natlens could not fill in, and why (the operator completes it). */
  readonly unknown?: string;
}

type RemedyInput = Pick<ServiceEvidence, 'service' | 'context' | 'imbalance'>;

/** A YAML double-quoted scalar: label values such as "true" or "8080" must stay strings. */
const quoted = (value: string): string => JSON.stringify(value);
const indent = (text: string, spaces: number): string => text.split('\n').map((line) => `${' '.repeat(spaces)}${line}`).join('\n');

function selectorYaml(selector: LabelSelectorEvidence): string {
  const lines: string[] = [];
  const labels = Object.entries(selector.matchLabels ?? {});
  if (labels.length > 0) lines.push('matchLabels:', ...labels.map(([key, value]) => `  ${key}: ${quoted(value)}`));
  const expressions = selector.matchExpressions ?? [];
  if (expressions.length > 0) {
    lines.push('matchExpressions:');
    for (const { key, operator, values } of expressions) {
      lines.push(`  - key: ${key}`, `    operator: ${operator}`);
      if (values && values.length > 0) lines.push(`    values: [${values.map(quoted).join(', ')}]`);
    }
  }
  return lines.join('\n');
}

const ownerPhrase = (unknown: ServiceEvidence['context']['unknownOwners']): string =>
  unknown.map((u) => `${u.pod}: ${u.reason}`).join('; ');

/** topologySpreadConstraints on the workloads that own the Service's pods, with each one's own selector. */
function spreadRemedy(evidence: RemedyInput): Remedy {
  const { workloads, unknownOwners } = evidence.context;
  const spreadable = workloads.filter((w): w is WorkloadEvidence & { selector: LabelSelectorEvidence } => w.kind !== 'DaemonSet' && w.selector !== undefined);
  const daemonSets = workloads.filter((w) => w.kind === 'DaemonSet');
  const noSelector = workloads.filter((w) => w.kind !== 'DaemonSet' && w.selector === undefined);
  const documents = spreadable.map((w) =>
    [
      `apiVersion: apps/v1`,
      `kind: ${w.kind}`,
      `metadata:`,
      `  name: ${w.name}`,
      `  namespace: ${w.namespace}`,
      `spec:`,
      `  template:`,
      `    spec:`,
      `      topologySpreadConstraints:`,
      `        - maxSkew: 1`,
      `          topologyKey: kubernetes.io/hostname`,
      `          whenUnsatisfiable: DoNotSchedule`,
      `          labelSelector:`,
      indent(selectorYaml(w.selector), 12),
    ].join('\n'),
  );
  const commands = spreadable.map((w) => {
    const patch = { spec: { template: { spec: { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule', labelSelector: w.selector }] } } } };
    return `kubectl -n ${w.namespace} patch ${w.kind.toLowerCase()} ${w.name} --type merge -p '${JSON.stringify(patch)}'`;
  });
  const unknown = [
    ...(unknownOwners.length > 0 ? [`the workload of some pods is not known, so no change is written for them (${ownerPhrase(unknownOwners)}); add the same constraint to whatever creates them`] : []),
    ...noSelector.map((w) => `${w.kind} ${w.namespace}/${w.name} has no selector in the cluster metadata`),
    ...daemonSets.map((w) => `${w.kind} ${w.namespace}/${w.name} already runs one pod per node: spreading it changes nothing`),
    ...(workloads.length === 0 && unknownOwners.length === 0 ? ['no cluster metadata lists the endpoint pods\' owners (run the hub with --inventory or --kubeconfig)'] : []),
  ];
  return {
    title: 'Spread the pods evenly over the nodes that receive traffic',
    cost: 'The scheduler may leave pods Pending when no node satisfies the constraint (use ScheduleAnyway to soften it).',
    ...(documents.length > 0 ? { yaml: documents.join('\n---\n'), command: commands.join('\n') } : {}),
    ...(unknown.length > 0 ? { unknown: `${unknown.join('. ')}.` } : {}),
  };
}

function serviceYaml(service: RemedyInput['service'], spec: string[]): string {
  return ['apiVersion: v1', 'kind: Service', 'metadata:', `  name: ${service.name}`, `  namespace: ${service.namespace}`, 'spec:', ...spec.map((line) => `  ${line}`)].join('\n');
}

export function remedyFor(code: FindingCode, evidence: RemedyInput): Remedy | undefined {
  const { service, context } = evidence;
  const patch = (spec: string) => `kubectl -n ${service.namespace} patch service ${service.name} -p '${spec}'`;
  switch (code) {
    case 'client-ip-lost':
      return {
        title: 'Keep the client address: route external traffic only to nodes with a local endpoint',
        cost: 'Load is then split per node, not per pod, and a node without a pod drops NodePort traffic sent to it directly.',
        yaml: serviceYaml(service, [`type: ${service.type === 'ClusterIP' ? 'LoadBalancer' : service.type}`, `externalTrafficPolicy: Local   # was: ${service.externalTrafficPolicy}`]),
        command: patch('{"spec":{"externalTrafficPolicy":"Local"}}'),
      };
    case 'snat-unexpected': {
      const cidrs = context.podCIDRs;
      return {
        title: "Find the masquerade that is not kube-proxy's",
        cost: 'None for kube-proxy; the other rule (CNI egress masquerade, ip-masq-agent) may be there for a reason.',
        yaml: [
          '# ip-masq-agent: do not masquerade traffic to the pod ranges (the Nodes\' podCIDRs) nor to the clients that must keep their address',
          'apiVersion: v1',
          'kind: ConfigMap',
          'metadata:',
          '  name: ip-masq-agent',
          '  namespace: kube-system',
          'data:',
          '  config: |',
          `    nonMasqueradeCIDRs: [${cidrs.join(', ')}]   # add your client networks`,
          '    masqLinkLocal: false',
        ].join('\n'),
        command: 'iptables-save -t nat | grep -v KUBE- | grep -i masq   # on the node that SNATed',
        ...(cidrs.length === 0 ? { unknown: 'No Node lists a pod CIDR (spec.podCIDR) in the cluster metadata: fill in your pod ranges.' } : {}),
      };
    }
    case 'local-policy-imbalance': {
      const model = evidence.imbalance.model;
      if (model?.distribution === 'single-node') {
        return {
          title: 'Spread the traffic over the nodes at the load balancer, or let kube-proxy spread it',
          cost: 'externalTrafficPolicy: Cluster SNATs external clients to the entry node\'s address; a load balancer that spreads per node (BGP mode) needs routers that speak BGP.',
          yaml: serviceYaml(service, ['externalTrafficPolicy: Cluster   # the node that receives everything spreads over every pod']),
          command: patch('{"spec":{"externalTrafficPolicy":"Cluster"}}'),
          unknown: 'With MetalLB, announcing the address in BGP mode (a BGPAdvertisement for its pool) spreads per node instead; spreading the pods does not help while one node receives everything.',
        };
      }
      if (model?.distribution === 'per-pod') {
        return { title: 'Check the load balancer\'s targets: it addresses the pods directly', unknown: 'The policy predicts an even split here; no change to the Service or its pods would remove this imbalance.' };
      }
      return spreadRemedy(evidence);
    }
    case 'dropped-no-local-endpoint':
      return {
        title: 'Send traffic only to nodes that pass the health check, or run a pod on each of them',
        cost: 'A DaemonSet runs a pod on every node; switching back to Cluster policy loses the client address.',
        yaml: serviceYaml(service, [
          'type: LoadBalancer             # its load balancer checks healthCheckNodePort',
          'externalTrafficPolicy: Local',
          ...(service.healthCheckNodePort ? [`healthCheckNodePort: ${service.healthCheckNodePort}`] : []),
        ]),
      };
    case 'traffic-to-node-without-endpoints':
      return {
        title: 'Let the load balancer skip nodes without endpoints',
        cost: 'With Local policy the load balancer splits per node, so spread the pods evenly too.',
        yaml: serviceYaml(service, ['externalTrafficPolicy: Local   # nodes without a pod fail the health check and get no traffic']),
        command: patch('{"spec":{"externalTrafficPolicy":"Local"}}'),
      };
    case 'proxied-clients': {
      const proxies = context.proxyAddresses;
      const trust = proxies.map((address) => `set_real_ip_from ${address}${address.includes(':') ? '/128' : '/32'};`);
      return {
        title: 'Read the real client from the proxy header in the application',
        yaml: [
          '# nginx: trust the proxies the pods saw (observed), read the client from their header',
          ...(trust.length > 0 ? trust : ['# set_real_ip_from <proxy address>;   # no proxy address was observed in this window']),
          'real_ip_header proxy_protocol;   # or X-Forwarded-For',
          'listen <port the pods serve> proxy_protocol;   # with PROXY protocol only',
        ].join('\n'),
        ...(trust.length === 0 ? { unknown: 'No proxied connection in this window named the address the pods saw: widen the window to list the proxies.' } : {}),
      };
    }
    case 'hairpin-snat':
    case 'nat-failures': // its remedies depend on the reason: the finding's message names them per reason
    case 'no-traffic':
      return undefined;
  }
}
