import { ParseError } from '@natlens/agent-wire';
import { formatU32BEAttribute, type NetlinkAttribute, parseAttributes, readU32BE } from './attributes';
import { CTA_STATS, CTA_STATS_GLOBAL, IPCTNL_MSG_CT_GET_STATS, IPCTNL_MSG_CT_GET_STATS_CPU } from './ctnetlink-constants';
import {
  AF_UNSPEC,
  NFGENMSG_FAMILY_OFFSET,
  NFGENMSG_LEN,
  NFGENMSG_RES_ID_OFFSET,
  NFGENMSG_VERSION_OFFSET,
  NFNETLINK_V0,
  NFNL_SUBSYS_CTNETLINK,
  NFNL_SUBSYS_SHIFT,
  NLM_F_DUMP,
  NLM_F_MULTI,
  NLM_F_REQUEST,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_HDRLEN,
  NLMSG_NOOP,
} from './netlink-constants';
import { formatNetlinkHeader, type NetlinkHeader, type NetlinkMessage, parseNetlinkDone, parseNetlinkDatagram, parseNetlinkError } from './netlink-message';

/*
 * conntrack's statistics over ctnetlink rather than /proc/net/stat/nf_conntrack (absent on kernels built without
 * CONFIG_NF_CONNTRACK_PROCFS): IPCTNL_MSG_CT_GET_STATS_CPU is a dump with one message per possible CPU, the CPU in
 * nfgenmsg res_id; IPCTNL_MSG_CT_GET_STATS answers with one message for the namespace. Both put AF_UNSPEC in
 * nfgen_family (ctnetlink_ct_stat_cpu_fill_info() and ctnetlink_stat_ct_fill_info() in nf_conntrack_netlink.c),
 * which the entry parser would reject, so these messages have their own reader.
 */

const CTNETLINK_TYPE = NFNL_SUBSYS_CTNETLINK << NFNL_SUBSYS_SHIFT;
const STATS_CPU_TYPE = CTNETLINK_TYPE | IPCTNL_MSG_CT_GET_STATS_CPU;
const STATS_TYPE = CTNETLINK_TYPE | IPCTNL_MSG_CT_GET_STATS;
const WHAT = 'conntrack statistics';

/** The per-CPU counters by their names in the node report (shared-model ConntrackStats.counters). */
export interface ConntrackStatCounters {
  found?: number;
  invalid?: number;
  insert?: number;
  insertFailed?: number;
  drop?: number;
  earlyDrop?: number;
  error?: number;
  searchRestart?: number;
  clashResolve?: number;
  chainTooLong?: number;
}
export type ConntrackStatCounter = keyof ConntrackStatCounters;

/** Attribute number → counter name; an attribute not listed here (a newer kernel's) is skipped, not an error. */
export const CONNTRACK_STAT_ATTRIBUTES: ReadonlyArray<readonly [attribute: number, counter: ConntrackStatCounter]> = [
  [CTA_STATS.FOUND, 'found'],
  [CTA_STATS.INVALID, 'invalid'],
  [CTA_STATS.INSERT, 'insert'],
  [CTA_STATS.INSERT_FAILED, 'insertFailed'],
  [CTA_STATS.DROP, 'drop'],
  [CTA_STATS.EARLY_DROP, 'earlyDrop'],
  [CTA_STATS.ERROR, 'error'],
  [CTA_STATS.SEARCH_RESTART, 'searchRestart'],
  [CTA_STATS.CLASH_RESOLVE, 'clashResolve'],
  [CTA_STATS.CHAIN_TOOLONG, 'chainTooLong'],
];
const COUNTER_BY_ATTRIBUTE: ReadonlyMap<number, ConntrackStatCounter> = new Map(CONNTRACK_STAT_ATTRIBUTES);

interface Located {
  /** Where the message starts in the datagram. */
  offset: number;
  header: NetlinkHeader;
}

export type ConntrackStatsMessage =
  | (Located & { kind: 'cpu'; cpu: number; counters: ConntrackStatCounters })
  | (Located & { kind: 'global'; entries: number; maxEntries: number | undefined })
  | (Located & { kind: 'ack'; request: NetlinkHeader })
  | (Located & { kind: 'error'; errno: number; request: NetlinkHeader })
  | (Located & { kind: 'done'; errno: number });

export interface ConntrackStatsBatch {
  messages: ConntrackStatsMessage[];
  /** In `collect` mode, one ParseError per message that could not be read; always empty in `strict` mode. */
  errors: ParseError[];
}

/**
 * Every message of a datagram from a socket that asked for statistics. `strict` (the default) throws the first
 * ParseError; `collect` reports a malformed message and reads on, and stops at a malformed nlmsghdr (the next
 * message's position is only known from a trustworthy nlmsg_len). Nothing but ParseError is thrown.
 */
export function parseConntrackStatsMessages(buf: Buffer, options: { mode?: 'strict' | 'collect' } = {}): ConntrackStatsBatch {
  return parseNetlinkDatagram(buf, classifyStatsMessage, options.mode === 'collect');
}

