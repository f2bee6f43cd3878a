import type { EvidenceCounts, EvidenceRow, ServiceTopology } from './evidence-types';
import { predictedShares } from './predicted-shares';
import { buildServiceEvidence, topologyFromRecords } from './service-evidence';

const window = { from: 0, to: 60_000 };
const counts = (rows: EvidenceRow[], distinctOriginal = 1, distinctSeenByPods = 1): EvidenceCounts => ({ rows, distinctOriginal, distinctSeenByPods });

// default/web: Cluster-policy NodePort, web-1 on node1, web-2 on node2, node3 runs none of its pods.
const clusterNodePort: ServiceTopology = {
  namespace: 'default',
  name: 'web',
  type: 'NodePort',
  externalTrafficPolicy: 'Cluster',
  endpoints: [
    { namespace: 'default', pod: 'web-1', node: 'node1' },
    { namespace: 'default', pod: 'web-2', node: 'node2' },
  ],
  nodes: ['node1', 'node2', 'node3'],
  source: 'cluster',
};

// default/web: Local-policy LoadBalancer, 3 pods on node1, 1 on node2.
const localImbalance: ServiceTopology = {
  namespace: 'default',
  name: 'web',
  type: 'LoadBalancer',
  externalTrafficPolicy: 'Local',
  healthCheckNodePort: 32122,
  endpoints: [
    { namespace: 'default', pod: 'web-1', node: 'node1' },
    { namespace: 'default', pod: 'web-2', node: 'node1' },
    { namespace: 'default', pod: 'web-3', node: 'node1' },
    { namespace: 'default', pod: 'web-4', node: 'node2' },
  ],
  nodes: ['node1', 'node2', 'node3'],
  source: 'cluster',
};

const snatOnNode3 = (pod: string, node: string, connections: number): EvidenceRow => ({
  node: 'node3', entry: 'nodePort', verdict: 'snat-expected', clientKind: 'external', snat: true, snatAddress: '198.18.0.13',
  endpoint: { namespace: 'default', pod, node }, connections,
});
const preservedLocal = (pod: string, node: string, connections: number): EvidenceRow => ({
  node, entry: 'loadBalancer', verdict: 'preserved', clientKind: 'external', snat: false, endpoint: { namespace: 'default', pod, node }, connections,
});

describe('predictedShares', () => {
  it.each([
    ['Cluster, 4 pods on 2 nodes: 1/N each', 'Cluster' as const, localImbalance.endpoints, [0.25, 0.25, 0.25, 0.25]],
    ['Local, 3 pods + 1 pod: per-node split then per pod', 'Local' as const, localImbalance.endpoints, [1 / 6, 1 / 6, 1 / 6, 1 / 2]],
    ['Local, 1 pod + 1 pod: even', 'Local' as const, clusterNodePort.endpoints, [0.5, 0.5]],
    ['no endpoints', 'Local' as const, [], []],
  ])('%s', (_name, policy, endpoints, expected) => {
    const sut = predictedShares(policy, endpoints);
    expect(sut.map((p) => p.share)).toEqual(expected.map((share) => expect.closeTo(share, 10)));
  });
});

