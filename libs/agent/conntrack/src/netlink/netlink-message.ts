import { ParseError } from '@natlens/agent-wire';
import {
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  NFGENMSG_FAMILY_OFFSET,
  NFGENMSG_LEN,
  NFGENMSG_RES_ID_OFFSET,
  NFGENMSG_VERSION_OFFSET,
  NFNETLINK_V0,
  NLMSG_DONE_ERROR_LENGTH,
  NLMSG_FLAGS_OFFSET,
  NLMSG_HDRLEN,
  NLMSG_LEN_OFFSET,
  NLMSG_PID_OFFSET,
  NLMSG_SEQ_OFFSET,
  NLMSG_TYPE_OFFSET,
  NLMSGERR_ERROR_LENGTH,
  NLMSGERR_LENGTH,
  netlinkAlign,
} from './netlink-constants';

/*
 * Netlink framing: a datagram from a netlink socket holds one or more messages, each a 16-byte nlmsghdr in host
 * byte order followed by its payload, the next message starting at the next 4-byte boundary (netlink(7)).
 */

export interface NetlinkHeader {
  /** nlmsg_len: header and payload, without the padding that follows. */
  length: number;
  type: number;
  flags: number;
  seq: number;
  pid: number;
}

export interface NetlinkMessage {
  /** Where the message starts in the buffer it was parsed from. */
  offset: number;
  header: NetlinkHeader;
  /** Everything after the header (a view into the parsed buffer, not a copy). */
  payload: Buffer;
  /** Where the payload starts in the buffer it was parsed from, to report errors inside it at absolute offsets. */
  payloadOffset: number;
}

export interface Parsed<T> {
  value: T;
  /** Bytes used, padding to the next 4-byte boundary included when the buffer has it. */
  consumed: number;
}

const WHAT = 'netlink message';

/** Reads one nlmsghdr at offset. Host byte order is little-endian on x86-64 and arm64, the only targets we build. */
export function parseNetlinkHeader(buf: Buffer, offset = 0): Parsed<NetlinkHeader> {
  if (buf.length - offset < NLMSG_HDRLEN) {
    throw new ParseError(offset, `a ${NLMSG_HDRLEN}-byte nlmsghdr, found ${Math.max(0, buf.length - offset)} bytes`, WHAT);
  }
  const value: NetlinkHeader = {
    length: buf.readUInt32LE(offset + NLMSG_LEN_OFFSET), // host order
    type: buf.readUInt16LE(offset + NLMSG_TYPE_OFFSET), // host order
    flags: buf.readUInt16LE(offset + NLMSG_FLAGS_OFFSET), // host order
    seq: buf.readUInt32LE(offset + NLMSG_SEQ_OFFSET), // host order
    pid: buf.readUInt32LE(offset + NLMSG_PID_OFFSET), // host order
  };
  return { value, consumed: NLMSG_HDRLEN };
}

/** Writes an nlmsghdr (host byte order) at offset. */
export function formatNetlinkHeader(header: NetlinkHeader, out: Buffer = Buffer.alloc(NLMSG_HDRLEN), offset = 0): Buffer {
  out.writeUInt32LE(header.length, offset + NLMSG_LEN_OFFSET);
  out.writeUInt16LE(header.type, offset + NLMSG_TYPE_OFFSET);
  out.writeUInt16LE(header.flags, offset + NLMSG_FLAGS_OFFSET);
  out.writeUInt32LE(header.seq, offset + NLMSG_SEQ_OFFSET);
  out.writeUInt32LE(header.pid, offset + NLMSG_PID_OFFSET);
  return out;
}

/** One message at offset: its header checked against the buffer, its payload as a view. */
export function parseNetlinkMessage(buf: Buffer, offset = 0): Parsed<NetlinkMessage> {
  const { value: header } = parseNetlinkHeader(buf, offset);
  if (header.length < NLMSG_HDRLEN) {
    throw new ParseError(offset + NLMSG_LEN_OFFSET, `nlmsg_len of at least ${NLMSG_HDRLEN}, found ${header.length}`, WHAT);
  }
  const available = buf.length - offset;
  if (header.length > available) {
    throw new ParseError(offset + NLMSG_LEN_OFFSET, `nlmsg_len within the ${available} bytes left, found ${header.length}`, WHAT);
  }
  const payloadOffset = offset + NLMSG_HDRLEN;
  const value: NetlinkMessage = { offset, header, payload: buf.subarray(payloadOffset, offset + header.length), payloadOffset };
  // The last message of a datagram may end without its padding; never step past the buffer.
  return { value, consumed: Math.min(netlinkAlign(header.length), available) };
}

/** Every message in a datagram, in order. The first malformed one throws ParseError (framing cannot resync). */
export function parseNetlinkMessages(buf: Buffer): NetlinkMessage[] {
  const messages: NetlinkMessage[] = [];
  for (let offset = 0; offset < buf.length; ) {
    const { value, consumed } = parseNetlinkMessage(buf, offset);
    messages.push(value);
    offset += consumed; // consumed >= NLMSG_HDRLEN, so the loop always advances
  }
  return messages;
}

