import { ParseError } from '@natlens/agent-wire';
import { ipv4At, ipv6At } from './addresses';

/*
 * IPv4 (RFC 791) and IPv6 (RFC 8200). All fields are network order. A captured packet may be cut short by the
 * snap length: the header must be whole, the payload is whatever was captured (`truncated` says so).
 */

export const IpProtocol = { HOPOPT: 0, ICMP: 1, TCP: 6, UDP: 17, IPV6_ROUTE: 43, IPV6_FRAG: 44, ESP: 50, AH: 51, ICMPV6: 58, IPV6_NONXT: 59, IPV6_OPTS: 60, SCTP: 132 } as const;

export interface IpFragment {
  /** Byte offset of this fragment's data in the original datagram. */
  offset: number;
  moreFragments: boolean;
  identification: number;
}

export interface IpPacket {
  version: 4 | 6;
  src: string;
  dst: string;
  /** The upper-layer protocol (after IPv6 extension headers). */
  protocol: number;
  ttl: number;
  /** IPv4 options / IPv6 extension headers, as a view (empty when none). */
  options: Buffer;
  /** Set on every fragment, first one included; only the first (offset 0) carries the transport header. */
  fragment?: IpFragment;
  /** The upper-layer bytes that were captured. */
  payload: Buffer;
  /** The packet was longer than what was captured (snap length). */
  truncated: boolean;
}

const IPV4_MIN_HEADER_LENGTH = 20;
const IPV4_TOTAL_LENGTH_OFFSET = 2;
const IPV4_IDENTIFICATION_OFFSET = 4;
const IPV4_FLAGS_FRAGMENT_OFFSET = 6; // flags (3 bits: reserved, DF, MF) + fragment offset (13 bits, 8-byte units)
const IPV4_TTL_OFFSET = 8;
const IPV4_PROTOCOL_OFFSET = 9;
const IPV4_SRC_OFFSET = 12;
const IPV4_DST_OFFSET = 16;
const IPV4_MF = 0x2000;
const IPV4_FRAGMENT_OFFSET_MASK = 0x1fff;

export function parseIPv4(buf: Buffer): { value: IpPacket; consumed: number } {
  if (buf.length < IPV4_MIN_HEADER_LENGTH) throw new ParseError(buf.length, `an IPv4 header of at least ${IPV4_MIN_HEADER_LENGTH} bytes`, 'IPv4 packet');
  const versionIhl = buf.readUInt8(0);
  if (versionIhl >> 4 !== 4) throw new ParseError(0, 'IP version 4', 'IPv4 packet');
  const headerLength = (versionIhl & 0x0f) * 4;
  if (headerLength < IPV4_MIN_HEADER_LENGTH) throw new ParseError(0, 'a header length (IHL) of at least 5 words', 'IPv4 packet');
  if (buf.length < headerLength) throw new ParseError(buf.length, `the ${headerLength}-byte header with its options`, 'IPv4 packet');
  const totalLength = buf.readUInt16BE(IPV4_TOTAL_LENGTH_OFFSET);
  // Total length 0 is what TSO/GSO super-packets captured on the sending host carry; take what was captured.
  if (totalLength !== 0 && totalLength < headerLength) throw new ParseError(IPV4_TOTAL_LENGTH_OFFSET, `a total length of at least the header length ${headerLength}`, 'IPv4 packet');
  const end = totalLength === 0 ? buf.length : Math.min(totalLength, buf.length);
  const flagsFragment = buf.readUInt16BE(IPV4_FLAGS_FRAGMENT_OFFSET);
  const fragmentOffset = (flagsFragment & IPV4_FRAGMENT_OFFSET_MASK) * 8;
  const moreFragments = (flagsFragment & IPV4_MF) !== 0;
  const value: IpPacket = {
    version: 4,
    src: ipv4At(buf, IPV4_SRC_OFFSET),
    dst: ipv4At(buf, IPV4_DST_OFFSET),
    protocol: buf.readUInt8(IPV4_PROTOCOL_OFFSET),
    ttl: buf.readUInt8(IPV4_TTL_OFFSET),
    options: buf.subarray(IPV4_MIN_HEADER_LENGTH, headerLength),
    payload: buf.subarray(headerLength, end),
    truncated: totalLength > buf.length,
  };
  if (moreFragments || fragmentOffset !== 0) {
    value.fragment = { offset: fragmentOffset, moreFragments, identification: buf.readUInt16BE(IPV4_IDENTIFICATION_OFFSET) };
  }
  return { value, consumed: end };
}

