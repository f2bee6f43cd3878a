import { endpointChain, servicePortChains } from './chain-names';
import { KubeProxyRulesInput, MASQUERADE_MARK, resolveNodePortAddresses } from './kube-proxy-node';
import { Ipv4Cidr, ipv4CidrContains, isIpv4Loopback, parseIpv4Cidr } from './ipv4';
import { KubeProxyEndpoint, KubeProxyServicePort, servicePortsForNode } from './service-ports';

/*
 * kube-proxy's iptables mode (pkg/proxy/iptables/proxier.go, the v1.30–v1.33 layout) on one node, from the same
 * Services and EndpointSlices it watches. `restore` is exactly the iptables-restore input its syncProxyRules writes
 * (pinned against kube-proxy's own TestOverallIPTablesRules in render-iptables.reference.spec.ts), word for word and
 * in its order: `-m comment` first, `-m tcp -p tcp -d IP --dport N`, quotes only around comments with spaces.
 * `jumps` are the rules it adds to the built-in chains with `iptables -I` (iptablesJumpChains, and the KUBE-FIREWALL
 * jumps it shares with kubelet); `iptablesRestoreFile` merges both into the one file the lab loads.
 */

export interface IptablesOptions extends KubeProxyRulesInput {
  /** --iptables-localhost-nodeports (default true): node ports on 127.0.0.1 and the KUBE-FIREWALL martian guard. */
  localhostNodePorts?: boolean;
  /** Whether kube-proxy could create its nfacct counters (they add `-m nfacct` matches for its metrics). */
  nfacctCounters?: boolean;
  /** Whether iptables supports MASQUERADE --random-fully (every iptables since 1.6.2). */
  randomFully?: boolean;
  /** nf_conntrack_tcp_be_liberal=1 on the node: kube-proxy then leaves INVALID packets alone. */
  conntrackTCPLiberal?: boolean;
}

export interface IptablesRules {
  /** kube-proxy's iptables-restore input (filter, then nat). */
  restore: string;
  /** Rules kube-proxy inserts into the built-in chains, per table, in the order they end up in. */
  jumps: { filter: string[]; nat: string[] };
}

const CT_INVALID_COUNTER = 'ct_state_invalid_dropped_pkts';
const LOCALHOST_NODEPORT_COUNTER = 'localhost_nps_accepted_pkts';
/** The nfacct counters kube-proxy creates for its metrics (metrics.IPTablesCTStateInvalidDroppedNFAcctCounter, …). */
export const KUBE_PROXY_NFACCT_COUNTERS = [CT_INVALID_COUNTER, LOCALHOST_NODEPORT_COUNTER] as const;

/** A comment as kube-proxy writes it: quoted only when it has a space (its fmt strings add the quotes). */
const quote = (text: string): string => (/\s/.test(text) ? `"${text}"` : text);

class RuleBuffer {
  readonly chains: string[] = [];
  readonly rules: string[] = [];
  chain(name: string): void {
    this.chains.push(`:${name} - [0:0]`);
  }
  add(...words: (string | number)[]): void {
    this.rules.push(words.join(' '));
  }
}