/**
 * Every message of one datagram, each turned into a T by `classify` (undefined: skip it, e.g. NLMSG_NOOP). `collect`
 * false throws the first ParseError; true reports a malformed message and reads on, and stops at a malformed nlmsghdr
 * (the next message's position is only known from a trustworthy nlmsg_len). Nothing but ParseError is caught.
 */
export function parseNetlinkDatagram<T>(buf: Buffer, classify: (buf: Buffer, message: NetlinkMessage) => T | undefined, collect: boolean): { messages: T[]; errors: ParseError[] } {
  const batch: { messages: T[]; errors: ParseError[] } = { messages: [], errors: [] };
  for (let offset = 0; offset < buf.length; ) {
    let framed: Parsed<NetlinkMessage>;
    try {
      framed = parseNetlinkMessage(buf, offset);
    } catch (error) {
      if (!collect || !(error instanceof ParseError)) throw error;
      batch.errors.push(error);
      break;
    }
    try {
      const message = classify(buf, framed.value);
      if (message !== undefined) batch.messages.push(message);
    } catch (error) {
      if (!collect || !(error instanceof ParseError)) throw error;
      batch.errors.push(error);
    }
    offset += framed.consumed; // at least NLMSG_HDRLEN: always advances
  }
  return batch;
}

export interface NetlinkError {
  /** A positive errno (2 = ENOENT, 22 = EINVAL); 0 means the message is an ACK. The kernel sends it negated. */
  errno: number;
  /** The header of the request this answers: match it to a request by seq. */
  request: NetlinkHeader;
}

/** The payload of an NLMSG_ERROR message (struct nlmsgerr). What follows the request header is not read. */
export function parseNetlinkError(message: NetlinkMessage): NetlinkError {
  if (message.payload.length < NLMSGERR_LENGTH) {
    throw new ParseError(message.payloadOffset, `a ${NLMSGERR_LENGTH}-byte struct nlmsgerr, found ${message.payload.length} bytes`, 'NLMSG_ERROR');
  }
  const error = message.payload.readInt32LE(0); // host order, signed
  const { value: request } = parseNetlinkHeader(message.payload, NLMSGERR_ERROR_LENGTH);
  return { errno: 0 - error, request }; // 0 - x, not -x: an ACK must read as 0, not -0
}

/** The payload of NLMSG_DONE: 0, or a positive errno when the kernel ended the dump on an error. */
export function parseNetlinkDone(message: NetlinkMessage): { errno: number } {
  // Very old kernels sent DONE without a payload; treat that as success rather than as a malformed message.
  if (message.payload.length === 0) return { errno: 0 };
  if (message.payload.length < NLMSG_DONE_ERROR_LENGTH) {
    throw new ParseError(message.payloadOffset, `a ${NLMSG_DONE_ERROR_LENGTH}-byte error code, found ${message.payload.length} bytes`, 'NLMSG_DONE');
  }
  return { errno: 0 - message.payload.readInt32LE(0) }; // host order, signed; 0 - x keeps 0 from becoming -0
}

export type NfFamily = 'ipv4' | 'ipv6';

export interface NfGenMessage {
  family: NfFamily;
  version: number;
  resourceId: number;
}

const FAMILY_BY_NUMBER: ReadonlyMap<number, NfFamily> = new Map([
  [AF_INET, 'ipv4'],
  [AF_INET6, 'ipv6'],
]);

/** struct nfgenmsg at offset; a family other than AF_INET or AF_INET6 is an error (conntrack only knows those). */
export function parseNfGenMessage(buf: Buffer, offset = 0): Parsed<NfGenMessage> {
  if (buf.length - offset < NFGENMSG_LEN) {
    throw new ParseError(offset, `a ${NFGENMSG_LEN}-byte nfgenmsg, found ${Math.max(0, buf.length - offset)} bytes`, 'nfgenmsg');
  }
  const familyNumber = buf.readUInt8(offset + NFGENMSG_FAMILY_OFFSET);
  const family = FAMILY_BY_NUMBER.get(familyNumber);
  if (family === undefined) {
    throw new ParseError(offset + NFGENMSG_FAMILY_OFFSET, `family AF_INET (${AF_INET}) or AF_INET6 (${AF_INET6}), found ${familyNumber}`, 'nfgenmsg');
  }
  return {
    value: {
      family,
      version: buf.readUInt8(offset + NFGENMSG_VERSION_OFFSET),
      resourceId: buf.readUInt16BE(offset + NFGENMSG_RES_ID_OFFSET), // __be16: network order
    },
    consumed: NFGENMSG_LEN,
  };
}

/** Writes struct nfgenmsg; 'any' is AF_UNSPEC, which a dump request uses to ask for every family. */
export function formatNfGenMessage(family: NfFamily | 'any', out: Buffer, offset: number, resourceId = 0): void {
  out.writeUInt8(family === 'any' ? AF_UNSPEC : family === 'ipv4' ? AF_INET : AF_INET6, offset + NFGENMSG_FAMILY_OFFSET);
  out.writeUInt8(NFNETLINK_V0, offset + NFGENMSG_VERSION_OFFSET);
  out.writeUInt16BE(resourceId, offset + NFGENMSG_RES_ID_OFFSET); // network order
}
