/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * Reading a connection's two tuples out of its nf_conn. CO-RE: every field access is relocated against the running
 * kernel's BTF, so one object serves every kernel with BTF.
 */
#ifndef NATLENS_CONNTRACK_H
#define NATLENS_CONNTRACK_H

#include "event.h"
#include "maps.h"

/* include/uapi/linux/netfilter/nf_conntrack_common.h; bits of a uapi enum, stable across kernels. */
#define NATLENS_IPS_CONFIRMED (1UL << 3)
#define NATLENS_IPS_SRC_NAT_DONE (1UL << 7)
#define NATLENS_IPS_DST_NAT_DONE (1UL << 8)
#define NATLENS_IPS_TEMPLATE (1UL << 11)
/* include/linux/netfilter/nf_conntrack_common.h: the low 3 bits of skb->_nfct are the ctinfo. */
#define NATLENS_NFCT_PTRMASK (~7UL)
/* include/net/netfilter/nf_conntrack_zones.h: which directions a zone applies to (CT --zone-orig/--zone-reply). */
#define NATLENS_NF_CT_ZONE_DIR_ORIG (1 << 0)

/*
 * The zone of the connection's ORIGINAL direction, as ctnetlink reports it (CTA_ZONE for a zone of both directions,
 * else the original tuple's CTA_TUPLE_ZONE); 0, the default zone, otherwise. nf_conn has a zone only on kernels
 * built with CONFIG_NF_CONNTRACK_ZONES: without it every connection is in zone 0, and the read is never made.
 */
static __always_inline __u16 original_zone(const struct nf_conn *ct)
{
	if (!bpf_core_field_exists(ct->zone))
		return 0;
	__u16 id = BPF_CORE_READ(ct, zone.id);
	__u8 dir = BPF_CORE_READ(ct, zone.dir);
	return dir & NATLENS_NF_CT_ZONE_DIR_ORIG ? id : 0;
}

static __always_inline void copy_tuple(const struct nf_conntrack_tuple *t, __u8 *src, __u8 *dst, __u16 *sport, __u16 *dport)
{
	__builtin_memcpy(src, &t->src.u3, 16);
	__builtin_memcpy(dst, &t->dst.u3, 16);
	*sport = t->src.u.all;
	*dport = t->dst.u.all; /* ICMP: type and code bytes, read as one big-endian u16 = type << 8 | code */
}

/* Fill a NEW, END or NAT_FAILURE event from the connection; false when the ring buffer is full (already counted). */
static __always_inline int emit_conn_event_reason(struct nf_conn *ct, __u32 netns, __u8 kind, __u8 origin, unsigned long status, __u8 drop_reason)
{
	struct natlens_event *e = reserve_event(netns);
	if (!e)
		return 0;
	struct nf_conntrack_tuple orig = {}, reply = {};
	bpf_core_read(&orig, sizeof(orig), &ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple);
	bpf_core_read(&reply, sizeof(reply), &ct->tuplehash[IP_CT_DIR_REPLY].tuple);

	e->ktime_ns = bpf_ktime_get_ns();
	e->conn_cookie = (__u64)(unsigned long)ct;
	e->netns = netns;
	e->status = (__u32)status;
	e->mark = bpf_core_field_exists(ct->mark) ? BPF_CORE_READ(ct, mark) : 0;
	e->zone = original_zone(ct);
	e->kind = kind;
	e->origin = origin;
	e->family = (__u8)orig.src.l3num;
	e->protocol = orig.dst.protonum;
	e->tcp_state = e->protocol == IPPROTO_TCP ? BPF_CORE_READ(ct, proto.tcp.state) : 0;
	e->drop_reason = drop_reason;
	copy_tuple(&orig, e->orig_src, e->orig_dst, &e->orig_sport, &e->orig_dport);
	copy_tuple(&reply, e->reply_src, e->reply_dst, &e->reply_sport, &e->reply_dport);
	submit_event(e);

	struct natlens_ns_counters *c = ns_counters_of(netns);
	if (c) {
		if (kind == NATLENS_EVENT_NEW)
			__sync_fetch_and_add(&c->connections, 1);
		else if (kind == NATLENS_EVENT_END)
			__sync_fetch_and_add(&c->ends, 1);
		else
			__sync_fetch_and_add(&c->drops, 1);
	}
	return 1;
}

static __always_inline int emit_conn_event(struct nf_conn *ct, __u32 netns, __u8 kind, __u8 origin, unsigned long status)
{
	return emit_conn_event_reason(ct, netns, kind, origin, status, 0);
}

#endif
