import {
  formatAttribute,
  formatNestedAttribute,
  formatU16BEAttribute,
  formatU32BEAttribute,
  formatU64BEAttribute,
  formatU8Attribute,
} from './attributes';
import { type ConntrackCounters, type ConntrackEntry, type ConntrackFamily, type ConntrackTuple, type TcpFlags, protocolNumber } from './conntrack-entry';
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
  IPCTNL_MSG_CT_GET,
  IPCTNL_MSG_CT_NEW,
  SCTP_CONNTRACK_STATES,
  TCP_CONNTRACK_STATES,
  TCP_FLAGS_LENGTH,
} from './ctnetlink-constants';
import { parseIPv4, parseIPv6 } from '@natlens/agent-wire';
import {
  NFGENMSG_LEN,
  NFNL_SUBSYS_CTNETLINK,
  NFNL_SUBSYS_SHIFT,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  NLM_F_MULTI,
  NLM_F_REQUEST,
  NLMSG_HDRLEN,
} from './netlink-constants';
import { formatNetlinkHeader, formatNfGenMessage } from './netlink-message';

/*
 * What natlens writes to ctnetlink (the dump request) and, for tests and tools, conntrack messages as the kernel
 * writes them. Attribute order follows the kernel (ctnetlink_fill_info() for dumps, ctnetlink_conntrack_event()
 * for events), so a parsed kernel message formats back to the same bytes.
 */

const CTNETLINK_TYPE = NFNL_SUBSYS_CTNETLINK << NFNL_SUBSYS_SHIFT;

export interface DumpRequestOptions {
  /** 'any' (AF_UNSPEC) dumps both families in one reply, as `conntrack -L` asks. */
  family: ConntrackFamily | 'any';
  seq: number;
  /** nlmsg_pid; 0 lets the kernel address the reply to the sending socket. */
  pid?: number;
  /**
   * Only entries whose status bits under `mask` equal `bits` (CTA_STATUS + CTA_STATUS_MASK, honoured by Linux 5.19+
   * ctnetlink_alloc_filter(); older kernels ignore them and send every entry, so a caller must still check).
   */
  status?: { bits: number; mask: number };
}

/** IPCTNL_MSG_CT_GET with NLM_F_REQUEST|NLM_F_DUMP: ask for every conntrack entry of a family (or those of a status). */
export function formatDumpRequest({ family, seq, pid = 0, status }: DumpRequestOptions): Buffer {
  const filter = status === undefined ? Buffer.alloc(0) : Buffer.concat([formatU32BEAttribute(CTA.STATUS, status.bits), formatU32BEAttribute(CTA.STATUS_MASK, status.mask)]);
  const out = Buffer.alloc(NLMSG_HDRLEN + NFGENMSG_LEN + filter.length);
  formatNetlinkHeader({ length: out.length, type: CTNETLINK_TYPE | IPCTNL_MSG_CT_GET, flags: NLM_F_REQUEST | NLM_F_DUMP, seq, pid }, out, 0);
  formatNfGenMessage(family, out, NLMSG_HDRLEN);
  filter.copy(out, NLMSG_HDRLEN + NFGENMSG_LEN);
  return out;
}

export interface FormatConntrackOptions {
  seq?: number;
  pid?: number;
}

const HEADER_BY_EVENT: Readonly<Record<ConntrackEntry['event'], { type: number; flags: number }>> = {
  new: { type: CTNETLINK_TYPE | IPCTNL_MSG_CT_NEW, flags: NLM_F_CREATE | NLM_F_EXCL },
  update: { type: CTNETLINK_TYPE | IPCTNL_MSG_CT_NEW, flags: 0 },
  destroy: { type: CTNETLINK_TYPE | IPCTNL_MSG_CT_DELETE, flags: 0 },
  dump: { type: CTNETLINK_TYPE | IPCTNL_MSG_CT_NEW, flags: NLM_F_MULTI },
};

