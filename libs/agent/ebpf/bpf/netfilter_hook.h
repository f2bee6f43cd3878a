/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * The primary hook (kernel 6.4+): a BPF_PROG_TYPE_NETFILTER program the loader links at NF_INET_POST_ROUTING and
 * NF_INET_LOCAL_IN with priority 200, i.e. after source NAT (NF_IP_PRI_NAT_SRC = 100) and before conntrack confirms
 * the entry (NF_IP_PRI_CONNTRACK_CONFIRM = INT_MAX). Every packet leaving or entering this namespace passes exactly
 * one of the two, and a new connection's first packet passes with its entry still unconfirmed and both NAT bindings
 * set: its ORIGINAL and REPLY tuples are final. A netfilter link belongs to the namespace that made it, so the agent
 * in a node's namespace sees that node's connections only.
 */
#ifndef NATLENS_NETFILTER_HOOK_H
#define NATLENS_NETFILTER_HOOK_H

#include "conntrack.h"

#define NATLENS_NF_ACCEPT 1

static __always_inline int on_netfilter_packet(struct bpf_nf_ctx *ctx)
{
	struct sk_buff *skb = ctx->skb;
	const struct nf_hook_state *state = ctx->state;
	unsigned long nfct = BPF_CORE_READ(skb, _nfct);
	struct nf_conn *ct = (struct nf_conn *)(nfct & NATLENS_NFCT_PTRMASK);
	if (!ct)
		return NATLENS_NF_ACCEPT; /* untracked (NOTRACK) or not tracked at all */
	unsigned long status = BPF_CORE_READ(ct, status);
	if (status & NATLENS_IPS_TEMPLATE)
		return NATLENS_NF_ACCEPT;
	__u8 origin = BPF_CORE_READ(state, hook) == NF_INET_LOCAL_IN ? NATLENS_ORIGIN_NF_LOCAL_IN : NATLENS_ORIGIN_NF_POST_ROUTING;
	__u32 netns = BPF_CORE_READ(state, net, ns.inum);
	if (!(status & NATLENS_IPS_CONFIRMED)) {
		emit_conn_event(ct, netns, NATLENS_EVENT_NEW, origin, status);
		return NATLENS_NF_ACCEPT;
	}
	/* TCP's end: conntrack moved the entry to TIME_WAIT (after the last ACK) or CLOSE (RST) on this very packet,
	 * since conntrack updates the state before routing. Later packets in those states (retransmissions) repeat the
	 * event; user space keeps the first. UDP and other protocols end by timeout, in user space. */
	if (BPF_CORE_READ(ct, tuplehash[IP_CT_DIR_ORIGINAL].tuple.dst.protonum) != IPPROTO_TCP)
		return NATLENS_NF_ACCEPT;
	__u8 tcp_state = BPF_CORE_READ(ct, proto.tcp.state);
	if (tcp_state == TCP_CONNTRACK_TIME_WAIT || tcp_state == TCP_CONNTRACK_CLOSE)
		emit_conn_event(ct, netns, NATLENS_EVENT_END, origin, status);
	return NATLENS_NF_ACCEPT;
}

#endif
