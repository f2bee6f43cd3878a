import { ParseError } from '@natlens/agent-wire';
import { type NetlinkAttribute, parseAttributes, parseNestedAttributes, readBytes, readU16BE, readU32BE, readU64BE, readU8 } from './attributes';
import {
  type ConntrackCounters,
  type ConntrackEntry,
  type ConntrackEventKind,
  type ConntrackFamily,
  type ConntrackSctpInfo,
  type ConntrackTcpInfo,
  type ConntrackTuple,
  decodeConntrackStatus,
  protocolFromNumber,
} from './conntrack-entry';
import {
  CTA,
  CTA_COUNTERS,
  CTA_IP,
  CTA_PROTO,
  CTA_PROTOINFO,
  CTA_PROTOINFO_SCTP,
  CTA_PROTOINFO_TCP,
  CTA_TIMESTAMP,
  CTA_TUPLE,
  IPCTNL_MSG_CT_DELETE,
  IPCTNL_MSG_CT_NEW,
  SCTP_CONNTRACK_STATES,
  TCP_CONNTRACK_STATES,
  TCP_FLAGS_LENGTH,
} from './ctnetlink-constants';
import { formatIPv4, formatIPv6, IPV4_LENGTH, IPV6_LENGTH } from '@natlens/agent-wire';
import {
  NFGENMSG_LEN,
  NFNL_MSG_TYPE_MASK,
  NFNL_SUBSYS_CTNETLINK,
  NFNL_SUBSYS_SHIFT,
  NLM_F_CREATE,
  NLM_F_MULTI,
  NLMSG_TYPE_OFFSET,
} from './netlink-constants';
import { type NetlinkMessage, type Parsed, parseNetlinkMessage, parseNfGenMessage } from './netlink-message';

/*
 * One ctnetlink conntrack message (nlmsghdr, nfgenmsg, attributes) to a ConntrackEntry. Attributes natlens has no
 * use for (helpers, sequence adjustments, labels, security contexts, padding) are skipped, so newer kernels that add
 * attributes still parse; the ones it reads must have exactly the kernel's size.
 */

const WHAT = 'ctnetlink message';

/** Parses the conntrack message at offset (one netlink message). */
export function parseConntrackEntry(buf: Buffer, offset = 0): Parsed<ConntrackEntry> {
  const { value: message, consumed } = parseNetlinkMessage(buf, offset);
  return { value: parseConntrackMessage(buf, message), consumed };
}

/** Reads the entry in an already framed message; buf is the buffer the message was parsed from. */
export function parseConntrackMessage(buf: Buffer, message: NetlinkMessage): ConntrackEntry {
  const event = conntrackEventKind(message);
  // A view that ends where the message ends, so nothing below can read into the next message; offsets stay absolute.
  const bounded = buf.subarray(0, message.payloadOffset + message.payload.length);
  const { value: nfgen } = parseNfGenMessage(bounded, message.payloadOffset);
  const family = nfgen.family;
  let original: ConntrackTuple | undefined;
  let reply: ConntrackTuple | undefined;
  const rest: Omit<ConntrackEntry, 'event' | 'family' | 'original' | 'reply'> = {};
  for (const attribute of parseAttributes(bounded, message.payloadOffset + NFGENMSG_LEN, bounded.length)) {
    switch (attribute.type) {
      case CTA.TUPLE_ORIG:
        original = parseTuple(bounded, attribute, family, 'CTA_TUPLE_ORIG');
        break;
      case CTA.TUPLE_REPLY:
        reply = parseTuple(bounded, attribute, family, 'CTA_TUPLE_REPLY');
        break;
      case CTA.STATUS:
        rest.status = decodeConntrackStatus(readU32BE(attribute, 'CTA_STATUS'));
        break;
      case CTA.ID:
        rest.id = readU32BE(attribute, 'CTA_ID');
        break;
      case CTA.TIMEOUT:
        rest.timeout = readU32BE(attribute, 'CTA_TIMEOUT');
        break;
      case CTA.MARK:
        rest.mark = readU32BE(attribute, 'CTA_MARK');
        break;
      case CTA.USE:
        rest.use = readU32BE(attribute, 'CTA_USE');
        break;
      case CTA.ZONE:
        rest.zone = readU16BE(attribute, 'CTA_ZONE');
        break;
      case CTA.COUNTERS_ORIG:
        rest.counters = { ...rest.counters, original: parseCounters(bounded, attribute, 'CTA_COUNTERS_ORIG') };
        break;
      case CTA.COUNTERS_REPLY:
        rest.counters = { ...rest.counters, reply: parseCounters(bounded, attribute, 'CTA_COUNTERS_REPLY') };
        break;
      case CTA.TIMESTAMP:
        rest.timestamp = parseTimestamp(bounded, attribute);
        break;
      case CTA.TIMESTAMP_EVENT:
        rest.eventTimestamp = readU64BE(attribute, 'CTA_TIMESTAMP_EVENT');
        break;
      case CTA.PROTOINFO:
        Object.assign(rest, parseProtoinfo(bounded, attribute));
        break;
    }
  }
  if (original === undefined) throw new ParseError(message.offset, 'a CTA_TUPLE_ORIG attribute', WHAT);
  if (reply === undefined) throw new ParseError(message.offset, 'a CTA_TUPLE_REPLY attribute', WHAT);
  return { event, family, original, reply, ...rest };
}

