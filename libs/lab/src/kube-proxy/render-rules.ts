import { KubeEndpointSlice, KubeService, KubeServicePort, SERVICE_NAME_LABEL } from '@natlens/shared-model';
import { endpointChain, servicePortChains, servicePortName } from './chain-names';

/*
 * Renders the iptables-restore input that kube-proxy's iptables mode (pkg/proxy/iptables/proxier.go, v1.29 layout)
 * writes on one node, from the same Services and EndpointSlices it watches. Rule order and comments follow the
 * proxier so the lab's `iptables-save` reads like a real node's.
 */

/** KUBE-MARK-MASQ's bit: packets carrying it are masqueraded in KUBE-POSTROUTING. */
export const MASQUERADE_MARK = '0x4000';

export interface RenderRulesInput {
  nodeName: string;
  /** --cluster-cidr: traffic from pods is not masqueraded on its way to a ClusterIP. */
  clusterCidr: string;
  services: KubeService[];
  endpointSlices: KubeEndpointSlice[];
}

interface Endpoint {
  ip: string;
  port: number;
  nodeName?: string;
}

class Table {
  readonly chains = new Set<string>();
  readonly rules: string[] = [];
  constructor(readonly name: string) {}
  chain(name: string): void {
    this.chains.add(name);
  }
  add(chain: string, ...words: string[]): void {
    this.rules.push(['-A', chain, ...words].join(' '));
  }
  render(): string {
    const lines = [`*${this.name}`];
    for (const chain of [...this.chains].sort()) lines.push(`:${chain} - [0:0]`);
    lines.push(...this.rules, 'COMMIT');
    return lines.join('\n');
  }
}

const comment = (text: string): string[] => ['-m', 'comment', '--comment', `"${text}"`];

function endpointsFor(svc: KubeService, port: KubeServicePort, slices: KubeEndpointSlice[]): Endpoint[] {
  const result: Endpoint[] = [];
  for (const slice of slices) {
    if (slice.metadata.namespace !== svc.metadata.namespace) continue;
    if (slice.metadata.labels?.[SERVICE_NAME_LABEL] !== svc.metadata.name) continue;
    if (slice.addressType !== 'IPv4') continue;
    const slicePort = (slice.ports ?? []).find((p) => (p.name ?? '') === (port.name ?? '') && p.protocol === port.protocol);
    if (!slicePort) continue;
    for (const ep of slice.endpoints ?? []) {
      // kube-proxy routes to ready endpoints; serving-but-terminating ones only as a fallback we do not model.
      if (ep.conditions.ready === false) continue;
      for (const ip of ep.addresses) result.push({ ip, port: slicePort.port, nodeName: ep.nodeName });
    }
  }
  return result.sort((a, b) => `${a.ip}:${a.port}`.localeCompare(`${b.ip}:${b.port}`, 'en', { numeric: true }));
}

/** The statistic probability kube-proxy writes for the i-th of n endpoints (proxier.go computeProbability). */
function probability(remaining: number): string {
  return (1 / remaining).toFixed(10);
}

