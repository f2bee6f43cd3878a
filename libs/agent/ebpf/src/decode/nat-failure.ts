import type { NatFailure } from '@natlens/shared-model';
import type { EbpfEvent } from './ebpf-event';

/*
 * What a NAT_FAILURE event says went wrong. Pure. The BPF side reports a packet netfilter dropped while its
 * conntrack entry had been through both NAT hooks but was not yet confirmed: the drop happened where conntrack
 * inserts the entry (__nf_conntrack_confirm), so the insert failed (insert_failed counts it). The entry's status
 * tells why the tuple was taken:
 * - SNAT applied (IPS_SRC_NAT): masquerade picked the source port, and the reply tuple it settled on was in use.
 *   get_unique_tuple (nf_nat_core.c) keeps a used tuple only when every port it tried was taken, so this is SNAT
 *   port exhaustion for that (SNAT address, destination) pair.
 * - no SNAT: two packets of one tuple raced to create the entry and conntrack could not resolve the clash (the DNS
 *   race on kernels or protocols without clash resolution).
 */

/** include/uapi/linux/netfilter/nf_conntrack_common.h, enum ip_conntrack_status. */
export const IPS = { CONFIRMED: 1 << 3, SRC_NAT: 1 << 4, DST_NAT: 1 << 5, SRC_NAT_DONE: 1 << 7, DST_NAT_DONE: 1 << 8 } as const;

/** The only drop reason the BPF side reports NAT failures for (it checks the running kernel's enum by name). */
export const NAT_FAILURE_KERNEL_REASON = 'SKB_DROP_REASON_NETFILTER_DROP';

/** The failure a NAT_FAILURE event reports; undefined for any other kind of event. */
export function natFailureOf(event: Pick<EbpfEvent, 'kind' | 'status'>): NatFailure | undefined {
  if (event.kind !== 'nat-failure') return undefined;
  return {
    reason: (event.status & IPS.SRC_NAT) !== 0 ? 'nat-port-exhausted' : 'insert-failed',
    kernelReason: NAT_FAILURE_KERNEL_REASON,
    observed: true,
  };
}
