import { isIPv4 } from 'node:net';

/*
 * The little IPv4 arithmetic the renderers need: kube-proxy normalises a loadBalancerSourceRange to its network
 * (`net.IPNet.String()`) and picks node-port addresses by CIDR. The lab is IPv4-only, and so are its renderers.
 */

function toNumber(address: string): number {
  return address.split('.').reduce((value, octet) => value * 256 + Number(octet), 0);
}

function toText(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

export interface Ipv4Cidr {
  network: number;
  prefixLength: number;
}

/** "203.0.113.7/25" → the network 203.0.113.0/25; undefined when the text is not an IPv4 CIDR (kube-proxy skips it). */
export function parseIpv4Cidr(text: string): Ipv4Cidr | undefined {
  const [address, prefix, extra] = text.trim().split('/');
  if (extra !== undefined || address === undefined || !isIPv4(address) || prefix === undefined || !/^\d{1,2}$/.test(prefix)) return undefined;
  const prefixLength = Number(prefix);
  if (prefixLength > 32) return undefined;
  const size = 2 ** (32 - prefixLength);
  return { network: Math.floor(toNumber(address) / size) * size, prefixLength };
}

export function formatIpv4Cidr(cidr: Ipv4Cidr): string {
  return `${toText(cidr.network)}/${cidr.prefixLength}`;
}

export function ipv4CidrContains(cidr: Ipv4Cidr, address: string): boolean {
  if (!isIPv4(address)) return false;
  const size = 2 ** (32 - cidr.prefixLength);
  return Math.floor(toNumber(address) / size) * size === cidr.network;
}

export function isIpv4Loopback(address: string): boolean {
  return isIPv4(address) && address.startsWith('127.');
}
