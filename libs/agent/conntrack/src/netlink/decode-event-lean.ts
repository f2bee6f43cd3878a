import { ParseError } from '@natlens/agent-wire';
import type { ConntrackEventKind, ConntrackFamily } from './conntrack-entry';
import { type ConntrackMessage, classifyConntrackMessage, type ParseConntrackMessagesOptions } from './conntrack-messages';
import {
  CTA,
  CTA_COUNTERS,
  CTA_PROTOINFO,
  CTA_PROTOINFO_SCTP,
  CTA_PROTOINFO_TCP,
  CTA_TIMESTAMP,
  IPCTNL_MSG_CT_DELETE,
  IPCTNL_MSG_CT_NEW,
  SCTP_CONNTRACK_STATES,
  TCP_CONNTRACK_STATES,
  TCP_FLAGS_LENGTH,
} from './ctnetlink-constants';
import { decodeTuple } from './decode-tuple-lean';
import { checkAttributes, expectLength, LENGTH_OFFSET, step, u16host, u16net, u32host, u32net, u64net } from './lean-attribute-reader';
import { emptyLeanEntry, type LeanConntrackEntry, type LeanConntrackTuple } from './lean-conntrack-entry';
import {
  AF_INET,
  AF_INET6,
  NFGENMSG_LEN,
  NFNL_MSG_TYPE_MASK,
  NFNL_SUBSYS_CTNETLINK,
  NFNL_SUBSYS_SHIFT,
  NLA_HDRLEN,
  NLA_TYPE_MASK,
  NLA_TYPE_OFFSET,
  NLM_F_CREATE,
  NLM_F_MULTI,
  NLMSG_ERROR,
  NLMSG_FLAGS_OFFSET,
  NLMSG_HDRLEN,
  NLMSG_NOOP,
  NLMSG_OVERRUN,
  NLMSG_SEQ_OFFSET,
  NLMSG_TYPE_OFFSET,
  netlinkAlign,
} from './netlink-constants';
import { parseNetlinkMessage } from './netlink-message';

/*
 * The agent's hot path: a ctnetlink datagram to LeanConntrackEntry objects, walking the nlattrs in place. No
 * attribute arrays, no subarray views, no bigint; only the attributes the agent uses are kept (lean-conntrack-entry.ts
 * says which, and what precision the numbers have).
 *
 * It accepts and refuses exactly what parseConntrackMessages() does, with ParseErrors at the same offsets saying the
 * same thing (decode-event-lean.spec.ts checks it over captured and random bytes): each nest's attribute headers are
 * checked before any of its payloads is read, as parseAttributes() does, and the attributes the agent ignores still
 * have their sizes checked. Control messages (end of dump, errors, overruns) are rare and go to the full parser.
 * lean-attribute-reader.ts reads the bytes; decode-tuple-lean.ts the tuples.
 */

const WHAT_MESSAGE = 'netlink message';
const WHAT_NFGENMSG = 'nfgenmsg';
const WHAT = 'ctnetlink message';

/** 2^32 = 4294 * 10^6 + 967296: splits a u64 of ns into whole ms and the rest without leaving 2^53. */
const MS_PER_TWO_POW_32_NS = 4294;
const NS_REST_PER_TWO_POW_32_NS = 967296;
const NS_PER_MS = 1_000_000;

export interface LeanConntrackBatch {
  entries: LeanConntrackEntry[];
  /** The datagram's control messages (acks, errors, NLMSG_DONE, NLMSG_OVERRUN), in order, as the full parser reads them. */
  controls: ConntrackMessage[];
  /** In `collect` mode, one ParseError per message that could not be read; always empty in `strict` mode. */
  errors: ParseError[];
}

export function emptyLeanBatch(): LeanConntrackBatch {
  return { entries: [], controls: [], errors: [] };
}

/**
 * Decodes every message of a datagram into `batch` (appending, so one batch can collect several datagrams). Same
 * modes as parseConntrackMessages(): `strict` throws the first ParseError; `collect` records it and skips the
 * message, or ends the datagram when the nlmsghdr itself is malformed. `start` and `end` bound the datagram within
 * `buf` (the socket packs the datagrams of one wake into one Buffer); error offsets are offsets in `buf`.
 */
