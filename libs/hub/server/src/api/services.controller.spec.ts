import { LAB_SEEDS_INVENTORY } from '@natlens/shared-cluster/testing';
import type { FlowRecord } from '@natlens/shared-model';
import { flowRecord, startTestHub, TEST_READ_TOKEN, type TestHub } from '../testing';

/*
 * Evidence through the real HTTP server, from hand-built records shaped like the agents' for the lab's seeds
 * topology (libs/shared/cluster fixtures: nodes 198.18.0.11-13; default/api is a Cluster-policy NodePort with
 * api-1 on node1 and api-2 on node3).
 */
const T0 = 1_700_000_000_000;
const WINDOW = `from=${T0}&to=${T0 + 600_000}`;

/** N clients enter node2 (no api endpoint) on :30090: SNAT to node2, DNAT to api-1/api-2, plus the forwarded legs. */
function clusterNodePortViaNode2(n: number): FlowRecord[] {
  const endpoints = [
    { pod: 'api-1', node: 'node1', ip: '198.19.1.13' },
    { pod: 'api-2', node: 'node3', ip: '198.19.3.11' },
  ];
  const records: FlowRecord[] = [];
  for (let i = 0; i < n; i++) {
    const endpoint = endpoints[i % 2] ?? endpoints[0];
    const client = `198.51.100.${(i % 20) + 10}`;
    const service = { namespace: 'default', name: 'api', type: 'NodePort' as const, policy: 'Cluster' as const, entry: 'nodePort' as const };
    const entry = flowRecord({ node: 'node2', firstSeen: T0 + i * 1000, client, seenAs: '198.18.0.12', dst: '198.18.0.12', dport: 30090, service, endpoint });
    records.push(entry);
    // the endpoint's node sees the same connection un-NATed, from node2's address
    records.push(flowRecord({ node: endpoint?.node ?? 'node1', firstSeen: T0 + i * 1000 + 1, client: '198.18.0.12', clientKind: 'node', leg: 'forwarded', dst: endpoint?.ip ?? '', dport: 8080, service, endpoint }));
  }
  return records;
}

/** A forwarding LB splits evenly over node1 (3 local pods) and node2 (1 local pod), each node only to its own pods. */
function localImbalance(perNode: number): FlowRecord[] {
  const service = { namespace: 'shop', name: 'web', type: 'LoadBalancer' as const, policy: 'Local' as const, entry: 'loadBalancer' as const };
  const node1 = [1, 2, 3].map((k) => ({ namespace: 'shop', pod: `web-${k}`, node: 'node1', ip: `198.19.1.${20 + k}` }));
  const records: FlowRecord[] = [];
  for (let i = 0; i < perNode; i++) {
    records.push(flowRecord({ node: 'node1', firstSeen: T0 + i * 100, dst: '203.0.113.10', dport: 80, service, endpoint: node1[i % 3] }));
    records.push(flowRecord({ node: 'node2', firstSeen: T0 + i * 100 + 50, dst: '203.0.113.10', dport: 80, service, endpoint: { namespace: 'shop', pod: 'web-4', node: 'node2', ip: '198.19.2.21' } }));
  }
  return records;
}

