import { LAB_SEEDS_INVENTORY } from '@natlens/shared-cluster/testing';
import type { NodeReport, ServiceHealthCheck } from '@natlens/shared-model';
import { startTestHub, TEST_READ_TOKEN, type TestHub } from '../testing';

/*
 * Node reports through the real HTTP server into SQLite, and back out as observed health checks in the evidence. The
 * seeds inventory: default/web is a Local-policy LoadBalancer (healthCheckNodePort 32122) with 2 ready pods on node1,
 * 1 on node2 and none on node3.
 */
const web = { namespace: 'default', name: 'web' };
const answer = (node: string, at: number, httpStatus: number | null, localEndpoints: number | null, error?: string): ServiceHealthCheck => ({
  service: web,
  address: `198.18.0.1${node.slice(-1)}`,
  port: 32122,
  at,
  latencyMs: 0.9,
  httpStatus,
  localEndpoints,
  ...(error ? { error } : {}),
});
const report = (node: string, at: number, check: ServiceHealthCheck): NodeReport => ({ version: 1, node, at, intervalMs: 1000, addresses: [{ address: check.address, interface: 'eth0' }], healthChecks: [check] });

describe('node reports (POST /api/nodes/report, GET /api/nodes) and observed health checks in the evidence', () => {
  let hub: TestHub;
  const now = Date.now();
  beforeAll(async () => {
    hub = await startTestHub({ inventory: LAB_SEEDS_INVENTORY });
    for (const r of [
      report('node1', now - 500, answer('node1', now - 500, 200, 2)),
      report('node2', now - 500, answer('node2', now - 500, null, null, 'connect ECONNREFUSED 198.18.0.12:32122')),
      report('node3', now - 500, answer('node3', now - 500, 503, 0)),
    ]) {
      const res = await hub.request('POST', '/api/nodes/report', { body: r });
      expect([res.status, res.body]).toEqual([200, { stored: true, changed: [web] }]);
    }
  });
  afterAll(() => hub.close());

  it('shows each node\'s observed answer next to the endpoint count it should reflect', async () => {
    const res = await hub.request('GET', '/api/services/default/web/evidence', { token: TEST_READ_TOKEN });
    expect(res.status).toBe(200);
    expect(res.body.nodes.map((n: { node: string; healthCheck: unknown }) => [n.node, n.healthCheck])).toEqual([
      ['node1', { localEndpoints: 2, healthy: true, observed: { httpStatus: 200, localEndpoints: 2, at: now - 500, latencyMs: 0.9, since: now - 500 } }],
      ['node2', { localEndpoints: 1, healthy: true, observed: { httpStatus: null, localEndpoints: null, at: now - 500, latencyMs: 0.9, error: 'connect ECONNREFUSED 198.18.0.12:32122', since: now - 500 } }],
      ['node3', { localEndpoints: 0, healthy: false, observed: { httpStatus: 503, localEndpoints: 0, at: now - 500, latencyMs: 0.9, since: now - 500 } }],
    ]);
    expect(res.body.findings).toContainEqual({ severity: 'critical', code: 'health-check-mismatch', message: expect.stringMatching(/node2 runs 1 ready endpoint\(s\) but its health check does not answer/) });
    // natlens explain prints the two side by side: apps/cli/src/explain/explain.spec.ts
  });

  it('lists each node\'s latest report, and keeps the newer one when an older arrives late', async () => {
    const late = await hub.request('POST', '/api/nodes/report', { body: report('node1', now - 10_000, answer('node1', now - 10_000, 503, 0)) });
    expect([late.status, late.body]).toEqual([200, { stored: false, changed: [] }]);
    const res = await hub.request('GET', '/api/nodes', { token: TEST_READ_TOKEN });
    expect(res.status).toBe(200);
    expect(res.body.nodes.map((n: { node: string; stale: boolean; addresses: unknown; healthChecks: ServiceHealthCheck[] }) => [n.node, n.stale, n.addresses, n.healthChecks[0]?.httpStatus])).toEqual([
      ['node1', false, [{ address: '198.18.0.11', interface: 'eth0' }], 200],
      ['node2', false, [{ address: '198.18.0.12', interface: 'eth0' }], null],
      ['node3', false, [{ address: '198.18.0.13', interface: 'eth0' }], 503],
    ]);
  });

  it('keeps the changes of answer as history', async () => {
    await hub.request('POST', '/api/nodes/report', { body: report('node2', now, answer('node2', now, 200, 1)) });
    const res = await hub.request('GET', `/api/nodes/health-checks?service=default/web&from=${now - 60_000}&to=${now + 1}`, { token: TEST_READ_TOKEN });
    expect(res.body.changes.filter((c: { node: string }) => c.node === 'node2').map((c: { httpStatus: number | null; at: number }) => [c.httpStatus, c.at])).toEqual([[null, now - 500], [200, now]]);
  });

  it.each<[string, { body?: unknown; token?: string | null }, number, RegExp]>([
    ['no token', { body: report('node1', now, answer('node1', now, 200, 2)), token: null }, 401, /token-missing/],
    ['a read token (reports are ingest)', { body: report('node1', now, answer('node1', now, 200, 2)), token: TEST_READ_TOKEN }, 403, /token-rejected/],
    ['a report of a newer version', { body: { ...report('node1', now, answer('node1', now, 200, 2)), version: 9 } }, 400, /version 9 is newer than this hub reads.*upgrade the hub/],
    ['a malformed answer', { body: { ...report('node1', now, answer('node1', now, 200, 2)), healthChecks: [{ port: 0 }] } }, 400, /field healthChecks\[0\]/],
  ])('refuses %s', async (_case, options, status, message) => {
    const res = await hub.request('POST', '/api/nodes/report', options);
    expect(res.status).toBe(status);
    expect(JSON.stringify(res.body)).toMatch(message);
  });
});
