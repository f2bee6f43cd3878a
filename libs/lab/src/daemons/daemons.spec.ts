import { forwardRouteArgs, receivingNodes } from './load-balancer';
import { serviceHealthResponse } from './health-server';

describe('load balancer routes', () => {
  it.each([
    [[], ['replace', 'unreachable', '203.0.113.10/32']],
    [['198.18.0.11'], ['replace', '203.0.113.10/32', 'via', '198.18.0.11']],
    [['198.18.0.11', '198.18.0.12'], ['replace', '203.0.113.10/32', 'nexthop', 'via', '198.18.0.11', 'nexthop', 'via', '198.18.0.12']],
  ])('over healthy nodes %j', (hops, args) => {
    expect(forwardRouteArgs('203.0.113.10', hops)).toEqual(args);
  });
});

describe('where the load balancer sends connections', () => {
  it.each([
    ['per-node: every healthy node', 'per-node', ['node1', 'node2'], undefined, ['node1', 'node2']],
    ['single-node: the first healthy node', 'single-node', ['node1', 'node2'], undefined, ['node1']],
    ['single-node: keeps its node while it stays healthy (no move back)', 'single-node', ['node1', 'node2'], ['node2'], ['node2']],
    ['single-node: moves when its node fails', 'single-node', ['node2', 'node3'], ['node1'], ['node2']],
    ['single-node: nowhere when no node is healthy', 'single-node', [], ['node1'], []],
  ] as const)('%s', (_name, distribution, healthy, current, expected) => {
    expect(receivingNodes(distribution, [...healthy], current ? [...current] : undefined)).toEqual(expected);
  });
});

describe('kube-proxy health check answer', () => {
  it.each([
    [2, 200],
    [0, 503],
  ])('with %i local endpoints is HTTP %i', (localEndpoints, status) => {
    const answer = serviceHealthResponse({ namespace: 'default', name: 'web', healthCheckNodePort: 32122, localEndpoints });
    expect(answer.status).toBe(status);
    expect(JSON.parse(answer.body)).toEqual({ service: { namespace: 'default', name: 'web' }, localEndpoints, serviceProxyHealthy: true });
  });
});
