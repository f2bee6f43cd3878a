/*
 * ctnetlink numbers, from include/uapi/linux/netfilter/nfnetlink_conntrack.h, nf_conntrack_common.h,
 * nf_conntrack_tcp.h and nf_conntrack_sctp.h. Each enum is the kernel's in the kernel's order; the ones this codec
 * reads were checked against bytes captured from Linux 6.18 (fixtures/captured.ts).
 */

/** enum cntl_msg_types: the low byte of nlmsg_type for NFNL_SUBSYS_CTNETLINK. */
export const IPCTNL_MSG_CT_NEW = 0;
export const IPCTNL_MSG_CT_GET = 1;
export const IPCTNL_MSG_CT_DELETE = 2;
/** A dump: one message per possible CPU (nfgenmsg res_id = the CPU) with that CPU's counters (enum ctattr_stats_cpu). */
export const IPCTNL_MSG_CT_GET_STATS_CPU = 4;
/** One message with the namespace's entry count and nf_conntrack_max (enum ctattr_stats_global). */
export const IPCTNL_MSG_CT_GET_STATS = 5;

/**
 * enum ctattr_stats_cpu: each a u32 in network order (nla_put_be32 in ctnetlink_ct_stat_cpu_fill_info()), counted
 * per CPU since the network namespace was made, so each wraps at 2^32. SEARCHED, NEW, IGNORE, DELETE and DELETE_LIST
 * (1, 3, 5, 6, 7) are no longer sent.
 */
export const CTA_STATS = {
  FOUND: 2,
  INVALID: 4,
  INSERT: 8,
  INSERT_FAILED: 9,
  DROP: 10,
  EARLY_DROP: 11,
  ERROR: 12,
  SEARCH_RESTART: 13,
  /** Linux 5.9+. */
  CLASH_RESOLVE: 14,
  /** Linux 5.15+. */
  CHAIN_TOOLONG: 15,
} as const;

/** enum ctattr_stats_global: u32 in network order (ctnetlink_stat_ct_fill_info()). */
export const CTA_STATS_GLOBAL = {
  /** Entries in this network namespace's table (nf_conntrack_count). */
  ENTRIES: 1,
  /** nf_conntrack_max (Linux 4.19+). */
  MAX_ENTRIES: 2,
} as const;

/** enum ctattr_type: top-level attributes of a conntrack message. */
export const CTA = {
  TUPLE_ORIG: 1,
  TUPLE_REPLY: 2,
  /** u32, network order: enum ip_conntrack_status bits. */
  STATUS: 3,
  PROTOINFO: 4,
  HELP: 5,
  NAT_SRC: 6,
  /** u32, network order: seconds until the entry expires. */
  TIMEOUT: 7,
  /** u32, network order. */
  MARK: 8,
  COUNTERS_ORIG: 9,
  COUNTERS_REPLY: 10,
  /** u32, network order: reference count. */
  USE: 11,
  /** u32, network order: an id unique among live entries, stable for the entry's life. */
  ID: 12,
  NAT_DST: 13,
  TUPLE_MASTER: 14,
  SEQ_ADJ_ORIG: 15,
  SEQ_ADJ_REPLY: 16,
  SECMARK: 17,
  /** u16, network order: the zone of both directions. */
  ZONE: 18,
  SECCTX: 19,
  TIMESTAMP: 20,
  MARK_MASK: 21,
  LABELS: 22,
  LABELS_MASK: 23,
  SYNPROXY: 24,
  FILTER: 25,
  STATUS_MASK: 26,
  /**
   * u64, network order: when the event was generated, ns since the epoch. Added in Linux 6.14 (Florian Westphal,
   * "ctnetlink: add CTA_TIMESTAMP_EVENT"), newer than most distributions' uapi headers; seen in every captured event.
   */
  TIMESTAMP_EVENT: 27,
} as const;

/** enum ctattr_tuple: inside CTA_TUPLE_ORIG / CTA_TUPLE_REPLY. */
export const CTA_TUPLE = {
  IP: 1,
  PROTO: 2,
  /** u16, network order: a zone that applies to this direction only (CT --zone-orig / --zone-reply). */
  ZONE: 3,
} as const;