export function renderKubeProxyRules(input: RenderRulesInput): string {
  const filter = new Table('filter');
  const nat = new Table('nat');

  for (const chain of ['KUBE-EXTERNAL-SERVICES', 'KUBE-FORWARD', 'KUBE-NODEPORTS', 'KUBE-PROXY-FIREWALL', 'KUBE-SERVICES']) {
    filter.chain(chain);
  }
  for (const chain of ['KUBE-MARK-MASQ', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-SERVICES']) nat.chain(chain);

  // Jumps from the built-in chains (proxier.go iptablesJumpChains).
  filter.add('INPUT', '-m', 'conntrack', '--ctstate', 'NEW', ...comment('kubernetes load balancer firewall'), '-j', 'KUBE-PROXY-FIREWALL');
  filter.add('INPUT', ...comment('kubernetes health check service ports'), '-j', 'KUBE-NODEPORTS');
  filter.add('INPUT', '-m', 'conntrack', '--ctstate', 'NEW', ...comment('kubernetes externally-visible service portals'), '-j', 'KUBE-EXTERNAL-SERVICES');
  filter.add('FORWARD', '-m', 'conntrack', '--ctstate', 'NEW', ...comment('kubernetes load balancer firewall'), '-j', 'KUBE-PROXY-FIREWALL');
  filter.add('FORWARD', ...comment('kubernetes forwarding rules'), '-j', 'KUBE-FORWARD');
  filter.add('FORWARD', '-m', 'conntrack', '--ctstate', 'NEW', ...comment('kubernetes service portals'), '-j', 'KUBE-SERVICES');
  filter.add('FORWARD', '-m', 'conntrack', '--ctstate', 'NEW', ...comment('kubernetes externally-visible service portals'), '-j', 'KUBE-EXTERNAL-SERVICES');
  filter.add('OUTPUT', '-m', 'conntrack', '--ctstate', 'NEW', ...comment('kubernetes load balancer firewall'), '-j', 'KUBE-PROXY-FIREWALL');
  filter.add('OUTPUT', '-m', 'conntrack', '--ctstate', 'NEW', ...comment('kubernetes service portals'), '-j', 'KUBE-SERVICES');
  nat.add('PREROUTING', ...comment('kubernetes service portals'), '-j', 'KUBE-SERVICES');
  nat.add('OUTPUT', ...comment('kubernetes service portals'), '-j', 'KUBE-SERVICES');
  nat.add('POSTROUTING', ...comment('kubernetes postrouting rules'), '-j', 'KUBE-POSTROUTING');

  // Masquerade plumbing: mark now, SNAT at POSTROUTING, clear the mark so it does not leak into re-routed packets.
  nat.add('KUBE-MARK-MASQ', '-j', 'MARK', '--or-mark', MASQUERADE_MARK);
  nat.add('KUBE-POSTROUTING', '-m', 'mark', '!', '--mark', `${MASQUERADE_MARK}/${MASQUERADE_MARK}`, '-j', 'RETURN');
  nat.add('KUBE-POSTROUTING', '-j', 'MARK', '--xor-mark', MASQUERADE_MARK);
  nat.add('KUBE-POSTROUTING', ...comment('kubernetes service traffic requiring SNAT'), '-j', 'MASQUERADE', '--random-fully');

  const services = [...input.services].sort((a, b) =>
    `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`),
  );
  const nodePortRules: string[][] = [];
  for (const svc of services) {
    if (svc.spec.type === 'ExternalName') continue;
    for (const port of svc.spec.ports) {
      renderServicePort(input, svc, port, filter, nat, nodePortRules);
    }
  }
  // kube-proxy: "this must be the last rule in this chain" - node ports are tried only after every service IP.
  nat.add('KUBE-SERVICES', ...comment('kubernetes service nodeports; NOTE: this must be the last rule in this chain'), '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'KUBE-NODEPORTS');
  for (const words of nodePortRules) nat.add('KUBE-NODEPORTS', ...words);

  filter.add('KUBE-FORWARD', '-m', 'conntrack', '--ctstate', 'INVALID', '-j', 'DROP');
  filter.add('KUBE-FORWARD', ...comment('kubernetes forwarding rules'), '-m', 'mark', '--mark', `${MASQUERADE_MARK}/${MASQUERADE_MARK}`, '-j', 'ACCEPT');
  filter.add('KUBE-FORWARD', ...comment('kubernetes forwarding conntrack rule'), '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ACCEPT');

  return `${filter.render()}\n${nat.render()}\n`;
}

function renderServicePort(
  input: RenderRulesInput,
  svc: KubeService,
  port: KubeServicePort,
  filter: Table,
  nat: Table,
  nodePortRules: string[][],
): void {
  const ns = svc.metadata.namespace ?? 'default';
  const spn = servicePortName(ns, svc.metadata.name, port.name);
  const proto = port.protocol.toLowerCase();
  const chains = servicePortChains(spn, proto);
  const clusterIP = svc.spec.clusterIP;
  const endpoints = endpointsFor(svc, port, input.endpointSlices);
  const localEndpoints = endpoints.filter((ep) => ep.nodeName === input.nodeName);
  const externalPolicyLocal = svc.spec.externalTrafficPolicy === 'Local' && svc.spec.type !== 'ClusterIP';
  const lbIPs = (svc.status.loadBalancer?.ingress ?? []).map((i) => i.ip).filter((ip): ip is string => !!ip);
  const externalIPs = svc.spec.externalIPs ?? [];
  const nodePort = svc.spec.type === 'ClusterIP' ? undefined : port.nodePort;
  const externallyAccessible = nodePort !== undefined || lbIPs.length > 0 || externalIPs.length > 0;
  const hasEndpoints = endpoints.length > 0;
  const hasExternalEndpoints = externalPolicyLocal ? localEndpoints.length > 0 : hasEndpoints;
  const matchPort = (ip: string | undefined, dport: number): string[] => [
    ...(ip ? ['-d', `${ip}/32`] : []),
    '-p',
    proto,
    '-m',
    proto,
    '--dport',
    String(dport),
  ];

  // The health-check node port must be reachable even where the default INPUT policy drops.
  if (externalPolicyLocal && svc.spec.healthCheckNodePort) {
    filter.add('KUBE-NODEPORTS', ...comment(`${ns}/${svc.metadata.name} health check node port`), '-m', 'tcp', '-p', 'tcp', '--dport', String(svc.spec.healthCheckNodePort), '-j', 'ACCEPT');
  }

  if (!hasEndpoints) {
    // No endpoint anywhere: reject rather than let the packet wander (proxier.go "has no endpoints").
    if (clusterIP) {
      filter.add('KUBE-SERVICES', ...withComment(matchPort(clusterIP, port.port), `${spn} has no endpoints`), '-j', 'REJECT', '--reject-with', 'icmp-port-unreachable');
    }
  } else {
    if (clusterIP) {
      nat.add('KUBE-SERVICES', ...withComment(matchPort(clusterIP, port.port), `${spn} cluster IP`), '-j', chains.cluster);
    }
    if (hasExternalEndpoints) {
      for (const ip of externalIPs) {
        nat.add('KUBE-SERVICES', ...withComment(matchPort(ip, port.port), `${spn} external IP`), '-j', chains.external);
      }
      for (const ip of lbIPs) {
        nat.add('KUBE-SERVICES', ...withComment(matchPort(ip, port.port), `${spn} loadbalancer IP`), '-j', chains.firewall);
      }
      if (nodePort !== undefined) nodePortRules.push(withComment(matchPort(undefined, nodePort), spn).concat('-j', chains.external));
    }
  }

  if (!hasExternalEndpoints && externallyAccessible) {
    // Local policy on a node without local endpoints: drop, so the load balancer's health check is the only thing
    // that decides whether this node gets traffic (proxier.go "has no local endpoints").
    const why = hasEndpoints ? `${spn} has no local endpoints` : `${spn} has no endpoints`;
    const target = hasEndpoints ? ['-j', 'DROP'] : ['-j', 'REJECT', '--reject-with', 'icmp-port-unreachable'];
    for (const ip of [...externalIPs, ...lbIPs]) filter.add('KUBE-EXTERNAL-SERVICES', ...withComment(matchPort(ip, port.port), why), ...target);
    if (nodePort !== undefined) {
      filter.add('KUBE-EXTERNAL-SERVICES', '-p', proto, ...comment(why), '-m', 'addrtype', '--dst-type', 'LOCAL', '-m', proto, '--dport', String(nodePort), ...target);
    }
  }
  if (!hasEndpoints) return;

  // KUBE-SVC-*: every endpoint; traffic from outside the pod network to the cluster IP is masqueraded.
  nat.chain(chains.cluster);
  if (clusterIP) {
    nat.add(chains.cluster, '!', '-s', input.clusterCidr, ...withComment(matchPort(clusterIP, port.port), `${spn} cluster IP`), '-j', 'KUBE-MARK-MASQ');
  }
  writeEndpointJumps(nat, chains.cluster, spn, proto, endpoints);

  if (externallyAccessible && hasExternalEndpoints) {
    nat.chain(chains.external);
    if (externalPolicyLocal) {
      // Pods and the node itself may still use any endpoint; only traffic from outside is kept node-local.
      nat.add(chains.external, '-s', input.clusterCidr, ...comment(`pod traffic for ${spn} external destinations`), '-j', chains.cluster);
      nat.add(chains.external, ...comment(`masquerade LOCAL traffic for ${spn} external destinations`), '-m', 'addrtype', '--src-type', 'LOCAL', '-j', 'KUBE-MARK-MASQ');
      nat.add(chains.external, ...comment(`route LOCAL traffic for ${spn} external destinations`), '-m', 'addrtype', '--src-type', 'LOCAL', '-j', chains.cluster);
      nat.add(chains.external, '-j', chains.local);
      nat.chain(chains.local);
      writeEndpointJumps(nat, chains.local, spn, proto, localEndpoints);
    } else {
      // Cluster policy: the endpoint may be on another node, whose reply must come back here to be un-NATed,
      // so the client address is replaced by this node's (the SNAT natlens exists to show).
      nat.add(chains.external, ...comment(`masquerade traffic for ${spn} external destinations`), '-j', 'KUBE-MARK-MASQ');
      nat.add(chains.external, '-j', chains.cluster);
    }
    if (lbIPs.length > 0) {
      nat.chain(chains.firewall);
      nat.add(chains.firewall, ...comment(`${spn} loadbalancer IP`), '-j', chains.external);
    }
  }

  for (const ep of endpoints) {
    const chain = endpointChain(spn, proto, `${ep.ip}:${ep.port}`);
    nat.chain(chain);
    // Hairpin: a pod reaching itself through its Service must see a different source, or it would answer itself.
    nat.add(chain, '-s', `${ep.ip}/32`, ...comment(spn), '-j', 'KUBE-MARK-MASQ');
    nat.add(chain, '-p', proto, ...comment(spn), '-m', proto, '-j', 'DNAT', '--to-destination', `${ep.ip}:${ep.port}`);
  }
}

function withComment(match: string[], text: string): string[] {
  // kube-proxy puts the comment after the protocol: -d X -p tcp -m comment --comment "..." -m tcp --dport N
  const protoEnd = match.indexOf('-p') + 2;
  return [...match.slice(0, protoEnd), ...comment(text), ...match.slice(protoEnd)];
}

function writeEndpointJumps(nat: Table, chain: string, spn: string, proto: string, endpoints: Endpoint[]): void {
  endpoints.forEach((ep, i) => {
    const target = endpointChain(spn, proto, `${ep.ip}:${ep.port}`);
    const pick = i < endpoints.length - 1 ? ['-m', 'statistic', '--mode', 'random', '--probability', probability(endpoints.length - i)] : [];
    nat.add(chain, ...comment(`${spn} -> ${ep.ip}:${ep.port}`), ...pick, '-j', target);
  });
}
