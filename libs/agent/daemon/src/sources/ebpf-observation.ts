import { TCP_CONNTRACK_STATES } from '@natlens/agent-conntrack';
import { natFailureOf, type EbpfEvent, type EbpfTuple } from '@natlens/agent-ebpf';
import type { Protocol, Tuple } from '@natlens/shared-model';
import type { ObservedConnection } from '@natlens/agent-records';
import { tupleKeyOf } from './conntrack-observation';

/*
 * The BPF program's view of a connection → the pipeline's source-neutral observation, with the same tuples (address
 * text, ICMP id and type/code stand-ins for ports) the conntrack source gives the same connection, so the pipeline's
 * merge joins the two by the original tuple.
 */

const PROTOCOLS: Record<number, Protocol> = { 6: 'tcp', 17: 'udp', 132: 'sctp', 1: 'icmp', 58: 'icmpv6' };

export function protocolName(protocol: number): Protocol {
  return PROTOCOLS[protocol] ?? 'other';
}

function tupleOf(t: EbpfTuple, proto: Protocol): Tuple {
  return { src: t.src, sport: t.sport, dst: t.dst, dport: t.dport, proto };
}

/** CLOCK_MONOTONIC (bpf_ktime_get_ns) → ms since the epoch, given the offset measured by the source. */
export function epochMsOf(ktimeNs: number, monotonicToEpochMs: number): number {
  return Math.floor(ktimeNs / 1e6 + monotonicToEpochMs);
}

export interface EbpfIdentity {
  id: string;
  instance: string;
  flowId: string;
}

/** `ebpf:<id>:<instance>:<tuple>[@z<zone>]` (conntrack-observation.ts tupleKeyOf). */
export function ebpfFlowId(id: string, instance: string, original: Tuple, zone: number): string {
  return `ebpf:${id}:${instance}:${tupleKeyOf(original, zone)}`;
}

/** A NEW (kind 'new') or END (kind 'destroy') event of a connection whose identity the source assigned at NEW. */
export function observationOfConnectionEvent(event: EbpfEvent, identity: EbpfIdentity, original: Tuple, reply: Tuple, startedAt: number, observedAt: number, at: number): ObservedConnection {
  const ended = event.kind === 'end';
  return {
    source: 'ebpf',
    kind: ended ? 'destroy' : 'new',
    id: identity.id,
    instance: identity.instance,
    original,
    reply,
    observedAt,
    startedAt,
    endedAt: ended ? at : undefined,
    state: event.protocol === 6 ? TCP_CONNTRACK_STATES[event.tcpState] : undefined,
    counters: undefined,
    zone: event.zone,
    mark: event.mark,
    flowId: identity.flowId,
  };
}

export function tuplesOf(event: EbpfEvent): { original: Tuple; reply: Tuple } {
  const proto = protocolName(event.protocol);
  return { original: tupleOf(event.original, proto), reply: tupleOf(event.reply, proto) };
}

/**
 * A netfilter drop of a packet to a Service port: the connection went no further than this node. Its identity is
 * its tuple and zone alone, so the retransmitted SYNs of one attempt land on one record.
 */
export function observationOfDrop(event: EbpfEvent, at: number, observedAt: number): ObservedConnection {
  const { original, reply } = tuplesOf(event);
  return {
    source: 'ebpf',
    kind: 'destroy',
    id: 'drop',
    instance: '-',
    original,
    reply,
    observedAt,
    startedAt: at,
    endedAt: at,
    state: 'DROPPED',
    dropped: true,
    zone: event.zone,
    mark: event.mark,
    flowId: ebpfFlowId('drop', '-', original, event.zone),
  };
}

/**
 * A NAT_FAILURE event: conntrack refused the entry after NAT (insert_failed). The netfilter link saw the same entry as
 * NEW a moment before (POST_ROUTING priority 200 runs before conntrack confirms it); when the source still holds that
 * NEW's identity, the failure ends that record, so the attempt is one record that says it failed. Each attempt is
 * its own entry to the kernel (a retransmitted SYN fails again and counts again in insert_failed), and here too.
 * The tuples are the entry's: the translation NAT chose, including the port that was already taken.
 */
export function observationOfNatFailure(event: EbpfEvent, identity: EbpfIdentity | undefined, startedAt: number | undefined, at: number, observedAt: number): ObservedConnection {
  const { original, reply } = tuplesOf(event);
  const natFailure = natFailureOf(event);
  return {
    source: 'ebpf',
    kind: 'destroy',
    id: identity?.id ?? 'nat-failure',
    instance: identity?.instance ?? '-',
    original,
    reply,
    observedAt,
    startedAt: startedAt ?? at,
    endedAt: at,
    state: 'DROPPED',
    dropped: true,
    ...(natFailure ? { natFailure } : {}),
    zone: event.zone,
    mark: event.mark,
    flowId: identity?.flowId ?? ebpfFlowId('nat-failure', '-', original, event.zone),
  };
}