const IPV6_HEADER_LENGTH = 40;
const IPV6_PAYLOAD_LENGTH_OFFSET = 4;
const IPV6_NEXT_HEADER_OFFSET = 6;
const IPV6_HOP_LIMIT_OFFSET = 7;
const IPV6_SRC_OFFSET = 8;
const IPV6_DST_OFFSET = 24;
const IPV6_FRAGMENT_HEADER_LENGTH = 8; // next (1) + reserved (1) + offset/flags (2: offset in 8-byte units << 3 | M) + id (4)
/** Hop-by-hop, routing, destination options and the rest of RFC 8200 section 4 share: next header (1), length (1, in 8-byte units not counting the first 8). */
const IPV6_EXTENSION_LENGTH_UNIT = 8;
/** A chain longer than this is malformed or hostile (RFC 7112 asks for the whole chain in the first fragment). */
const IPV6_MAX_EXTENSION_HEADERS = 8;

export function parseIPv6(buf: Buffer): { value: IpPacket; consumed: number } {
  if (buf.length < IPV6_HEADER_LENGTH) throw new ParseError(buf.length, `an IPv6 header of ${IPV6_HEADER_LENGTH} bytes`, 'IPv6 packet');
  if (buf.readUInt8(0) >> 4 !== 6) throw new ParseError(0, 'IP version 6', 'IPv6 packet');
  const payloadLength = buf.readUInt16BE(IPV6_PAYLOAD_LENGTH_OFFSET);
  // Payload length 0 with a hop-by-hop jumbo option, or a GSO packet: take what was captured.
  const end = payloadLength === 0 ? buf.length : Math.min(IPV6_HEADER_LENGTH + payloadLength, buf.length);
  let next = buf.readUInt8(IPV6_NEXT_HEADER_OFFSET);
  let offset = IPV6_HEADER_LENGTH;
  let fragment: IpFragment | undefined;
  for (let count = 0; ; count++) {
    if (next !== IpProtocol.HOPOPT && next !== IpProtocol.IPV6_ROUTE && next !== IpProtocol.IPV6_OPTS && next !== IpProtocol.IPV6_FRAG && next !== IpProtocol.AH) break;
    if (count === IPV6_MAX_EXTENSION_HEADERS) throw new ParseError(offset, `at most ${IPV6_MAX_EXTENSION_HEADERS} extension headers`, 'IPv6 packet');
    if (end < offset + 2) throw new ParseError(offset, 'a complete extension header', 'IPv6 packet');
    const header = next;
    next = buf.readUInt8(offset);
    let length: number;
    if (header === IpProtocol.IPV6_FRAG) {
      if (end < offset + IPV6_FRAGMENT_HEADER_LENGTH) throw new ParseError(offset, 'an 8-byte fragment header', 'IPv6 packet');
      const offsetFlags = buf.readUInt16BE(offset + 2);
      fragment = { offset: offsetFlags & 0xfff8, moreFragments: (offsetFlags & 1) === 1, identification: buf.readUInt32BE(offset + 4) };
      length = IPV6_FRAGMENT_HEADER_LENGTH;
    } else if (header === IpProtocol.AH) {
      length = (buf.readUInt8(offset + 1) + 2) * 4; // RFC 4302: payload length in 4-byte words, minus 2
    } else {
      length = (buf.readUInt8(offset + 1) + 1) * IPV6_EXTENSION_LENGTH_UNIT;
    }
    if (end < offset + length) throw new ParseError(offset, `an extension header of ${length} bytes`, 'IPv6 packet');
    offset += length;
    // Only the first fragment carries the upper-layer header.
    if (fragment && fragment.offset !== 0) break;
  }
  const value: IpPacket = {
    version: 6,
    src: ipv6At(buf, IPV6_SRC_OFFSET),
    dst: ipv6At(buf, IPV6_DST_OFFSET),
    protocol: next,
    ttl: buf.readUInt8(IPV6_HOP_LIMIT_OFFSET),
    options: buf.subarray(IPV6_HEADER_LENGTH, offset),
    payload: buf.subarray(offset, end),
    truncated: payloadLength !== 0 && IPV6_HEADER_LENGTH + payloadLength > buf.length,
  };
  if (fragment) value.fragment = fragment;
  return { value, consumed: end };
}