export function renderIptablesRules(input: IptablesOptions): IptablesRules {
  const nodePorts = resolveNodePortAddresses(input);
  const localhostNodePorts = (input.localhostNodePorts ?? true) && nodePorts.containsLoopback;
  const nfacct = input.nfacctCounters ?? false;
  const filter = new RuleBuffer();
  const nat = new RuleBuffer();

  for (const chain of ['KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-FORWARD', 'KUBE-NODEPORTS', 'KUBE-PROXY-FIREWALL']) filter.chain(chain);
  for (const chain of ['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ']) nat.chain(chain);

  // Masquerade plumbing: mark now, SNAT at POSTROUTING, clear the mark so it does not leak into re-routed packets.
  nat.add('-A KUBE-POSTROUTING -m mark ! --mark', `${MASQUERADE_MARK}/${MASQUERADE_MARK}`, '-j RETURN');
  nat.add('-A KUBE-POSTROUTING -j MARK --xor-mark', MASQUERADE_MARK);
  const masquerade = ['-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT"'];
  const randomFully = input.randomFully === false ? [] : ['--random-fully'];
  if (input.masqueradePorts) {
    // --to-ports needs a protocol with ports (xt_MASQUERADE refuses it otherwise): one rule per such protocol
    // first, then kube-proxy's own rule for the rest (ICMP).
    for (const proto of ['tcp', 'udp', 'sctp']) {
      nat.add(...masquerade, '-p', proto, '-j MASQUERADE', ...randomFully, '--to-ports', `${input.masqueradePorts.min}-${input.masqueradePorts.max}`);
    }
  }
  nat.add(...masquerade, '-j MASQUERADE', ...randomFully);
  nat.add('-A KUBE-MARK-MASQ -j MARK --or-mark', MASQUERADE_MARK);

  if (localhostNodePorts) {
    // route_localnet lets 127.0.0.1 reach node ports, and with it anything spoofing 127/8 from outside: drop that.
    filter.chain('KUBE-FIREWALL');
    filter.add('-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP');
  }

  for (const port of servicePortsForNode(input.services, input.endpointSlices, input.nodeName)) {
    renderServicePort(input, port, { localhostNodePorts, nfacct }, filter, nat);
  }

  // "This must be the last rule in this chain": node ports are tried only after every service IP.
  const nodePortsComment = '-m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain"';
  if (nodePorts.matchAll) {
    nat.add('-A KUBE-SERVICES', nodePortsComment, '-m addrtype --dst-type LOCAL', ...(localhostNodePorts ? [] : ['! -d 127.0.0.0/8']), '-j KUBE-NODEPORTS');
  } else {
    for (const ip of nodePorts.ips) {
      if (isIpv4Loopback(ip) && !localhostNodePorts) continue;
      nat.add('-A KUBE-SERVICES', nodePortsComment, '-d', ip, '-j KUBE-NODEPORTS');
    }
  }

  if (!input.conntrackTCPLiberal) {
    filter.add('-A KUBE-FORWARD -m conntrack --ctstate INVALID', ...(nfacct ? ['-m nfacct --nfacct-name', CT_INVALID_COUNTER] : []), '-j DROP');
  }
  // Marked traffic is forwarded even where the FORWARD policy drops; so are its replies.
  filter.add('-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark', `${MASQUERADE_MARK}/${MASQUERADE_MARK}`, '-j ACCEPT');
  filter.add('-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT');

  const restore = ['*filter', ...filter.chains, ...filter.rules, 'COMMIT', '*nat', ...nat.chains, ...nat.rules, 'COMMIT', ''].join('\n');
  return { restore, jumps: jumpRules() };
}

/**
 * kube-proxy prepends each jump (`iptables -I`) in the order of its iptablesJumpChains list, then kubelet's
 * KUBE-FIREWALL jumps, so in each built-in chain they end up in the reverse order.
 */
function jumpRules(): IptablesRules['jumps'] {
  const newOnly = '-m conntrack --ctstate NEW';
  const filterList: [string, string, string][] = [
    ['INPUT', 'KUBE-EXTERNAL-SERVICES', `${newOnly} -m comment --comment "kubernetes externally-visible service portals"`],
    ['FORWARD', 'KUBE-EXTERNAL-SERVICES', `${newOnly} -m comment --comment "kubernetes externally-visible service portals"`],
    ['INPUT', 'KUBE-NODEPORTS', '-m comment --comment "kubernetes health check service ports"'],
    ['FORWARD', 'KUBE-SERVICES', `${newOnly} -m comment --comment "kubernetes service portals"`],
    ['OUTPUT', 'KUBE-SERVICES', `${newOnly} -m comment --comment "kubernetes service portals"`],
    ['FORWARD', 'KUBE-FORWARD', '-m comment --comment "kubernetes forwarding rules"'],
    ['INPUT', 'KUBE-PROXY-FIREWALL', `${newOnly} -m comment --comment "kubernetes load balancer firewall"`],
    ['OUTPUT', 'KUBE-PROXY-FIREWALL', `${newOnly} -m comment --comment "kubernetes load balancer firewall"`],
    ['FORWARD', 'KUBE-PROXY-FIREWALL', `${newOnly} -m comment --comment "kubernetes load balancer firewall"`],
    ['INPUT', 'KUBE-FIREWALL', ''],
    ['OUTPUT', 'KUBE-FIREWALL', ''],
  ];
  const natList: [string, string, string][] = [
    ['OUTPUT', 'KUBE-SERVICES', '-m comment --comment "kubernetes service portals"'],
    ['PREROUTING', 'KUBE-SERVICES', '-m comment --comment "kubernetes service portals"'],
    ['POSTROUTING', 'KUBE-POSTROUTING', '-m comment --comment "kubernetes postrouting rules"'],
  ];
  const render = (list: [string, string, string][]) =>
    ['INPUT', 'FORWARD', 'OUTPUT', 'PREROUTING', 'POSTROUTING'].flatMap((builtin) =>
      list
        .filter(([src]) => src === builtin)
        .reverse()
        .map(([src, dst, args]) => ['-A', src, args, '-j', dst].filter(Boolean).join(' ')),
    );
  return { filter: render(filterList), nat: render(natList) };
}