describe('buildServiceEvidence', () => {
  it('Cluster NodePort entered on a node without endpoints: SNAT to that node, every connection forwarded', () => {
    const sut = buildServiceEvidence(clusterNodePort, window, counts([snatOnNode3('web-1', 'node1', 60), snatOnNode3('web-2', 'node2', 40)], 153, 1));

    expect(sut.connections).toBe(100);
    expect(sut.byEntry).toEqual({ clusterIP: 0, nodePort: 100, loadBalancer: 0, externalIP: 0 });
    expect(sut.byVerdict).toEqual({ 'snat-expected': 100 });
    expect(sut.clients).toEqual({ distinctOriginal: 153, distinctSeenByPods: 1, viaProxy: 0 });
    expect(sut.snat).toEqual({ external: 100, snatted: 100, ratio: 1, carried: 0, byNode: [{ node: 'node3', snatAddress: '198.18.0.13', connections: 100 }] });
    expect(sut.nodes).toEqual([
      { node: 'node1', localEndpoints: 1, received: 0, forwarded: 0, dropped: 0 },
      { node: 'node2', localEndpoints: 1, received: 0, forwarded: 0, dropped: 0 },
      { node: 'node3', localEndpoints: 0, received: 100, forwarded: 100, dropped: 0 },
    ]);
    expect(sut.endpoints).toEqual([
      { namespace: 'default', pod: 'web-1', node: 'node1', connections: 60, share: 0.6, expectedShare: 0.5 },
      { namespace: 'default', pod: 'web-2', node: 'node2', connections: 40, share: 0.4, expectedShare: 0.5 },
    ]);
    expect(sut.findings.map((f) => f.code)).toEqual(['client-ip-lost', 'traffic-to-node-without-endpoints']);
    expect(sut.findings[0]?.message).toMatch(/externalTrafficPolicy: Local/);
    expect(sut.findings[0]?.message).toMatch(/PROXY protocol or X-Forwarded-For/);
    expect(sut.findings[0]?.message).toMatch(/153 distinct client\(s\) appear to the pods as 1 address/);
  });

  it('Local-policy imbalance: predicted 1/6,1/6,1/6,1/2, health check per node, finding names the fix', () => {
    const sut = buildServiceEvidence(
      localImbalance,
      window,
      counts([preservedLocal('web-1', 'node1', 100), preservedLocal('web-2', 'node1', 100), preservedLocal('web-3', 'node1', 100), preservedLocal('web-4', 'node2', 300)]),
    );

    expect(sut.imbalance.predicted).toEqual([
      { pod: 'default/web-1', share: expect.closeTo(1 / 6, 10) },
      { pod: 'default/web-2', share: expect.closeTo(1 / 6, 10) },
      { pod: 'default/web-3', share: expect.closeTo(1 / 6, 10) },
      { pod: 'default/web-4', share: 0.5 },
    ]);
    expect(sut.imbalance.maxShare).toBe(0.5);
    expect(sut.imbalance.minShare).toBeCloseTo(1 / 6);
    expect(sut.imbalance.maxOverMean).toBe(2);
    expect(sut.endpoints.map((e) => e.expectedShare)).toEqual([0.25, 0.25, 0.25, 0.25]);
    expect(sut.nodes.map((n) => [n.node, n.healthCheck])).toEqual([
      ['node1', { localEndpoints: 3, healthy: true }],
      ['node2', { localEndpoints: 1, healthy: true }],
      ['node3', { localEndpoints: 0, healthy: false }],
    ]);
    expect(sut.snat).toEqual({ external: 600, snatted: 0, ratio: 0, carried: 0, byNode: [] });
    expect(sut.findings.map((f) => f.code)).toEqual(['local-policy-imbalance']);
    expect(sut.findings[0]?.message).toMatch(/topologySpreadConstraints/);
    expect(sut.findings[0]?.message).toMatch(/DaemonSet/);
  });

  it.each([
    [
      'dropped on a Local node without endpoints',
      [{ node: 'node3', entry: 'nodePort', verdict: 'dropped-no-local-endpoint', clientKind: 'external', snat: false, connections: 7 } as EvidenceRow],
      ['dropped-no-local-endpoint', 'local-policy-imbalance'],
      { node: 'node3', received: 0, dropped: 7 },
    ],
    [
      'snat-unexpected under Local',
      [{ node: 'node1', entry: 'loadBalancer', verdict: 'snat-unexpected', clientKind: 'external', snat: true, snatAddress: '198.18.0.11', endpoint: { namespace: 'default', pod: 'web-1', node: 'node1' }, connections: 2 } as EvidenceRow],
      ['snat-unexpected', 'local-policy-imbalance'],
      { node: 'node1', received: 2, dropped: 0 },
    ],
    ['no traffic at all', [], ['no-traffic'], { node: 'node1', received: 0, dropped: 0 }],
  ])('%s', (_name, rows, codes, nodeNumbers) => {
    const sut = buildServiceEvidence(localImbalance, window, counts(rows));
    expect(sut.findings.map((f) => f.code)).toEqual(codes);
    expect(sut.nodes.find((n) => n.node === nodeNumbers.node)).toMatchObject(nodeNumbers);
  });

  it('a proxying LB with PROXY protocol: the real client is the client as sent, and SNAT behind it loses nothing', () => {
    // lb-proxy-protocol under Cluster policy: the LB's connections (198.18.0.254) SNATed by node3, every one naming
    // its real client in a PROXY v2 header; 40 more come straight from clients, SNATed and unnamed.
    const proxied = (connections: number): EvidenceRow => ({ ...snatOnNode3('web-1', 'node1', connections), entry: 'loadBalancer', verdict: 'proxied' });
    const sut = buildServiceEvidence(clusterNodePort, window, counts([proxied(60), snatOnNode3('web-2', 'node2', 40)], 21, 1));
    expect(sut.clients).toEqual({ distinctOriginal: 21, distinctSeenByPods: 1, viaProxy: 60 });
    expect(sut.snat).toMatchObject({ external: 100, snatted: 100, carried: 60 });
    const lost = sut.findings.find((f) => f.code === 'client-ip-lost');
    expect(lost?.message).toMatch(/^40 of 100 external connection/);
    const viaProxy = sut.findings.find((f) => f.code === 'proxied-clients');
    expect(viaProxy?.message).toMatch(/For 60 of 100 connection\(s\) to default\/web the client IP reaches the pods via PROXY protocol or X-Forwarded-For/);
    expect(viaProxy?.message).toMatch(/21 distinct client\(s\) as sent/);
  });

  it('a proxied Service where every client was named has no client-ip-lost finding', () => {
    const row: EvidenceRow = { ...snatOnNode3('web-1', 'node1', 30), verdict: 'proxied' };
    const sut = buildServiceEvidence(clusterNodePort, window, counts([row]));
    expect(sut.findings.map((f) => f.code)).toEqual(['traffic-to-node-without-endpoints', 'proxied-clients']);
    expect(sut.findings[1]?.message).toMatch(/^For every connection/);
  });

  it('pod clients through the ClusterIP are neither external nor SNAT evidence', () => {
    const sut = buildServiceEvidence(clusterNodePort, window, counts([
      { node: 'node1', entry: 'clusterIP', verdict: 'preserved', clientKind: 'pod', snat: false, endpoint: { namespace: 'default', pod: 'web-2', node: 'node2' }, connections: 5 },
    ]));
    expect(sut.snat.external).toBe(0);
    expect(sut.nodes.find((n) => n.node === 'node1')).toMatchObject({ received: 5, forwarded: 5 });
    expect(sut.findings).toEqual([]);
  });
});

