import type { ObservedConnection } from '@natlens/agent-records';

/** Conntrack's TCP states of a connection that has closed, or is closing with nothing more to carry. */
const CLOSED_TCP_STATES: ReadonlySet<string> = new Set(['TIME_WAIT', 'CLOSE', 'LAST_ACK']);

/**
 * When a later observation of a known connection says it was last active, or undefined when it does not say. A
 * conntrack dump that lists a TCP connection in TIME_WAIT (kept up to 120 s after the close), and its DESTROY when
 * that timer expires, tell when the table was read or the entry removed, not when the connection carried traffic:
 * taking them as activity brought closed connections back into later evidence windows (a resolved alert fired again
 * after the 60 s resync). The eBPF source's END is the close itself (it fires at the transition), so its time counts.
 */
export function lastActivityOf(observation: ObservedConnection): number | undefined {
  const closed = observation.state !== undefined && CLOSED_TCP_STATES.has(observation.state);
  if (closed && observation.source === 'conntrack' && (observation.kind === 'dump' || observation.kind === 'destroy')) return undefined;
  return observation.endedAt ?? observation.observedAt;
}
