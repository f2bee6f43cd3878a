import type { ConntrackStats, FlowRecord, NodeReport, SnatPortUsage } from '@natlens/shared-model';
import { flowRecord, startTestHub, TEST_READ_TOKEN, type TestHub, waitFor } from '../testing';

/*
 * Issue 20 through a real hub (SQLite): agents' reports with conntrack statistics and SNAT pairs in over HTTP, out as
 * GET /api/nodes (fill, rates, busiest pairs), GET /api/nodes/conntrack (history), the gauges and counters on
 * /metrics that deploy/prometheus's rules read; and records with verdict dropped-nat-failure out as the Service's
 * natFailures in its evidence and as natlens_hub_service_nat_failures.
 */
const stats = (at: number, insertFailed: number, entries: number, extra: Partial<ConntrackStats['counters']> = {}): ConntrackStats => ({
  at,
  entries,
  max: 1000,
  buckets: 256,
  counters: { found: 0, invalid: 0, insert: 0, insertFailed, drop: 0, earlyDrop: 0, error: 0, searchRestart: 0, clashResolve: 0, chainTooLong: 0, ...extra },
});
const pair = (inUse: number, destination = '198.19.1.11'): SnatPortUsage => ({ snatAddress: '198.18.0.12', destination, destinationPort: 8080, protocol: 'tcp', inUse, range: { min: 40000, max: 40063 }, rangeBasis: 'nat-rule' });
const report = (node: string, at: number, conntrack: ConntrackStats, snatPorts: SnatPortUsage[] = []): NodeReport => ({ version: 1, node, at, intervalMs: 5000, addresses: [], healthChecks: [], conntrack, snatPorts });

