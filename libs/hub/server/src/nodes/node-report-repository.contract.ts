import type { ConntrackStats, NodeReport, ServiceHealthCheck, SnatPortUsage } from '@natlens/shared-model';
import { LATEST_SCHEMA_VERSION } from '../storage/migrations';
import type { NodeReportRepository } from './node-report-repository';

/*
 * The behaviour every NodeReportRepository must have, run against real SQLite and PostgreSQL
 * (sqlite-node-report.repository.spec.ts, postgres-node-report.repository.spec.ts); `open` gives a fresh, migrated store.
 */
const web = { namespace: 'default', name: 'web' };
const api = { namespace: 'default', name: 'api' };

const answer = (service: { namespace: string; name: string }, at: number, httpStatus: number | null, localEndpoints: number | null, extra: Partial<ServiceHealthCheck> = {}): ServiceHealthCheck => ({
  service,
  address: '192.0.2.11',
  port: 32122,
  at,
  latencyMs: 0.7,
  httpStatus,
  localEndpoints,
  ...(httpStatus === null ? { error: 'connect ECONNREFUSED 192.0.2.11:32122' } : {}),
  ...extra,
});
const report = (node: string, at: number, healthChecks: ServiceHealthCheck[]): NodeReport => ({ version: 1, node, at, intervalMs: 1000, addresses: [{ address: '192.0.2.11', interface: 'eth0' }], healthChecks });

