import { buckets, fromLocalInput, parseTimeRange, rangeQuery, toLocalInput } from './time-range';

const NOW = 1_800_000_000_000;
const params = (query: string) => new URLSearchParams(query);

describe('parseTimeRange', () => {
  it.each([
    ['', '1h', NOW - 3600_000],
    ['range=15m', '15m', NOW - 15 * 60_000],
    ['range=30d', '30d', NOW - 30 * 86400_000],
  ])('%s → preset %s', (query, key, from) => {
    expect(parseTimeRange(params(query), NOW)).toEqual({ key, from, to: NOW, label: expect.any(String) });
  });

  it('reads a custom window in milliseconds', () => {
    expect(parseTimeRange(params('from=1000&to=5000'), NOW)).toMatchObject({ key: 'custom', from: 1000, to: 5000 });
  });

  it.each(['from=5000&to=1000', 'from=yesterday', 'range=2y'])('falls back to the last hour and says why for %s', (query) => {
    expect(parseTimeRange(params(query), NOW)).toMatchObject({ key: '1h', error: expect.any(String) });
  });
});

describe('rangeQuery', () => {
  it('omits the default, keeps a preset, spells out a custom window', () => {
    expect(rangeQuery({ key: '1h', from: 0, to: 1 })).toEqual({});
    expect(rangeQuery({ key: '7d', from: 0, to: 1 })).toEqual({ range: '7d' });
    expect(rangeQuery({ key: 'custom', from: 10, to: 20 })).toEqual({ from: '10', to: '20' });
  });
});

describe('buckets', () => {
  it('covers the window exactly, without gaps or overlaps', () => {
    const b = buckets(1000, 2001, 3);
    expect(b[0]?.from).toBe(1000);
    expect(b[2]?.to).toBe(2001);
    for (let i = 1; i < b.length; i++) expect(b[i]?.from).toBe(b[i - 1]?.to);
  });
});

describe('datetime-local (UTC) round trip', () => {
  it('reads back what it writes, to the minute', () => {
    const ms = Date.UTC(2026, 10, 22, 3, 4);
    expect(fromLocalInput(toLocalInput(ms))).toBe(ms);
    expect(fromLocalInput('22/11/2026')).toBeUndefined();
  });
});
