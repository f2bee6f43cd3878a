import { flowRecord, startTestHub, TEST_READ_TOKEN, type TestHub } from '@natlens/hub-server/testing';
import { LAB_SEEDS_INVENTORY } from '@natlens/shared-cluster/testing';
import type { NodeReport } from '@natlens/shared-model';
import { runExplainCommand } from './explain';

describe('natlens explain', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub();
    await hub.ingest([
      flowRecord({ node: 'node3', firstSeen: 1_700_000_000_000, seenAs: '198.18.0.13', endpoint: { pod: 'web-1', node: 'node1', ip: '198.19.1.11' } }),
      flowRecord({ node: 'node3', firstSeen: 1_700_000_001_000, client: '198.51.100.80', seenAs: '198.18.0.13', endpoint: { pod: 'web-2', node: 'node2', ip: '198.19.2.11' } }),
    ]);
  });
  afterAll(async () => {
    await hub.close();
  });

  const env = { NATLENS_HUB_TOKEN: TEST_READ_TOKEN };
  const window = { from: 1_699_999_990_000, to: 1_700_000_060_000 };

  it('prints the evidence as tables and the findings', async () => {
    const sut = await runExplainCommand('default/web', { hub: hub.hub.url, ...window }, env);
    expect(sut).toMatch(/^default\/web {2}NodePort, externalTrafficPolicy: Cluster/);
    expect(sut).toMatch(/clients {5}2 as sent, 1 as seen by pods/);
    expect(sut).toMatch(/NODE +SNAT ADDRESS +CONNECTIONS\nnode3 +198\.18\.0\.13 +2/);
    expect(sut).toMatch(/default\/web-1 +node1 +1 +50\.0% +50\.0% +50\.0%/);
    expect(sut).toMatch(/\[WARNING\] client-ip-lost: /);
  });

  it('says when a proxy header carried the client through the SNAT', async () => {
    const api = { namespace: 'default', name: 'api' };
    await hub.ingest([
      { ...flowRecord({ node: 'node3', service: api, firstSeen: 1_700_000_002_000, client: '198.18.0.254', clientKind: 'node', seenAs: '198.18.0.13', verdict: 'proxied' }), realClient: { ip: '198.51.100.81' } },
    ]);
    const sut = await runExplainCommand('default/api', { hub: hub.hub.url, ...window }, env);
    expect(sut).toMatch(/1 connection carried the client in a PROXY protocol \/ X-Forwarded-For header/);
  });

  it('prints the Service\'s NAT failures, observed apart from estimated', async () => {
    const dns = { namespace: 'kube-system', name: 'kube-dns', type: 'ClusterIP' as const, entry: 'clusterIP' as const };
    const failed = (at: number, natFailure: NonNullable<Parameters<typeof hub.ingest>[0][number]['natFailure']>) => ({ ...flowRecord({ node: 'node2', service: dns, firstSeen: at, clientKind: 'pod', client: '198.19.2.20' }), verdict: 'dropped-nat-failure' as const, natFailure });
    await hub.ingest([failed(1_700_000_003_000, { reason: 'insert-failed', observed: false }), failed(1_700_000_003_001, { reason: 'nat-port-exhausted', kernelReason: 'NETFILTER_DROP', observed: true })]);
    const sut = await runExplainCommand('kube-system/kube-dns', { hub: hub.hub.url, ...window }, env);
    expect(sut).toMatch(/NAT failures 2 connection\(s\) dropped by conntrack or NAT: 1 observed \(seen per connection\), 1 estimated/);
    expect(sut).toMatch(/node2 +nat-port-exhausted +NETFILTER_DROP +observed +1/);
    expect(sut).toMatch(/node2 +insert-failed +- +estimated +1/);
    expect(sut).toMatch(/\[CRITICAL\] nat-failures: /);
  });

  it('prints the JSON with --json', async () => {
    const sut = JSON.parse(await runExplainCommand('default/web', { hub: hub.hub.url, json: true, ...window }, env));
    expect(sut.connections).toBe(2);
  });

  it.each([
    ['a malformed name', 'web', {}, /expected namespace\/name/],
    ['an unknown Service', 'default/nope', {}, /404: no Service default\/nope/],
    ['no token', 'default/web', { NATLENS_HUB_TOKEN: '' }, /401/],
  ])('fails clearly on %s', async (_name, service, envOverride, message) => {
    await expect(runExplainCommand(service, { hub: hub.hub.url }, { ...env, ...envOverride })).rejects.toThrow(message);
  });

  it('prints each node\'s health check as expected from its endpoints and as the agent observed it', async () => {
    const seeds = await startTestHub({ inventory: LAB_SEEDS_INVENTORY });
    try {
      const now = Date.now();
      const web = { namespace: 'default', name: 'web' };
      const report = (node: string, httpStatus: number | null, localEndpoints: number | null, error?: string): NodeReport => ({
        version: 1,
        node,
        at: now - 500,
        intervalMs: 1000,
        addresses: [],
        healthChecks: [{ service: web, address: '192.0.2.10', port: 32122, at: now - 500, latencyMs: 0.9, httpStatus, localEndpoints, ...(error ? { error } : {}) }],
      });
      for (const r of [report('node1', 200, 2), report('node2', null, null, 'connect ECONNREFUSED 192.0.2.10:32122'), report('node3', 503, 0)]) {
        expect((await seeds.request('POST', '/api/nodes/report', { body: r })).status).toBe(200);
      }
      const sut = await runExplainCommand('default/web', { hub: seeds.hub.url, from: now - 60_000, to: now + 1000 }, env);
      expect(sut).toMatch(/HEALTH CHECK EXPECTED +OBSERVED/);
      expect(sut).toMatch(/node2 +1 +0 +0 +0 +200 \(1 local\) +no answer: connect ECONNREFUSED 192\.0\.2\.10:32122 at /);
    } finally {
      await seeds.close();
    }
  });
});