function classifyStatsMessage(buf: Buffer, message: NetlinkMessage): ConntrackStatsMessage | undefined {
  const located = { offset: message.offset, header: message.header };
  switch (message.header.type) {
    case NLMSG_NOOP:
      return undefined;
    case NLMSG_ERROR: {
      const { errno, request } = parseNetlinkError(message);
      return errno === 0 ? { ...located, kind: 'ack', request } : { ...located, kind: 'error', errno, request };
    }
    case NLMSG_DONE:
      return { ...located, kind: 'done', errno: parseNetlinkDone(message).errno };
    case STATS_CPU_TYPE: {
      const cpu = readResourceId(message);
      const counters: ConntrackStatCounters = {};
      for (const attribute of statsAttributes(buf, message)) {
        const counter = COUNTER_BY_ATTRIBUTE.get(attribute.type);
        if (counter !== undefined) counters[counter] = readU32BE(attribute, `CTA_STATS attribute ${attribute.type}`);
      }
      return { ...located, kind: 'cpu', cpu, counters };
    }
    case STATS_TYPE: {
      readResourceId(message); // checks the nfgenmsg is there
      let entries: number | undefined;
      let maxEntries: number | undefined;
      for (const attribute of statsAttributes(buf, message)) {
        if (attribute.type === CTA_STATS_GLOBAL.ENTRIES) entries = readU32BE(attribute, 'CTA_STATS_GLOBAL_ENTRIES');
        else if (attribute.type === CTA_STATS_GLOBAL.MAX_ENTRIES) maxEntries = readU32BE(attribute, 'CTA_STATS_GLOBAL_MAX_ENTRIES');
      }
      if (entries === undefined) throw new ParseError(message.payloadOffset + NFGENMSG_LEN, 'a CTA_STATS_GLOBAL_ENTRIES attribute', WHAT);
      return { ...located, kind: 'global', entries, maxEntries };
    }
    default:
      throw new ParseError(
        message.offset + 4,
        `nlmsg_type IPCTNL_MSG_CT_GET_STATS_CPU (0x${STATS_CPU_TYPE.toString(16)}) or IPCTNL_MSG_CT_GET_STATS (0x${STATS_TYPE.toString(16)}), found 0x${message.header.type.toString(16)}`,
        WHAT,
      );
  }
}

/** nfgenmsg res_id (__be16, network order): the CPU of a per-CPU message, 0 for the global one. */
function readResourceId(message: NetlinkMessage): number {
  if (message.payload.length < NFGENMSG_LEN) {
    throw new ParseError(message.payloadOffset, `a ${NFGENMSG_LEN}-byte nfgenmsg, found ${message.payload.length} bytes`, WHAT);
  }
  return message.payload.readUInt16BE(NFGENMSG_RES_ID_OFFSET);
}

function statsAttributes(buf: Buffer, message: NetlinkMessage): NetlinkAttribute[] {
  return parseAttributes(buf, message.payloadOffset + NFGENMSG_LEN, message.payloadOffset + message.payload.length);
}

/** Sums the per-CPU counters; a counter is present when at least one CPU sent it. Pure. */
export function sumConntrackStatCounters(perCpu: ReadonlyArray<ConntrackStatCounters>): ConntrackStatCounters {
  const total: ConntrackStatCounters = {};
  for (const counters of perCpu) {
    for (const [, name] of CONNTRACK_STAT_ATTRIBUTES) {
      const value = counters[name];
      if (value !== undefined) total[name] = (total[name] ?? 0) + value;
    }
  }
  return total;
}

// ---------------------------------------------------------------------------------------------- writing

function statsMessage(type: number, flags: number, seq: number, resourceId: number, attributes: readonly Buffer[] = [], pid = 0): Buffer {
  const body = Buffer.concat(attributes);
  const out = Buffer.alloc(NLMSG_HDRLEN + NFGENMSG_LEN + body.length);
  formatNetlinkHeader({ length: out.length, type, flags, seq, pid }, out, 0);
  out.writeUInt8(AF_UNSPEC, NLMSG_HDRLEN + NFGENMSG_FAMILY_OFFSET);
  out.writeUInt8(NFNETLINK_V0, NLMSG_HDRLEN + NFGENMSG_VERSION_OFFSET);
  out.writeUInt16BE(resourceId, NLMSG_HDRLEN + NFGENMSG_RES_ID_OFFSET); // network order
  body.copy(out, NLMSG_HDRLEN + NFGENMSG_LEN);
  return out;
}

/** IPCTNL_MSG_CT_GET_STATS_CPU with NLM_F_DUMP, as `conntrack -S` sends it (the kernel ignores it without the flag). */
export function formatStatsCpuRequest(seq: number): Buffer {
  return statsMessage(STATS_CPU_TYPE, NLM_F_REQUEST | NLM_F_DUMP, seq, 0);
}

/** IPCTNL_MSG_CT_GET_STATS, as `conntrack -C` sends it: answered by one message (or an NLMSG_ERROR). */
export function formatStatsRequest(seq: number): Buffer {
  return statsMessage(STATS_TYPE, NLM_F_REQUEST, seq, 0);
}

/** A per-CPU message as the kernel writes it (attributes in ctnetlink_ct_stat_cpu_fill_info() order); for tests. */
export function formatStatsCpuMessage(cpu: number, counters: ConntrackStatCounters, seq = 0, pid = 0): Buffer {
  const attributes: Buffer[] = [];
  for (const [attribute, name] of CONNTRACK_STAT_ATTRIBUTES) {
    const value = counters[name];
    if (value !== undefined) attributes.push(formatU32BEAttribute(attribute, value));
  }
  return statsMessage(STATS_CPU_TYPE, NLM_F_MULTI, seq, cpu, attributes, pid);
}

/** The global message as the kernel writes it; for tests. */
export function formatStatsMessage(entries: number, maxEntries: number | undefined, seq = 0, pid = 0): Buffer {
  const attributes = [formatU32BEAttribute(CTA_STATS_GLOBAL.ENTRIES, entries)];
  if (maxEntries !== undefined) attributes.push(formatU32BEAttribute(CTA_STATS_GLOBAL.MAX_ENTRIES, maxEntries));
  return statsMessage(STATS_TYPE, 0, seq, 0, attributes, pid);
}
