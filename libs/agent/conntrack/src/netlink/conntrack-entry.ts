import { CONNTRACK_STATUS_BITS, IPPROTO, SCTP_CONNTRACK_STATES, TCP_CONNTRACK_STATES } from './ctnetlink-constants';
import type { NfFamily } from './netlink-message';

/*
 * A conntrack entry as ctnetlink reports it. The ORIGINAL tuple is the connection as its first packet had it; the
 * REPLY tuple is what the answer will carry. NAT shows as the difference between the two: with DNAT the reply comes
 * from the backend, not from the address the client dialled; with SNAT it goes to the rewritten source.
 *
 * 64-bit values (counters, timestamps) are bigint: ns timestamps are ~1.8e18, beyond Number.MAX_SAFE_INTEGER.
 */

/**
 * How the message came: a NEW event (CT_NEW with NLM_F_CREATE), an UPDATE event (CT_NEW without it), a DESTROY
 * event (CT_DELETE), or the answer to a request (CT_NEW with NLM_F_MULTI): one entry of a dump, or the reply to a
 * single CT_GET, which ctnetlink_get_conntrack() also sends with NLM_F_MULTI.
 */
export type ConntrackEventKind = 'new' | 'update' | 'destroy' | 'dump';

export type ConntrackFamily = NfFamily;

export type KnownProtocol = 'tcp' | 'udp' | 'sctp' | 'icmp' | 'icmpv6';
/** A protocol conntrack tracks by name; any other stays its IP protocol number (e.g. 47 for GRE). */
export type ConntrackProtocol = KnownProtocol | number;

export interface ConntrackTuple {
  /** IPv4 dotted quad, or IPv6 in RFC 5952 form. */
  src: string;
  dst: string;
  proto: ConntrackProtocol;
  /** Ports, for TCP, UDP, SCTP (and any protocol the kernel sends CTA_PROTO_SRC_PORT/DST_PORT for). */
  sport?: number;
  dport?: number;
  /** ICMP or ICMPv6 echo identifier, type and code (conntrack's stand-in for ports). */
  icmp?: { id: number; type: number; code: number };
  /** CTA_TUPLE_ZONE: a zone that applies to this direction only. */
  zone?: number;
}

export type ConntrackStatusFlag = (typeof CONNTRACK_STATUS_BITS)[number];

export interface ConntrackStatus {
  /** CTA_STATUS as sent: enum ip_conntrack_status bits. */
  bits: number;
  /** The names of the bits that are set, lowest first; bits the kernel may add later are in `bits` only. */
  flags: ConntrackStatusFlag[];
}

export interface ConntrackCounters {
  packets: bigint;
  bytes: bigint;
}

export type TcpConntrackState = (typeof TCP_CONNTRACK_STATES)[number];
export type SctpConntrackState = (typeof SCTP_CONNTRACK_STATES)[number];

/** struct nf_ct_tcp_flags: IP_CT_TCP_FLAG_* bits (window scale, SACK permitted, close init, be liberal...). */
export interface TcpFlags {
  flags: number;
  mask: number;
}

export interface ConntrackTcpInfo {
  state: TcpConntrackState;
  wscaleOriginal?: number;
  wscaleReply?: number;
  flagsOriginal?: TcpFlags;
  flagsReply?: TcpFlags;
}

export interface ConntrackSctpInfo {
  state: SctpConntrackState;
  /** The verification tag packets in each direction must carry. */
  vtagOriginal?: number;
  vtagReply?: number;
}

export interface ConntrackEntry {
  event: ConntrackEventKind;
  family: ConntrackFamily;
  original: ConntrackTuple;
  reply: ConntrackTuple;
  /** CTA_ID: unique among live entries; with the tuples it identifies one connection across its events. */
  id?: number;
  status?: ConntrackStatus;
  /** CTA_TIMEOUT: seconds left before the entry expires (absent from DESTROY events). */
  timeout?: number;
  mark?: number;
  /** CTA_ZONE: the zone of both directions (only sent for a non-default zone). */
  zone?: number;
  /** CTA_USE: the kernel's reference count on the entry. */
  use?: number;
  /** CTA_COUNTERS_ORIG / _REPLY, present when net.netfilter.nf_conntrack_acct=1. */
  counters?: { original?: ConntrackCounters; reply?: ConntrackCounters };
  /** CTA_TIMESTAMP, ns since the epoch, present when net.netfilter.nf_conntrack_timestamp=1; stop only on DESTROY. */
  timestamp?: { start?: bigint; stop?: bigint };
  /** CTA_TIMESTAMP_EVENT (Linux 6.14+): when the kernel generated this event, ns since the epoch. */
  eventTimestamp?: bigint;
  tcp?: ConntrackTcpInfo;
  sctp?: ConntrackSctpInfo;
}

/** Bits to flag names. */
export function decodeConntrackStatus(bits: number): ConntrackStatus {
  const flags = CONNTRACK_STATUS_BITS.filter((_, bit) => (bits >>> bit) & 1);
  return { bits: bits >>> 0, flags };
}

export function hasStatusFlag(entry: Pick<ConntrackEntry, 'status'>, flag: ConntrackStatusFlag): boolean {
  return entry.status?.flags.includes(flag) ?? false;
}

const PROTOCOL_NUMBERS: Readonly<Record<KnownProtocol, number>> = {
  tcp: IPPROTO.TCP,
  udp: IPPROTO.UDP,
  sctp: IPPROTO.SCTP,
  icmp: IPPROTO.ICMP,
  icmpv6: IPPROTO.ICMPV6,
};
const PROTOCOL_BY_NUMBER: ReadonlyMap<number, KnownProtocol> = new Map(
  Object.entries(PROTOCOL_NUMBERS).map(([name, number]) => [number, name as KnownProtocol]),
);

export function protocolFromNumber(number: number): ConntrackProtocol {
  return PROTOCOL_BY_NUMBER.get(number) ?? number;
}

export function protocolNumber(protocol: ConntrackProtocol): number {
  return typeof protocol === 'number' ? protocol : PROTOCOL_NUMBERS[protocol];
}
