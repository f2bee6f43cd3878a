import { nftEndpointNames, nftServicePortChains } from './chain-names';
import { KubeProxyRulesInput, MASQUERADE_MARK, resolveNodePortAddresses } from './kube-proxy-node';
import { ipv4CidrContains, parseIpv4Cidr } from './ipv4';
import { KubeProxyEndpoint, KubeProxyServicePort, servicePortsForNode } from './service-ports';

/*
 * kube-proxy's nftables mode (pkg/proxy/nftables/proxier.go, the v1.33+ layout with the pre-DNAT filter chains) on
 * one node: the statements of its first full sync, as its knftables transaction writes them (pinned against
 * kube-proxy's own TestOverallNFTablesRules in render-nftables.reference.spec.ts). Everything lives in one table,
 * `ip kube-proxy`: Service IPs and node ports are looked up in verdict maps (service-ips, service-nodeports) instead
 * of walked rule by rule; "no endpoints" and LoadBalancer source ranges are maps too; per Service port there are
 * service-/local-/external-/firewall- chains, and per endpoint an endpoint- chain that DNATs (picked with
 * `numgen random mod N`) and, under ClientIP affinity, an affinity- set.
 *
 * The file is ordered so that `nft -f` takes it in one transaction: the table, then sets and maps, chains, rules and
 * elements (a rule may name a set, an element a chain). Rules keep their order within each chain.
 */

export interface NftablesOptions extends KubeProxyRulesInput {
  /** The cluster's Service CIDRs: traffic to an unallocated ClusterIP is dropped, to an unused port rejected. */
  serviceCidrs: string[];
}

export const KUBE_PROXY_TABLE = 'kube-proxy';
const TABLE = `ip ${KUBE_PROXY_TABLE}`;

const quoteComment = (text: string) => `comment "${text}"`;

class Transaction {
  private readonly tables: string[] = [];
  private readonly containers: string[] = [];
  private readonly chains: string[] = [];
  private readonly rules: string[] = [];
  private readonly elements: string[] = [];
  private readonly declared = new Set<string>();

  table(comment: string): void {
    this.tables.push(`add table ${TABLE} { ${quoteComment(comment)} ; }`);
  }
  set(kind: 'set' | 'map', name: string, ...properties: string[]): void {
    this.containers.push(`add ${kind} ${TABLE} ${name} { ${properties.join(' ; ')} ; }`);
  }
  chain(name: string, ...properties: string[]): void {
    if (this.declared.has(name)) return;
    this.declared.add(name);
    this.chains.push(properties.length > 0 ? `add chain ${TABLE} ${name} { ${properties.join(' ; ')} ; }` : `add chain ${TABLE} ${name}`);
  }
  rule(chain: string, rule: string, comment?: string): void {
    this.rules.push(`add rule ${TABLE} ${chain} ${rule}${comment ? ` ${quoteComment(comment)}` : ''}`);
  }
  element(container: string, key: string, value?: string, comment?: string): void {
    this.elements.push(`add element ${TABLE} ${container} { ${key}${comment ? ` ${quoteComment(comment)}` : ''}${value ? ` : ${value}` : ''} }`);
  }
  render(): string {
    return `${[...this.tables, ...this.containers, ...this.chains, ...this.rules, ...this.elements].join('\n')}\n`;
  }
}

/** kube-proxy's base chains: its filters see pre-DNAT destinations (dstnat - 10), its NAT the usual hooks. */
const BASE_CHAINS: [name: string, type: string, hook: string, priority: number][] = [
  ['filter-prerouting-pre-dnat', 'filter', 'prerouting', -110],
  ['filter-output-pre-dnat', 'filter', 'output', -110],
  ['filter-forward', 'filter', 'forward', 0],
  ['filter-input', 'filter', 'input', 0],
  ['filter-output', 'filter', 'output', 0],
  ['nat-output', 'nat', 'output', -100],
  ['nat-postrouting', 'nat', 'postrouting', 100],
  ['nat-prerouting', 'nat', 'prerouting', -100],
];

