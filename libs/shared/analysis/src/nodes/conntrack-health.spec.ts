import fc from 'fast-check';
import { busiestSnatPairs, type ConntrackSample, conntrackRates, conntrackSeries, nodeConntrackHealth, snatPeakUsage } from './conntrack-health';

const sample = (at: number, insertFailed: number | undefined, entries: number | null = 100, extra: Partial<ConntrackSample> = {}): ConntrackSample => ({
  node: 'n1',
  at,
  entries,
  max: 1000,
  buckets: 256,
  counters: insertFailed === undefined ? { drop: 0 } : { insertFailed, drop: 0, earlyDrop: 0, clashResolve: at / 1000 },
  snatPeakUsage: null,
  ...extra,
});

describe('conntrackRates', () => {
  it.each<[string, ConntrackSample[], number | null]>([
    ['no samples', [], null],
    ['one sample: no rate yet', [sample(0, 5)], null],
    ['10 failures over 10 s', [sample(0, 5), sample(5000, 10), sample(10_000, 15)], 1],
    ['a counter reset counts the new value (as Prometheus rate())', [sample(0, 50), sample(10_000, 4)], 0.4],
    ['a counter the kernel did not send', [sample(0, undefined), sample(10_000, undefined)], null],
    ['steady counters: 0', [sample(0, 7), sample(10_000, 7)], 0],
  ])('%s', (_case, samples, expected) => {
    expect(conntrackRates(samples).insertFailed).toBe(expected);
  });

  it('never gives a negative or non-finite rate, whatever the counters do', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 60_000 }), fc.nat()), { maxLength: 30 }), (steps) => {
        let at = 0;
        const samples = steps.map(([dt, value]) => sample((at += dt), value));
        for (const rate of Object.values(conntrackRates(samples))) if (rate !== null) expect(Number.isFinite(rate) && rate >= 0).toBe(true);
      }),
    );
  });
});

describe('nodeConntrackHealth', () => {
  it('gives fill, the latest counters and the rates over the span of the recent samples', () => {
    const sut = nodeConntrackHealth({ at: 10_000, entries: 950, max: 1000, buckets: 256, counters: { insertFailed: 15, drop: 2 } }, [sample(0, 5), sample(10_000, 15)]);
    expect(sut).toEqual({ at: 10_000, entries: 950, max: 1000, fill: 0.95, buckets: 256, counters: { insertFailed: 15, drop: 2 }, rates: { insertFailed: 1, drop: 0, earlyDrop: 0, clashResolve: 1, spanMs: 10_000 } });
  });

  it('says fill is unknown without max', () => {
    expect(nodeConntrackHealth({ at: 1, entries: 5, max: null, counters: {} }, []).fill).toBeNull();
  });
});

describe('conntrackSeries', () => {
  it('rates each point since the previous one', () => {
    const points = conntrackSeries([sample(0, 0), sample(1000, 2), sample(2000, 2)], 100);
    expect(points.map((p) => [p.at, p.fill, p.rates.insertFailed])).toEqual([
      [0, 0.1, null],
      [1000, 0.1, 2],
      [2000, 0.1, 0],
    ]);
  });

  it('merges runs of samples into at most maxPoints, keeping the fullest table and SNAT peak of each run', () => {
    const samples = [sample(0, 0, 100), sample(1000, 1, 900, { snatPeakUsage: 0.5 }), sample(2000, 2, 100), sample(3000, 3, 100, { snatPeakUsage: 0.9 })];
    const points = conntrackSeries(samples, 2);
    expect(points.map((p) => [p.at, p.entries, p.snatPeakUsage])).toEqual([
      [1000, 900, 0.5],
      [3000, 100, 0.9],
    ]);
    expect(points[1]?.rates.insertFailed).toBe(1);
  });

  it('never gives more than maxPoints points', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 1, max: 50 }), (n, maxPoints) => {
        const samples = Array.from({ length: n }, (_, i) => sample(i * 1000, i));
        expect(conntrackSeries(samples, maxPoints).length).toBeLessThanOrEqual(maxPoints);
      }),
    );
  });
});

describe('SNAT pairs', () => {
  const pair = (inUse: number, min: number, max: number, destination = '198.19.1.11') => ({ snatAddress: '198.18.0.12', destination, destinationPort: 8080, protocol: 'tcp' as const, inUse, range: { min, max }, rangeBasis: 'nat-rule' as const });
  it('orders the fullest first, by the share of its own range', () => {
    const sut = busiestSnatPairs([pair(1000, 32768, 60999), pair(60, 40000, 40063, '198.19.2.11')]);
    expect(sut.map((p) => [p.destination, p.rangeSize, p.usage])).toEqual([
      ['198.19.2.11', 64, 60 / 64],
      ['198.19.1.11', 28232, 1000 / 28232],
    ]);
    expect(snatPeakUsage([pair(1000, 32768, 60999), pair(60, 40000, 40063)])).toBe(60 / 64);
    expect(snatPeakUsage([])).toBeNull();
  });
});
