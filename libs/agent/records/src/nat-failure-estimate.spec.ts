import fc from 'fast-check';
import { buildInventory, resolveLab } from '@natlens/lab';
import { exampleTopology } from '@natlens/lab/testing';
import { ClusterIndex } from '@natlens/shared-cluster';
import { flowRecordSchema, type FlowRecord, type SnatPortUsage, type Tuple } from '@natlens/shared-model';
import { enrichConnection } from './enrich';
import { estimateNatFailures, failureCountersOf, type FailureCounterSample } from './nat-failure-estimate';

// examples/snat-port-exhaustion.yaml: alice (198.51.100.79) through node1's node ports; default/web (30080) goes to
// web-1 on node2 (198.19.2.11:8080), SNAT'd to node1's 198.18.0.11; default/api (30081) to api-1 on node1
// (198.19.1.11:8080), SNAT'd to node1's pod-side 198.19.1.1. Tuples as node1's conntrack shows them in that lab.
const index = ClusterIndex.fromObjects(buildInventory(resolveLab(exampleTopology('snat-port-exhaustion.yaml'))).items);
const t = (src: string, sport: number, dst: string, dport: number): Tuple => ({ src, sport, dst, dport, proto: 'tcp' });
let sport = 50000;
const web = (at: number): FlowRecord =>
  enrichConnection({ source: 'conntrack', kind: 'new', id: String(sport), original: t('198.51.100.79', ++sport, '198.18.0.11', 30080), reply: t('198.19.2.11', 8080, '198.18.0.11', 40000 + (sport % 64)), observedAt: at, startedAt: at }, index, 'node1');
const api = (at: number): FlowRecord =>
  enrichConnection({ source: 'conntrack', kind: 'new', id: String(sport), original: t('198.51.100.79', ++sport, '198.18.0.11', 30081), reply: t('198.19.1.11', 8080, '198.19.1.1', 40000 + (sport % 64)), observedAt: at, startedAt: at }, index, 'node1');
const sample = (at: number, insertFailed: number, drop: number, entries = 100, max: number | null = 262144): FailureCounterSample => ({ at, insertFailed, drop, entries, max });
const webPair = (inUse: number): SnatPortUsage => ({ snatAddress: '198.18.0.11', destination: '198.19.2.11', destinationPort: 8080, protocol: 'tcp', inUse, range: { min: 40000, max: 40063 }, rangeBasis: 'nat-rule' });

