/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * Netfilter drops of packets addressed to Service ports, from the skb:kfree_skb tracepoint (its drop reason exists
 * since 5.17). This is how a Local-policy node without a local endpoint shows up: kube-proxy's filter-table
 * KUBE-EXTERNAL-SERVICES rule drops the SYN before conntrack confirms anything, so no NEW event ever comes.
 * The tracepoint fires in every namespace; only the configured one is reported. A drop of a NEW connection's packet
 * after NAT, where conntrack inserts its entry, is reported apart (NAT_FAILURE, with the entry's tuples), whatever port.
 */
#ifndef NATLENS_DROPS_H
#define NATLENS_DROPS_H

#include "conntrack.h"
#include "event.h"
#include "maps.h"

#define NATLENS_ETH_P_IP 0x0800
#define NATLENS_ETH_P_IPV6 0x86DD
#define NATLENS_AF_INET 2
#define NATLENS_AF_INET6 10

struct natlens_l4_head {
	__be16 sport;
	__be16 dport;
	__u32 seq;
	__u32 ack;
	__u8 offset;
	__u8 flags;
};

static __always_inline __u32 netns_of_skb(struct sk_buff *skb)
{
	struct net_device *dev = BPF_CORE_READ(skb, dev);
	if (dev)
		return BPF_CORE_READ(dev, nd_net.net, ns.inum);
	struct sock *sk = BPF_CORE_READ(skb, sk);
	return sk ? BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum) : 0;
}

static __always_inline int on_kfree_skb(struct sk_buff *skb, enum skb_drop_reason reason)
{
	if (reason != bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_NETFILTER_DROP))
		return 0;
	struct natlens_config *cfg = config_of();
	if (!cfg)
		return 0;
	__u32 netns = netns_of_skb(skb);
	if (netns != cfg->netns)
		return 0;

	/*
	 * A packet whose conntrack entry is still unconfirmed but has been through both NAT hooks (IPS_SRC_NAT_DONE is
	 * set by the last of them, at priority 100) was dropped where conntrack confirms it, at the end of POSTROUTING or
	 * LOCAL_IN: __nf_conntrack_confirm found its tuple in use and could not resolve the clash (insert_failed). That is
	 * what SNAT port exhaustion gives: get_unique_tuple tried its ports, kept a used one, and the insert failed. The
	 * entry still holds both tuples, so the event carries the real translation; user space tells SNAT from not.
	 */
	struct nf_conn *nat_ct = (struct nf_conn *)(BPF_CORE_READ(skb, _nfct) & NATLENS_NFCT_PTRMASK);
	if (nat_ct) {
		unsigned long status = BPF_CORE_READ(nat_ct, status);
		if (!(status & NATLENS_IPS_CONFIRMED) && (status & NATLENS_IPS_SRC_NAT_DONE) && (status & NATLENS_IPS_DST_NAT_DONE)) {
			emit_conn_event_reason(nat_ct, netns, NATLENS_EVENT_NAT_FAILURE, NATLENS_ORIGIN_KFREE_SKB, status, (__u8)reason);
			return 0;
		}
	}

	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 network = BPF_CORE_READ(skb, network_header);
	__u16 l3proto = bpf_ntohs(BPF_CORE_READ(skb, protocol));
	__u8 family, protocol;
	__u8 src[16] = {}, dst[16] = {};
	__u32 l4;
	if (l3proto == NATLENS_ETH_P_IP) {
		struct iphdr ip;
		if (bpf_probe_read_kernel(&ip, sizeof(ip), head + network))
			return 0;
		if (ip.frag_off & bpf_htons(0x1fff))
			return 0; /* a later fragment has no ports */
		family = NATLENS_AF_INET;
		protocol = ip.protocol;
		__builtin_memcpy(src, &ip.saddr, 4);
		__builtin_memcpy(dst, &ip.daddr, 4);
		l4 = network + ip.ihl * 4;
	} else if (l3proto == NATLENS_ETH_P_IPV6) {
		struct ipv6hdr ip6;
		if (bpf_probe_read_kernel(&ip6, sizeof(ip6), head + network))
			return 0;
		family = NATLENS_AF_INET6;
		protocol = ip6.nexthdr; /* extension headers before TCP/UDP: not a Service SYN worth chasing */
		__builtin_memcpy(src, &ip6.saddr, 16);
		__builtin_memcpy(dst, &ip6.daddr, 16);
		l4 = network + sizeof(ip6);
	} else {
		return 0;
	}
	if (protocol != IPPROTO_TCP && protocol != IPPROTO_UDP && protocol != IPPROTO_SCTP)
		return 0;
	struct natlens_l4_head h = {};
	if (bpf_probe_read_kernel(&h, protocol == IPPROTO_TCP ? sizeof(h) : 4, head + l4))
		return 0;
	__u32 key = ((__u32)protocol << 16) | bpf_ntohs(h.dport);
	if (!bpf_map_lookup_elem(&svc_ports, &key))
		return 0;

	struct natlens_event *e = reserve_event(netns);
	if (!e)
		return 0;
	e->ktime_ns = bpf_ktime_get_ns();
	e->conn_cookie = 0;
	e->netns = netns;
	e->status = 0;
	e->mark = BPF_CORE_READ(skb, mark);
	/* The dropped packet still holds its (unconfirmed) conntrack entry: the zone the raw table put it in. */
	struct nf_conn *ct = (struct nf_conn *)(BPF_CORE_READ(skb, _nfct) & NATLENS_NFCT_PTRMASK);
	e->zone = ct ? original_zone(ct) : 0;
	e->kind = NATLENS_EVENT_DROP;
	e->origin = NATLENS_ORIGIN_KFREE_SKB;
	e->family = family;
	e->protocol = protocol;
	e->tcp_state = protocol == IPPROTO_TCP ? h.flags : 0;
	e->drop_reason = (__u8)reason;
	__builtin_memcpy(e->orig_src, src, 16);
	__builtin_memcpy(e->orig_dst, dst, 16);
	e->orig_sport = h.sport;
	e->orig_dport = h.dport;
	__builtin_memcpy(e->reply_src, dst, 16);
	__builtin_memcpy(e->reply_dst, src, 16);
	e->reply_sport = h.dport;
	e->reply_dport = h.sport;
	submit_event(e);
	struct natlens_ns_counters *c = ns_counters_of(netns);
	if (c)
		__sync_fetch_and_add(&c->drops, 1);
	return 0;
}

#endif
