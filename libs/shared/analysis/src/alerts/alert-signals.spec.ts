import { buildServiceEvidence } from '../evidence/service-evidence';
import type { EvidenceCounts, EvidenceObservations, EvidenceRow, ObservedHealthCheck, ServiceTopology } from '../evidence/evidence-types';
import { DEFAULT_ALERT_RULES, effectiveAlertRules } from './alert-rules';
import { alertSignals } from './alert-signals';

const window = { from: 0, to: 60_000 };
const topology = (policy: 'Local' | 'Cluster', pods: [string, string][], extra: Partial<ServiceTopology> = {}): ServiceTopology => ({
  namespace: 'default', name: 'web', type: 'LoadBalancer', externalTrafficPolicy: policy,
  endpoints: pods.map(([pod, node]) => ({ namespace: 'default', pod, node })), nodes: ['node1', 'node2', 'node3'], source: 'cluster', ...extra,
});
const row = (node: string, pod: string, podNode: string, connections: number, extra: Partial<EvidenceRow> = {}): EvidenceRow => ({
  node, entry: 'loadBalancer', verdict: 'preserved', clientKind: 'external', snat: false, endpoint: { namespace: 'default', pod, node: podNode }, connections, ...extra,
});
const counts = (rows: EvidenceRow[]): EvidenceCounts => ({ rows, distinctOriginal: 1, distinctSeenByPods: 1 });

function signals(t: ServiceTopology, rows: EvidenceRow[], rules = DEFAULT_ALERT_RULES, observations: EvidenceObservations = {}) {
  const c = counts(rows);
  return alertSignals(buildServiceEvidence(t, window, c, observations), c, rules);
}

