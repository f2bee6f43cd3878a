/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * The one record the kernel side hands to user space through the ring buffer. Shared by the BPF program
 * (natlens.bpf.c), the loader addon and the layout test (src/event-layout.spec.ts compiles a host program that prints
 * offsetof() of every field and compares them with src/event-layout.ts). Change a field here and that test fails
 * until the TypeScript decoder follows.
 *
 * Byte order: addresses and ports in network order (as the conntrack tuple holds them); everything else in host order.
 */
#ifndef NATLENS_EVENT_H
#define NATLENS_EVENT_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* natlens_event.kind */
#define NATLENS_EVENT_NEW 1  /* a connection's first packet, after NAT, before conntrack confirms it */
#define NATLENS_EVENT_END 2  /* a TCP packet that left the connection in TIME_WAIT or CLOSE */
#define NATLENS_EVENT_DROP 3 /* netfilter dropped a packet addressed to a Service port (kfree_skb reason NETFILTER_DROP) */
#define NATLENS_EVENT_NAT_FAILURE 4 /* netfilter dropped a NEW connection's packet after NAT: conntrack could not insert it */

/* natlens_event.origin: which program saw it */
#define NATLENS_ORIGIN_NF_POST_ROUTING 1
#define NATLENS_ORIGIN_NF_LOCAL_IN 2
#define NATLENS_ORIGIN_FEXIT_NAT 3
#define NATLENS_ORIGIN_KFREE_SKB 4

struct natlens_event {
	__u64 ktime_ns;      /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u64 conn_cookie;   /* opaque per-connection key (the nf_conn address); 0 for drops. Never exported. */
	__u32 netns;         /* inode number of the network namespace */
	__u32 status;        /* nf_conn->status bits (IPS_*) */
	__u32 mark;          /* nf_conn->mark */
	__u16 zone;          /* nf_conn->zone.id when the zone applies to the ORIGINAL direction, else 0 (conntrack.h) */
	__u8 kind;           /* NATLENS_EVENT_* */
	__u8 origin;         /* NATLENS_ORIGIN_* */
	__u8 family;         /* AF_INET (2) or AF_INET6 (10) */
	__u8 protocol;       /* IPPROTO_* */
	__u8 tcp_state;      /* enum tcp_conntrack; for drops: the TCP flags byte */
	__u8 drop_reason;    /* enum skb_drop_reason (drops and NAT failures only) */
	/* ORIGINAL tuple; for ICMP, sport is the echo id and dport is type << 8 | code (conntrack's own stand-ins) */
	__u8 orig_src[16];
	__u8 orig_dst[16];
	__u16 orig_sport;
	__u16 orig_dport;
	/* REPLY tuple (for drops: the ORIGINAL tuple inverted: no NAT happened) */
	__u8 reply_src[16];
	__u8 reply_dst[16];
	__u16 reply_sport;
	__u16 reply_dport;
};

/* Kernel-side totals per network namespace (map ns_counters, key: netns inode). */
struct natlens_ns_counters {
	__u64 connections; /* NEW events made */
	__u64 ends;        /* END events made */
	__u64 drops;       /* DROP events made */
	__u64 ringbuf_full; /* events lost because the ring buffer was full */
};

/* Map config, key 0: set by the loader before attaching. */
struct natlens_config {
	__u32 netns; /* only this namespace's drops are reported (kfree_skb sees every namespace) */
	__u32 wakeup_bytes; /* wake user space when this much is waiting; below it, its poll timer reads */
};

#endif
