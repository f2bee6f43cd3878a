import type { KubeNode } from '@natlens/shared-model';
import { CidrTable } from './cidr-table';
import type { PodRef } from './cluster-types';
import { addressKey, firstHostAddress, ipKey, parseCidr } from './ip-address';

/** Address types of `status.addresses` that carry packets (Hostname and the DNS types are names). */
const ROUTABLE_ADDRESS_TYPES = new Set(['InternalIP', 'ExternalIP']);

export interface NodeAddressBook {
  /** Address key → node name, for every address that belongs to a node (see `indexNodeAddresses`). */
  readonly nodeByAddress: ReadonlyMap<string, string>;
  /** The nodes' pod CIDRs → node name. */
  readonly podNetworks: CidrTable<string>;
}

function podCidrsOf(node: KubeNode): string[] {
  const { podCIDR, podCIDRs } = node.spec;
  const cidrs = [...(podCIDRs ?? [])];
  if (podCIDR !== undefined && !cidrs.includes(podCIDR)) cidrs.unshift(podCIDR);
  return cidrs;
}

/**
 * Which addresses are a node's. Besides `status.addresses` (InternalIP, ExternalIP), we count the first host
 * address of each of the node's pod CIDRs (198.19.1.1 for 198.19.1.0/24): bridge and kubenet CNIs put it on the
 * node's bridge (cbr0/cni0) as the pods' gateway, and it is the source address the node uses towards its own pods,
 * so hairpin and local masquerade SNAT a connection to it. This is a heuristic: CNIs that hand that address to a
 * pod (Calico, Cilium) make it a pod address, so a known pod address always wins over it.
 */
export function indexNodeAddresses(nodes: readonly KubeNode[], podByAddress: ReadonlyMap<string, PodRef>): NodeAddressBook {
  const nodeByAddress = new Map<string, string>();
  const podNetworks = new CidrTable<string>();
  for (const node of nodes) {
    for (const { type, address } of node.status.addresses) {
      const key = ROUTABLE_ADDRESS_TYPES.has(type) ? ipKey(address) : undefined;
      if (key !== undefined && !nodeByAddress.has(key)) nodeByAddress.set(key, node.metadata.name);
    }
  }
  for (const node of nodes) {
    for (const text of podCidrsOf(node)) {
      const cidr = parseCidr(text);
      if (cidr === undefined) continue;
      podNetworks.add(cidr, node.metadata.name);
      const gatewayKey = addressKey(firstHostAddress(cidr));
      if (!podByAddress.has(gatewayKey) && !nodeByAddress.has(gatewayKey)) nodeByAddress.set(gatewayKey, node.metadata.name);
    }
  }
  return { nodeByAddress, podNetworks };
}