/**
 * The event kind from nlmsg_type and nlmsg_flags, as ctnetlink_conntrack_event() and ctnetlink_dump_table() set
 * them: dump replies are CT_NEW with NLM_F_MULTI, new connections CT_NEW with NLM_F_CREATE|NLM_F_EXCL, other
 * changes CT_NEW without them, and removals CT_DELETE.
 */
export function conntrackEventKind(message: NetlinkMessage): ConntrackEventKind {
  const { type, flags } = message.header;
  const subsystem = type >> NFNL_SUBSYS_SHIFT;
  const messageType = type & NFNL_MSG_TYPE_MASK;
  if (subsystem === NFNL_SUBSYS_CTNETLINK && messageType === IPCTNL_MSG_CT_DELETE) return 'destroy';
  if (subsystem === NFNL_SUBSYS_CTNETLINK && messageType === IPCTNL_MSG_CT_NEW) {
    if (flags & NLM_F_MULTI) return 'dump';
    return flags & NLM_F_CREATE ? 'new' : 'update';
  }
  const hex = `0x${type.toString(16).padStart(4, '0')}`;
  throw new ParseError(message.offset + NLMSG_TYPE_OFFSET, `nlmsg_type IPCTNL_MSG_CT_NEW (0x0100) or IPCTNL_MSG_CT_DELETE (0x0102), found ${hex}`, WHAT);
}

function parseTuple(buf: Buffer, tuple: NetlinkAttribute, family: ConntrackFamily, name: string): ConntrackTuple {
  let src: string | undefined;
  let dst: string | undefined;
  let protocol: number | undefined;
  const ports: { sport?: number; dport?: number } = {};
  const icmp: { id?: number; type?: number; code?: number } = {};
  let zone: number | undefined;
  for (const attribute of parseNestedAttributes(buf, tuple)) {
    if (attribute.type === CTA_TUPLE.IP) {
      for (const address of parseNestedAttributes(buf, attribute)) {
        if (address.type === CTA_IP.V4_SRC || address.type === CTA_IP.V6_SRC) src = readAddress(address, family);
        if (address.type === CTA_IP.V4_DST || address.type === CTA_IP.V6_DST) dst = readAddress(address, family);
      }
    } else if (attribute.type === CTA_TUPLE.PROTO) {
      for (const field of parseNestedAttributes(buf, attribute)) {
        switch (field.type) {
          case CTA_PROTO.NUM:
            protocol = readU8(field, 'CTA_PROTO_NUM');
            break;
          case CTA_PROTO.SRC_PORT:
            ports.sport = readU16BE(field, 'CTA_PROTO_SRC_PORT');
            break;
          case CTA_PROTO.DST_PORT:
            ports.dport = readU16BE(field, 'CTA_PROTO_DST_PORT');
            break;
          case CTA_PROTO.ICMP_ID:
          case CTA_PROTO.ICMPV6_ID:
            icmp.id = readU16BE(field, 'CTA_PROTO_ICMP(V6)_ID');
            break;
          case CTA_PROTO.ICMP_TYPE:
          case CTA_PROTO.ICMPV6_TYPE:
            icmp.type = readU8(field, 'CTA_PROTO_ICMP(V6)_TYPE');
            break;
          case CTA_PROTO.ICMP_CODE:
          case CTA_PROTO.ICMPV6_CODE:
            icmp.code = readU8(field, 'CTA_PROTO_ICMP(V6)_CODE');
            break;
        }
      }
    } else if (attribute.type === CTA_TUPLE.ZONE) {
      zone = readU16BE(attribute, 'CTA_TUPLE_ZONE');
    }
  }
  const v = family === 'ipv4' ? 'V4' : 'V6';
  if (src === undefined) throw new ParseError(tuple.offset, `${name} with CTA_IP_${v}_SRC`, WHAT);
  if (dst === undefined) throw new ParseError(tuple.offset, `${name} with CTA_IP_${v}_DST`, WHAT);
  if (protocol === undefined) throw new ParseError(tuple.offset, `${name} with CTA_PROTO_NUM`, WHAT);
  const result: ConntrackTuple = { src, dst, proto: protocolFromNumber(protocol), ...ports };
  if (icmp.id !== undefined || icmp.type !== undefined || icmp.code !== undefined) {
    if (icmp.id === undefined || icmp.type === undefined || icmp.code === undefined) {
      throw new ParseError(tuple.offset, `${name} with all of the ICMP id, type and code, or none`, WHAT);
    }
    result.icmp = { id: icmp.id, type: icmp.type, code: icmp.code };
  }
  if (zone !== undefined) result.zone = zone;
  return result;
}

