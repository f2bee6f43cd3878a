// SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0)
/*
 * natlens's kernel side: every NAT translation (the netfilter-link hook; fexit on nf_nat_setup_info on kernels
 * without netfilter programs) and every netfilter drop of Service traffic, into one ring buffer, with per-namespace
 * totals. One entry file; each feature lives in its own header. Built by native/build-bpf.sh (clang -target bpf)
 * against a vmlinux.h generated from the build host's BTF; CO-RE relocates it on the running kernel.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>

#include "event.h"
#include "maps.h"
#include "conntrack.h"
#include "netfilter_hook.h"
#include "nat_fexit.h"
#include "drops.h"

/* Debian's libbpf 1.1 does not know this section name; the loader registers a handler for it
 * (libbpf_register_prog_handler: BPF_PROG_TYPE_NETFILTER, BPF_NETFILTER). */
SEC("netfilter")
int natlens_netfilter(struct bpf_nf_ctx *ctx)
{
	return on_netfilter_packet(ctx);
}

SEC("fexit/nf_nat_setup_info")
int BPF_PROG(natlens_nat_setup, struct nf_conn *ct, const struct nf_nat_range2 *range, enum nf_nat_manip_type maniptype, unsigned int verdict)
{
	return on_nat_setup(ct, maniptype, verdict);
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(natlens_kfree_skb, struct sk_buff *skb, void *location, enum skb_drop_reason reason)
{
	return on_kfree_skb(skb, reason);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
