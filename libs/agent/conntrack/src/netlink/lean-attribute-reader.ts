import { ParseError, u16host, u16net, u32host, u32net, u64net } from '@natlens/agent-wire';
import { NLA_HDRLEN, netlinkAlign } from './netlink-constants';

export { u16host, u16net, u32host, u32net, u64net };

/*
 * Reading netlink attributes in place for the lean decoder: numbers straight from the bytes (byte order in each
 * reader's name), attribute headers checked with the same ParseErrors as attributes.ts, no objects per attribute.
 */

const WHAT_ATTRIBUTE = 'netlink attribute';
/** nlmsg_len u32 @0 of struct nlmsghdr; nla_len u16 @0 of struct nlattr. */
export const LENGTH_OFFSET = 0;


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