export function decodeConntrackDatagramLean(buf: Buffer, options: ParseConntrackMessagesOptions = {}, batch: LeanConntrackBatch = emptyLeanBatch(), start = 0, end = buf.length): LeanConntrackBatch {
  const collect = options.mode === 'collect';
  const length = end;
  for (let offset = start; offset < length; ) {
    const available = length - offset;
    const messageLength = available < NLMSG_HDRLEN ? -1 : u32host(buf, offset + LENGTH_OFFSET);
    const framingError =
      messageLength < 0
        ? new ParseError(offset, `a ${NLMSG_HDRLEN}-byte nlmsghdr, found ${available} bytes`, WHAT_MESSAGE)
        : messageLength < NLMSG_HDRLEN
          ? new ParseError(offset + LENGTH_OFFSET, `nlmsg_len of at least ${NLMSG_HDRLEN}, found ${messageLength}`, WHAT_MESSAGE)
          : messageLength > available
            ? new ParseError(offset + LENGTH_OFFSET, `nlmsg_len within the ${available} bytes left, found ${messageLength}`, WHAT_MESSAGE)
            : undefined;
    if (framingError !== undefined) {
      if (!collect) throw framingError;
      batch.errors.push(framingError);
      break; // the next message's position is known only from a trustworthy nlmsg_len
    }
    const type = u16host(buf, offset + NLMSG_TYPE_OFFSET);
    try {
      if (type >= NLMSG_ERROR && type <= NLMSG_OVERRUN) {
        const control = classifyConntrackMessage(buf, parseNetlinkMessage(buf, offset).value);
        if (control !== undefined) batch.controls.push(control);
      } else if (type !== NLMSG_NOOP) {
        batch.entries.push(decodeConntrackMessageLean(buf, offset, offset + messageLength));
      }
    } catch (error) {
      if (!collect || !(error instanceof ParseError)) throw error;
      batch.errors.push(error);
    }
    // The last message of a datagram may end without its padding.
    offset += Math.min(netlinkAlign(messageLength), available);
  }
  return batch;
}

