/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * The fallback for kernels 5.5 to 6.3 (no netfilter programs): fexit on nf_nat_setup_info. The NAT core calls it once
 * per manip type for every new connection in a namespace with NAT rules (a null binding when no rule matches); the
 * source-manip call comes last (POST_ROUTING or LOCAL_IN), when both tuples are final. It sees every namespace, so
 * the configured one is filtered here. No END events: the user-space idle timeout ends these flows.
 * Some kernels refuse fentry/fexit by policy (EPERM, as on the 6.18 machines this was built on); the loader reports
 * that and the agent falls back to the conntrack source.
 */
#ifndef NATLENS_NAT_FEXIT_H
#define NATLENS_NAT_FEXIT_H

#include "conntrack.h"

static __always_inline int on_nat_setup(struct nf_conn *ct, enum nf_nat_manip_type maniptype, unsigned int verdict)
{
	if (maniptype != NF_NAT_MANIP_SRC || verdict != NATLENS_NF_ACCEPT)
		return 0;
	__u32 netns = BPF_CORE_READ(ct, ct_net.net, ns.inum);
	struct natlens_config *cfg = config_of();
	if (!cfg || netns != cfg->netns)
		return 0;
	emit_conn_event(ct, netns, NATLENS_EVENT_NEW, NATLENS_ORIGIN_FEXIT_NAT, BPF_CORE_READ(ct, status));
	return 0;
}

#endif
