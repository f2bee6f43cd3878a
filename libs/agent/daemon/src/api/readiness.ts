import type { ClusterMetadataStatus } from '@natlens/shared-cluster';

export interface Readiness {
  /** True only when every source observes and the cluster metadata is loaded: connections from now on are recorded. */
  readonly ready: boolean;
  /** What is not ready yet, in words (empty when ready). */
  readonly waitingFor: readonly string[];
}

/**
 * Whether the agent records what happens from now on. A source started but not yet attached (an eBPF program still
 * loading, a tcpdump not yet listening, conntrack before its first table read) would miss connections, and so would
 * an agent without cluster metadata (it could not tell a Service from any other address). Pure.
 */
export function agentReadiness(started: boolean, sources: readonly { name: string; observing: boolean }[], cluster: ClusterMetadataStatus): Readiness {
  const waitingFor: string[] = [];
  if (!started) waitingFor.push('the pipeline to start its sources');
  for (const source of sources) if (!source.observing) waitingFor.push(`the ${source.name} source to observe`);
  if (!cluster.ready) waitingFor.push(`cluster metadata${cluster.lastError ? ` (${cluster.lastError})` : ''}`);
  return { ready: waitingFor.length === 0, waitingFor };
}