/** One ctnetlink entry message at offset whose nlmsghdr was checked: nlmsg_len puts its end at `end`. */
export function decodeConntrackMessageLean(buf: Buffer, offset: number, end: number): LeanConntrackEntry {
  const event = eventKind(buf, offset);
  const nfgen = offset + NLMSG_HDRLEN;
  if (end - nfgen < NFGENMSG_LEN) {
    throw new ParseError(nfgen, `a ${NFGENMSG_LEN}-byte nfgenmsg, found ${Math.max(0, end - nfgen)} bytes`, WHAT_NFGENMSG);
  }
  const familyNumber = buf[nfgen] as number; // nfgen_family u8 @0
  const family: ConntrackFamily | undefined = familyNumber === AF_INET ? 'ipv4' : familyNumber === AF_INET6 ? 'ipv6' : undefined;
  if (family === undefined) {
    throw new ParseError(nfgen, `family AF_INET (${AF_INET}) or AF_INET6 (${AF_INET6}), found ${familyNumber}`, WHAT_NFGENMSG);
  }
  const entry = emptyLeanEntry(event, family, u32host(buf, offset + NLMSG_SEQ_OFFSET), offset);
  let original: LeanConntrackTuple | undefined;
  let reply: LeanConntrackTuple | undefined;
  const first = nfgen + NFGENMSG_LEN;
  checkAttributes(buf, first, end);
  for (let at = first; at < end; at += step(buf, at, end)) {
    const type = u16host(buf, at + NLA_TYPE_OFFSET) & NLA_TYPE_MASK;
    const payload = at + NLA_HDRLEN;
    const payloadEnd = at + u16host(buf, at + LENGTH_OFFSET);
    switch (type) {
      case CTA.TUPLE_ORIG:
        original = decodeTuple(buf, at, payloadEnd, family, 'CTA_TUPLE_ORIG');
        break;
      case CTA.TUPLE_REPLY:
        reply = decodeTuple(buf, at, payloadEnd, family, 'CTA_TUPLE_REPLY');
        break;
      case CTA.STATUS:
        expectLength(at, payloadEnd, 4, 'CTA_STATUS'); // not kept: only its size is checked, as the full parser does
        break;
      case CTA.ID:
        expectLength(at, payloadEnd, 4, 'CTA_ID');
        entry.id = u32net(buf, payload);
        break;
      case CTA.TIMEOUT:
        expectLength(at, payloadEnd, 4, 'CTA_TIMEOUT');
        break;
      case CTA.MARK:
        expectLength(at, payloadEnd, 4, 'CTA_MARK');
        entry.mark = u32net(buf, payload);
        break;
      case CTA.USE:
        expectLength(at, payloadEnd, 4, 'CTA_USE');
        break;
      case CTA.ZONE:
        expectLength(at, payloadEnd, 2, 'CTA_ZONE');
        entry.zone = u16net(buf, payload);
        break;
      case CTA.COUNTERS_ORIG:
        decodeCounters(buf, at, payloadEnd, entry, false);
        break;
      case CTA.COUNTERS_REPLY:
        decodeCounters(buf, at, payloadEnd, entry, true);
        break;
      case CTA.TIMESTAMP:
        decodeTimestamp(buf, at, payloadEnd, entry);
        break;
      case CTA.TIMESTAMP_EVENT:
        expectLength(at, payloadEnd, 8, 'CTA_TIMESTAMP_EVENT');
        break;
      case CTA.PROTOINFO:
        decodeProtoinfo(buf, at, payloadEnd, entry);
        break;
    }
  }
  if (original === undefined) throw new ParseError(offset, 'a CTA_TUPLE_ORIG attribute', WHAT);
  if (reply === undefined) throw new ParseError(offset, 'a CTA_TUPLE_REPLY attribute', WHAT);
  entry.original = original;
  entry.reply = reply;
  return entry;
}

/** As conntrackEventKind() in parse-conntrack.ts. */
function eventKind(buf: Buffer, offset: number): ConntrackEventKind {
  const type = u16host(buf, offset + NLMSG_TYPE_OFFSET);
  const flags = u16host(buf, offset + NLMSG_FLAGS_OFFSET);
  const subsystem = type >> NFNL_SUBSYS_SHIFT;
  const messageType = type & NFNL_MSG_TYPE_MASK;
  if (subsystem === NFNL_SUBSYS_CTNETLINK && messageType === IPCTNL_MSG_CT_DELETE) return 'destroy';
  if (subsystem === NFNL_SUBSYS_CTNETLINK && messageType === IPCTNL_MSG_CT_NEW) {
    if (flags & NLM_F_MULTI) return 'dump';
    return flags & NLM_F_CREATE ? 'new' : 'update';
  }
  const hex = `0x${type.toString(16).padStart(4, '0')}`;
  throw new ParseError(offset + NLMSG_TYPE_OFFSET, `nlmsg_type IPCTNL_MSG_CT_NEW (0x0100) or IPCTNL_MSG_CT_DELETE (0x0102), found ${hex}`, WHAT);
}