describe('topologyFromRecords', () => {
  it('counts NAT failures by verdict and in natFailures only (they reached no pod), with their finding', () => {
    const failed: EvidenceRow = { node: 'node2', entry: 'clusterIP', verdict: 'dropped-nat-failure', clientKind: 'pod', snat: false, connections: 5 };
    const served: EvidenceRow = { node: 'node2', entry: 'clusterIP', verdict: 'preserved', clientKind: 'pod', snat: false, endpoint: { namespace: 'default', pod: 'web-1', node: 'node1' }, connections: 2 };
    const natFailures = { observed: 5, estimated: 0, byReason: [{ reason: 'nat-port-exhausted' as const, node: 'node2', observed: true, connections: 5 }] };
    const sut = buildServiceEvidence(clusterNodePort, window, counts([failed, served]), { natFailures });
    expect({ connections: sut.connections, byVerdict: sut.byVerdict, node2: sut.nodes.find((n) => n.node === 'node2')?.received, web1: sut.endpoints[0]?.connections, natFailures: sut.natFailures }).toEqual({
      connections: 7,
      byVerdict: { 'dropped-nat-failure': 5, preserved: 2 },
      node2: 2,
      web1: 2,
      natFailures,
    });
    expect(sut.findings[0]).toEqual({ severity: 'critical', code: 'nat-failures', message: expect.stringContaining('5 nat-port-exhausted on node2') });
    expect(buildServiceEvidence(clusterNodePort, window, counts([served])).natFailures).toBeUndefined();
  });

  it('takes endpoints and nodes from what served traffic', () => {
    const sut = topologyFromRecords({ namespace: 'default', name: 'web', type: 'NodePort', externalTrafficPolicy: 'Cluster' }, counts([snatOnNode3('web-1', 'node1', 1), snatOnNode3('web-2', 'node2', 1)]));
    expect(sut).toEqual({ ...clusterNodePort, source: 'records' });
  });

  it('shows each node\'s observed health-check answer beside the endpoint count it should reflect, and finds the disagreement', () => {
    const observed = new Map([
      ['node1', { httpStatus: 200, localEndpoints: 3, at: 59_000, latencyMs: 0.8 }],
      ['node2', { httpStatus: null, localEndpoints: null, at: 59_000, error: 'no answer within 1000 ms', since: 40_000 }],
    ]);
    const sut = buildServiceEvidence(localImbalance, window, counts([preservedLocal('web-1', 'node1', 10)]), { healthChecks: observed });
    expect(sut.nodes.map((n) => [n.node, n.healthCheck])).toEqual([
      ['node1', { localEndpoints: 3, healthy: true, observed: { httpStatus: 200, localEndpoints: 3, at: 59_000, latencyMs: 0.8 } }],
      ['node2', { localEndpoints: 1, healthy: true, observed: { httpStatus: null, localEndpoints: null, at: 59_000, error: 'no answer within 1000 ms', since: 40_000 } }],
      ['node3', { localEndpoints: 0, healthy: false }],
    ]);
    expect(sut.findings.find((f) => f.code === 'health-check-mismatch')).toMatchObject({ severity: 'critical', message: expect.stringMatching(/node2 runs 1 ready endpoint\(s\) but its health check does not answer \(no answer within 1000 ms\)/) });
  });
});