/** The jumps from the base chains, in rule order per chain (nftablesJumpChains). */
const JUMPS: [from: string, to: string, match: string][] = [
  ['filter-input', 'nodeport-endpoints-check', 'ct state new'],
  ['filter-input', 'service-endpoints-check', 'ct state new'],
  ['filter-forward', 'service-endpoints-check', 'ct state new'],
  ['filter-output', 'service-endpoints-check', 'ct state new'],
  ['filter-prerouting-pre-dnat', 'firewall-check', 'ct state new'],
  ['filter-output-pre-dnat', 'firewall-check', 'ct state new'],
  ['nat-output', 'services', ''],
  ['nat-prerouting', 'services', ''],
  ['nat-postrouting', 'masquerading', ''],
  ['filter-forward', 'cluster-ips-check', 'ct state new'],
  ['filter-output', 'cluster-ips-check', 'ct state new'],
];

const ADDR = 'ipv4_addr';
const SERVICE_KEY = `${ADDR} . inet_proto . inet_service`;

export function renderNftablesRules(input: NftablesOptions): string {
  const tx = new Transaction();
  setup(tx, input);
  for (const port of servicePortsForNode(input.services, input.endpointSlices, input.nodeName)) renderServicePort(tx, input, port);
  return tx.render();
}

function setup(tx: Transaction, input: NftablesOptions): void {
  tx.table('rules for kube-proxy');
  for (const [name, type, hook, priority] of BASE_CHAINS) tx.chain(name, `type ${type} hook ${hook} priority ${priority}`);
  for (const [from, to, match] of JUMPS) {
    tx.chain(to);
    tx.rule(from, [match, 'jump', to].filter(Boolean).join(' '));
  }
  for (const chain of ['services', 'cluster-ips-check', 'masquerading', 'mark-for-masquerade']) tx.chain(chain);

  // Masquerade plumbing, as in iptables mode: mark now, SNAT at postrouting, clear the mark on the way.
  tx.rule('mark-for-masquerade', `mark set mark or ${MASQUERADE_MARK}`);
  tx.rule('masquerading', `mark and ${MASQUERADE_MARK} == 0 return`);
  tx.rule('masquerading', `mark set mark xor ${MASQUERADE_MARK}`);
  if (input.masqueradePorts) {
    // A port range needs a transport protocol with ports (nft refuses it otherwise); the rest falls through.
    tx.rule('masquerading', `meta l4proto { tcp, udp, sctp } masquerade to :${input.masqueradePorts.min}-${input.masqueradePorts.max} fully-random`);
  }
  tx.rule('masquerading', 'masquerade fully-random');

  tx.set('set', 'cluster-ips', `type ${ADDR}`, quoteComment('Active ClusterIPs'));
  tx.rule('cluster-ips-check', 'ip daddr @cluster-ips reject', 'Reject traffic to invalid ports of ClusterIPs');
  if (input.serviceCidrs.length > 0) tx.rule('cluster-ips-check', `ip daddr { ${input.serviceCidrs.join(',')} } drop`, 'Drop traffic to unallocated ClusterIPs');

  // Without --nodeport-addresses every local address takes node ports (the set is then left out altogether).
  const nodePorts = resolveNodePortAddresses(input);
  if (!nodePorts.matchAll) {
    tx.set('set', 'nodeport-ips', `type ${ADDR}`, quoteComment('IPs that accept NodePort traffic'));
    // Node ports on 127.0.0.1 are not supported in nftables mode (no route_localnet).
    for (const ip of nodePorts.ips.filter((ip) => !ip.startsWith('127.'))) tx.element('nodeport-ips', ip);
  }

  tx.set('map', 'no-endpoint-services', `type ${SERVICE_KEY} : verdict`, quoteComment('vmap to drop or reject packets to services with no endpoints'));
  tx.set('map', 'no-endpoint-nodeports', 'type inet_proto . inet_service : verdict', quoteComment('vmap to drop or reject packets to service nodeports with no endpoints'));
  // reject is only allowed in input/forward/output, hence a chain to goto from the maps.
  tx.chain('reject-chain', quoteComment('helper for @no-endpoint-services / @no-endpoint-nodeports'));
  tx.rule('reject-chain', 'reject');
  tx.rule('service-endpoints-check', 'ip daddr . meta l4proto . th dport vmap @no-endpoint-services');
  const nodePortDestination = nodePorts.matchAll ? 'ip daddr != 127.0.0.0/8' : 'ip daddr @nodeport-ips';
  tx.rule('nodeport-endpoints-check', `${nodePortDestination} meta l4proto . th dport vmap @no-endpoint-nodeports`);

  tx.set('map', 'firewall-ips', `type ${SERVICE_KEY} : verdict`, quoteComment('destinations that are subject to LoadBalancerSourceRanges'));
  tx.rule('firewall-check', 'ip daddr . meta l4proto . th dport vmap @firewall-ips');

  tx.set('map', 'service-ips', `type ${SERVICE_KEY} : verdict`, quoteComment('ClusterIP, ExternalIP and LoadBalancer IP traffic'));
  tx.set('map', 'service-nodeports', 'type inet_proto . inet_service : verdict', quoteComment('NodePort traffic'));
  tx.rule('services', 'ip daddr . meta l4proto . th dport vmap @service-ips');
  tx.rule('services', `${nodePorts.matchAll ? 'fib daddr type local ip daddr != 127.0.0.0/8' : 'ip daddr @nodeport-ips'} meta l4proto . th dport vmap @service-nodeports`);
}

