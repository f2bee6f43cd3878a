import { ParseError } from '@natlens/agent-wire';
import { NLA_F_NESTED, NLA_HDRLEN, NLA_LEN_OFFSET, NLA_TYPE_MASK, NLA_TYPE_OFFSET, netlinkAlign } from './netlink-constants';
import type { Parsed } from './netlink-message';

/*
 * Netlink attributes (struct nlattr): a 4-byte header in HOST byte order, the payload, padding to 4 bytes. The
 * payload's own byte order is the family's business; ctnetlink puts every number in NETWORK order.
 */

export interface NetlinkAttribute {
  /** nla_type without NLA_F_NESTED / NLA_F_NET_BYTEORDER. */
  type: number;
  /** Where the attribute header starts in the root buffer. */
  offset: number;
  /** The payload, without padding (a view, not a copy). */
  payload: Buffer;
  /** Where the payload starts in the root buffer, so errors inside nested attributes report absolute offsets. */
  payloadOffset: number;
}

const WHAT = 'netlink attribute';

/**
 * One attribute at offset in buf, which must end by `end` (the end of its parent). Offsets are absolute in buf, so
 * nested attributes are parsed over the same root buffer with a narrower end.
 */
export function parseAttribute(buf: Buffer, offset = 0, end = buf.length): Parsed<NetlinkAttribute> {
  if (end - offset < NLA_HDRLEN) {
    throw new ParseError(offset, `a ${NLA_HDRLEN}-byte attribute header, found ${Math.max(0, end - offset)} bytes`, WHAT);
  }
  const length = buf.readUInt16LE(offset + NLA_LEN_OFFSET); // host order
  const type = buf.readUInt16LE(offset + NLA_TYPE_OFFSET) & NLA_TYPE_MASK; // host order
  if (length < NLA_HDRLEN) {
    throw new ParseError(offset + NLA_LEN_OFFSET, `nla_len of at least ${NLA_HDRLEN}, found ${length}`, WHAT);
  }
  if (length > end - offset) {
    throw new ParseError(offset + NLA_LEN_OFFSET, `nla_len within the ${end - offset} bytes left in its parent, found ${length}`, WHAT);
  }
  const payloadOffset = offset + NLA_HDRLEN;
  return {
    value: { type, offset, payload: buf.subarray(payloadOffset, offset + length), payloadOffset },
    // The last attribute of a parent may end without its padding.
    consumed: Math.min(netlinkAlign(length), end - offset),
  };
}

/** Every attribute between start and end, in order. */
export function parseAttributes(buf: Buffer, start: number, end: number): NetlinkAttribute[] {
  const attributes: NetlinkAttribute[] = [];
  for (let offset = start; offset < end; ) {
    const { value, consumed } = parseAttribute(buf, offset, end);
    attributes.push(value);
    offset += consumed; // consumed >= NLA_HDRLEN: always advances
  }
  return attributes;
}

/** The attributes nested in attribute `parent` of the root buffer buf. */
export function parseNestedAttributes(buf: Buffer, parent: NetlinkAttribute): NetlinkAttribute[] {
  return parseAttributes(buf, parent.payloadOffset, parent.payloadOffset + parent.payload.length);
}

function expectPayloadLength(attribute: NetlinkAttribute, length: number, name: string): void {
  if (attribute.payload.length !== length) {
    throw new ParseError(attribute.offset, `${name} with a ${length}-byte payload, found ${attribute.payload.length} bytes`, WHAT);
  }
}

export function readU8(attribute: NetlinkAttribute, name: string): number {
  expectPayloadLength(attribute, 1, name);
  return attribute.payload.readUInt8(0);
}

/** A u16 in network order (ctnetlink's ports, zones, ICMP ids). */
export function readU16BE(attribute: NetlinkAttribute, name: string): number {
  expectPayloadLength(attribute, 2, name);
  return attribute.payload.readUInt16BE(0);
}

/** A u32 in network order (ctnetlink's status, mark, id, timeout, use). */
export function readU32BE(attribute: NetlinkAttribute, name: string): number {
  expectPayloadLength(attribute, 4, name);
  return attribute.payload.readUInt32BE(0);
}

/**
 * A u64 in network order (counters, timestamps), as a bigint: timestamps are ns since the epoch (~1.8e18), far past
 * Number.MAX_SAFE_INTEGER (~9e15), so a number would silently lose the low digits.
 */
export function readU64BE(attribute: NetlinkAttribute, name: string): bigint {
  expectPayloadLength(attribute, 8, name);
  return attribute.payload.readBigUInt64BE(0);
}

/** A fixed-size byte string (addresses), as a view. */
export function readBytes(attribute: NetlinkAttribute, length: number, name: string): Buffer {
  expectPayloadLength(attribute, length, name);
  return attribute.payload;
}

// ---------------------------------------------------------------------------------------------- writing

/** header (host order) + payload + zero padding to 4 bytes. */
export function formatAttribute(type: number, payload: Buffer): Buffer {
  const length = NLA_HDRLEN + payload.length;
  const out = Buffer.alloc(netlinkAlign(length));
  out.writeUInt16LE(length, NLA_LEN_OFFSET);
  out.writeUInt16LE(type, NLA_TYPE_OFFSET);
  payload.copy(out, NLA_HDRLEN);
  return out;
}

/** A nest, flagged NLA_F_NESTED as the kernel's nla_nest_start() does. */
export function formatNestedAttribute(type: number, children: readonly Buffer[]): Buffer {
  return formatAttribute(type | NLA_F_NESTED, Buffer.concat(children));
}

export function formatU8Attribute(type: number, value: number): Buffer {
  const payload = Buffer.alloc(1);
  payload.writeUInt8(value, 0);
  return formatAttribute(type, payload);
}

export function formatU16BEAttribute(type: number, value: number): Buffer {
  const payload = Buffer.alloc(2);
  payload.writeUInt16BE(value, 0); // network order
  return formatAttribute(type, payload);
}

export function formatU32BEAttribute(type: number, value: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(value, 0); // network order
  return formatAttribute(type, payload);
}

export function formatU64BEAttribute(type: number, value: bigint): Buffer {
  const payload = Buffer.alloc(8);
  payload.writeBigUInt64BE(value, 0); // network order
  return formatAttribute(type, payload);
}
