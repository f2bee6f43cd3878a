import type { FlowRecord } from '@natlens/shared-model';
import { flowRecord, startTestHub, TEST_READ_TOKEN, type TestHub, waitFor } from '../testing';

/*
 * The hub's own NATInsertFailures (issue 20), per Service: records with verdict dropped-nat-failure through real
 * ingest fire it (its `for` set to 0 here; 5m by default), GET /api/alerts and natlens_alerts show it, and it
 * resolves once the failures leave the window.
 */
describe('NATInsertFailures (real hub)', () => {
  let hub: TestHub;
  const read = (path: string) => hub.request('GET', path, { token: TEST_READ_TOKEN });
  beforeAll(async () => {
    hub = await startTestHub({ alertIntervalMs: 200, alertWindowMs: 3000, alertRules: { NATInsertFailures: { forMs: 0 } } });
  });
  afterAll(() => hub.close());

  it('fires for the Service whose connections NAT dropped, and resolves when they leave the window', async () => {
    const now = Date.now();
    const service = { namespace: 'kube-system', name: 'kube-dns', type: 'ClusterIP' as const, entry: 'clusterIP' as const };
    const failed = (i: number, natFailure: FlowRecord['natFailure']): FlowRecord => ({ ...flowRecord({ node: 'node2', service, firstSeen: now - i, clientKind: 'pod', client: '198.19.2.20' }), verdict: 'dropped-nat-failure', ...(natFailure ? { natFailure } : {}) });
    const healthy = { namespace: 'default', name: 'web' };
    const res = await hub.request('POST', '/api/ingest', {
      body: { node: 'node2', sentAt: now, records: [failed(0, { reason: 'insert-failed', observed: false }), failed(1, { reason: 'insert-failed', observed: false }), failed(2, { reason: 'nat-port-exhausted', observed: true }), flowRecord({ node: 'node2', service: healthy, firstSeen: now })] },
    });
    expect(res.status).toBe(200);
    const firing = await waitFor('NATInsertFailures to fire', async () => {
      const alerts = (await read('/api/alerts')).body.alerts as { key: string; state: string; value: number; summary: string; severity: string }[];
      return alerts.find((a) => a.key === 'NATInsertFailures|kube-system/kube-dns' && a.state === 'firing');
    });
    expect(firing).toMatchObject({ value: 3, severity: 'warning', summary: '3 connection(s) to kube-system/kube-dns dropped by conntrack or NAT (1 observed, 2 estimated): 2 insert-failed on node2 (estimated), 1 nat-port-exhausted on node2' });
    const alerts = (await read('/api/alerts')).body;
    expect(alerts.alerts.some((a: { key: string }) => a.key === 'NATInsertFailures|default/web')).toBe(false);
    expect(alerts.rules.NATInsertFailures).toMatchObject({ threshold: 0, severity: 'warning' });
    expect((await read('/metrics')).body).toMatch(/natlens_alerts\{alertname="NATInsertFailures",namespace="kube-system",service="kube-dns",severity="warning",alertstate="firing"\} 1/);
    await waitFor('NATInsertFailures to resolve', async () => {
      const list = (await read('/api/alerts')).body.alerts as { key: string; state: string }[];
      return list.find((a) => a.key === 'NATInsertFailures|kube-system/kube-dns' && a.state === 'resolved');
    });
  });
});