describe('conntrack and SNAT health (real hub)', () => {
  let hub: TestHub;
  const now = Date.now();
  const read = (path: string) => hub.request('GET', path, { token: TEST_READ_TOKEN });
  beforeAll(async () => {
    hub = await startTestHub({ alertIntervalMs: 200 });
    for (const r of [
      report('node2', now - 20_000, stats(now - 20_000, 100, 900), [pair(40)]),
      report('node2', now - 10_000, stats(now - 10_000, 110, 950, { clashResolve: 3 }), [pair(50)]),
      report('node2', now, stats(now, 120, 960, { clashResolve: 6, drop: 2 }), [pair(12, '198.19.2.11'), pair(60)]),
      report('node1', now, stats(now, 0, 10)),
    ]) {
      const res = await hub.request('POST', '/api/nodes/report', { body: r });
      expect([res.status, res.body.stored]).toEqual([200, true]);
    }
  });
  afterAll(() => hub.close());

  it('lists each node\'s entries against max, its failure rates and its busiest SNAT pairs, fullest first', async () => {
    const res = await read('/api/nodes');
    expect(res.status).toBe(200);
    expect(res.body.rateWindowMs).toBe(300_000);
    const node2 = res.body.nodes.find((n: { node: string }) => n.node === 'node2');
    expect(node2.conntrack).toEqual({
      at: now,
      entries: 960,
      max: 1000,
      fill: 0.96,
      buckets: 256,
      counters: stats(now, 120, 960, { clashResolve: 6, drop: 2 }).counters,
      rates: { insertFailed: 1, drop: 0.1, earlyDrop: 0, clashResolve: 0.3, spanMs: 20_000 },
    });
    expect(node2.snatPorts.map((p: { destination: string; inUse: number; rangeSize: number; usage: number }) => [p.destination, p.inUse, p.rangeSize, p.usage])).toEqual([
      ['198.19.1.11', 60, 64, 0.9375],
      ['198.19.2.11', 12, 64, 0.1875],
    ]);
    const node1 = res.body.nodes.find((n: { node: string }) => n.node === 'node1');
    expect([node1.conntrack.fill, node1.conntrack.rates.insertFailed, node1.snatPorts]).toEqual([0.01, null, []]);
  });

  it('gives each node\'s history for the charts', async () => {
    const res = await read(`/api/nodes/conntrack?node=node2&from=${now - 60_000}&to=${now + 1}`);
    expect(res.status).toBe(200);
    expect(res.body.nodes).toEqual([
      {
        node: 'node2',
        points: [
          { at: now - 20_000, entries: 900, max: 1000, fill: 0.9, rates: { insertFailed: null, drop: null, earlyDrop: null, clashResolve: null }, snatPeakUsage: 40 / 64 },
          { at: now - 10_000, entries: 950, max: 1000, fill: 0.95, rates: { insertFailed: 1, drop: 0, earlyDrop: 0, clashResolve: 0.3 }, snatPeakUsage: 50 / 64 },
          { at: now, entries: 960, max: 1000, fill: 0.96, rates: { insertFailed: 1, drop: 0.2, earlyDrop: 0, clashResolve: 0.3 }, snatPeakUsage: 60 / 64 },
        ],
      },
    ]);
    expect((await read('/api/nodes/conntrack?from=5&to=1')).body).toMatchObject({ code: 'invalid-window' });
    expect((await read('/api/nodes/conntrack?nodes=x')).status).toBe(400);
  });

  it('exposes the gauges and counters the Prometheus rules read', async () => {
    const metrics = (await read('/metrics')).body as string;
    expect(metrics).toContain('natlens_hub_node_conntrack_entries{node="node2"} 960');
    expect(metrics).toContain('natlens_hub_node_conntrack_max{node="node2"} 1000');
    // the first report this hub saw only creates the series; the next two add their increases
    expect(metrics).toContain('natlens_hub_node_conntrack_insert_failed_total{node="node2"} 20');
    expect(metrics).toContain('natlens_hub_node_conntrack_clash_resolve_total{node="node2"} 6');
    expect(metrics).toContain('natlens_hub_snat_ports_in_use{node="node2",snat_address="198.18.0.12",destination="198.19.1.11",destination_port="8080",protocol="tcp"} 60');
    expect(metrics).toContain('natlens_hub_snat_port_range_size{node="node2",snat_address="198.18.0.12",destination="198.19.1.11",destination_port="8080",protocol="tcp",basis="nat-rule"} 64');
    // a later report without that pair removes its series
    await hub.request('POST', '/api/nodes/report', { body: report('node2', now + 1000, stats(now + 1000, 120, 960), [pair(5, '198.19.2.11')]) });
    const after = (await read('/metrics')).body as string;
    expect(after).not.toContain('destination="198.19.1.11"');
    expect(after).toContain('natlens_hub_snat_ports_in_use{node="node2",snat_address="198.18.0.12",destination="198.19.2.11",destination_port="8080",protocol="tcp"} 5');
  });

  it('shows a Service\'s NAT failures in its evidence, observed apart from estimated, and on /metrics', async () => {
    const service = { namespace: 'default', name: 'dns', type: 'ClusterIP' as const, entry: 'clusterIP' as const };
    const failed = (node: string, natFailure: FlowRecord['natFailure']): FlowRecord => ({ ...flowRecord({ node, service, firstSeen: now - 1000, clientKind: 'pod', client: '198.19.2.20' }), verdict: 'dropped-nat-failure', ...(natFailure ? { natFailure } : {}) });
    const records = [
      failed('node2', { reason: 'nat-port-exhausted', kernelReason: 'NETFILTER_DROP', observed: true }),
      failed('node2', { reason: 'nat-port-exhausted', kernelReason: 'NETFILTER_DROP', observed: true }),
      failed('node2', { reason: 'insert-failed', observed: false }),
      flowRecord({ node: 'node2', service, firstSeen: now - 900, clientKind: 'pod', client: '198.19.2.20' }),
    ];
    const ingest = await hub.request('POST', '/api/ingest', { body: { node: 'node2', sentAt: now, records } });
    expect(ingest.status).toBe(200);
    const evidence = await read(`/api/services/default/dns/evidence?from=${now - 60_000}&to=${now + 1}`);
    expect(evidence.status).toBe(200);
    expect(evidence.body.natFailures).toEqual({
      observed: 2,
      estimated: 1,
      byReason: [
        { node: 'node2', reason: 'nat-port-exhausted', kernelReason: 'NETFILTER_DROP', observed: true, connections: 2 },
        { node: 'node2', reason: 'insert-failed', observed: false, connections: 1 },
      ],
    });
    expect(evidence.body.byVerdict['dropped-nat-failure']).toBe(3);
    expect(evidence.body.findings[0]).toMatchObject({ severity: 'critical', code: 'nat-failures' });
    await waitFor('the NAT-failure gauge', async () => {
      const metrics = (await read('/metrics')).body as string;
      return metrics.includes('natlens_hub_service_nat_failures{namespace="default",service="dns",node="node2",reason="nat-port-exhausted",basis="observed"} 2') &&
        metrics.includes('natlens_hub_service_nat_failures{namespace="default",service="dns",node="node2",reason="insert-failed",basis="estimated"} 1')
        ? true
        : undefined;
    });
  });
});
