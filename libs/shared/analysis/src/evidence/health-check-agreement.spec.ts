import type { NodeEvidence, ObservedHealthCheck } from './evidence-types';
import { healthCheckDisagreement } from './health-check-agreement';

const node = (localEndpoints: number, observed?: Partial<ObservedHealthCheck>): NodeEvidence => ({
  node: 'node2',
  localEndpoints,
  received: 0,
  forwarded: 0,
  dropped: 0,
  healthCheck: { localEndpoints, healthy: localEndpoints > 0, ...(observed ? { observed: { httpStatus: 200, localEndpoints, at: 1000, ...observed } } : {}) },
});

describe('healthCheckDisagreement', () => {
  it.each<[string, NodeEvidence, RegExp | undefined]>([
    ['local endpoints, 200: agrees', node(1, { httpStatus: 200 }), undefined],
    ['no local endpoint, 503: agrees', node(0, { httpStatus: 503, localEndpoints: 0 }), undefined],
    ['local endpoints, 503', node(2, { httpStatus: 503, localEndpoints: 0 }), /node2 runs 2 ready endpoint\(s\) but its health check answers HTTP 503 with localEndpoints 0/],
    ['local endpoints, no answer', node(1, { httpStatus: null, localEndpoints: null, error: 'connect ECONNREFUSED 192.0.2.12:32122' }), /does not answer \(connect ECONNREFUSED 192\.0\.2\.12:32122\)/],
    ['local endpoints, a 500 from something else', node(1, { httpStatus: 500, localEndpoints: null }), /answers HTTP 500: the load balancer takes it out/],
    ['no local endpoint, 200', node(0, { httpStatus: 200, localEndpoints: 1 }), /runs no ready endpoint but its health check answers HTTP 200 with localEndpoints 1/],
    ['a stale answer says nothing', node(1, { httpStatus: null, stale: true }), undefined],
    ['no observation: nothing to compare', node(1), undefined],
  ])('%s', (_case, sut, expected) => {
    const why = healthCheckDisagreement(sut);
    if (expected === undefined) expect(why).toBeUndefined();
    else expect(why).toMatch(expected);
  });
});