function decodeCounters(buf: Buffer, nest: number, nestEnd: number, entry: LeanConntrackEntry, isReply: boolean): void {
  let packets: number | undefined;
  let bytes: number | undefined;
  checkAttributes(buf, nest + NLA_HDRLEN, nestEnd);
  for (let at = nest + NLA_HDRLEN; at < nestEnd; at += step(buf, at, nestEnd)) {
    const type = u16host(buf, at + NLA_TYPE_OFFSET) & NLA_TYPE_MASK;
    const payloadEnd = at + u16host(buf, at + LENGTH_OFFSET);
    const value = at + NLA_HDRLEN;
    if (type === CTA_COUNTERS.PACKETS) {
      expectLength(at, payloadEnd, 8, 'CTA_COUNTERS_PACKETS');
      packets = u64net(buf, value);
    } else if (type === CTA_COUNTERS.BYTES) {
      expectLength(at, payloadEnd, 8, 'CTA_COUNTERS_BYTES');
      bytes = u64net(buf, value);
    } else if (type === CTA_COUNTERS.PACKETS32) {
      // Kernels before 2.6.24 sent 32-bit counters.
      expectLength(at, payloadEnd, 4, 'CTA_COUNTERS32_PACKETS');
      packets = u32net(buf, value);
    } else if (type === CTA_COUNTERS.BYTES32) {
      expectLength(at, payloadEnd, 4, 'CTA_COUNTERS32_BYTES');
      bytes = u32net(buf, value);
    }
  }
  if (packets === undefined || bytes === undefined) {
    const name = isReply ? 'CTA_COUNTERS_REPLY' : 'CTA_COUNTERS_ORIG';
    throw new ParseError(nest, `${name} with both CTA_COUNTERS_PACKETS and CTA_COUNTERS_BYTES`, WHAT);
  }
  if (isReply) {
    entry.replyPackets = packets;
    entry.replyBytes = bytes;
  } else {
    entry.originalPackets = packets;
    entry.originalBytes = bytes;
  }
}

/**
 * A u64 of ns since the epoch (network order) as whole ms (floor) and the ns within that ms, both exact: with
 * ns = hi·2^32 + lo and 2^32 = 4294·10^6 + 967296, ms = hi·4294 + ⌊(hi·967296 + lo) / 10^6⌋, and hi·967296 + lo
 * stays below 2^53.
 */
function decodeNs(buf: Buffer, at: number, entry: LeanConntrackEntry, isStop: boolean): void {
  const hi = u32net(buf, at);
  const rest = hi * NS_REST_PER_TWO_POW_32_NS + u32net(buf, at + 4);
  let restMs = Math.floor(rest / NS_PER_MS);
  if (restMs * NS_PER_MS > rest) restMs--; // the division is rounded; keep the floor exact
  else if ((restMs + 1) * NS_PER_MS <= rest) restMs++;
  const ms = hi * MS_PER_TWO_POW_32_NS + restMs;
  const nsInMs = rest - restMs * NS_PER_MS;
  if (isStop) {
    entry.stopMs = ms;
    entry.stopNsInMs = nsInMs;
  } else {
    entry.startMs = ms;
    entry.startNsInMs = nsInMs;
  }
}

function decodeTimestamp(buf: Buffer, nest: number, nestEnd: number, entry: LeanConntrackEntry): void {
  checkAttributes(buf, nest + NLA_HDRLEN, nestEnd);
  // A CTA_TIMESTAMP replaces any earlier one whole, as in the full parser.
  entry.startMs = entry.startNsInMs = entry.stopMs = entry.stopNsInMs = undefined;
  for (let at = nest + NLA_HDRLEN; at < nestEnd; at += step(buf, at, nestEnd)) {
    const type = u16host(buf, at + NLA_TYPE_OFFSET) & NLA_TYPE_MASK;
    const payloadEnd = at + u16host(buf, at + LENGTH_OFFSET);
    if (type === CTA_TIMESTAMP.START) {
      expectLength(at, payloadEnd, 8, 'CTA_TIMESTAMP_START');
      decodeNs(buf, at + NLA_HDRLEN, entry, false);
    } else if (type === CTA_TIMESTAMP.STOP) {
      expectLength(at, payloadEnd, 8, 'CTA_TIMESTAMP_STOP');
      decodeNs(buf, at + NLA_HDRLEN, entry, true);
    }
  }
}

function decodeProtoinfo(buf: Buffer, nest: number, nestEnd: number, entry: LeanConntrackEntry): void {
  checkAttributes(buf, nest + NLA_HDRLEN, nestEnd);
  for (let at = nest + NLA_HDRLEN; at < nestEnd; at += step(buf, at, nestEnd)) {
    const type = u16host(buf, at + NLA_TYPE_OFFSET) & NLA_TYPE_MASK;
    const payloadEnd = at + u16host(buf, at + LENGTH_OFFSET);
    if (type === CTA_PROTOINFO.TCP) entry.tcpState = decodeTcpState(buf, at, payloadEnd);
    if (type === CTA_PROTOINFO.SCTP) entry.sctpState = decodeSctpState(buf, at, payloadEnd);
    // CTA_PROTOINFO_DCCP is skipped: natlens reports Service traffic, which is never DCCP.
  }
}

