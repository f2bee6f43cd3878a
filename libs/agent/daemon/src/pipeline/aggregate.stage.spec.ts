import type { FlowRecord } from '@natlens/shared-model';
import { aFlowRecord } from '@natlens/shared-model/testing';
import { FlowAggregator } from './aggregate.stage';

const record = (flowId: string, over: Partial<FlowRecord> = {}): FlowRecord => aFlowRecord({ flowId, firstSeen: 100, lastSeen: 100, ...over });

describe('FlowAggregator', () => {
  let sut: FlowAggregator;
  beforeEach(() => (sut = new FlowAggregator()));

  it('exports a flow once per flush while it changes, and forgets it after exporting its end', () => {
    expect(sut.upsert(record('a'))).toBe(false);
    expect(sut.flush()).toHaveLength(1);
    expect(sut.flush()).toHaveLength(0);
    expect(sut.upsert(record('a', { lastSeen: 900, ended: true, counters: { original: { packets: 3, bytes: 180 } } }))).toBe(true);
    expect(sut.flush()).toEqual([expect.objectContaining({ flowId: 'a', firstSeen: 100, lastSeen: 900, ended: true, counters: { original: { packets: 3, bytes: 180 } } })]);
    expect(sut.size).toBe(0);
  });

  it('never changes a record it exported: a later change goes to a copy, an ended flow goes out as it is held', () => {
    sut.upsert(record('a', { state: 'SYN_SENT' }));
    const [exported] = sut.flush();
    expect(sut.touch('a', 500, undefined, 'ESTABLISHED', { original: { packets: 3, bytes: 180 } }, true)).toBe(true);
    expect(exported).toEqual(record('a', { state: 'SYN_SENT' }));
    const [ended] = sut.flush();
    expect(ended).toEqual(record('a', { lastSeen: 500, state: 'ESTABLISHED', counters: { original: { packets: 3, bytes: 180 } }, ended: true }));
    expect(sut.get('a')).toBeUndefined();
  });

  it('a touch without a time keeps the last activity and still records the state and the end', () => {
    sut.upsert(record('a', { firstSeen: 100, lastSeen: 150, state: 'ESTABLISHED' }));
    expect(sut.touch('a', undefined, undefined, 'TIME_WAIT')).toBe(false);
    expect(sut.touch('a', undefined, undefined, 'TIME_WAIT', undefined, true)).toBe(true);
    expect(sut.flush()[0]).toMatchObject({ firstSeen: 100, lastSeen: 150, state: 'TIME_WAIT', ended: true });
  });

  it('merges updates: earliest first sight, latest last sight, last known state and counters', () => {
    sut.upsert(record('a', { firstSeen: 50, lastSeen: 60, state: 'SYN_SENT', counters: { original: { packets: 1, bytes: 60 } } }));
    sut.upsert(record('a', { firstSeen: 70, lastSeen: 80 }));
    expect(sut.flush()[0]).toMatchObject({ firstSeen: 50, lastSeen: 80, state: 'SYN_SENT', counters: { original: { packets: 1, bytes: 60 } } });
  });

  it('keeps what an earlier record knew when a later one has the key but no value (records carry every key)', () => {
    const service = record('a').service;
    sut.upsert(record('a', { realClient: { ip: '203.0.113.9', port: 40000 }, entryNode: 'node2' }));
    sut.upsert(record('a', { realClient: undefined, entryNode: undefined, service: undefined, endpoint: undefined, state: undefined, counters: undefined, ended: undefined }));
    expect(sut.flush()[0]).toMatchObject({ realClient: { ip: '203.0.113.9', port: 40000 }, entryNode: 'node2', service });
  });

  it('ends the flows a full dump no longer lists, unless seen since the dump began', () => {
    sut.upsert(record('gone', { lastSeen: 100 }));
    sut.upsert(record('listed', { lastSeen: 100 }));
    sut.upsert(record('newer', { lastSeen: 300 }));
    sut.flush();
    expect(sut.reconcile(new Set(['listed']), 200)).toBe(1);
    expect(sut.flush()).toEqual([expect.objectContaining({ flowId: 'gone', ended: true })]);
    expect(sut.size).toBe(2);
  });
});

describe('FlowAggregator with several sources', () => {
  it('lets a source\'s full read end only that source\'s flows', () => {
    const sut = new FlowAggregator();
    sut.upsert(record('conntrack-gone', { lastSeen: 100, source: 'conntrack' }));
    sut.upsert(record('capture-only', { lastSeen: 100, source: 'pcap' }));
    sut.flush();
    expect(sut.reconcile(new Set(), 200, 'conntrack')).toBe(1);
    expect(sut.flush()).toEqual([expect.objectContaining({ flowId: 'conntrack-gone', ended: true })]);
    expect(sut.get('capture-only')).toMatchObject({ source: 'pcap' });
  });
});

describe('FlowAggregator holding new flows for their end', () => {
  const hold = 1000;
  let sut: FlowAggregator;
  let clock: jest.SpiedFunction<typeof Date.now>;
  beforeEach(() => {
    clock = jest.spyOn(Date, 'now').mockReturnValue(10_000);
    sut = new FlowAggregator(hold);
  });
  afterEach(() => clock.mockRestore());

  const cases: Array<{ name: string; endsAfterMs: number | undefined; flushes: number[]; exported: Array<Array<Partial<FlowRecord>>> }> = [
    { name: 'a connection that ends within the hold is exported once, ended', endsAfterMs: 300, flushes: [250, 550], exported: [[], [{ flowId: 'a', ended: true }]] },
    { name: 'an open connection goes out once it is as old as the hold', endsAfterMs: undefined, flushes: [250, 999, 1000], exported: [[], [], [{ flowId: 'a' }]] },
    { name: 'a connection that outlives the hold is exported open, then ended', endsAfterMs: 1500, flushes: [1200, 1600], exported: [[{ flowId: 'a' }], [{ flowId: 'a', ended: true }]] },
  ];
  it.each(cases)('$name', ({ endsAfterMs, flushes, exported }) => {
    sut.upsert(record('a'));
    const seen: FlowRecord[][] = [];
    let ended = false;
    for (const at of flushes) {
      if (endsAfterMs !== undefined && !ended && at >= endsAfterMs) {
        sut.touch('a', 10_000 + endsAfterMs, undefined, 'CLOSE', undefined, true);
        ended = true;
      }
      seen.push(sut.flush(10_000 + at));
    }
    expect(seen).toEqual(exported.map((batch) => batch.map((over) => expect.objectContaining(over))));
  });

  it('counts the flows it held, and a shutdown flush sends them however young', () => {
    sut.upsert(record('a'));
    sut.upsert(record('b'));
    expect(sut.flush(10_100)).toEqual([]);
    expect(sut.holding).toBe(2);
    expect(sut.flush(10_200, true).map((r) => r.flowId)).toEqual(['a', 'b']);
    expect(sut.holding).toBe(0);
    expect(sut.flush(10_300)).toEqual([]);
  });

  it('does not hold a flow twice: once exported, its changes go out at the next flush', () => {
    sut.upsert(record('a'));
    expect(sut.flush(11_000)).toHaveLength(1);
    sut.touch('a', 11_100, undefined, 'ESTABLISHED');
    expect(sut.flush(11_200)).toEqual([expect.objectContaining({ flowId: 'a', state: 'ESTABLISHED' })]);
  });
});