/** One conntrack message as the kernel would send it. Invalid addresses or out-of-range numbers throw. */
export function formatConntrackEntry(entry: ConntrackEntry, { seq = 0, pid = 0 }: FormatConntrackOptions = {}): Buffer {
  const attributes = Buffer.concat(entry.event === 'dump' ? dumpAttributes(entry) : eventAttributes(entry));
  const out = Buffer.alloc(NLMSG_HDRLEN + NFGENMSG_LEN + attributes.length);
  formatNetlinkHeader({ length: out.length, ...HEADER_BY_EVENT[entry.event], seq, pid }, out, 0);
  formatNfGenMessage(entry.family, out, NLMSG_HDRLEN);
  attributes.copy(out, NLMSG_HDRLEN + NFGENMSG_LEN);
  return out;
}

type Piece = Buffer | undefined;

/** ctnetlink_fill_info() order. */
function dumpAttributes(entry: ConntrackEntry): Buffer[] {
  return present([
    ...tuples(entry),
    u16(CTA.ZONE, entry.zone),
    u32(CTA.STATUS, entry.status?.bits),
    u32(CTA.MARK, entry.mark),
    u32(CTA.ID, entry.id),
    u32(CTA.USE, entry.use),
    u32(CTA.TIMEOUT, entry.timeout),
    protoinfo(entry),
    counters(CTA.COUNTERS_ORIG, entry.counters?.original),
    counters(CTA.COUNTERS_REPLY, entry.counters?.reply),
    timestamp(entry),
    u64(CTA.TIMESTAMP_EVENT, entry.eventTimestamp),
  ]);
}

/** ctnetlink_conntrack_event() order (it never sends CTA_USE; put last if an entry has one). */
function eventAttributes(entry: ConntrackEntry): Buffer[] {
  return present([
    ...tuples(entry),
    u16(CTA.ZONE, entry.zone),
    u32(CTA.ID, entry.id),
    u32(CTA.STATUS, entry.status?.bits),
    u32(CTA.TIMEOUT, entry.timeout),
    counters(CTA.COUNTERS_ORIG, entry.counters?.original),
    counters(CTA.COUNTERS_REPLY, entry.counters?.reply),
    timestamp(entry),
    protoinfo(entry),
    u32(CTA.MARK, entry.mark),
    u64(CTA.TIMESTAMP_EVENT, entry.eventTimestamp),
    u32(CTA.USE, entry.use),
  ]);
}

function present(pieces: Piece[]): Buffer[] {
  return pieces.filter((piece): piece is Buffer => piece !== undefined);
}

function tuples(entry: ConntrackEntry): Buffer[] {
  return [tuple(CTA.TUPLE_ORIG, entry.original, entry.family), tuple(CTA.TUPLE_REPLY, entry.reply, entry.family)];
}

/** ICMPv6 has its own attribute numbers for the same three fields. */
const ICMP_ATTRIBUTES = { id: CTA_PROTO.ICMP_ID, type: CTA_PROTO.ICMP_TYPE, code: CTA_PROTO.ICMP_CODE };
const ICMPV6_ATTRIBUTES = { id: CTA_PROTO.ICMPV6_ID, type: CTA_PROTO.ICMPV6_TYPE, code: CTA_PROTO.ICMPV6_CODE };