describe('alertSignals', () => {
  const imbalanced = topology('Local', [['web-1', 'node1'], ['web-2', 'node1'], ['web-3', 'node1'], ['web-4', 'node2']], { healthCheckNodePort: 32122 });
  const imbalancedRows = [row('node1', 'web-1', 'node1', 100), row('node1', 'web-2', 'node1', 100), row('node1', 'web-3', 'node1', 100), row('node2', 'web-4', 'node2', 300)];

  it.each([
    ['UnexpectedSNAT counts snat-unexpected connections', topology('Local', [['web-1', 'node1']]), [row('node1', 'web-1', 'node1', 7, { verdict: 'snat-unexpected', snat: true, snatAddress: '198.18.0.11' }), row('node1', 'web-1', 'node1', 3)], 'UnexpectedSNAT', 7],
    ['UnexpectedSNAT is 0 for expected SNAT', topology('Cluster', [['web-1', 'node1']]), [row('node1', 'web-1', 'node1', 7, { verdict: 'snat-expected', snat: true, snatAddress: '198.18.0.11' })], 'UnexpectedSNAT', 0],
    ['LoadImbalance is max/mean per pod (3 pods on one node, 1 on another)', imbalanced, imbalancedRows, 'LoadImbalance', 2],
    ['TrafficToNodeWithoutEndpoints counts outside traffic entering empty nodes', topology('Cluster', [['web-1', 'node1']]), [row('node3', 'web-1', 'node1', 40, { entry: 'nodePort' }), row('node1', 'web-1', 'node1', 10)], 'TrafficToNodeWithoutEndpoints', 40],
    ['TrafficToNodeWithoutEndpoints counts drops too', topology('Local', [['web-1', 'node1']]), [row('node3', 'web-1', 'node1', 5, { verdict: 'dropped-no-local-endpoint', entry: 'nodePort' })], 'TrafficToNodeWithoutEndpoints', 5],
    ['TrafficToNodeWithoutEndpoints leaves ClusterIP calls out', topology('Cluster', [['web-1', 'node1']]), [row('node3', 'web-1', 'node1', 40, { entry: 'clusterIP', clientKind: 'pod' })], 'TrafficToNodeWithoutEndpoints', 0],
    ['HealthCheckMismatch counts LB traffic to a Local node without endpoints', topology('Local', [['web-1', 'node1']], { healthCheckNodePort: 32122 }), [row('node2', 'web-1', 'node1', 9)], 'HealthCheckMismatch', 9],
    ['HealthCheckMismatch is 0 when the LB follows the health checks', imbalanced, imbalancedRows, 'HealthCheckMismatch', 0],
  ] as const)('%s', (_name, t, rows, rule, value) => {
    expect(signals(t, [...rows])[rule]?.value).toBeCloseTo(value, 6);
  });

  it('NATInsertFailures counts the Service\'s NAT failures, observed and estimated named apart', () => {
    const natFailures = { observed: 3, estimated: 1, byReason: [{ reason: 'nat-port-exhausted' as const, node: 'node2', observed: true, connections: 3 }, { reason: 'insert-failed' as const, node: 'node1', observed: false, connections: 1 }] };
    const sut = signals(topology('Cluster', [['web-1', 'node1']]), [row('node2', 'web-1', 'node1', 4, { verdict: 'dropped-nat-failure' })], DEFAULT_ALERT_RULES, { natFailures }).NATInsertFailures;
    expect(sut).toEqual({ value: 4, summary: '4 connection(s) to default/web dropped by conntrack or NAT (3 observed, 1 estimated): 3 nat-port-exhausted on node2, 1 insert-failed on node1 (estimated)' });
    expect(signals(topology('Cluster', [['web-1', 'node1']]), [row('node1', 'web-1', 'node1', 4)]).NATInsertFailures?.value).toBe(0);
  });

  it('names where it measured', () => {
    const sut = signals(topology('Cluster', [['web-1', 'node1']]), [row('node3', 'web-1', 'node1', 40, { entry: 'nodePort' })]);
    expect(sut.TrafficToNodeWithoutEndpoints?.summary).toContain('node3: 40 forwarded');
  });

  it('leaves a rule out when disabled or below its minimum of connections', () => {
    const rules = effectiveAlertRules({ UnexpectedSNAT: { enabled: false }, LoadImbalance: { minConnections: 1000 } });
    const sut = signals(imbalanced, imbalancedRows, rules);
    expect(sut.UnexpectedSNAT).toBeUndefined();
    expect(sut.LoadImbalance).toBeUndefined();
    expect(sut.TrafficToNodeWithoutEndpoints).toBeDefined();
  });

  describe('HealthCheckMismatch on the observed answers', () => {
    const local = topology('Local', [['web-1', 'node1'], ['web-2', 'node1'], ['web-3', 'node2']], { healthCheckNodePort: 32122 });
    const answers = (byNode: Record<string, Partial<ObservedHealthCheck>>): EvidenceObservations => ({
      healthChecks: new Map(Object.entries(byNode).map(([node, a]) => [node, { httpStatus: 200, localEndpoints: 1, at: 59_000, ...a }])),
    });
    const agreeing = { node1: { localEndpoints: 2 }, node2: {}, node3: { httpStatus: 503, localEndpoints: 0 } };

    it.each<[string, Record<string, Partial<ObservedHealthCheck>>, number, RegExp]>([
      ['every node answers as its endpoints say', agreeing, 0, /health checks agree with the endpoints/],
      ['node2 has an endpoint and does not answer', { ...agreeing, node2: { httpStatus: null, localEndpoints: null, error: 'connect ECONNREFUSED' } }, 1, /observed: node2 runs 1 ready endpoint\(s\) but its health check does not answer \(connect ECONNREFUSED\)/],
      ['node2 answers 503', { ...agreeing, node2: { httpStatus: 503, localEndpoints: 0 } }, 1, /observed: node2 .* answers HTTP 503/],
      ['node3 answers 200 without any endpoint', { ...agreeing, node3: { httpStatus: 200, localEndpoints: 1 } }, 1, /observed: node3 runs no ready endpoint but its health check answers HTTP 200/],
      ['a stale answer is not evidence', { ...agreeing, node2: { httpStatus: null, stale: true } }, 0, /agree/],
    ])('%s', (_case, byNode, value, summary) => {
      const sut = signals(local, [], DEFAULT_ALERT_RULES, answers(byNode)).HealthCheckMismatch;
      expect(sut?.value).toBe(value);
      expect(sut?.summary).toMatch(summary);
    });

    it('names the inferred cause apart from the observed one', () => {
      const sut = signals(local, [row('node3', 'web-1', 'node1', 4)], DEFAULT_ALERT_RULES, answers({ ...agreeing, node2: { httpStatus: 503, localEndpoints: 0 } })).HealthCheckMismatch;
      expect(sut?.value).toBe(5);
      expect(sut?.summary).toMatch(/observed: node2 .*; inferred from traffic: the load balancer sent 4 connection\(s\) to node3, which has no local endpoint/);
    });
  });

  it('HealthCheckMismatch applies to Local-policy LoadBalancers only', () => {
    expect(signals(topology('Cluster', [['web-1', 'node1']]), [row('node2', 'web-1', 'node1', 9)]).HealthCheckMismatch).toBeUndefined();
  });
});
