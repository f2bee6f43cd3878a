/*
 * struct natlens_event (bpf/event.h) as offsets: the one place the TypeScript side names them. event-layout.spec.ts
 * compiles a host program over the same header that prints offsetof() of every field and compares it with this
 * table, so the two cannot drift apart.
 *
 * Byte order: addresses and ports in network order (copied from the conntrack tuple); everything else in the host's
 * order (little-endian on every platform this runs on: x86-64, arm64).
 */
export const EVENT_LAYOUT = {
  ktime_ns: 0, // u64, CLOCK_MONOTONIC ns
  conn_cookie: 8, // u64, opaque per-connection key
  netns: 16, // u32
  status: 20, // u32, IPS_* bits
  mark: 24, // u32
  zone: 28, // u16
  kind: 30, // u8, EVENT_KIND
  origin: 31, // u8, EVENT_ORIGIN
  family: 32, // u8, AF_INET | AF_INET6
  protocol: 33, // u8, IPPROTO_*
  tcp_state: 34, // u8, enum tcp_conntrack (drops: TCP flags)
  drop_reason: 35, // u8, enum skb_drop_reason
  orig_src: 36, // 16 bytes
  orig_dst: 52, // 16 bytes
  orig_sport: 68, // be16
  orig_dport: 70, // be16
  reply_src: 72, // 16 bytes
  reply_dst: 88, // 16 bytes
  reply_sport: 104, // be16
  reply_dport: 106, // be16
} as const;

/** sizeof(struct natlens_event): 108 bytes of fields, padded to the u64 alignment. */
export const EVENT_SIZE = 112;

export const EVENT_KIND = { NEW: 1, END: 2, DROP: 3, NAT_FAILURE: 4 } as const;
export const EVENT_ORIGIN = { NF_POST_ROUTING: 1, NF_LOCAL_IN: 2, FEXIT_NAT: 3, KFREE_SKB: 4 } as const;
export const AF_INET = 2;
export const AF_INET6 = 10;

/** struct natlens_ns_counters, as the addon returns it. */
export interface NamespaceCounters {
  netns: number;
  connections: number;
  ends: number;
  drops: number;
  ringBufferFull: number;
}