function decodeTcpState(buf: Buffer, nest: number, nestEnd: number): LeanConntrackEntry['tcpState'] {
  let state: LeanConntrackEntry['tcpState'];
  checkAttributes(buf, nest + NLA_HDRLEN, nestEnd);
  for (let at = nest + NLA_HDRLEN; at < nestEnd; at += step(buf, at, nestEnd)) {
    const payloadEnd = at + u16host(buf, at + LENGTH_OFFSET);
    switch (u16host(buf, at + NLA_TYPE_OFFSET) & NLA_TYPE_MASK) {
      case CTA_PROTOINFO_TCP.STATE:
        state = stateName(TCP_CONNTRACK_STATES, buf, at, payloadEnd, 'CTA_PROTOINFO_TCP_STATE');
        break;
      case CTA_PROTOINFO_TCP.WSCALE_ORIGINAL:
        expectLength(at, payloadEnd, 1, 'CTA_PROTOINFO_TCP_WSCALE_ORIGINAL');
        break;
      case CTA_PROTOINFO_TCP.WSCALE_REPLY:
        expectLength(at, payloadEnd, 1, 'CTA_PROTOINFO_TCP_WSCALE_REPLY');
        break;
      case CTA_PROTOINFO_TCP.FLAGS_ORIGINAL:
        expectLength(at, payloadEnd, TCP_FLAGS_LENGTH, 'CTA_PROTOINFO_TCP_FLAGS_ORIGINAL');
        break;
      case CTA_PROTOINFO_TCP.FLAGS_REPLY:
        expectLength(at, payloadEnd, TCP_FLAGS_LENGTH, 'CTA_PROTOINFO_TCP_FLAGS_REPLY');
        break;
    }
  }
  if (state === undefined) throw new ParseError(nest, 'CTA_PROTOINFO_TCP with CTA_PROTOINFO_TCP_STATE', WHAT);
  return state;
}

function decodeSctpState(buf: Buffer, nest: number, nestEnd: number): LeanConntrackEntry['sctpState'] {
  let state: LeanConntrackEntry['sctpState'];
  checkAttributes(buf, nest + NLA_HDRLEN, nestEnd);
  for (let at = nest + NLA_HDRLEN; at < nestEnd; at += step(buf, at, nestEnd)) {
    const type = u16host(buf, at + NLA_TYPE_OFFSET) & NLA_TYPE_MASK;
    const payloadEnd = at + u16host(buf, at + LENGTH_OFFSET);
    if (type === CTA_PROTOINFO_SCTP.STATE) state = stateName(SCTP_CONNTRACK_STATES, buf, at, payloadEnd, 'CTA_PROTOINFO_SCTP_STATE');
    if (type === CTA_PROTOINFO_SCTP.VTAG_ORIGINAL) expectLength(at, payloadEnd, 4, 'CTA_PROTOINFO_SCTP_VTAG_ORIGINAL');
    if (type === CTA_PROTOINFO_SCTP.VTAG_REPLY) expectLength(at, payloadEnd, 4, 'CTA_PROTOINFO_SCTP_VTAG_REPLY');
  }
  if (state === undefined) throw new ParseError(nest, 'CTA_PROTOINFO_SCTP with CTA_PROTOINFO_SCTP_STATE', WHAT);
  return state;
}

function stateName<T extends string>(names: readonly T[], buf: Buffer, at: number, payloadEnd: number, name: string): T {
  expectLength(at, payloadEnd, 1, name);
  const value = buf[at + NLA_HDRLEN] as number;
  const state = names[value];
  if (state === undefined) throw new ParseError(at + NLA_HDRLEN, `${name} 0-${names.length - 1}, found ${value}`, WHAT);
  return state;
}
