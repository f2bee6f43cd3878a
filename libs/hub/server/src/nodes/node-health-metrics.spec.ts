import pino from 'pino';
import type { ConntrackSample } from '@natlens/shared-analysis';
import type { ConntrackStats, FlowRecord, NodeReport } from '@natlens/shared-model';
import type { HubConfig } from '../config/hub-config';
import { HubMetrics } from '../metrics/hub-metrics';
import { openFlowRepository } from '../storage/open-flow-repository';
import { flowRecord, startTestHub, TEST_READ_TOKEN, waitFor } from '../testing';
import { NatFailureMetricsService } from './nat-failure-metrics.service';
import { NodeHealthMetrics } from './node-health-metrics';

const value = async (metrics: HubMetrics, name: string, labels: Record<string, string>) => {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  return (metric?.values as { labels: Record<string, string>; value: number }[] | undefined)?.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
};
const stats = (insertFailed: number, extra: Partial<ConntrackStats> = {}): ConntrackStats => ({ at: 1, entries: 10, max: 100, counters: { insertFailed, drop: 0 }, ...extra });
const report = (conntrack?: ConntrackStats): NodeReport => ({ version: 1, node: 'node1', at: 1, addresses: [], healthChecks: [], ...(conntrack ? { conntrack } : {}) });

describe('NodeHealthMetrics', () => {
  const sample = (insertFailed: number): ConntrackSample => ({ node: 'node1', at: 0, entries: 10, max: 100, buckets: null, counters: { insertFailed, drop: 0 }, snatPeakUsage: null });
  it('adds each counter\'s increase since the previous stored sample, counts a restarted counter from 0, and starts a node\'s series at 0', async () => {
    const metrics = new HubMetrics();
    const sut = new NodeHealthMetrics(metrics);
    const insertFailed = () => value(metrics, 'natlens_hub_node_conntrack_insert_failed_total', { node: 'node1' });
    sut.observe(report(stats(500)));
    expect(await insertFailed()).toBe(0); // the node's first sample: what came before is not a burst now
    sut.observe(report(stats(510)), sample(500));
    expect(await insertFailed()).toBe(10);
    sut.observe(report(stats(3)), sample(510)); // the node's namespace was made again: its counters restarted
    expect(await insertFailed()).toBe(13);
    sut.observe(report()); // a report without statistics changes nothing
    expect(await insertFailed()).toBe(13);
    expect(await value(metrics, 'natlens_hub_node_conntrack_entries', { node: 'node1' })).toBe(10);
    sut.observe(report(stats(3, { max: null })), sample(3));
    expect(await value(metrics, 'natlens_hub_node_conntrack_max', { node: 'node1' })).toBeUndefined(); // unknown, not a stale number
  });

  it('forgets the series of nodes whose reports expired', async () => {
    const metrics = new HubMetrics();
    const sut = new NodeHealthMetrics(metrics);
    const snat = { snatAddress: '198.18.0.12', destination: '198.19.1.11', destinationPort: 8080, protocol: 'tcp' as const, inUse: 5, range: { min: 40000, max: 40063 }, rangeBasis: 'nat-rule' as const };
    sut.observe({ ...report(stats(1)), snatPorts: [snat] });
    sut.observe({ ...report(stats(1)), node: 'node2' });
    expect(sut.forgetAllBut(new Set(['node2']))).toEqual(['node1']);
    const text = await metrics.registry.metrics();
    expect(text).not.toContain('node="node1"');
    expect(text).toContain('natlens_hub_node_conntrack_entries{node="node2"} 10');
  });

  it('sums to the node\'s increase over hub replicas that each stored every other report', async () => {
    const [a, b] = [new HubMetrics(), new HubMetrics()];
    const [sutA, sutB] = [new NodeHealthMetrics(a), new NodeHealthMetrics(b)];
    sutA.observe(report(stats(100)));
    sutB.observe(report(stats(110)), sample(100));
    sutA.observe(report(stats(130)), sample(110));
    sutB.observe(report(stats(160)), sample(130));
    const total = (await value(a, 'natlens_hub_node_conntrack_insert_failed_total', { node: 'node1' }) ?? 0) + (await value(b, 'natlens_hub_node_conntrack_insert_failed_total', { node: 'node1' }) ?? 0);
    expect(total).toBe(60);
  });
});

describe('NatFailureMetricsService (real SQLite)', () => {
  it('shows each Service\'s NAT failures of the last 5 minutes and removes the series once they leave it', async () => {
    const flows = await openFlowRepository('sqlite::memory:');
    const metrics = new HubMetrics();
    const t0 = 1_700_000_000_000;
    let now = t0 + 1000;
    const sut = new NatFailureMetricsService(flows, metrics, { alertIntervalMs: 60_000 } as HubConfig, () => now, pino({ level: 'silent' }));
    try {
      const failed = (i: number): FlowRecord => ({ ...flowRecord({ node: 'node2', firstSeen: t0 + i }), verdict: 'dropped-nat-failure', natFailure: { reason: 'insert-failed', observed: false } });
      await flows.ingest([failed(0), failed(1)]);
      await sut.refresh();
      const labels = { namespace: 'default', service: 'web', node: 'node2', reason: 'insert-failed', basis: 'estimated' };
      expect(await value(metrics, 'natlens_hub_service_nat_failures', labels)).toBe(2);
      now = t0 + 6 * 60_000;
      await sut.refresh();
      expect(await value(metrics, 'natlens_hub_service_nat_failures', labels)).toBeUndefined();
    } finally {
      await sut.onModuleDestroy();
      await flows.close();
    }
  });
});

describe('node series on a real hub', () => {
  it('leave /metrics when the node\'s last report expires with raw retention', async () => {
    const hub = await startTestHub({ rawRetentionMs: 3600_000, retentionIntervalMs: 1000 });
    try {
      const at = Date.now() - 2 * 3600_000;
      const res = await hub.request('POST', '/api/nodes/report', { body: { ...report(stats(1)), node: 'gone', at, conntrack: stats(1, { at }) } });
      expect([res.status, res.body.stored]).toEqual([200, true]);
      // stored and shown at once; the next retention pass deletes the report, its sample and its series
      await waitFor('the expired node to leave /metrics', async () => {
        const metrics = (await hub.request('GET', '/metrics', { token: TEST_READ_TOKEN })).body as string;
        const nodes = (await hub.request('GET', '/api/nodes', { token: TEST_READ_TOKEN })).body.nodes as unknown[];
        return nodes.length === 0 && !metrics.includes('node="gone"') ? true : undefined;
      });
    } finally {
      await hub.close();
    }
  });
});
