import type { ServiceEvidence } from '../lib/api-types';
import { formatInstant } from '../lib/time-range';

type HealthCheck = NonNullable<ServiceEvidence['nodes'][number]['healthCheck']>;

/** True when the observed answer contradicts what the node's endpoints say it should be (what the load balancer acts on). */
function disagrees(check: HealthCheck): boolean {
  const observed = check.observed;
  if (!observed || observed.stale) return false;
  return check.localEndpoints > 0 ? observed.httpStatus !== 200 : observed.httpStatus === 200;
}

/**
 * One node's health check on the Service page: what kube-proxy should answer, derived from the EndpointSlices, and
 * what it answered when the node's agent probed it as a load balancer does (observed).
 */
export function NodeHealthCheck({ check }: { check: HealthCheck | undefined }) {
  if (!check) return <span className="muted">–</span>;
  const observed = check.observed;
  const answer = !observed
    ? 'not reported'
    : observed.httpStatus === null
      ? 'no answer'
      : `${observed.httpStatus}${observed.localEndpoints !== null ? ` (${observed.localEndpoints})` : ''}`;
  const title = observed ? `probed ${formatInstant(observed.at)} UTC${observed.latencyMs !== undefined ? `, ${observed.latencyMs} ms` : ''}${observed.error ? `: ${observed.error}` : ''}${observed.stale ? ' — stale: no newer report from its agent' : ''}` : 'no agent on this node reported its health check';
  return (
    <span data-col="healthCheck">
      <span className="muted">expected</span> <span data-health="expected">{check.healthy ? 200 : 503} ({check.localEndpoints})</span>
      {' · '}
      <span className="muted">observed</span>{' '}
      <span data-health="observed" title={title} style={disagrees(check) ? { color: 'var(--bad)', fontWeight: 600 } : observed?.stale ? { color: 'var(--muted)' } : undefined}>
        {answer}
      </span>
    </span>
  );
}