/** The one file the lab hands to iptables-restore: each table's chains, kube-proxy's jumps, then its rules. */
export function iptablesRestoreFile(rules: IptablesRules): string {
  const out: string[] = [];
  for (const section of rules.restore.split(/^COMMIT$/m)) {
    const lines = section.split('\n').filter(Boolean);
    const table = lines[0]?.slice(1);
    if (table !== 'filter' && table !== 'nat') continue;
    const chains = lines.filter((l) => l.startsWith(':'));
    const jumps = rules.jumps[table];
    // A jump to a chain this sync did not declare (KUBE-FIREWALL without localhost node ports): kube-proxy's
    // EnsureChain created it empty.
    for (const jump of jumps) {
      const target = jump.split(' ').at(-1) as string;
      if (!chains.includes(`:${target} - [0:0]`)) chains.push(`:${target} - [0:0]`);
    }
    out.push(`*${table}`, ...chains, ...jumps, ...lines.filter((l) => l.startsWith('-')), 'COMMIT');
  }
  return `${out.join('\n')}\n`;
}

interface Flags {
  localhostNodePorts: boolean;
  nfacct: boolean;
}

function renderServicePort(input: IptablesOptions, svc: KubeProxyServicePort, flags: Flags, filter: RuleBuffer, nat: RuleBuffer): void {
  const spn = svc.portNameString;
  const proto = svc.protocol;
  const chains = servicePortChains(spn, proto);
  const { hasEndpoints } = svc;
  const sepChain = (ep: KubeProxyEndpoint) => endpointChain(spn, proto, ep.text);
  const usesClusterPolicyChain = svc.clusterEndpoints.length > 0 && svc.usesClusterEndpoints;
  const usesLocalPolicyChain = svc.localEndpoints.length > 0 && svc.usesLocalEndpoints;
  const internalTrafficChain = svc.internalPolicyLocal ? chains.local : chains.cluster;
  const hasInternalEndpoints = hasEndpoints && (!svc.internalPolicyLocal || svc.localEndpoints.length > 0);
  const externalPolicyChain = svc.externalPolicyLocal ? chains.local : chains.cluster;
  const hasExternalEndpoints = hasEndpoints && (!svc.externalPolicyLocal || svc.localEndpoints.length > 0);
  // The EXT chain exists whenever the Service has endpoints anywhere: the short-circuits for pod and node traffic
  // are needed even on a node that drops external traffic for want of a local endpoint.
  const usesExternalTrafficChain = hasEndpoints && svc.externallyAccessible;
  const usesFWChain = hasEndpoints && svc.loadBalancerVIPs.length > 0 && svc.loadBalancerSourceRanges.length > 0;
  const loadBalancerTrafficChain = usesFWChain ? chains.firewall : chains.external;
  const dst = (ip: string, port: number) => [`-m ${proto} -p ${proto}`, '-d', ip, '--dport', port];

  const noEndpoints = !hasEndpoints;
  const internalFilter = noEndpoints ? { target: 'REJECT', comment: `"${spn} has no endpoints"` } : { target: 'DROP', comment: `"${spn} has no local endpoints"` };
  const externalFilter = internalFilter;

  if (hasInternalEndpoints) nat.add('-A KUBE-SERVICES -m comment --comment', `"${spn} cluster IP"`, ...dst(svc.clusterIP, svc.port), '-j', internalTrafficChain);
  else filter.add('-A KUBE-SERVICES -m comment --comment', internalFilter.comment, ...dst(svc.clusterIP, svc.port), '-j', internalFilter.target);

  for (const ip of svc.externalIPs) {
    if (hasEndpoints) nat.add('-A KUBE-SERVICES -m comment --comment', `"${spn} external IP"`, ...dst(ip, svc.port), '-j', chains.external);
    if (!hasExternalEndpoints) filter.add('-A KUBE-EXTERNAL-SERVICES -m comment --comment', externalFilter.comment, ...dst(ip, svc.port), '-j', externalFilter.target);
  }

  for (const ip of svc.loadBalancerVIPs) {
    if (hasEndpoints) nat.add('-A KUBE-SERVICES -m comment --comment', `"${spn} loadbalancer IP"`, ...dst(ip, svc.port), '-j', loadBalancerTrafficChain);
    if (usesFWChain) filter.add('-A KUBE-PROXY-FIREWALL -m comment --comment', `"${spn} traffic not accepted by ${chains.firewall}"`, ...dst(ip, svc.port), '-j DROP');
  }
  if (!hasExternalEndpoints) {
    // Local policy on a node without local endpoints: drop, so only the load balancer's health check decides
    // whether this node gets traffic; no endpoints at all: reject.
    for (const ip of svc.loadBalancerVIPs) filter.add('-A KUBE-EXTERNAL-SERVICES -m comment --comment', externalFilter.comment, ...dst(ip, svc.port), '-j', externalFilter.target);
  }

  if (svc.nodePort !== 0) {
    if (hasEndpoints) {
      if (flags.localhostNodePorts && flags.nfacct) {
        nat.add('-A KUBE-NODEPORTS -m comment --comment', quote(spn), `-m ${proto} -p ${proto} -d 127.0.0.0/8 --dport`, svc.nodePort, '-m nfacct --nfacct-name', LOCALHOST_NODEPORT_COUNTER, '-j', chains.external);
      }
      nat.add('-A KUBE-NODEPORTS -m comment --comment', quote(spn), `-m ${proto} -p ${proto} --dport`, svc.nodePort, '-j', chains.external);
    }
    if (!hasExternalEndpoints) {
      filter.add('-A KUBE-EXTERNAL-SERVICES -m comment --comment', externalFilter.comment, `-m addrtype --dst-type LOCAL -m ${proto} -p ${proto} --dport`, svc.nodePort, '-j', externalFilter.target);
    }
  }

  // The health-check node port must be reachable even where the default INPUT policy drops (always TCP: HTTP).
  if (svc.healthCheckNodePort !== 0) {
    filter.add('-A KUBE-NODEPORTS -m comment --comment', `"${spn} health check node port"`, '-m tcp -p tcp --dport', svc.healthCheckNodePort, '-j ACCEPT');
  }

  // Traffic to the ClusterIP from outside the pod network may bounce off-node: masquerade it.
  if (hasInternalEndpoints) {
    nat.add('-A', internalTrafficChain, '-m comment --comment', `"${spn} cluster IP"`, ...dst(svc.clusterIP, svc.port), '!', '-s', input.clusterCidr, '-j KUBE-MARK-MASQ');
  }

  if (usesExternalTrafficChain) {
    nat.chain(chains.external);
    if (!svc.externalPolicyLocal) {
      // Cluster policy: the endpoint may be on another node, whose reply must come back here to be un-NATed,
      // so the client address is replaced by this node's (the SNAT natlens exists to show).
      nat.add('-A', chains.external, '-m comment --comment', `"masquerade traffic for ${spn} external destinations"`, '-j KUBE-MARK-MASQ');
    } else {
      // Pods and the node itself may still use any endpoint; only traffic from outside is kept node-local.
      nat.add('-A', chains.external, '-m comment --comment', `"pod traffic for ${spn} external destinations"`, '-s', input.clusterCidr, '-j', chains.cluster);
      nat.add('-A', chains.external, '-m comment --comment', `"masquerade LOCAL traffic for ${spn} external destinations"`, '-m addrtype --src-type LOCAL -j KUBE-MARK-MASQ');
      nat.add('-A', chains.external, '-m comment --comment', `"route LOCAL traffic for ${spn} external destinations"`, '-m addrtype --src-type LOCAL -j', chains.cluster);
    }
    if (hasExternalEndpoints) nat.add('-A', chains.external, '-j', externalPolicyChain);
  }

  if (usesFWChain) {
    nat.chain(chains.firewall);
    const head = ['-A', chains.firewall, '-m comment --comment', `"${spn} loadbalancer IP"`];
    let allowFromNode = false;
    for (const cidr of svc.loadBalancerSourceRanges) {
      nat.add(...head, '-s', cidr, '-j', chains.external);
      if (ipv4CidrContains(parseIpv4Cidr(cidr) as Ipv4Cidr, input.nodeIP)) allowFromNode = true;
    }
    // A VIP-like LB whose address is local to the node: a request from the node to it arrives with the VIP as source.
    if (allowFromNode) for (const ip of svc.loadBalancerVIPs) nat.add(...head, '-s', ip, '-j', chains.external);
    // Whatever reaches the end was not DNAT'd, and KUBE-PROXY-FIREWALL drops it.
    nat.add('-A', chains.firewall, '-m comment --comment', `"other traffic to ${spn} will be dropped by KUBE-PROXY-FIREWALL"`);
  }

  if (usesClusterPolicyChain) {
    nat.chain(chains.cluster);
    writeServiceToEndpointRules(nat, svc, chains.cluster, svc.clusterEndpoints, sepChain);
  }
  if (usesLocalPolicyChain) {
    nat.chain(chains.local);
    writeServiceToEndpointRules(nat, svc, chains.local, svc.localEndpoints, sepChain);
  }

  for (const ep of svc.allLocallyReachableEndpoints) {
    const chain = sepChain(ep);
    nat.chain(chain);
    // Hairpin: a pod reaching itself through its Service must see a different source, or it would answer itself.
    nat.add('-A', chain, '-m comment --comment', quote(spn), '-s', ep.ip, '-j KUBE-MARK-MASQ');
    const affinity = svc.stickyMaxAgeSeconds !== undefined ? ['-m recent --name', chain, '--set'] : [];
    nat.add('-A', chain, '-m comment --comment', quote(spn), ...affinity, `-m ${proto} -p ${proto} -j DNAT --to-destination`, ep.text);
  }
}

/** The statistic probability kube-proxy writes for the i-th of n endpoints (computeProbability: %0.10f of 1/n). */
function probability(remaining: number): string {
  return (1 / remaining).toFixed(10);
}

function writeServiceToEndpointRules(nat: RuleBuffer, svc: KubeProxyServicePort, chain: string, endpoints: KubeProxyEndpoint[], sepChain: (ep: KubeProxyEndpoint) => string): void {
  const comment = (ep: KubeProxyEndpoint) => `"${svc.portNameString} -> ${ep.text}"`;
  if (svc.stickyMaxAgeSeconds !== undefined) {
    // Client-IP affinity: a client seen recently goes back to its endpoint (xt_recent, one list per endpoint).
    for (const ep of endpoints) {
      nat.add('-A', chain, '-m comment --comment', comment(ep), '-m recent --name', sepChain(ep), '--rcheck --seconds', svc.stickyMaxAgeSeconds, '--reap -j', sepChain(ep));
    }
  }
  endpoints.forEach((ep, i) => {
    const pick = i < endpoints.length - 1 ? ['-m statistic --mode random --probability', probability(endpoints.length - i)] : [];
    nat.add('-A', chain, '-m comment --comment', comment(ep), ...pick, '-j', sepChain(ep));
  });
}
