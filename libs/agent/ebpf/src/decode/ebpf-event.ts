/** One ring-buffer record, decoded (decode-events.ts). */
export interface EbpfTuple {
  src: string;
  sport: number;
  dst: string;
  dport: number;
}

/**
 * new/end: a connection began or ended; drop: netfilter dropped a packet to a Service port before NAT (no entry);
 * nat-failure: netfilter dropped a NEW connection's packet after both NAT hooks, where conntrack confirms it (its
 * entry could not be inserted): the tuples are the entry's, translation included.
 */
export type EbpfEventKind = 'new' | 'end' | 'drop' | 'nat-failure';
export type EbpfEventOrigin = 'post-routing' | 'local-in' | 'fexit' | 'kfree-skb';

export interface EbpfEvent {
  kind: EbpfEventKind;
  origin: EbpfEventOrigin;
  /** CLOCK_MONOTONIC ns (exact below 2^53 ns, about 104 days of uptime; ms-exact long after). */
  ktimeNs: number;
  /**
   * Names the connection while it lives (its nf_conn's address, bits 0-52: kernel addresses agree on bits 53-63, so
   * the number is exact). Only for matching a connection's END (or NAT failure) to its NEW; never exported. 0 for drops.
   */
  connCookie: number;
  netns: number;
  status: number;
  mark: number;
  zone: number;
  family: 4 | 6;
  /** IPPROTO_* */
  protocol: number;
  /** enum tcp_conntrack for new/end; the TCP flags byte for drops; 0 for other protocols. */
  tcpState: number;
  dropReason: number;
  /** For ICMP, sport is the echo id and dport is type << 8 | code, as conntrack reports them. */
  original: EbpfTuple;
  /** For drops, the original inverted (nothing was translated). */
  reply: EbpfTuple;
}
