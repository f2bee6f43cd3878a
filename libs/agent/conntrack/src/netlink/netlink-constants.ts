/*
 * Netlink and nfnetlink framing constants, from include/uapi/linux/netlink.h and
 * include/uapi/linux/netfilter/nfnetlink.h. Values are the kernel's; names keep the kernel's spelling so they can
 * be grepped for in its sources.
 */

/** socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER): the protocol ctnetlink speaks on. */
export const NETLINK_NETFILTER = 12;

/** Multicast groups for conntrack events (enum nfnetlink_groups); bind() takes the mask 1 << (group - 1). */
export const NFNLGRP_CONNTRACK_NEW = 1;
export const NFNLGRP_CONNTRACK_UPDATE = 2;
export const NFNLGRP_CONNTRACK_DESTROY = 3;

/** Messages and attributes start on 4-byte boundaries (NLMSG_ALIGNTO, NLA_ALIGNTO). */
export const NETLINK_ALIGNMENT = 4;

/**
 * struct nlmsghdr, 16 bytes, all fields in HOST byte order (little-endian on every machine we run on):
 * nlmsg_len u32 @0 (header included), nlmsg_type u16 @4, nlmsg_flags u16 @6, nlmsg_seq u32 @8, nlmsg_pid u32 @12.
 */
export const NLMSG_HDRLEN = 16;
export const NLMSG_LEN_OFFSET = 0;
export const NLMSG_TYPE_OFFSET = 4;
export const NLMSG_FLAGS_OFFSET = 6;
export const NLMSG_SEQ_OFFSET = 8;
export const NLMSG_PID_OFFSET = 12;

/** Control message types below NLMSG_MIN_TYPE (0x10), shared by every netlink family. */
export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLMSG_OVERRUN = 4;

/** struct nlmsgerr: error i32 (a negative errno, 0 for an ACK) then the header of the request it answers. */
export const NLMSGERR_ERROR_LENGTH = 4;
export const NLMSGERR_LENGTH = NLMSGERR_ERROR_LENGTH + NLMSG_HDRLEN;
/** NLMSG_DONE of a dump carries an int: 0, or the negative errno that ended the dump early. */
export const NLMSG_DONE_ERROR_LENGTH = 4;

/** nlmsg_flags. */
export const NLM_F_REQUEST = 0x001;
export const NLM_F_MULTI = 0x002;
export const NLM_F_ACK = 0x004;
export const NLM_F_ECHO = 0x008;
/** GET modifiers: NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH. */
export const NLM_F_ROOT = 0x100;
export const NLM_F_MATCH = 0x200;
export const NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;
/** NEW modifiers; ctnetlink marks a new-connection event with CREATE|EXCL. */
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
/** On NLMSG_ERROR: the request was cut to its header (NLM_F_CAPPED), extended ACK attributes follow (ACK_TLVS). */
export const NLM_F_CAPPED = 0x100;
export const NLM_F_ACK_TLVS = 0x200;

/**
 * struct nlattr, 4 bytes in HOST byte order: nla_len u16 @0 (header included, padding excluded), nla_type u16 @2.
 * The two top bits of nla_type are flags, not part of the type.
 */
export const NLA_HDRLEN = 4;
export const NLA_LEN_OFFSET = 0;
export const NLA_TYPE_OFFSET = 2;
export const NLA_F_NESTED = 0x8000;
export const NLA_F_NET_BYTEORDER = 0x4000;
export const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;

/**
 * struct nfgenmsg, 4 bytes after nlmsghdr on every nfnetlink message: nfgen_family u8 @0, version u8 @1,
 * res_id u16 @2 in NETWORK byte order (__be16).
 */
export const NFGENMSG_LEN = 4;
export const NFGENMSG_FAMILY_OFFSET = 0;
export const NFGENMSG_VERSION_OFFSET = 1;
export const NFGENMSG_RES_ID_OFFSET = 2;
export const NFNETLINK_V0 = 0;

/** nlmsg_type of an nfnetlink message = subsystem << 8 | message (NFNL_SUBSYS_ID, NFNL_MSG_TYPE). */
export const NFNL_SUBSYS_SHIFT = 8;
export const NFNL_MSG_TYPE_MASK = 0xff;
export const NFNL_SUBSYS_CTNETLINK = 1;

/** Address families in nfgen_family (include/linux/socket.h). AF_UNSPEC in a dump request means "all". */
export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_INET6 = 10;

/**
 * Rounds a length up to the next 4-byte boundary (NLMSG_ALIGN, NLA_ALIGN). Plain arithmetic rather than the C
 * macro's bit mask, because JavaScript bit operators work on int32 and nlmsg_len is a u32.
 */
export function netlinkAlign(length: number): number {
  return length + ((NETLINK_ALIGNMENT - (length % NETLINK_ALIGNMENT)) % NETLINK_ALIGNMENT);
}
