import type { ConntrackEntry, ConntrackTuple } from '@natlens/agent-conntrack';
import type { Protocol, Tuple } from '@natlens/shared-model';
import type { ObservedConnection } from '../pipeline/observed-connection';

/*
 * ctnetlink's view of a connection → the pipeline's source-neutral observation. For ICMP, conntrack's stand-ins
 * for ports are used: the echo id as the source port, type and code as the destination "port".
 */
const NS_PER_MS = 1_000_000n;

function protocolOf(tuple: ConntrackTuple): Protocol {
  return typeof tuple.proto === 'number' ? 'other' : tuple.proto;
}

export function tupleOf(tuple: ConntrackTuple): Tuple {
  const icmp = tuple.icmp;
  return {
    src: tuple.src,
    sport: tuple.sport ?? icmp?.id ?? 0,
    dst: tuple.dst,
    dport: tuple.dport ?? (icmp ? (icmp.type << 8) | icmp.code : 0),
    proto: protocolOf(tuple),
  };
}

const counter = (c: { packets: bigint; bytes: bigint } | undefined) => (c ? { packets: Number(c.packets), bytes: Number(c.bytes) } : undefined);

export function observationOf(entry: ConntrackEntry, observedAt: number, instance?: string): ObservedConnection | undefined {
  if (entry.id === undefined) return undefined;
  const start = entry.timestamp?.start;
  const stop = entry.timestamp?.stop;
  const original = counter(entry.counters?.original);
  const reply = counter(entry.counters?.reply);
  return {
    source: 'conntrack',
    kind: entry.event,
    id: String(entry.id),
    ...(instance ? { instance } : {}),
    original: tupleOf(entry.original),
    reply: tupleOf(entry.reply),
    observedAt,
    ...(start ? { startedAt: Number(start / NS_PER_MS) } : {}),
    ...(stop ? { endedAt: Number(stop / NS_PER_MS) } : {}),
    ...(entry.tcp ? { state: entry.tcp.state } : entry.sctp ? { state: entry.sctp.state } : {}),
    ...(original || reply ? { counters: { ...(original ? { original } : {}), ...(reply ? { reply } : {}) } } : {}),
    ...(entry.zone !== undefined ? { zone: entry.zone } : {}),
    ...(entry.mark !== undefined ? { mark: entry.mark } : {}),
  };
}
