import type { NodeReport, ServiceHealthCheck } from '@natlens/shared-model';
import { answersAt, planNodeReport, type StoredHealthCheck } from './node-report-repository';

const web = { namespace: 'default', name: 'web' };
const api = { namespace: 'default', name: 'api' };
const check = (service: typeof web, at: number, httpStatus: number | null, localEndpoints: number | null): ServiceHealthCheck => ({ service, address: '192.0.2.1', port: 32122, at, httpStatus, localEndpoints });
const report = (at: number, checks: ServiceHealthCheck[]): NodeReport => ({ version: 1, node: 'n1', at, intervalMs: 1000, addresses: [], healthChecks: checks });
const stored = (service: typeof web, at: number, since: number, httpStatus: number | null, kind: StoredHealthCheck['kind'] = 'latest', node = 'n1'): StoredHealthCheck => ({
  node, service, address: '192.0.2.1', port: 32122, at, since, httpStatus, localEndpoints: httpStatus === 200 ? 1 : null, kind,
});

describe('planNodeReport', () => {
  it.each<[string, NodeReport, number | undefined, StoredHealthCheck[], { upsert: boolean; since: number[]; history: number; removed: string[]; changed: string[] }]>([
    ['a first report: every answer starts a streak', report(10, [check(web, 10, 200, 1)]), undefined, [], { upsert: true, since: [10], history: 1, removed: [], changed: ['web'] }],
    ['the same answer again: the streak goes on, no history', report(20, [check(web, 20, 200, 1)]), 10, [stored(web, 10, 5, 200)], { upsert: true, since: [5], history: 0, removed: [], changed: [] }],
    ['another answer: a new streak and a history row', report(20, [check(web, 20, null, null)]), 10, [stored(web, 10, 5, 200)], { upsert: true, since: [20], history: 1, removed: [], changed: ['web'] }],
    ['an older report: nothing', report(5, [check(web, 5, 503, 0)]), 10, [stored(web, 10, 5, 200)], { upsert: false, since: [], history: 0, removed: [], changed: [] }],
    ['the same report twice: nothing the second time', report(10, [check(web, 10, 200, 1)]), 10, [stored(web, 10, 10, 200)], { upsert: false, since: [], history: 0, removed: [], changed: [] }],
    ['a Service no longer probed: its latest answer goes', report(20, [check(web, 20, 200, 1)]), 10, [stored(web, 10, 5, 200), stored(api, 10, 5, 200)], { upsert: true, since: [5], history: 0, removed: ['api'], changed: [] }],
    ['one answer per Service (a duplicate is ignored)', report(20, [check(web, 20, 200, 1), check(web, 20, 503, 0)]), undefined, [], { upsert: true, since: [20], history: 1, removed: [], changed: ['web'] }],
  ])('%s', (_case, r, storedAt, latest, expected) => {
    const sut = planNodeReport(r, storedAt, latest);
    expect({
      upsert: sut.upsertReport,
      since: sut.latest.map((row) => row[4]),
      history: sut.history.length,
      removed: sut.removed.map((s) => s.name),
      changed: sut.changed.map((s) => s.name),
    }).toEqual(expected);
  });
});

describe('answersAt', () => {
  const latest = [stored(web, 100, 60, null, 'latest', 'n1'), stored(web, 100, 10, 200, 'latest', 'n2')];
  const history = [stored(web, 10, 10, 200, 'history', 'n1'), stored(web, 60, 60, null, 'history', 'n1')];
  it.each<[string, number, [string, string, number, number | null][]]>([
    ['now: the latest probes', 150, [['n1', 'latest', 100, null], ['n2', 'latest', 100, 200]]],
    ['inside the latest streak, before its last probe: the streak start', 80, [['n1', 'history', 60, null], ['n2', 'history', 10, 200]]],
    ['before the latest streak: the earlier change', 30, [['n1', 'history', 10, 200], ['n2', 'history', 10, 200]]],
    ['before any answer: nothing', 5, []],
  ])('%s', (_case, at, expected) => {
    expect(answersAt(latest, history, at).map((c) => [c.node, c.kind, c.at, c.httpStatus])).toEqual(expected);
  });
});
