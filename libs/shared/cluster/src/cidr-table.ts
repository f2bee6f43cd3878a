import { ADDRESS_BITS, type Cidr, type IpAddress, networkOf } from './ip-address';

/**
 * Longest-prefix lookup over a set of networks (the nodes' pod CIDRs). Networks are grouped by prefix length and
 * each group is a hash map from network address to value, so a lookup costs one map probe per distinct prefix
 * length: a cluster hands every node a pod CIDR of the same size (kube-controller-manager --node-cidr-mask-size,
 * one per family), so that is one or two probes whatever the number of nodes.
 */
export class CidrTable<T> {
  /** Prefix lengths per family, longest first, so the most specific network wins. */
  private readonly groups: { family: 4 | 6; prefixLength: number; networks: Map<bigint, T> }[] = [];

  /** Adds a network; the first value added for a network is kept. */
  add(cidr: Cidr, value: T): void {
    let group = this.groups.find((g) => g.family === cidr.family && g.prefixLength === cidr.prefixLength);
    if (group === undefined) {
      group = { family: cidr.family, prefixLength: cidr.prefixLength, networks: new Map() };
      this.groups.push(group);
      this.groups.sort((a, b) => b.prefixLength - a.prefixLength);
    }
    if (!group.networks.has(cidr.network)) group.networks.set(cidr.network, value);
  }

  /** The value of the most specific network that contains the address. */
  lookup(address: IpAddress): T | undefined {
    for (const group of this.groups) {
      if (group.family !== address.family) continue;
      const value = group.networks.get(networkOf(address.value, ADDRESS_BITS[address.family], group.prefixLength));
      if (value !== undefined) return value;
    }
    return undefined;
  }
}