function tuple(type: number, value: ConntrackTuple, family: ConntrackFamily): Buffer {
  const address = family === 'ipv4' ? parseIPv4 : parseIPv6;
  const [srcType, dstType] = family === 'ipv4' ? [CTA_IP.V4_SRC, CTA_IP.V4_DST] : [CTA_IP.V6_SRC, CTA_IP.V6_DST];
  const ip = formatNestedAttribute(CTA_TUPLE.IP, [formatAttribute(srcType, address(value.src)), formatAttribute(dstType, address(value.dst))]);
  const icmp = value.proto === 'icmpv6' ? ICMPV6_ATTRIBUTES : ICMP_ATTRIBUTES;
  const proto = formatNestedAttribute(CTA_TUPLE.PROTO, present([
    formatU8Attribute(CTA_PROTO.NUM, protocolNumber(value.proto)),
    u16(CTA_PROTO.SRC_PORT, value.sport),
    u16(CTA_PROTO.DST_PORT, value.dport),
    u16(icmp.id, value.icmp?.id),
    u8(icmp.type, value.icmp?.type),
    u8(icmp.code, value.icmp?.code),
  ]));
  return formatNestedAttribute(type, present([ip, proto, u16(CTA_TUPLE.ZONE, value.zone)]));
}

function counters(type: number, value: ConntrackCounters | undefined): Piece {
  if (value === undefined) return undefined;
  return formatNestedAttribute(type, [formatU64BEAttribute(CTA_COUNTERS.PACKETS, value.packets), formatU64BEAttribute(CTA_COUNTERS.BYTES, value.bytes)]);
}

function timestamp(entry: ConntrackEntry): Piece {
  if (entry.timestamp === undefined) return undefined;
  return formatNestedAttribute(CTA.TIMESTAMP, present([
    u64(CTA_TIMESTAMP.START, entry.timestamp.start),
    u64(CTA_TIMESTAMP.STOP, entry.timestamp.stop),
  ]));
}

function protoinfo(entry: ConntrackEntry): Piece {
  const nests: Piece[] = [];
  if (entry.tcp !== undefined) {
    const tcp = entry.tcp;
    nests.push(formatNestedAttribute(CTA_PROTOINFO.TCP, present([
      formatU8Attribute(CTA_PROTOINFO_TCP.STATE, TCP_CONNTRACK_STATES.indexOf(tcp.state)),
      u8(CTA_PROTOINFO_TCP.WSCALE_ORIGINAL, tcp.wscaleOriginal),
      u8(CTA_PROTOINFO_TCP.WSCALE_REPLY, tcp.wscaleReply),
      tcpFlags(CTA_PROTOINFO_TCP.FLAGS_ORIGINAL, tcp.flagsOriginal),
      tcpFlags(CTA_PROTOINFO_TCP.FLAGS_REPLY, tcp.flagsReply),
    ])));
  }
  if (entry.sctp !== undefined) {
    nests.push(formatNestedAttribute(CTA_PROTOINFO.SCTP, present([
      formatU8Attribute(CTA_PROTOINFO_SCTP.STATE, SCTP_CONNTRACK_STATES.indexOf(entry.sctp.state)),
      u32(CTA_PROTOINFO_SCTP.VTAG_ORIGINAL, entry.sctp.vtagOriginal),
      u32(CTA_PROTOINFO_SCTP.VTAG_REPLY, entry.sctp.vtagReply),
    ])));
  }
  return nests.length === 0 ? undefined : formatNestedAttribute(CTA.PROTOINFO, present(nests));
}

/** struct nf_ct_tcp_flags: flags byte, then mask byte. */
function tcpFlags(type: number, value: TcpFlags | undefined): Piece {
  if (value === undefined) return undefined;
  const payload = Buffer.alloc(TCP_FLAGS_LENGTH);
  payload.writeUInt8(value.flags, 0);
  payload.writeUInt8(value.mask, 1);
  return formatAttribute(type, payload);
}

function u8(type: number, value: number | undefined): Piece {
  return value === undefined ? undefined : formatU8Attribute(type, value);
}

function u16(type: number, value: number | undefined): Piece {
  return value === undefined ? undefined : formatU16BEAttribute(type, value);
}

function u32(type: number, value: number | undefined): Piece {
  return value === undefined ? undefined : formatU32BEAttribute(type, value);
}

function u64(type: number, value: bigint | undefined): Piece {
  return value === undefined ? undefined : formatU64BEAttribute(type, value);
}
