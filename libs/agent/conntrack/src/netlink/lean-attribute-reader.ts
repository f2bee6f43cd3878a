import { ParseError } from '@natlens/agent-pcap';
import { NLA_HDRLEN, netlinkAlign } from './netlink-constants';

/*
 * Reading netlink attributes in place for the lean decoder: numbers straight from the bytes (byte order in each
 * reader's name), attribute headers checked with the same ParseErrors as attributes.ts, no objects per attribute.
 */

const WHAT_ATTRIBUTE = 'netlink attribute';
/** nlmsg_len u32 @0 of struct nlmsghdr; nla_len u16 @0 of struct nlattr. */
export const LENGTH_OFFSET = 0;
const TWO_POW_32 = 4294967296;

// Host order is little-endian on every target we build (x86-64, arm64), as in netlink-message.ts.
export const u16host = (buf: Buffer, at: number): number => (buf[at] as number) | ((buf[at + 1] as number) << 8);
export const u32host = (buf: Buffer, at: number): number => u16host(buf, at) + u16host(buf, at + 2) * 0x10000;
export const u16net = (buf: Buffer, at: number): number => ((buf[at] as number) << 8) | (buf[at + 1] as number);
export const u32net = (buf: Buffer, at: number): number => u16net(buf, at) * 0x10000 + u16net(buf, at + 2);

/** Checks every attribute header between start and end, as parseAttributes() does before any payload is read. */
export function checkAttributes(buf: Buffer, start: number, end: number): void {
  for (let at = start; at < end; ) {
    const left = end - at;
    if (left < NLA_HDRLEN) throw new ParseError(at, `a ${NLA_HDRLEN}-byte attribute header, found ${left} bytes`, WHAT_ATTRIBUTE);
    const length = u16host(buf, at + LENGTH_OFFSET);
    if (length < NLA_HDRLEN) throw new ParseError(at + LENGTH_OFFSET, `nla_len of at least ${NLA_HDRLEN}, found ${length}`, WHAT_ATTRIBUTE);
    if (length > left) throw new ParseError(at + LENGTH_OFFSET, `nla_len within the ${left} bytes left in its parent, found ${length}`, WHAT_ATTRIBUTE);
    at += Math.min(netlinkAlign(length), left);
  }
}

/** From a checked attribute to the next: its length padded to 4 bytes; the last one of a nest may lack the padding. */
export function step(buf: Buffer, at: number, end: number): number {
  return Math.min(netlinkAlign(u16host(buf, at + LENGTH_OFFSET)), end - at);
}

export function expectLength(at: number, payloadEnd: number, length: number, name: string): void {
  const found = payloadEnd - at - NLA_HDRLEN;
  if (found !== length) throw new ParseError(at, `${name} with a ${length}-byte payload, found ${found} bytes`, WHAT_ATTRIBUTE);
}

/**
 * The dotted quad of the IPv4 address at `at`, from a cache keyed by its 32-bit value: a node sees the same few
 * addresses (clients, frontends, pods) in event after event, so each text is made once and shared by every entry
 * and record that holds it. Bounded: cleared when full. The output is exactly formatIPv4()'s.
 */
export function ipv4Text(buf: Buffer, at: number): string {
  // As a signed 32-bit number: a small integer to V8, where the unsigned value of most addresses (198.x and up is
  // above 2^31) would be boxed in a heap number for every lookup.
  const value = u32net(buf, at) | 0;
  let text = IPV4_TEXT.get(value);
  if (text === undefined) {
    if (IPV4_TEXT.size >= IPV4_TEXT_LIMIT) IPV4_TEXT.clear();
    text = `${buf[at]}.${buf[at + 1]}.${buf[at + 2]}.${buf[at + 3]}`;
    IPV4_TEXT.set(value, text);
  }
  return text;
}
const IPV4_TEXT = new Map<number, string>();
const IPV4_TEXT_LIMIT = 65_536;

/** A u64 in network order to the nearest double (Number(bigint) rounds the same way: one rounding of hi·2^32 + lo). */
export function u64net(buf: Buffer, at: number): number {
  return u32net(buf, at) * TWO_POW_32 + u32net(buf, at + 4);
}