describe('estimateNatFailures', () => {
  it('attributes insert failures on an exhausted SNAT pair to the Service using it, not to the others', () => {
    const attempts = [...Array.from({ length: 30 }, (_, i) => web(1000 + i)), ...Array.from({ length: 30 }, (_, i) => api(1000 + i))];
    const estimate = estimateNatFailures({ node: 'node1', previous: sample(1000, 5, 5), current: sample(6000, 41, 41), attempts, snatPairs: [webPair(64)] });
    expect(estimate).toMatchObject({ reason: 'nat-port-exhausted', failures: 36 });
    expect(estimate?.records).toHaveLength(36);
    for (const record of estimate?.records ?? []) {
      expect(record).toMatchObject({
        node: 'node1',
        source: 'conntrack',
        verdict: 'dropped-nat-failure',
        natFailure: { reason: 'nat-port-exhausted', observed: false },
        service: { namespace: 'default', name: 'web' },
        endpoint: { pod: 'web-1' },
        client: { ip: '198.51.100.79' },
        // the path, with the ports nobody observed set to 0
        original: t('198.51.100.79', 0, '198.18.0.11', 30080),
        translated: t('198.18.0.11', 0, '198.19.2.11', 8080),
        firstSeen: 6000,
        ended: true,
      });
      expect(flowRecordSchema.parse(record)).toBeTruthy();
    }
    expect(new Set(estimate?.records.map((r) => r.flowId)).size).toBe(36);
  });

  it('without an exhausted pair, spreads insert failures over the Services in proportion to their new connections', () => {
    const attempts = [...Array.from({ length: 30 }, (_, i) => web(1000 + i)), ...Array.from({ length: 10 }, (_, i) => api(1000 + i))];
    const estimate = estimateNatFailures({ node: 'node1', previous: sample(1000, 0, 0), current: sample(6000, 8, 8), attempts, snatPairs: [webPair(20)] });
    expect(estimate?.reason).toBe('insert-failed');
    const perService = (estimate?.records ?? []).reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.service?.name as string]: (acc[r.service?.name as string] ?? 0) + 1 }), {});
    expect(perService).toEqual({ web: 6, api: 2 });
  });

  it('calls drops without insert failures on a nearly full table table-full', () => {
    const estimate = estimateNatFailures({ node: 'node1', previous: sample(1000, 3, 3), current: sample(6000, 3, 13, 980, 1000), attempts: [api(2000)] });
    expect(estimate).toMatchObject({ reason: 'table-full', failures: 10 });
    expect(estimate?.records).toHaveLength(10);
  });

  it('says nothing when the counters did not move, went backwards (a new namespace), or only drop moved on a roomy table', () => {
    const attempts = [web(2000)];
    expect(estimateNatFailures({ node: 'node1', previous: sample(1000, 4, 4), current: sample(6000, 4, 4), attempts })).toBeUndefined();
    expect(estimateNatFailures({ node: 'node1', previous: sample(1000, 40, 40), current: sample(6000, 2, 2), attempts })).toBeUndefined();
    expect(estimateNatFailures({ node: 'node1', previous: sample(1000, 0, 0), current: sample(6000, 0, 9), attempts })).toBeUndefined();
  });

  it('counts failures it cannot attribute, with no records, when no Service had new connections', () => {
    expect(estimateNatFailures({ node: 'node1', previous: sample(1000, 0, 0), current: sample(6000, 3, 3), attempts: [] })).toEqual({ reason: 'insert-failed', failures: 3, records: [] });
  });

  it('bounds the records per interval', () => {
    const estimate = estimateNatFailures({ node: 'node1', previous: sample(1000, 0, 0), current: sample(6000, 5000, 5000), attempts: [web(2000), api(2000)], limit: 50 });
    expect(estimate?.failures).toBe(5000);
    expect(estimate?.records).toHaveLength(50);
  });

  it('reads the two counters out of the statistics the agent sends', () => {
    expect(failureCountersOf({ at: 5, counters: { insertFailed: 7, drop: 9, found: 1 }, entries: 10, max: 100 })).toEqual({ at: 5, insertFailed: 7, drop: 9, entries: 10, max: 100 });
    expect(failureCountersOf({ at: 5, counters: {}, entries: 10, max: null })).toEqual({ at: 5, insertFailed: 0, drop: 0, entries: 10, max: null });
  });

  it('never attributes more records than failures, and every record is valid (fast-check)', () => {
    const attemptsArb = fc.array(fc.boolean(), { maxLength: 40 }).map((kinds) => kinds.map((isWeb, i) => (isWeb ? web(1000 + i) : api(1000 + i))));
    fc.assert(
      fc.property(
        fc.nat(200),
        fc.nat(200),
        fc.nat(200),
        fc.nat(200),
        attemptsArb,
        fc.nat(80),
        fc.integer({ min: 1, max: 60 }),
        (if0, d0, if1, d1, attempts, inUse, limit) => {
          const estimate = estimateNatFailures({ node: 'node1', previous: sample(1000, if0, d0), current: sample(6000, if1, d1, 990, 1000), attempts, snatPairs: [webPair(inUse)], limit });
          if (!estimate) return;
          expect(estimate.records.length).toBeLessThanOrEqual(Math.min(estimate.failures, limit));
          if (attempts.length > 0) expect(estimate.records.length).toBe(Math.min(estimate.failures, limit));
          for (const record of estimate.records) expect(flowRecordSchema.safeParse(record).success).toBe(true);
        },
      ),
    );
  });
});
