import type { ServiceHeadline } from './api-types';
import { readTableQuery, sortAndFilter } from './services-table';

const svc = (name: string, over: Partial<ServiceHeadline> = {}): ServiceHeadline => ({
  namespace: 'default', name, type: 'NodePort', externalTrafficPolicy: 'Cluster', connections: 0, external: 0, snatted: 0, snatRatio: 0, byVerdict: {}, ...over,
});
const services = [
  svc('web', { type: 'LoadBalancer', externalTrafficPolicy: 'Local', connections: 50, external: 50 }),
  svc('api', { connections: 200, external: 100, snatted: 100, snatRatio: 1 }),
  svc('db', { type: 'ClusterIP', connections: 10 }),
];
const names = (rows: ServiceHeadline[]) => rows.map((s) => s.name);
const query = (q: string) => readTableQuery(new URLSearchParams(q));

describe('sortAndFilter', () => {
  it.each([
    ['', ['api', 'db', 'web']],
    ['sort=connections', ['api', 'web', 'db']],
    ['sort=connections&dir=asc', ['db', 'web', 'api']],
    ['sort=snat', ['api', 'web', 'db']], // no external clients: last
    ['q=we', ['web']],
    ['policy=Local', ['web']],
    ['type=NodePort', ['api']],
    ['snat=1', ['api']],
  ])('%s', (q, expected) => {
    expect(names(sortAndFilter(services, query(q)))).toEqual(expected);
  });

  it('sorts by imbalance where known, unknown last in both directions', () => {
    const imbalance = new Map([['default/web', 1.5], ['default/db', 3]]);
    expect(names(sortAndFilter(services, query('sort=imbalance'), imbalance))).toEqual(['db', 'web', 'api']);
    expect(names(sortAndFilter(services, query('sort=imbalance&dir=asc'), imbalance))).toEqual(['web', 'db', 'api']);
  });
});