function renderServicePort(tx: Transaction, input: NftablesOptions, svc: KubeProxyServicePort): void {
  const spn = svc.portNameString;
  const proto = svc.protocol;
  const chains = nftServicePortChains(svc.namespace, svc.name, proto, svc.portName);
  const endpointNames = (ep: KubeProxyEndpoint) => nftEndpointNames(svc.namespace, svc.name, proto, svc.portName, ep);
  const { hasEndpoints } = svc;
  const affinity = svc.stickyMaxAgeSeconds !== undefined;
  const usesClusterPolicyChain = svc.clusterEndpoints.length > 0 && svc.usesClusterEndpoints;
  const usesLocalPolicyChain = svc.localEndpoints.length > 0 && svc.usesLocalEndpoints;
  const internalTrafficChain = svc.internalPolicyLocal ? chains.local : chains.cluster;
  const hasInternalEndpoints = hasEndpoints && (!svc.internalPolicyLocal || svc.localEndpoints.length > 0);
  const externalPolicyChain = svc.externalPolicyLocal ? chains.local : chains.cluster;
  const hasExternalEndpoints = hasEndpoints && (!svc.externalPolicyLocal || svc.localEndpoints.length > 0);
  const usesExternalTrafficChain = hasEndpoints && svc.externallyAccessible;
  const usesFWChain = svc.loadBalancerVIPs.length > 0 && svc.loadBalancerSourceRanges.length > 0;
  // No endpoints anywhere: reject; endpoints, but none this traffic may use (Local policy): drop.
  const filterVerdict = hasEndpoints ? 'drop' : 'goto reject-chain';
  const key = (ip: string, port: number) => `${ip} . ${proto} . ${port}`;

  for (const ep of svc.allLocallyReachableEndpoints) tx.chain(endpointNames(ep).chain);
  if (usesClusterPolicyChain) tx.chain(chains.cluster);
  if (usesLocalPolicyChain) tx.chain(chains.local);
  if (usesExternalTrafficChain) tx.chain(chains.external);

  tx.element('cluster-ips', svc.clusterIP);
  if (hasInternalEndpoints) tx.element('service-ips', key(svc.clusterIP, svc.port), `goto ${internalTrafficChain}`);
  else tx.element('no-endpoint-services', key(svc.clusterIP, svc.port), filterVerdict, spn);

  for (const ip of svc.externalIPs) {
    if (hasEndpoints) tx.element('service-ips', key(ip, svc.port), `goto ${chains.external}`);
    if (!hasExternalEndpoints) tx.element('no-endpoint-services', key(ip, svc.port), filterVerdict, spn);
  }

  if (usesFWChain) tx.chain(chains.firewall);
  for (const ip of svc.loadBalancerVIPs) {
    if (hasEndpoints) tx.element('service-ips', key(ip, svc.port), `goto ${chains.external}`);
    if (usesFWChain) tx.element('firewall-ips', key(ip, svc.port), `goto ${chains.firewall}`);
  }
  if (!hasExternalEndpoints) for (const ip of svc.loadBalancerVIPs) tx.element('no-endpoint-services', key(ip, svc.port), filterVerdict, spn);

  if (svc.nodePort !== 0) {
    // Node ports are not subject to loadBalancerSourceRanges (kube-proxy keeps that for compatibility).
    if (hasEndpoints) tx.element('service-nodeports', `${proto} . ${svc.nodePort}`, `goto ${chains.external}`);
    if (!hasExternalEndpoints) tx.element('no-endpoint-nodeports', `${proto} . ${svc.nodePort}`, filterVerdict, spn);
  }

  // Traffic to the ClusterIP from outside the pod network may bounce off-node: masquerade it.
  if (hasInternalEndpoints) tx.rule(internalTrafficChain, `ip daddr ${svc.clusterIP} ip saddr != ${input.clusterCidr} jump mark-for-masquerade`);

  if (usesExternalTrafficChain) {
    if (!svc.externalPolicyLocal) {
      // Cluster policy: the endpoint may be on another node, whose reply must come back through this one.
      tx.rule(chains.external, 'jump mark-for-masquerade');
    } else {
      // Local policy keeps the client address for outside traffic; pods and the node itself may use any endpoint.
      tx.rule(chains.external, `ip saddr ${input.clusterCidr} goto ${chains.cluster}`, 'short-circuit pod traffic');
      tx.rule(chains.external, 'fib saddr type local jump mark-for-masquerade', 'masquerade local traffic');
      tx.rule(chains.external, `fib saddr type local goto ${chains.cluster}`, 'short-circuit local traffic');
    }
    if (hasExternalEndpoints) tx.rule(chains.external, `goto ${externalPolicyChain}`);
  }

  if (usesFWChain) {
    const sources = [...svc.loadBalancerSourceRanges];
    // A VIP-like LB whose address is local to the node: a request from the node to it arrives with the VIP as source.
    if (svc.loadBalancerSourceRanges.some((cidr) => ipv4CidrContains(parseIpv4Cidr(cidr) ?? { network: -1, prefixLength: 32 }, input.nodeIP))) {
      sources.push(...svc.loadBalancerVIPs);
    }
    tx.rule(chains.firewall, `ip saddr != { ${sources.join(' , ')} } drop`);
  }

  if (affinity) {
    for (const ep of svc.allLocallyReachableEndpoints) {
      // Affinity is per client address and Service port, whichever Service IP was used (as in iptables mode).
      tx.set('set', endpointNames(ep).affinitySet, `type ${ADDR}`, 'flags dynamic,timeout', `timeout ${svc.stickyMaxAgeSeconds}s`);
    }
  }

  if (usesClusterPolicyChain) writeServiceToEndpointRules(tx, svc, chains.cluster, svc.clusterEndpoints, endpointNames);
  if (usesLocalPolicyChain) writeServiceToEndpointRules(tx, svc, chains.local, svc.localEndpoints, endpointNames);

  for (const ep of svc.allLocallyReachableEndpoints) {
    const { chain, affinitySet } = endpointNames(ep);
    // Hairpin: a pod reaching itself through its Service must see a different source, or it would answer itself.
    tx.rule(chain, `ip saddr ${ep.ip} jump mark-for-masquerade`);
    if (affinity) tx.rule(chain, `update @${affinitySet} { ip saddr }`);
    tx.rule(chain, `meta l4proto ${proto} dnat to ${ep.text}`);
  }
}

function writeServiceToEndpointRules(
  tx: Transaction,
  svc: KubeProxyServicePort,
  chain: string,
  endpoints: KubeProxyEndpoint[],
  names: (ep: KubeProxyEndpoint) => { chain: string; affinitySet: string },
): void {
  if (svc.stickyMaxAgeSeconds !== undefined) {
    for (const ep of endpoints) tx.rule(chain, `ip saddr @${names(ep).affinitySet} goto ${names(ep).chain}`);
  }
  // One random number per new connection picks the endpoint: numgen's uniform draw, no probability cascade.
  const targets = endpoints.map((ep, i) => `${i} : goto ${names(ep).chain}`).join(' , ');
  tx.rule(chain, `numgen random mod ${endpoints.length} vmap { ${targets} }`);
}
