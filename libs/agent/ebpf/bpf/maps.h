/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
#ifndef NATLENS_MAPS_H
#define NATLENS_MAPS_H

#include "event.h"

/* 8 MiB: at 2 events per connection of 112 bytes, ~37k connections of slack while user space is busy. The loader
 * may resize it before load. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct natlens_ns_counters);
} ns_counters SEC(".maps");

/* Service ports whose drops are reported: key protocol << 16 | port (host order), value unused. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} svc_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct natlens_config);
} settings SEC(".maps");

static __always_inline struct natlens_ns_counters *ns_counters_of(__u32 netns)
{
	struct natlens_ns_counters *c = bpf_map_lookup_elem(&ns_counters, &netns);
	if (c)
		return c;
	struct natlens_ns_counters zero = {};
	bpf_map_update_elem(&ns_counters, &netns, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&ns_counters, &netns);
}

static __always_inline struct natlens_config *config_of(void)
{
	__u32 key = 0;
	return bpf_map_lookup_elem(&settings, &key);
}

/* Reserve an event; a full ring buffer is counted against the namespace instead. */
static __always_inline struct natlens_event *reserve_event(__u32 netns)
{
	struct natlens_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		struct natlens_ns_counters *c = ns_counters_of(netns);
		if (c)
			__sync_fetch_and_add(&c->ringbuf_full, 1);
	}
	return e;
}

/* Wake the reader only when a batch is waiting: one wake-up per event would cost more than the event. Its poll
 * timer reads the rest. */
static __always_inline void submit_event(struct natlens_event *e)
{
	struct natlens_config *cfg = config_of();
	__u64 threshold = cfg && cfg->wakeup_bytes ? cfg->wakeup_bytes : 65536;
	__u64 flags = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= threshold ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
	bpf_ringbuf_submit(e, flags);
}

#endif
