import type { ConntrackEntry, ConntrackEventKind, ConntrackFamily, ConntrackProtocol, ConntrackTuple, SctpConntrackState, TcpConntrackState } from './conntrack-entry';

/*
 * The agent's hot-path view of a conntrack message: only what it turns into observations, in flat objects of one
 * fixed shape (every field always present, `undefined` when the kernel did not send it), numbers instead of bigint,
 * no per-attribute objects. decodeConntrackDatagramLean() fills it straight from the bytes; leanConntrackEntryOf()
 * projects a full ConntrackEntry onto it, which is what the equivalence tests compare against.
 *
 * Precision: u64 counters become the nearest double (exact below 2^53: 9 PB or 9e15 packets in one connection, not
 * a realistic count), which is what Number(bigint) gives. ns timestamps (~1.8e18) do not fit a double exactly, so
 * each is split into the whole ms since the epoch (floor, exact) and the ns within that ms (0-999,999, exact):
 * together they are the kernel's value, see leanTimestampNs().
 */

export interface LeanConntrackTuple {
  /** IPv4 dotted quad, or IPv6 in RFC 5952 form (as in ConntrackTuple). */
  src: string;
  dst: string;
  proto: ConntrackProtocol;
  sport: number | undefined;
  dport: number | undefined;
  /** ICMP / ICMPv6 echo id, type and code: all three or none. */
  icmpId: number | undefined;
  icmpType: number | undefined;
  icmpCode: number | undefined;
  /** CTA_TUPLE_ZONE. */
  zone: number | undefined;
}

export interface LeanConntrackEntry {
  event: ConntrackEventKind;
  family: ConntrackFamily;
  /** nlmsg_seq: 0 for events, the request's seq for the answers to a dump. */
  seq: number;
  /** Where the message starts in its datagram. */
  offset: number;
  id: number | undefined;
  original: LeanConntrackTuple;
  reply: LeanConntrackTuple;
  zone: number | undefined;
  mark: number | undefined;
  tcpState: TcpConntrackState | undefined;
  sctpState: SctpConntrackState | undefined;
  /** CTA_COUNTERS_ORIG; packets and bytes are both set or both undefined (likewise for the reply direction). */
  originalPackets: number | undefined;
  originalBytes: number | undefined;
  replyPackets: number | undefined;
  replyBytes: number | undefined;
  /** CTA_TIMESTAMP_START: ms since the epoch (floor) and the ns within that ms. */
  startMs: number | undefined;
  startNsInMs: number | undefined;
  /** CTA_TIMESTAMP_STOP (DESTROY events only), likewise. */
  stopMs: number | undefined;
  stopNsInMs: number | undefined;
}

export function emptyLeanTuple(): LeanConntrackTuple {
  return { src: '', dst: '', proto: 0, sport: undefined, dport: undefined, icmpId: undefined, icmpType: undefined, icmpCode: undefined, zone: undefined };
}

/** A blank entry; every field is written here so that all entries share one hidden class in V8. */
export function emptyLeanEntry(event: ConntrackEventKind, family: ConntrackFamily, seq: number, offset: number): LeanConntrackEntry {
  return {
    event,
    family,
    seq,
    offset,
    id: undefined,
    original: EMPTY_TUPLE,
    reply: EMPTY_TUPLE,
    zone: undefined,
    mark: undefined,
    tcpState: undefined,
    sctpState: undefined,
    originalPackets: undefined,
    originalBytes: undefined,
    replyPackets: undefined,
    replyBytes: undefined,
    startMs: undefined,
    startNsInMs: undefined,
    stopMs: undefined,
    stopNsInMs: undefined,
  };
}

/** Placeholder until the message's tuples are read (a message without them is a ParseError, never delivered). */
const EMPTY_TUPLE: LeanConntrackTuple = Object.freeze(emptyLeanTuple());

const NS_PER_MS = 1_000_000n;

/** The kernel's ns timestamp back from its lean halves (exact). */
export function leanTimestampNs(ms: number, nsInMs: number): bigint {
  return BigInt(ms) * NS_PER_MS + BigInt(nsInMs);
}

function leanTupleOf(tuple: ConntrackTuple): LeanConntrackTuple {
  return {
    src: tuple.src,
    dst: tuple.dst,
    proto: tuple.proto,
    sport: tuple.sport,
    dport: tuple.dport,
    icmpId: tuple.icmp?.id,
    icmpType: tuple.icmp?.type,
    icmpCode: tuple.icmp?.code,
    zone: tuple.zone,
  };
}

/**
 * A full entry (parseConntrackMessages, or a test's literal) as the lean decoder would have read it. The agent's
 * source accepts both readers through this, and the equivalence tests state what "lean == full" means with it.
 */
export function leanConntrackEntryOf(entry: ConntrackEntry, seq = 0, offset = 0): LeanConntrackEntry {
  const lean = emptyLeanEntry(entry.event, entry.family, seq, offset);
  lean.id = entry.id;
  lean.original = leanTupleOf(entry.original);
  lean.reply = leanTupleOf(entry.reply);
  lean.zone = entry.zone;
  lean.mark = entry.mark;
  lean.tcpState = entry.tcp?.state;
  lean.sctpState = entry.sctp?.state;
  const original = entry.counters?.original;
  if (original) {
    lean.originalPackets = Number(original.packets);
    lean.originalBytes = Number(original.bytes);
  }
  const reply = entry.counters?.reply;
  if (reply) {
    lean.replyPackets = Number(reply.packets);
    lean.replyBytes = Number(reply.bytes);
  }
  const start = entry.timestamp?.start;
  if (start !== undefined) {
    lean.startMs = Number(start / NS_PER_MS);
    lean.startNsInMs = Number(start % NS_PER_MS);
  }
  const stop = entry.timestamp?.stop;
  if (stop !== undefined) {
    lean.stopMs = Number(stop / NS_PER_MS);
    lean.stopNsInMs = Number(stop % NS_PER_MS);
  }
  return lean;
}
