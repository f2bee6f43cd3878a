import { emptyLeanTuple, type LeanConntrackEntry, type LeanConntrackTuple } from '@natlens/agent-conntrack';
import { ConnectionIdentities, timeOrderedInstance } from './conntrack-identities';

const tuple = (sport: number, src = '198.51.100.79'): LeanConntrackTuple => ({ ...emptyLeanTuple(), src, sport, dst: '198.18.0.11', dport: 30080, proto: 'tcp' });
const entry = (id: number, event: LeanConntrackEntry['event'], original: LeanConntrackTuple, start?: { ms: number; ns: number }) =>
  ({ id, event, original, ...(start ? { startMs: start.ms, startNsInMs: start.ns } : {}) }) as LeanConntrackEntry & { id: number };

describe('ConnectionIdentities', () => {
  it('gives every event of a connection the same identity, the very same flowId string', () => {
    const sut = new ConnectionIdentities();
    const created = sut.of(entry(7, 'new', tuple(40001)), 1000);
    const updated = sut.of(entry(7, 'update', tuple(40001)), 1100);
    const destroyed = sut.of(entry(7, 'destroy', tuple(40001)), 1200);
    expect(updated).toBe(created);
    expect(destroyed).toBe(created);
    expect(created.flowId).toBe(`conntrack:${created.instance}:7:tcp:198.51.100.79:40001>198.18.0.11:30080`);
    expect(sut.size).toBe(0);
  });

  it('starts a new identity at every NEW, also for a reused id and tuple (a client reusing a TIME_WAIT port)', () => {
    const sut = new ConnectionIdentities();
    const first = sut.of(entry(7, 'new', tuple(40001)), 1000);
    const second = sut.of(entry(7, 'new', tuple(40001)), 1000);
    expect(second.flowId).not.toBe(first.flowId);
    expect(second.instance > first.instance).toBe(true); // time-ordered, also within one millisecond
    expect(sut.of(entry(7, 'destroy', tuple(40001)), 1001)).toBe(second);
    expect(sut.size).toBe(0);
  });

  it('keeps apart two connections whose ids collide', () => {
    const sut = new ConnectionIdentities();
    const a = sut.of(entry(9, 'new', tuple(40001)), 1000);
    const b = sut.of(entry(9, 'new', tuple(40002)), 1000);
    expect(sut.size).toBe(2);
    expect(sut.of(entry(9, 'update', tuple(40002)), 1001)).toBe(b);
    expect(sut.of(entry(9, 'destroy', tuple(40001)), 1002)).toBe(a);
    expect(sut.of(entry(9, 'update', tuple(40002)), 1003)).toBe(b);
    expect(sut.size).toBe(1);
    const c = sut.of(entry(9, 'new', tuple(40003)), 1004);
    const b2 = sut.of(entry(9, 'new', tuple(40002)), 1005); // a successor reusing b's id and tuple replaces it
    expect(sut.size).toBe(2);
    expect(sut.of(entry(9, 'update', tuple(40003)), 1006)).toBe(c);
    expect(sut.of(entry(9, 'destroy', tuple(40002)), 1007)).toBe(b2);
    expect(sut.of(entry(9, 'destroy', tuple(40003)), 1008)).toBe(c);
    expect(sut.size).toBe(0);
  });

  it('keeps apart one tuple in two conntrack zones, whether the zone applies to both directions or the original only', () => {
    const sut = new ConnectionIdentities();
    const inZone = (id: number, event: LeanConntrackEntry['event'], zone: number | undefined) => ({ ...entry(id, event, tuple(40001)), zone }) as LeanConntrackEntry & { id: number };
    const unzoned = sut.of(inZone(5, 'new', undefined), 1000);
    const zone7 = sut.of(inZone(5, 'new', 7), 1000); // ids collide on purpose: the zone alone must tell them apart
    const zoneOrig9 = sut.of({ ...entry(5, 'new', { ...tuple(40001), zone: 9 }), zone: undefined } as LeanConntrackEntry & { id: number }, 1000);
    expect(sut.size).toBe(3);
    expect([unzoned.zone, zone7.zone, zoneOrig9.zone]).toEqual([0, 7, 9]);
    expect(zone7.flowId).toBe(`conntrack:${zone7.instance}:5:tcp:198.51.100.79:40001>198.18.0.11:30080@z7`);
    expect(unzoned.flowId).toBe(`conntrack:${unzoned.instance}:5:tcp:198.51.100.79:40001>198.18.0.11:30080`);
    expect(sut.of(inZone(5, 'update', 7), 1001)).toBe(zone7);
    expect(sut.of(inZone(5, 'destroy', undefined), 1002)).toBe(unzoned);
    expect(sut.of(inZone(5, 'update', 7), 1003)).toBe(zone7);
    expect(sut.size).toBe(2);
  });

  it('names a connection first seen in a dump after the kernel\'s start time, so a restarted agent names it the same', () => {
    const start = { ms: 1_700_000_000_123, ns: 456_789 };
    const before = new ConnectionIdentities().of(entry(3, 'dump', tuple(40003), start), 5000);
    const after = new ConnectionIdentities().of(entry(3, 'dump', tuple(40003), start), 9000);
    expect(after.flowId).toBe(before.flowId);
    expect(before.instance).toBe(timeOrderedInstance(start.ms, start.ns));
  });

  it('forgets after a dump the connections it no longer lists', () => {
    const sut = new ConnectionIdentities();
    const gone = sut.of(entry(1, 'new', tuple(40001)), 1000);
    const kept = sut.of(entry(2, 'new', tuple(40002)), 1000);
    const young = sut.of(entry(3, 'new', tuple(40003)), 2500);
    sut.prune(2000, new Set([kept]));
    expect(sut.size).toBe(2);
    expect(sut.of(entry(2, 'update', tuple(40002)), 3000)).toBe(kept);
    expect(sut.of(entry(3, 'update', tuple(40003)), 3000)).toBe(young);
    expect(sut.of(entry(1, 'update', tuple(40001)), 3000)).not.toBe(gone);
  });
});

describe('timeOrderedInstance', () => {
  it.each([
    [[1_700_000_000_123, 456_789], [1_700_000_000_123, 456_790]],
    [[1_700_000_000_123, 999_999], [1_700_000_000_124, 0]],
    [[999, 5], [1_700_000_000_000, 0]],
    [[2_500_000_000_000, 0], [2_500_000_000_001, 0]],
  ])('names %j before %j, in 12 characters', (earlier, later) => {
    const a = timeOrderedInstance(earlier[0] as number, earlier[1] as number);
    const b = timeOrderedInstance(later[0] as number, later[1] as number);
    expect(a < b).toBe(true);
    expect([a.length, b.length]).toEqual([12, 12]);
  });
});
