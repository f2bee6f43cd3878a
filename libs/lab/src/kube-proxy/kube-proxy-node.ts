import { KubeEndpointSlice, KubeService } from '@natlens/shared-model';
import { ipv4CidrContains, isIpv4Loopback, parseIpv4Cidr } from './ipv4';

/*
 * The per-node settings kube-proxy's rules depend on besides the Services and EndpointSlices: who the node is, which
 * of its addresses take node ports (--nodeport-addresses), and which sources are pods (--cluster-cidr, the default
 * detect-local-mode). Shared by both renderers.
 */
export interface KubeProxyNode {
  nodeName: string;
  /** The Node's primary IP: `--nodeport-addresses primary` and the LoadBalancer firewall's allowFromNode use it. */
  nodeIP: string;
  /** Every address on the node's interfaces, among which kube-proxy picks the node-port addresses. */
  nodeAddresses?: string[];
  /** --cluster-cidr: traffic from it is pod traffic (not masqueraded to a ClusterIP, short-circuited under Local). */
  clusterCidr: string;
  /**
   * --nodeport-addresses: CIDRs, or "primary" for the node IP. Empty (the iptables mode's default) means every local
   * address; kube-proxy's nftables mode defaults to ["primary"].
   */
  nodePortAddresses?: string[];
}

export interface KubeProxyRulesInput extends KubeProxyNode {
  services: KubeService[];
  endpointSlices: KubeEndpointSlice[];
  /**
   * The source ports the masquerade rule may pick (the lab's `kubeProxy.masqueradePortRange`); absent: kube-proxy's
   * rule as written, which leaves the choice to the kernel (the node's ephemeral range).
   */
  masqueradePorts?: { min: number; max: number };
}

/** kube-proxy's default --masquerade-bit 14. */
export const MASQUERADE_MARK = '0x4000';

export type NodePortAddresses = { matchAll: true; containsLoopback: true } | { matchAll: false; ips: string[]; containsLoopback: boolean };

/** proxyutil.NodePortAddresses: MatchAll(), GetNodeIPs() and ContainsIPv4Loopback() for IPv4. */
export function resolveNodePortAddresses(node: KubeProxyNode): NodePortAddresses {
  const cidrs = (node.nodePortAddresses ?? [])
    .map((text) => (text === 'primary' ? `${node.nodeIP}/32` : text))
    .map(parseIpv4Cidr)
    .filter((cidr) => cidr !== undefined);
  if (cidrs.length === 0 || cidrs.some((cidr) => cidr.prefixLength === 0)) return { matchAll: true, containsLoopback: true };
  const addresses = node.nodeAddresses ?? [node.nodeIP];
  const ips = [...new Set(addresses.filter((ip) => cidrs.some((cidr) => ipv4CidrContains(cidr, ip))))];
  return { matchAll: false, ips, containsLoopback: cidrs.some((cidr) => ipv4CidrContains(cidr, '127.0.0.1')) || ips.some(isIpv4Loopback) };
}
