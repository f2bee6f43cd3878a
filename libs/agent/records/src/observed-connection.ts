import type { NatFailure, Tuple } from '@natlens/shared-model';

/*
 * What every source (conntrack today; eBPF and pcap later) hands to the enrich stage: one observation of one
 * connection's two tuples, source-neutral. Decoding is the source's job, meaning is the enrich stage's.
 */
export interface ObservedConnection {
  source: 'conntrack' | 'ebpf' | 'pcap';
  /** new: first sight; update: a later state; destroy: the connection ended; dump: seen in a full table read. */
  kind: 'new' | 'update' | 'destroy' | 'dump';
  /** Source-specific identity, stable for the life of the connection (conntrack: CTA_ID). */
  id: string;
  /**
   * Tells apart connections that reuse the id and the tuple: the kernel gives a connection that reuses a TIME_WAIT
   * tuple the same CTA_ID (the id hashes the entry's address and tuple, and the slab reuses the address). conntrack:
   * the start timestamp in ns when nf_conntrack_timestamp is on, else an instance the source assigns at NEW.
   */
  instance?: string;
  original: Tuple;
  /** The tuple the reply carries, as conntrack records it (CTA_TUPLE_REPLY). */
  reply: Tuple;
  /** ms since the epoch */
  observedAt: number;
  startedAt?: number;
  endedAt?: number;
  state?: string;
  counters?: { original?: { packets: number; bytes: number }; reply?: { packets: number; bytes: number } };
  /**
   * The conntrack zone of the connection's original direction (CTA_ZONE, else the original tuple's CTA_TUPLE_ZONE;
   * 0 when the kernel names none). Part of its identity. Undefined from the capture, which cannot see zones.
   */
  zone?: number;
  mark?: number;
  /** The client a proxying load balancer named (PROXY protocol, X-Forwarded-For, Forwarded): pcap only. */
  realClient?: { ip: string; port?: number };
  /** SYNs that nothing answered (pcap), or a drop event (eBPF): the packets went no further than this node. */
  dropped?: boolean;
  /**
   * With `dropped`: the connection's first packet was dropped because NAT or conntrack failed (eBPF: observed, with
   * its tuple; conntrack source: estimated from the node's counters).
   */
  natFailure?: NatFailure;
  /** The flowId (enrich.ts flowIdOf), when the source already built it: later stages then need not build it again. */
  flowId?: string;
}