describe('evidence API', () => {
  let sut: TestHub;
  beforeAll(async () => {
    sut = await startTestHub({ inventory: LAB_SEEDS_INVENTORY });
    expect((await sut.ingest(clusterNodePortViaNode2(100), 'node2')).status).toBe(200);
    expect((await sut.ingest(localImbalance(300), 'node1')).status).toBe(200);
  });
  afterAll(async () => {
    await sut.close();
  });

  it('Cluster NodePort entered on a node without endpoints: SNAT to that node, forwarded legs counted once', async () => {
    const res = await sut.request('GET', `/api/services/default/api/evidence?${WINDOW}`, { token: TEST_READ_TOKEN });
    expect(res.status).toBe(200);
    const evidence = res.body;
    expect(evidence.service).toEqual({ namespace: 'default', name: 'api', type: 'NodePort', externalTrafficPolicy: 'Cluster' });
    expect(evidence.window).toEqual({ from: T0, to: T0 + 600_000 });
    expect(evidence.connections).toBe(100);
    expect(evidence.byEntry).toEqual({ clusterIP: 0, nodePort: 100, loadBalancer: 0, externalIP: 0 });
    expect(evidence.byVerdict).toEqual({ 'snat-expected': 100 });
    expect(evidence.clients).toEqual({ distinctOriginal: 20, distinctSeenByPods: 1, viaProxy: 0 });
    expect(evidence.snat).toEqual({ external: 100, snatted: 100, ratio: 1, carried: 0, byNode: [{ node: 'node2', snatAddress: '198.18.0.12', connections: 100 }] });
    expect(evidence.endpoints).toEqual([
      { namespace: 'default', pod: 'api-1', node: 'node1', connections: 50, share: 0.5, expectedShare: 0.5 },
      { namespace: 'default', pod: 'api-2', node: 'node3', connections: 50, share: 0.5, expectedShare: 0.5 },
    ]);
    expect(evidence.nodes).toEqual([
      { node: 'node1', localEndpoints: 1, received: 0, forwarded: 0, dropped: 0 },
      { node: 'node2', localEndpoints: 0, received: 100, forwarded: 100, dropped: 0 },
      { node: 'node3', localEndpoints: 1, received: 0, forwarded: 0, dropped: 0 },
    ]);
    expect(evidence.findings.map((f: { code: string }) => f.code)).toEqual(['client-ip-lost', 'traffic-to-node-without-endpoints']);
    expect(evidence.findings[0]).toEqual({ severity: 'warning', code: 'client-ip-lost', message: expect.stringMatching(/20 distinct client\(s\) appear to the pods as 1 address.*externalTrafficPolicy: Local.*PROXY protocol or X-Forwarded-For/) });
  });

  it('Local-policy 3 pods / 1 pod: predicted shares 1/6, 1/6, 1/6, 1/2 and the spread fix', async () => {
    const res = await sut.request('GET', `/api/services/shop/web/evidence?${WINDOW}`);
    expect(res.status).toBe(200);
    const evidence = res.body;
    expect(evidence.connections).toBe(600);
    expect(evidence.imbalance.predicted).toEqual([
      { pod: 'shop/web-1', share: expect.closeTo(1 / 6, 10) },
      { pod: 'shop/web-2', share: expect.closeTo(1 / 6, 10) },
      { pod: 'shop/web-3', share: expect.closeTo(1 / 6, 10) },
      { pod: 'shop/web-4', share: 0.5 },
    ]);
    expect(evidence.endpoints.map((e: { pod: string; share: number }) => [e.pod, e.share])).toEqual([
      ['web-1', expect.closeTo(1 / 6, 10)],
      ['web-2', expect.closeTo(1 / 6, 10)],
      ['web-3', expect.closeTo(1 / 6, 10)],
      ['web-4', 0.5],
    ]);
    expect(evidence.imbalance).toMatchObject({ maxOverMean: 2, maxShare: 0.5 });
    expect(evidence.snat).toMatchObject({ external: 600, snatted: 0 });
    expect(evidence.findings).toEqual([{ severity: 'warning', code: 'local-policy-imbalance', message: expect.stringMatching(/topologySpreadConstraints.*podAntiAffinity.*DaemonSet/) }]);
  });

  it('lists every Service with its headline numbers, from records and from the inventory', async () => {
    const res = await sut.request('GET', `/api/services?${WINDOW}`);
    expect(res.status).toBe(200);
    expect(res.body.services.map((s: { namespace: string; name: string; connections: number; snatted: number }) => [`${s.namespace}/${s.name}`, s.connections, s.snatted])).toEqual([
      ['default/api', 100, 100],
      ['default/web', 0, 0],
      ['shop/web', 600, 0],
    ]);
  });

  it('pages through flows with filters', async () => {
    const seen: string[] = [];
    let path = `/api/flows?service=default/api&node=node2&limit=30`;
    for (;;) {
      const res = await sut.request('GET', path);
      expect(res.status).toBe(200);
      seen.push(...res.body.flows.map((f: FlowRecord) => f.flowId));
      if (!res.body.nextCursor) break;
      path = `/api/flows?service=default/api&node=node2&limit=30&cursor=${encodeURIComponent(res.body.nextCursor)}`;
    }
    expect(seen).toHaveLength(100);
    expect(new Set(seen).size).toBe(100);
  });

  it.each([
    ['GET', '/api/services/default/nope/evidence', 404, 'service-unknown'],
    ['GET', `/api/services/default/api/evidence?from=${T0}&to=${T0}`, 400, 'invalid-window'],
    ['GET', '/api/services/default/api/evidence?from=yesterday', 400, 'invalid-query'],
    ['GET', '/api/flows?limit=5000', 400, 'invalid-query'],
    ['GET', `/api/services/default/api/evidence?from=${T0}&to=${T0 + 40 * 24 * 3600_000}`, 400, 'invalid-window'],
    ['GET', `/api/services?from=${T0}&to=${T0 + 33 * 24 * 3600_000}`, 400, 'invalid-window'],
    ['GET', `/api/flows?from=${T0}&to=${T0 + 33 * 24 * 3600_000}`, 400, 'invalid-window'],
    ['GET', `/api/flows?from=${T0}`, 400, 'invalid-window'],
    ['GET', `/api/nodes/health-checks?service=default/api&from=${T0}&to=${T0 + 33 * 24 * 3600_000}`, 400, 'invalid-window'],
    ['GET', `/api/flows?node=${'n'.repeat(300)}`, 400, 'invalid-query'],
    ['GET', '/api/alerts?limit=5000', 400, 'invalid-query'],
    ['GET', '/api/flows?colour=red', 400, 'invalid-query'],
    ['GET', '/api/flows?cursor=xyz', 400, 'invalid-cursor'],
  ])('%s %s → %i %s', async (method, path, status, code) => {
    const res = await sut.request(method as 'GET', path);
    expect(res.body).toEqual({ status, code, message: expect.any(String) });
  });

  it.each([
    ['/api/flows?limit=5000', /limit: at most 1000 per page; follow nextCursor/],
    ['/api/alerts?limit=5000', /limit: at most 1000 per page; follow nextBefore/],
    [`/api/services/default/api/evidence?from=${T0}&to=${T0 + 40 * 24 * 3600_000}`, /is 40d wide; at most 32d \(NATLENS_HUB_MAX_QUERY_WINDOW/],
    [`/api/flows?from=${T0}`, /wide; at most 32d \(NATLENS_HUB_MAX_QUERY_WINDOW/],
  ])('%s: the message says the cap', async (path, message) => {
    expect((await sut.request('GET', path)).body.message).toMatch(message);
  });

  it('requires a token to read', async () => {
    const res = await sut.request('GET', '/api/services', { token: null });
    expect(res.body).toMatchObject({ status: 401, code: 'token-missing' });
  });

  it('serves /healthz and /readyz without a token', async () => {
    const res = await sut.request('GET', '/healthz', { token: null });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', cluster: expect.anything(), bus: 'none (HTTP ingest only)' });
    const ready = await sut.request('GET', '/readyz', { token: null });
    expect(ready).toEqual({ status: 200, body: { status: 'ready', store: { latencyMs: expect.any(Number) } } });
  });
});