/** An address attribute must match the message's family: nf_conntrack never mixes them in one entry. */
function readAddress(attribute: NetlinkAttribute, family: ConntrackFamily): string {
  const isV4 = attribute.type === CTA_IP.V4_SRC || attribute.type === CTA_IP.V4_DST;
  if (isV4 !== (family === 'ipv4')) {
    const expected = family === 'ipv4' ? 'CTA_IP_V4_* in an AF_INET message' : 'CTA_IP_V6_* in an AF_INET6 message';
    throw new ParseError(attribute.offset, `${expected}, found type ${attribute.type}`, WHAT);
  }
  return isV4
    ? formatIPv4(readBytes(attribute, IPV4_LENGTH, 'CTA_IP_V4_*')) // network order
    : formatIPv6(readBytes(attribute, IPV6_LENGTH, 'CTA_IP_V6_*')); // network order
}

function parseCounters(buf: Buffer, nest: NetlinkAttribute, name: string): ConntrackCounters {
  let packets: bigint | undefined;
  let bytes: bigint | undefined;
  for (const attribute of parseNestedAttributes(buf, nest)) {
    if (attribute.type === CTA_COUNTERS.PACKETS) packets = readU64BE(attribute, 'CTA_COUNTERS_PACKETS');
    if (attribute.type === CTA_COUNTERS.BYTES) bytes = readU64BE(attribute, 'CTA_COUNTERS_BYTES');
    // Kernels before 2.6.24 sent 32-bit counters; widen them so readers see one type.
    if (attribute.type === CTA_COUNTERS.PACKETS32) packets = BigInt(readU32BE(attribute, 'CTA_COUNTERS32_PACKETS'));
    if (attribute.type === CTA_COUNTERS.BYTES32) bytes = BigInt(readU32BE(attribute, 'CTA_COUNTERS32_BYTES'));
  }
  if (packets === undefined || bytes === undefined) {
    throw new ParseError(nest.offset, `${name} with both CTA_COUNTERS_PACKETS and CTA_COUNTERS_BYTES`, WHAT);
  }
  return { packets, bytes };
}

function parseTimestamp(buf: Buffer, nest: NetlinkAttribute): { start?: bigint; stop?: bigint } {
  const timestamp: { start?: bigint; stop?: bigint } = {};
  for (const attribute of parseNestedAttributes(buf, nest)) {
    if (attribute.type === CTA_TIMESTAMP.START) timestamp.start = readU64BE(attribute, 'CTA_TIMESTAMP_START');
    if (attribute.type === CTA_TIMESTAMP.STOP) timestamp.stop = readU64BE(attribute, 'CTA_TIMESTAMP_STOP');
  }
  return timestamp;
}