/** enum ctattr_ip: inside CTA_TUPLE_IP; addresses as on the wire (network order). */
export const CTA_IP = {
  V4_SRC: 1,
  V4_DST: 2,
  V6_SRC: 3,
  V6_DST: 4,
} as const;

/** enum ctattr_l4proto: inside CTA_TUPLE_PROTO. NUM is a u8; ports and ICMP ids are u16 in network order. */
export const CTA_PROTO = {
  NUM: 1,
  SRC_PORT: 2,
  DST_PORT: 3,
  ICMP_ID: 4,
  ICMP_TYPE: 5,
  ICMP_CODE: 6,
  ICMPV6_ID: 7,
  ICMPV6_TYPE: 8,
  ICMPV6_CODE: 9,
} as const;

/** enum ctattr_protoinfo: inside CTA_PROTOINFO, one nest per protocol. */
export const CTA_PROTOINFO = {
  TCP: 1,
  DCCP: 2,
  SCTP: 3,
} as const;

/** enum ctattr_protoinfo_tcp. STATE and WSCALE are u8; FLAGS are struct nf_ct_tcp_flags {u8 flags; u8 mask}. */
export const CTA_PROTOINFO_TCP = {
  STATE: 1,
  WSCALE_ORIGINAL: 2,
  WSCALE_REPLY: 3,
  FLAGS_ORIGINAL: 4,
  FLAGS_REPLY: 5,
} as const;
export const TCP_FLAGS_LENGTH = 2;

/** enum ctattr_protoinfo_sctp. STATE is a u8; the verification tags are u32 in network order. */
export const CTA_PROTOINFO_SCTP = {
  STATE: 1,
  VTAG_ORIGINAL: 2,
  VTAG_REPLY: 3,
} as const;

/** enum ctattr_counters. The kernel sends the 64-bit pair; the 32-bit pair is from before Linux 2.6.24. */
export const CTA_COUNTERS = {
  PACKETS: 1,
  BYTES: 2,
  PACKETS32: 3,
  BYTES32: 4,
} as const;

/** enum ctattr_tstamp: u64 in network order, ns since the epoch (nf_conntrack_timestamp=1). */
export const CTA_TIMESTAMP = {
  START: 1,
  STOP: 2,
} as const;

/** IP protocol numbers (IANA) that ctnetlink tuples carry in CTA_PROTO_NUM. */
export const IPPROTO = {
  ICMP: 1,
  TCP: 6,
  UDP: 17,
  ICMPV6: 58,
  SCTP: 132,
} as const;

/** enum ip_conntrack_status, bit by bit (nf_conntrack_common.h). Index = bit number. */
export const CONNTRACK_STATUS_BITS = [
  'EXPECTED',
  'SEEN_REPLY',
  'ASSURED',
  'CONFIRMED',
  'SRC_NAT',
  'DST_NAT',
  'SEQ_ADJUST',
  'SRC_NAT_DONE',
  'DST_NAT_DONE',
  'DYING',
  'FIXED_TIMEOUT',
  'TEMPLATE',
  'UNTRACKED',
  'HELPER',
  'OFFLOAD',
  'HW_OFFLOAD',
] as const;

/** enum tcp_conntrack (nf_conntrack_tcp.h); value 9 is SYN_SENT2 (ex-LISTEN), named as conntrack-tools names it. */
export const TCP_CONNTRACK_STATES = [
  'NONE',
  'SYN_SENT',
  'SYN_RECV',
  'ESTABLISHED',
  'FIN_WAIT',
  'CLOSE_WAIT',
  'LAST_ACK',
  'TIME_WAIT',
  'CLOSE',
  'SYN_SENT2',
] as const;

/** enum sctp_conntrack (nf_conntrack_sctp.h). */
export const SCTP_CONNTRACK_STATES = [
  'NONE',
  'CLOSED',
  'COOKIE_WAIT',
  'COOKIE_ECHOED',
  'ESTABLISHED',
  'SHUTDOWN_SENT',
  'SHUTDOWN_RECD',
  'SHUTDOWN_ACK_SENT',
  'HEARTBEAT_SENT',
  'HEARTBEAT_ACKED',
] as const;