describe('buildServiceEvidence: the load balancer\'s distribution model', () => {
  const lbOn = (node: string, pods: string[], each: number): EvidenceRow[] => pods.map((pod) => preservedLocal(pod, node, each));

  it('infers single-node when every load-balancer connection entered one node, and predicts from it', () => {
    const sut = buildServiceEvidence(localImbalance, window, counts(lbOn('node1', ['web-1', 'web-2', 'web-3'], 40)));
    expect(sut.imbalance.model).toMatchObject({ distribution: 'single-node', source: 'inferred', entryNode: 'node1', inference: { outcome: 'inferred', connections: 120, minConnections: 20 } });
    expect(sut.imbalance.predicted.map((p) => [p.pod, p.share])).toEqual([
      ['default/web-1', expect.closeTo(1 / 3, 10)],
      ['default/web-2', expect.closeTo(1 / 3, 10)],
      ['default/web-3', expect.closeTo(1 / 3, 10)],
      ['default/web-4', 0],
    ]);
    const finding = sut.findings.find((f) => f.code === 'local-policy-imbalance');
    expect(finding?.message).toMatch(/sends every connection to one node \(node1\), as MetalLB in L2 mode does/);
    expect(finding?.message).toMatch(/only node1's 3 pod\(s\) serve, and the 1 pod\(s\) on other nodes get none/);
    expect(finding?.message).toMatch(/inferred from the observed split over entry nodes \(120 connections: node1 120, node2 0/);
    expect(finding?.message).not.toMatch(/topologySpreadConstraints/);
  });

  it('keeps the per-node explanation when the split is per-node', () => {
    const sut = buildServiceEvidence(localImbalance, window, counts([...lbOn('node1', ['web-1', 'web-2', 'web-3'], 100), ...lbOn('node2', ['web-4'], 300)]));
    expect(sut.imbalance.model).toMatchObject({ distribution: 'per-node', source: 'inferred' });
    expect(sut.findings.find((f) => f.code === 'local-policy-imbalance')?.message).toMatch(/splits traffic per node, then per pod on that node \(node1: 3 pod\(s\), node2: 1 pod\(s\)\)\. The load balancer's split \(per-node\) is inferred/);
  });

  it('uses the annotation over the observed split, and says when they disagree', () => {
    const stated: ServiceTopology = { ...localImbalance, lbDistribution: 'per-pod' };
    // a per-node split: web-4 gets half, twice the mean, which per-pod does not explain
    const sut = buildServiceEvidence(stated, window, counts([...lbOn('node1', ['web-1', 'web-2', 'web-3'], 95), ...lbOn('node2', ['web-4'], 300)]));
    expect(sut.imbalance.model).toMatchObject({ distribution: 'per-pod', source: 'annotation', inference: { distribution: 'per-node' } });
    expect(sut.imbalance.predicted.map((p) => p.share)).toEqual([0.25, 0.25, 0.25, 0.25]);
    const message = sut.findings.find((f) => f.code === 'local-policy-imbalance')?.message;
    expect(message).toMatch(/although the load balancer targets the pods themselves \(per-pod\)/);
    expect(message).toMatch(/stated by the Service's natlens.io\/lb-distribution annotation, although the observed split fits per-node/);
  });

  it('says why it assumed per-node when the split is too small to tell', () => {
    const sut = buildServiceEvidence(localImbalance, window, counts([preservedLocal('web-4', 'node2', 3)]));
    expect(sut.imbalance.model).toMatchObject({ distribution: 'per-node', source: 'default', inference: { outcome: 'too-few-connections' } });
    expect(sut.findings.find((f) => f.code === 'local-policy-imbalance')?.message).toMatch(/assumed to be per-node: .*3 load-balancer connections are too few to infer it \(20 needed here\)/);
  });

  it('has no model for a NodePort Service, and infers nothing under Cluster policy', () => {
    expect(buildServiceEvidence(clusterNodePort, window, counts([snatOnNode3('web-1', 'node1', 5)])).imbalance.model).toBeUndefined();
    const clusterLb: ServiceTopology = { ...clusterNodePort, type: 'LoadBalancer' };
    expect(buildServiceEvidence(clusterLb, window, counts([snatOnNode3('web-1', 'node1', 5)])).imbalance.model).toEqual({ distribution: 'per-node', source: 'default' });
  });
});

describe('buildServiceEvidence: provenance of each figure group', () => {
  it.each([
    ['cluster metadata: counts observed, the rest derived from cluster objects', localImbalance, 'cluster', 'inferred'],
    ['no cluster metadata: derived from the records\' own fields', { ...localImbalance, source: 'records' as const }, 'records', 'inferred'],
    ['a stated model', { ...localImbalance, lbDistribution: 'per-node' }, 'cluster', 'annotation'],
  ])('%s', (_name, topology, derived, model) => {
    const rows = [preservedLocal('web-1', 'node1', 300), preservedLocal('web-4', 'node2', 300)];
    const sut = buildServiceEvidence(topology, window, counts(rows));
    expect(sut.provenance).toMatchObject({
      connections: 'observed',
      snat: 'observed',
      'endpoints.share': 'observed',
      'nodes.traffic': 'observed',
      'imbalance.observed': 'observed',
      'context.proxyAddresses': 'observed',
      'endpoints.expectedShare': derived,
      'nodes.localEndpoints': derived,
      'nodes.healthCheck': derived,
      'imbalance.predicted': derived,
      'context.workloads': derived,
      'imbalance.model': model,
    });
  });

  it('labels the observed health check as observed only where the Service has a health-check node port', () => {
    expect(buildServiceEvidence(clusterNodePort, window, counts([])).provenance['nodes.healthCheck.observed']).toBeUndefined();
    expect(buildServiceEvidence({ ...clusterNodePort, type: 'LoadBalancer', externalTrafficPolicy: 'Local', healthCheckNodePort: 32000 }, window, counts([])).provenance['nodes.healthCheck.observed']).toBe('observed');
  });

  it('has no model provenance without a model, and a default model is assumed', () => {
    expect(buildServiceEvidence(clusterNodePort, window, counts([])).provenance['imbalance.model']).toBeUndefined();
    expect(buildServiceEvidence({ ...clusterNodePort, type: 'LoadBalancer' }, window, counts([])).provenance['imbalance.model']).toBe('assumed');
  });
});
