import type { KubePod } from '@natlens/shared-model';
import type { PodRef } from './cluster-types';
import { ipKey } from './ip-address';

/** Phases whose pod has released its address (kubelet frees the sandbox), so the IP may already be another pod's. */
const FINISHED_PHASES = new Set(['Succeeded', 'Failed']);

function podAddresses(pod: KubePod): string[] {
  const { podIP, podIPs } = pod.status;
  const addresses = (podIPs ?? []).map((entry) => entry.ip);
  if (podIP !== undefined && !addresses.includes(podIP)) addresses.unshift(podIP);
  return addresses;
}

/**
 * Pod address key → pod. Host-network pods are left out: their address is their node's, and a connection from it
 * is the node's (kube-proxy and conntrack cannot tell them apart either). When two pods claim one address (a
 * terminating pod and its replacement during IP reuse), the running one wins.
 */
export function indexPodAddresses(pods: readonly KubePod[]): Map<string, PodRef> {
  const byAddress = new Map<string, PodRef & { running: boolean }>();
  for (const pod of pods) {
    if (pod.spec.hostNetwork === true || FINISHED_PHASES.has(pod.status.phase ?? '')) continue;
    const { name, namespace = 'default' } = pod.metadata;
    const running = pod.status.phase === 'Running';
    const ref = pod.spec.nodeName === undefined ? { namespace, name, running } : { namespace, name, node: pod.spec.nodeName, running };
    for (const address of podAddresses(pod)) {
      const key = ipKey(address);
      if (key === undefined) continue;
      const holder = byAddress.get(key);
      if (holder === undefined || (running && !holder.running)) byAddress.set(key, ref);
    }
  }
  const result = new Map<string, PodRef>();
  for (const [key, { running: _running, ...ref }] of byAddress) result.set(key, ref);
  return result;
}