function parseProtoinfo(buf: Buffer, nest: NetlinkAttribute): { tcp?: ConntrackTcpInfo; sctp?: ConntrackSctpInfo } {
  const result: { tcp?: ConntrackTcpInfo; sctp?: ConntrackSctpInfo } = {};
  for (const attribute of parseNestedAttributes(buf, nest)) {
    if (attribute.type === CTA_PROTOINFO.TCP) result.tcp = parseTcpInfo(buf, attribute);
    if (attribute.type === CTA_PROTOINFO.SCTP) result.sctp = parseSctpInfo(buf, attribute);
    // CTA_PROTOINFO_DCCP is skipped: natlens reports Service traffic, which is never DCCP.
  }
  return result;
}

function parseTcpInfo(buf: Buffer, nest: NetlinkAttribute): ConntrackTcpInfo {
  let state: ConntrackTcpInfo['state'] | undefined;
  const info: Omit<ConntrackTcpInfo, 'state'> = {};
  for (const attribute of parseNestedAttributes(buf, nest)) {
    switch (attribute.type) {
      case CTA_PROTOINFO_TCP.STATE:
        state = stateName(TCP_CONNTRACK_STATES, attribute, 'CTA_PROTOINFO_TCP_STATE');
        break;
      case CTA_PROTOINFO_TCP.WSCALE_ORIGINAL:
        info.wscaleOriginal = readU8(attribute, 'CTA_PROTOINFO_TCP_WSCALE_ORIGINAL');
        break;
      case CTA_PROTOINFO_TCP.WSCALE_REPLY:
        info.wscaleReply = readU8(attribute, 'CTA_PROTOINFO_TCP_WSCALE_REPLY');
        break;
      case CTA_PROTOINFO_TCP.FLAGS_ORIGINAL:
        info.flagsOriginal = readTcpFlags(attribute, 'CTA_PROTOINFO_TCP_FLAGS_ORIGINAL');
        break;
      case CTA_PROTOINFO_TCP.FLAGS_REPLY:
        info.flagsReply = readTcpFlags(attribute, 'CTA_PROTOINFO_TCP_FLAGS_REPLY');
        break;
    }
  }
  if (state === undefined) throw new ParseError(nest.offset, 'CTA_PROTOINFO_TCP with CTA_PROTOINFO_TCP_STATE', WHAT);
  return { state, ...info };
}

/** struct nf_ct_tcp_flags: two bytes, flags then mask. */
function readTcpFlags(attribute: NetlinkAttribute, name: string): { flags: number; mask: number } {
  const bytes = readBytes(attribute, TCP_FLAGS_LENGTH, name);
  return { flags: bytes.readUInt8(0), mask: bytes.readUInt8(1) };
}

function parseSctpInfo(buf: Buffer, nest: NetlinkAttribute): ConntrackSctpInfo {
  let state: ConntrackSctpInfo['state'] | undefined;
  const info: Omit<ConntrackSctpInfo, 'state'> = {};
  for (const attribute of parseNestedAttributes(buf, nest)) {
    if (attribute.type === CTA_PROTOINFO_SCTP.STATE) state = stateName(SCTP_CONNTRACK_STATES, attribute, 'CTA_PROTOINFO_SCTP_STATE');
    if (attribute.type === CTA_PROTOINFO_SCTP.VTAG_ORIGINAL) info.vtagOriginal = readU32BE(attribute, 'CTA_PROTOINFO_SCTP_VTAG_ORIGINAL');
    if (attribute.type === CTA_PROTOINFO_SCTP.VTAG_REPLY) info.vtagReply = readU32BE(attribute, 'CTA_PROTOINFO_SCTP_VTAG_REPLY');
  }
  if (state === undefined) throw new ParseError(nest.offset, 'CTA_PROTOINFO_SCTP with CTA_PROTOINFO_SCTP_STATE', WHAT);
  return { state, ...info };
}

function stateName<T extends string>(names: readonly T[], attribute: NetlinkAttribute, name: string): T {
  const value = readU8(attribute, name);
  const state = names[value];
  if (state === undefined) throw new ParseError(attribute.payloadOffset, `${name} 0-${names.length - 1}, found ${value}`, WHAT);
  return state;
}