export function nodeReportRepositoryContract(open: () => Promise<NodeReportRepository>): void {
  let sut: NodeReportRepository;
  beforeEach(async () => {
    sut = await open();
  });
  afterEach(async () => {
    await sut.close();
  });

  it('migrates to the latest schema, idempotently', async () => {
    expect(await sut.migrate()).toBe(LATEST_SCHEMA_VERSION);
  });

  it('keeps the newest report per node and ignores an older or repeated one', async () => {
    const first = report('node1', 1000, [answer(web, 1000, 200, 2)]);
    expect(await sut.store(first, 1001)).toEqual({ stored: true, changed: [web] });
    expect(await sut.store(first, 1002)).toEqual({ stored: false, changed: [] });
    expect(await sut.store(report('node1', 500, [answer(web, 500, 503, 0)]), 1003)).toEqual({ stored: false, changed: [] });
    await sut.store(report('node2', 1100, []), 1101);
    expect((await sut.nodes()).map((n) => [n.node, n.at, n.receivedAt, n.report])).toEqual([
      ['node1', 1000, 1001, first],
      ['node2', 1100, 1101, report('node2', 1100, [])],
    ]);
  });

  it('keeps the latest answer per (node, Service) with the time its streak began, and a history row per change', async () => {
    await sut.store(report('node1', 1000, [answer(web, 1000, 200, 1), answer(api, 1000, 503, 0)]), 1000);
    await sut.store(report('node2', 1000, [answer(web, 1000, 200, 1)]), 1000);
    expect(await sut.store(report('node1', 2000, [answer(web, 2000, 200, 1), answer(api, 2000, 503, 0)]), 2000)).toEqual({ stored: true, changed: [] });
    expect(await sut.store(report('node1', 3000, [answer(web, 3000, null, null), answer(api, 3000, 503, 0)]), 3000)).toEqual({ stored: true, changed: [web] });
    await sut.store(report('node1', 4000, [answer(web, 4000, null, null, { latencyMs: 1000, error: 'no answer within 1000 ms' }), answer(api, 4000, 503, 0)]), 4000);

    const now = await sut.healthChecksAt(web, 4500);
    expect(now.map((c) => [c.node, c.kind, c.at, c.since, c.httpStatus, c.localEndpoints, c.error, c.intervalMs])).toEqual([
      ['node1', 'latest', 4000, 3000, null, null, 'no answer within 1000 ms', 1000],
      ['node2', 'latest', 1000, 1000, 200, 1, undefined, 1000],
    ]);
    // the answer in force earlier comes from the history
    const before = await sut.healthChecksAt(web, 2500);
    expect(before.map((c) => [c.node, c.kind, c.at, c.httpStatus, c.localEndpoints])).toEqual([
      ['node1', 'history', 1000, 200, 1],
      ['node2', 'latest', 1000, 200, 1],
    ]);
    // inside the latest streak but before its latest probe: the streak's start, the same answer whenever asked
    expect((await sut.healthChecksAt(web, 3500)).map((c) => [c.node, c.kind, c.at, c.httpStatus, c.latencyMs])).toEqual([
      ['node1', 'history', 3000, null, undefined],
      ['node2', 'latest', 1000, 200, 0.7],
    ]);
    expect(await sut.healthChecksAt(web, 500)).toEqual([]);
    expect((await sut.healthCheckHistory(web, { from: 0, to: 10_000 })).map((c) => [c.node, c.at, c.httpStatus])).toEqual([
      ['node1', 1000, 200],
      ['node2', 1000, 200],
      ['node1', 3000, null],
    ]);
    expect((await sut.healthCheckHistory(api, { from: 0, to: 10_000 })).map((c) => [c.node, c.at, c.httpStatus])).toEqual([['node1', 1000, 503]]);
  });

  it('forgets the latest answer of a Service the node no longer probes', async () => {
    await sut.store(report('node1', 1000, [answer(web, 1000, 200, 1), answer(api, 1000, 200, 1)]), 1000);
    await sut.store(report('node1', 2000, [answer(web, 2000, 200, 1)]), 2000);
    expect(await sut.healthChecksAt(api, 2500)).toEqual([expect.objectContaining({ node: 'node1', kind: 'history', at: 1000 })]);
    expect((await sut.healthChecksAt(web, 2500)).map((c) => c.kind)).toEqual(['latest']);
  });

  it('deletes what is older than the retention cutoff', async () => {
    await sut.store(report('node1', 1000, [answer(web, 1000, 200, 1)]), 1000);
    await sut.store(report('node1', 2000, [answer(web, 2000, 503, 0)]), 2000);
    await sut.store(report('node2', 1500, [answer(web, 1500, 200, 1)]), 1500);
    expect(await sut.deleteExpired(1800)).toEqual({ reports: 1, history: 2, samples: 0 });
    expect((await sut.nodes()).map((n) => n.node)).toEqual(['node1']);
    expect((await sut.healthCheckHistory(web, { from: 0, to: 10_000 })).map((c) => [c.node, c.at])).toEqual([['node1', 2000]]);
    // the latest streak's start survives the deletion of its history row
    await sut.store(report('node1', 3000, [answer(web, 3000, 503, 0)]), 3000);
    await sut.deleteExpired(2500);
    expect((await sut.healthChecksAt(web, 2600)).map((c) => [c.node, c.kind, c.at, c.httpStatus])).toEqual([['node1', 'history', 2000, 503]]);
  });

  it('keeps one conntrack sample per newer report with statistics or SNAT pairs, and reads them back by node and window', async () => {
    const stats = (at: number, insertFailed: number, extra: Partial<ConntrackStats> = {}): ConntrackStats => ({
      at,
      entries: 120,
      max: 262_144,
      buckets: 65_536,
      counters: { found: 3, invalid: 1, insert: 0, insertFailed, drop: 2, earlyDrop: 0, error: 0, searchRestart: 7, clashResolve: 4, chainTooLong: 0 },
      ...extra,
    });
    const pair = (inUse: number): SnatPortUsage => ({ snatAddress: '192.0.2.11', destination: '192.0.2.50', destinationPort: 8080, protocol: 'tcp', inUse, range: { min: 40000, max: 40063 }, rangeBasis: 'nat-rule' });
    const withStats = (node: string, at: number, conntrack?: ConntrackStats, snatPorts?: SnatPortUsage[]): NodeReport => ({ ...report(node, at, []), ...(conntrack ? { conntrack } : {}), ...(snatPorts ? { snatPorts } : {}) });
    expect((await sut.store(withStats('node1', 1000, stats(990, 5), [pair(16)]), 1000)).previousSample).toBeUndefined();
    await sut.store(withStats('node1', 1000, stats(990, 99)), 1001); // the same report again: nothing
    // the sample stored before (by whichever replica), for counter increases between stored reports
    expect((await sut.store(withStats('node1', 2000, stats(1990, 9, { max: null, buckets: null, counters: { insertFailed: 9 } })), 2000)).previousSample).toEqual({ node: 'node1', at: 990, entries: 120, max: 262_144, buckets: 65_536, counters: stats(0, 5).counters, snatPeakUsage: 0.25 });
    await sut.store(withStats('node1', 3000), 3000); // no statistics: no sample
    await sut.store(withStats('node2', 1500, undefined, [pair(64)]), 1500);
    expect(await sut.conntrackSamples({ from: 0, to: 10_000 })).toEqual([
      { node: 'node1', at: 990, entries: 120, max: 262_144, buckets: 65_536, counters: stats(0, 5).counters, snatPeakUsage: 0.25 },
      { node: 'node1', at: 1990, entries: 120, max: null, buckets: null, counters: { insertFailed: 9 }, snatPeakUsage: null },
      { node: 'node2', at: 1500, entries: null, max: null, buckets: null, counters: {}, snatPeakUsage: 1 },
    ]);
    expect((await sut.conntrackSamples({ from: 1000, to: 10_000 }, 'node1')).map((s) => s.at)).toEqual([1990]);
    expect((await sut.nodes())[0]?.report.conntrack).toBeUndefined(); // the newest report of node1 had none
    expect(await sut.deleteExpired(1600)).toEqual({ reports: 1, history: 0, samples: 2 });
    expect((await sut.conntrackSamples({ from: 0, to: 10_000 })).map((s) => [s.node, s.at])).toEqual([['node1', 1990]]);
  });
}
