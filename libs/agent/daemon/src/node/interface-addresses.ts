import { networkInterfaces } from 'node:os';

/** One address on one of the node's interfaces, as the kernel lists it in the agent's network namespace. */
export interface InterfaceAddressInfo {
  readonly address: string;
  readonly interface: string;
  /** Loopback (127.0.0.0/8, ::1): the node's own, but every node has it, so it is never reported. */
  readonly internal: boolean;
}

/** The addresses on this network namespace's interfaces (the agent runs in the node's: hostNetwork, or `ip netns exec`). */
export function readInterfaceAddresses(): InterfaceAddressInfo[] {
  const out: InterfaceAddressInfo[] = [];
  for (const [name, entries] of Object.entries(networkInterfaces())) {
    for (const entry of entries ?? []) out.push({ address: entry.address.split('%', 1)[0] ?? entry.address, interface: name, internal: entry.internal });
  }
  return out;
}

/** IPv6 link-local (fe80::/10): every interface has one, they repeat across nodes, and no Service traffic uses them. */
export function isLinkLocal(address: string): boolean {
  return /^fe[89ab][0-9a-f]:/i.test(address);
}

/**
 * What the node report carries: every address but loopback and IPv6 link-local, which are this node's own business
 * (the agent still counts them as its own when it classifies its connections). Sorted, so a report changes only when
 * the addresses do. Pure.
 */
export function reportableAddresses(addresses: readonly InterfaceAddressInfo[]): { address: string; interface: string }[] {
  return addresses
    .filter((a) => !a.internal && !isLinkLocal(a.address))
    .map((a) => ({ address: a.address, interface: a.interface }))
    .sort((a, b) => a.interface.localeCompare(b.interface) || a.address.localeCompare(b.address));
}
