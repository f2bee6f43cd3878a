import { isIPv4, isIPv6 } from 'node:net';

/*
 * Address arithmetic for the index: one canonical key per address, so that "2001:db8::1", "2001:DB8:0::1" and the
 * IPv4-mapped "::ffff:198.18.0.11" (how a dual-stack socket or a pcap of an IPv6 capture may spell an IPv4 peer)
 * all find the same map entry.
 */

export type IpFamily = 4 | 6;

export interface IpAddress {
  readonly family: IpFamily;
  /** The address as an unsigned integer: 32 bits for IPv4, 128 for IPv6. */
  readonly value: bigint;
}

export interface Cidr {
  readonly family: IpFamily;
  /** The network address (host bits cleared). */
  readonly network: bigint;
  readonly prefixLength: number;
}

export const ADDRESS_BITS: Readonly<Record<IpFamily, number>> = { 4: 32, 6: 128 };
const IPV4_MAPPED_PREFIX = 0xffffn << 32n; // ::ffff:0:0/96 (RFC 4291 §2.5.5.2)
const IPV4_MAPPED_MASK = ~0xffffffffn & ((1n << 128n) - 1n);

function parseIpv4Value(text: string): bigint {
  let value = 0n;
  for (const octet of text.split('.')) value = (value << 8n) | BigInt(Number(octet));
  return value;
}

function parseIpv6Value(text: string): bigint {
  let hex = text;
  // An embedded dotted quad (e.g. ::ffff:198.18.0.11) stands for the last two 16-bit groups.
  const lastColon = hex.lastIndexOf(':');
  const tail = hex.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = parseIpv4Value(tail);
    hex = `${hex.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [left = '', right] = hex.split('::');
  const leftGroups = left === '' ? [] : left.split(':');
  const rightGroups = right === undefined || right === '' ? [] : right.split(':');
  const zeros = right === undefined ? [] : new Array<string>(8 - leftGroups.length - rightGroups.length).fill('0');
  let value = 0n;
  for (const group of [...leftGroups, ...zeros, ...rightGroups]) value = (value << 16n) | BigInt(parseInt(group, 16));
  return value;
}

/** Parses an IPv4 or IPv6 address; an IPv4-mapped IPv6 address becomes its IPv4 address. Zone ids are dropped. */
export function parseIp(text: string): IpAddress | undefined {
  if (isIPv4(text)) return { family: 4, value: parseIpv4Value(text) };
  const withoutZone = text.split('%', 1)[0] ?? '';
  if (!isIPv6(withoutZone)) return undefined;
  const value = parseIpv6Value(withoutZone);
  if ((value & IPV4_MAPPED_MASK) === IPV4_MAPPED_PREFIX) return { family: 4, value: value & 0xffffffffn };
  return { family: 6, value };
}

/** A map key for the address: the dotted quad for IPv4, "6:" and the 128-bit value in hex for IPv6. */
export function addressKey(address: IpAddress): string {
  return address.family === 4 ? formatIpv4(address.value) : `6:${address.value.toString(16)}`;
}

/** The canonical map key of an address written as text, or undefined when the text is no address. */
export function ipKey(text: string): string | undefined {
  // Fast path: the common case is a well-formed dotted quad, which is already canonical.
  if (isIPv4(text)) return text;
  const address = parseIp(text);
  return address === undefined ? undefined : addressKey(address);
}

function formatIpv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => Number((value >> shift) & 0xffn)).join('.');
}

function formatIpv6(value: bigint): string {
  const groups = [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n].map((shift) => Number((value >> shift) & 0xffffn));
  // RFC 5952 §4.2: compress the longest run (of at least two) of zero groups, the first one on a tie.
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < groups.length; ) {
    if (groups[start] !== 0) {
      start += 1;
      continue;
    }
    let end = start;
    while (end < groups.length && groups[end] === 0) end += 1;
    if (end - start > bestLength) [bestStart, bestLength] = [start, end - start];
    start = end;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** The RFC 5952 text of an address (lower case, longest zero run compressed). */
export function formatIp(address: IpAddress): string {
  return address.family === 4 ? formatIpv4(address.value) : formatIpv6(address.value);
}

/** Parses "198.19.1.0/24" or "fd00:10:244:1::/64"; host bits are cleared. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const address = parseIp(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (address === undefined || !/^\d{1,3}$/.test(prefixText)) return undefined;
  // A mapped IPv4 network written in IPv6 notation keeps its length relative to 128 bits; we do not expect one.
  if (text.slice(0, slash).includes(':') && address.family === 4) return undefined;
  const prefixLength = Number(prefixText);
  const bits = ADDRESS_BITS[address.family];
  if (prefixLength > bits) return undefined;
  return { family: address.family, network: networkOf(address.value, bits, prefixLength), prefixLength };
}

/** The address with its host bits cleared. */
export function networkOf(value: bigint, bits: number, prefixLength: number): bigint {
  const hostBits = BigInt(bits - prefixLength);
  return (value >> hostBits) << hostBits;
}

/** Whether the address lies inside the network. */
export function cidrContains(cidr: Cidr, address: IpAddress): boolean {
  return cidr.family === address.family && networkOf(address.value, ADDRESS_BITS[cidr.family], cidr.prefixLength) === cidr.network;
}
