import type { KubeNode } from '@natlens/shared-model';
import { CidrTable } from './cidr-table';
import { type Cidr, cidrContains, type IpAddress, ipKey, parseCidr, parseIp } from './ip-address';

export interface NodeAddressBook {
  /** Address key → node name, for every address that belongs to a node (see `indexNodeAddresses`). */
  readonly nodeByAddress: ReadonlyMap<string, string>;
  /** The nodes' pod CIDRs → node name. */
  readonly podNetworks: CidrTable<string>;
  /**
   * Address keys on which node ports are accepted. Every address of `nodeByAddress`, except the local node's
   * addresses that kube-proxy's `nodePortAddresses` leaves out (see `withLocalNodeAddresses`).
   */
  readonly nodePortAddresses: ReadonlySet<string>;
}

/** What one node knows of itself beyond its Node object: the addresses on its own interfaces. */
export interface LocalNodeAddresses {
  /** The node's name as the cluster knows it. */
  readonly node: string;
  /** Every address on the node's interfaces, loopback included (a connection from 127.0.0.1 is the node's own). */
  readonly addresses: readonly string[];
  /**
   * kube-proxy's `nodePortAddresses`: the CIDRs whose local addresses accept node ports, and `primary` for the node's
   * own addresses as its Node object lists them (kube-proxy's nftables default). Absent or empty: every local address,
   * 127.0.0.1 included, as kube-proxy's iptables mode does by default (it sets `route_localnet` for it).
   */
  readonly nodePortAddresses?: readonly string[];
}

function podCidrsOf(node: KubeNode): string[] {
  const { podCIDR, podCIDRs } = node.spec;
  const cidrs = [...(podCIDRs ?? [])];
  if (podCIDR !== undefined && !cidrs.includes(podCIDR)) cidrs.unshift(podCIDR);
  return cidrs;
}

/**
 * Which addresses are a node's, from the Node objects alone: every `status.addresses` entry that is an IP address,
 * whatever its type (InternalIP, ExternalIP; a Hostname or DNS entry only when a provider wrote an address there).
 * Nothing is guessed from the pod CIDR: which address a node's bridge or tunnel device holds depends on the CNI,
 * and only the node itself knows it (its agent adds its interface addresses: `withLocalNodeAddresses`).
 */
export function indexNodeAddresses(nodes: readonly KubeNode[]): NodeAddressBook {
  const nodeByAddress = new Map<string, string>();
  const podNetworks = new CidrTable<string>();
  for (const node of nodes) {
    for (const { address } of node.status.addresses) {
      const key = ipKey(address);
      if (key !== undefined && !nodeByAddress.has(key)) nodeByAddress.set(key, node.metadata.name);
    }
  }
  for (const node of nodes) {
    for (const text of podCidrsOf(node)) {
      const cidr = parseCidr(text);
      if (cidr !== undefined) podNetworks.add(cidr, node.metadata.name);
    }
  }
  return { nodeByAddress, podNetworks, nodePortAddresses: new Set(nodeByAddress.keys()) };
}

/**
 * The book as one node sees it: its interface addresses are its own (they win over what the Node objects say of an
 * address, e.g. a VIP that moved here), and node ports are accepted on those of them that `nodePortAddresses`
 * admits. Other nodes' addresses keep accepting node ports as their Node objects list them.
 */
export function withLocalNodeAddresses(book: NodeAddressBook, local: LocalNodeAddresses): NodeAddressBook {
  const nodeByAddress = new Map(book.nodeByAddress);
  const nodePortAddresses = new Set(book.nodePortAddresses);
  const filter = local.nodePortAddresses ?? [];
  const accepted = filter.map(parseCidr).filter((cidr): cidr is Cidr => cidr !== undefined);
  const primary = filter.includes('primary');
  const accepts = (key: string, address: IpAddress): boolean =>
    filter.length === 0 || accepted.some((cidr) => cidrContains(cidr, address)) || (primary && book.nodeByAddress.get(key) === local.node);
  for (const text of local.addresses) {
    const address = parseIp(text);
    const key = ipKey(text);
    if (address === undefined || key === undefined) continue;
    if (accepts(key, address)) nodePortAddresses.add(key);
    else nodePortAddresses.delete(key);
    nodeByAddress.set(key, local.node);
  }
  return { nodeByAddress, podNetworks: book.podNetworks, nodePortAddresses };
}
