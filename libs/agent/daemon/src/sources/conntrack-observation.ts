import type { LeanConntrackEntry, LeanConntrackTuple } from '@natlens/agent-conntrack';
import type { Protocol, Tuple } from '@natlens/shared-model';
import { zoneSuffix, type ObservedConnection } from '@natlens/agent-records';

/*
 * ctnetlink's view of a connection → the pipeline's source-neutral observation. For ICMP, conntrack's stand-ins
 * for ports are used: the echo id as the source port, type and code as the destination "port".
 *
 * This runs once per conntrack event, so it builds each observation as one object literal with a fixed set of keys
 * (absent values are undefined) rather than by spreading optional parts.
 */

export function protocolOf(tuple: LeanConntrackTuple): Protocol {
  return typeof tuple.proto === 'number' ? 'other' : tuple.proto;
}

export function sportOf(tuple: LeanConntrackTuple): number {
  return tuple.sport ?? tuple.icmpId ?? 0;
}

export function dportOf(tuple: LeanConntrackTuple): number {
  if (tuple.dport !== undefined) return tuple.dport;
  return tuple.icmpType !== undefined && tuple.icmpCode !== undefined ? (tuple.icmpType << 8) | tuple.icmpCode : 0;
}

export function tupleOf(tuple: LeanConntrackTuple): Tuple {
  return { src: tuple.src, sport: sportOf(tuple), dst: tuple.dst, dport: dportOf(tuple), proto: protocolOf(tuple) };
}

/**
 * The part of a flowId after its id and instance (enrich.ts flowIdText): `<proto>:<src>:<sport>><dst>:<dport>`, and
 * `@z<zone>` outside the default zone.
 */
export function tupleKeyOf(original: Tuple, zone = 0): string {
  return `${original.proto}:${original.src}:${original.sport}>${original.dst}:${original.dport}${zoneSuffix(zone)}`;
}

/**
 * The zone of the entry's original direction: CTA_ZONE when the zone applies to both directions (`CT --zone`,
 * `ct zone set`), else the original tuple's own CTA_TUPLE_ZONE (`CT --zone-orig`); 0, the default zone, when the
 * kernel sends neither (ctnetlink leaves the default zone out).
 */
export function zoneOf(entry: Pick<LeanConntrackEntry, 'zone' | 'original'>): number {
  return entry.zone ?? entry.original.zone ?? 0;
}

type Counters = NonNullable<ObservedConnection['counters']>;

function countersOf(entry: LeanConntrackEntry): Counters | undefined {
  const op = entry.originalPackets;
  const ob = entry.originalBytes;
  const rp = entry.replyPackets;
  const rb = entry.replyBytes;
  const hasOriginal = op !== undefined && ob !== undefined;
  const hasReply = rp !== undefined && rb !== undefined;
  if (!hasOriginal && !hasReply) return undefined;
  // Both keys always, as in the records (enrich.ts): one hidden class; JSON leaves out an undefined direction.
  return { original: hasOriginal ? { packets: op, bytes: ob } : undefined, reply: hasReply ? { packets: rp, bytes: rb } : undefined };
}

/**
 * One observation of an entry with a CTA_ID (the caller drops the others). `original` and `reply` are tupleOf() of the
 * entry's tuples and `flowId` its flow id, which the caller already needed. A zero timestamp means "not set", as
 * the kernel's nf_conn_tstamp starts at 0.
 */
export function observationOf(entry: LeanConntrackEntry & { id: number }, observedAt: number, instance: string, flowId: string, original: Tuple, reply: Tuple): ObservedConnection {
  return {
    source: 'conntrack',
    kind: entry.event,
    id: String(entry.id),
    instance,
    original,
    reply,
    observedAt,
    startedAt: entry.startMs || entry.startNsInMs ? entry.startMs : undefined,
    endedAt: entry.stopMs || entry.stopNsInMs ? entry.stopMs : undefined,
    state: entry.tcpState ?? entry.sctpState,
    counters: countersOf(entry),
    zone: zoneOf(entry),
    mark: entry.mark,
    flowId,
  };
}
