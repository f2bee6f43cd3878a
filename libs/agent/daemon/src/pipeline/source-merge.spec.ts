import fc from 'fast-check';
import type { Tuple } from '@natlens/shared-model';
import { flowIdOf } from '@natlens/agent-records';
import type { ObservedConnection } from '@natlens/agent-records';
import { SourceMerge, type SourceName } from './source-merge';

const tuple = (src: string, sport: number, dst: string, dport: number): Tuple => ({ src, sport, dst, dport, proto: 'tcp' });
// The lab's proxy-protocol connection as node1 saw it (libs/agent/pcap fixture lb-proxy-protocol-node1-any.pcap).
const ORIGINAL = tuple('198.18.0.254', 36626, '198.18.0.11', 30080);
const REPLY = tuple('198.19.1.11', 8080, '198.18.0.254', 36626);
const ALICE = { ip: '198.51.100.79', port: 40112 };

function observed(source: SourceName, kind: ObservedConnection['kind'], at: number, over: Partial<ObservedConnection> = {}): ObservedConnection {
  const conn: ObservedConnection = { source, kind, id: source === 'pcap' ? 'isn1' : '42', original: ORIGINAL, reply: REPLY, observedAt: at, startedAt: 1000, ...over };
  return source === 'conntrack' ? { ...conn, instance: '1', flowId: flowIdOf({ ...conn, instance: '1' }) } : conn;
}

describe('SourceMerge', () => {
  let sut: SourceMerge;
  beforeEach(() => (sut = new SourceMerge({ sources: ['conntrack', 'pcap'], holdMs: 5000, lingerMs: 30_000 })));

  it('passes the kernel source through and adds the capture\'s real client under the kernel\'s identity, once', () => {
    const ct = observed('conntrack', 'new', 1000);
    expect(sut.accept(ct, 1000)).toEqual([ct]);
    const out = sut.accept(observed('pcap', 'new', 2500, { realClient: ALICE, reply: tuple('198.19.1.11', 8080, '198.18.0.254', 1) }), 2500);
    expect(out).toEqual([{ ...ct, kind: 'update', observedAt: 2500, realClient: ALICE }]);
    // the capture's later reports (and its end: conntrack decides that) add nothing new
    expect(sut.accept(observed('pcap', 'destroy', 3000, { realClient: ALICE }), 3000)).toEqual([]);
    // conntrack's own later events keep carrying the real client, so a re-enriched record keeps its verdict
    expect(sut.accept(observed('conntrack', 'destroy', 120_000), 120_000)).toEqual([expect.objectContaining({ flowId: ct.flowId, kind: 'destroy', realClient: ALICE })]);
    expect(sut.stats).toMatchObject({ merged: 2, released: 0 });
  });

  it('holds a capture that reports first until the kernel\'s record arrives, whichever order they come in', () => {
    expect(sut.accept(observed('pcap', 'new', 900, { realClient: ALICE }), 900)).toEqual([]);
    expect(sut.expire(2000)).toEqual([]);
    const ct = observed('conntrack', 'new', 2100);
    expect(sut.accept(ct, 2100)).toEqual([{ ...ct, realClient: ALICE }]);
    expect(sut.expire(60_000)).toEqual([]);
  });

  it('releases a capture-only connection (a SYN the node dropped never reaches conntrack) under its own identity', () => {
    const syn = observed('pcap', 'new', 900, { dropped: true });
    expect(sut.accept(syn, 900)).toEqual([]);
    expect(sut.accept(observed('pcap', 'update', 2000, { dropped: true, state: 'UNANSWERED' }), 2000)).toEqual([]);
    expect(sut.expire(5899)).toEqual([]);
    const released = sut.expire(5900);
    expect(released).toEqual([expect.objectContaining({ source: 'pcap', id: 'isn1', state: 'UNANSWERED', dropped: true })]);
    // a kernel record coming after the release joins the released identity: one flowId per connection, ever
    const late = sut.accept(observed('conntrack', 'update', 7000, { state: 'ESTABLISHED' }), 7000);
    expect(late).toEqual([expect.objectContaining({ source: 'pcap', id: 'isn1', state: 'ESTABLISHED', reply: REPLY })]);
    expect(flowIdOf(late[0] as ObservedConnection)).toBe(flowIdOf(released[0] as ObservedConnection));
    expect(sut.stats.released).toBe(1);
  });

  it('keeps a held destroy a destroy when the capture is released', () => {
    sut.accept(observed('pcap', 'destroy', 900, { dropped: true }), 900);
    sut.accept(observed('pcap', 'update', 950, { dropped: true }), 950);
    expect(sut.expire(6000)).toEqual([expect.objectContaining({ kind: 'destroy' })]);
  });

  it('tells a reused tuple apart: a new conntrack instance, or a capture starting after the remembered end', () => {
    sut.accept(observed('conntrack', 'new', 1000), 1000);
    sut.accept(observed('pcap', 'new', 2000, { realClient: ALICE }), 2000);
    sut.accept(observed('conntrack', 'destroy', 3000, { endedAt: 3000 }), 3000);
    // same tuple, a later connection without a PROXY header: no real client inherited
    const next = observed('conntrack', 'new', 4000, { instance: '2', flowId: 'conntrack:42:2:x', startedAt: 4000 });
    expect(sut.accept(next, 4000)).toEqual([next]);
    sut.accept(observed('conntrack', 'destroy', 5000, { instance: '2', flowId: 'conntrack:42:2:x', endedAt: 5000 }), 5000);
    expect(sut.accept(observed('pcap', 'new', 6000, { id: 'isn2', startedAt: 6000 }), 6000)).toEqual([]);
    expect(sut.expire(11_000)).toEqual([expect.objectContaining({ source: 'pcap', id: 'isn2' })]);
  });

  it('forgets ended connections after lingering, and ends the ones a table read no longer lists', () => {
    sut.accept(observed('conntrack', 'new', 1000), 1000);
    sut.accept(observed('conntrack', 'new', 1000, { original: tuple('198.51.100.79', 1, '198.18.0.11', 30080), flowId: 'gone' }), 1000);
    sut.tableSynced('conntrack', new Set([flowIdOf(observed('conntrack', 'new', 0))]), 2000, 2000);
    expect(sut.size).toBe(2);
    sut.expire(31_999);
    expect(sut.size).toBe(2);
    sut.expire(32_000);
    expect(sut.size).toBe(1);
  });

  it('keeps one tuple in two conntrack zones two connections, and joins the zone-blind capture to the zoned one', () => {
    const ct7 = observed('conntrack', 'new', 1000, { zone: 7, instance: '1', flowId: 'conntrack:1:42:x@z7' });
    const ct9 = observed('conntrack', 'new', 1000, { zone: 9, id: '43', instance: '1', flowId: 'conntrack:1:43:x@z9' });
    expect(sut.accept(ct7, 1000)).toEqual([ct7]);
    expect(sut.accept(ct9, 1000)).toEqual([ct9]);
    expect(sut.size).toBe(2);
    // the capture cannot see the zone: it joins the connection the kernel last reported for the tuple
    expect(sut.accept(observed('pcap', 'new', 1500, { realClient: ALICE }), 1500)).toEqual([expect.objectContaining({ flowId: 'conntrack:1:43:x@z9', realClient: ALICE })]);
    expect(sut.size).toBe(2);
  });

  it('moves what the capture reported first to the zone the kernel names for the tuple', () => {
    expect(sut.accept(observed('pcap', 'new', 900, { realClient: ALICE }), 900)).toEqual([]);
    const ct = observed('conntrack', 'new', 1200, { zone: 7, flowId: 'conntrack:1:42:x@z7' });
    expect(sut.accept(ct, 1200)).toEqual([{ ...ct, realClient: ALICE }]);
    expect(sut.size).toBe(1);
    expect(sut.expire(60_000)).toEqual([]);
    // ended and forgotten: nothing of the zone is left behind for the tuple
    sut.accept(observed('conntrack', 'destroy', 61_000, { zone: 7, flowId: 'conntrack:1:42:x@z7' }), 61_000);
    sut.expire(100_000);
    expect(sut.size).toBe(0);
    expect(sut.accept(observed('pcap', 'new', 100_100, { id: 'isn9', startedAt: 100_100 }), 100_100)).toEqual([]);
    expect(sut.expire(105_100)).toEqual([expect.objectContaining({ source: 'pcap', id: 'isn9' })]);
  });

  it('works for any pair of sources: eBPF decides over the capture, conntrack over eBPF', () => {
    const ebpfPcap = new SourceMerge({ sources: ['ebpf', 'pcap'] });
    expect(ebpfPcap.accept(observed('pcap', 'new', 1, { realClient: ALICE }), 1)).toEqual([]);
    expect(ebpfPcap.accept(observed('ebpf', 'new', 2, { id: 'e1' }), 2)).toEqual([expect.objectContaining({ source: 'ebpf', id: 'e1', realClient: ALICE })]);
    const ctEbpf = new SourceMerge({ sources: ['conntrack', 'ebpf'] });
    expect(ctEbpf.accept(observed('ebpf', 'new', 1, { id: 'e1', dropped: true }), 1)).toEqual([]);
    expect(ctEbpf.accept(observed('conntrack', 'new', 2), 2)).toEqual([expect.objectContaining({ source: 'conntrack', id: '42', dropped: true })]);
  });

  it('exports each connection under one flowId whatever the order and timing of its observations', () => {
    const sources: SourceName[] = ['conntrack', 'ebpf', 'pcap'];
    const step = fc.record({
      connection: fc.integer({ min: 0, max: 3 }),
      source: fc.constantFrom(...sources),
      kind: fc.constantFrom<ObservedConnection['kind']>('new', 'update', 'dump'),
      gap: fc.integer({ min: 0, max: 3000 }),
      realClient: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.subarray(sources, { minLength: 2 }), fc.array(step, { maxLength: 60 }), (configured, steps) => {
        const merge = new SourceMerge({ sources: configured, holdMs: 5000 });
        const flowIds = new Map<string, Set<string>>();
        const realClients = new Map<string, boolean>();
        const collect = (out: ObservedConnection[]) => {
          for (const o of out) {
            const key = `${o.original.sport}`;
            const ids = flowIds.get(key) ?? new Set<string>();
            ids.add(flowIdOf(o));
            flowIds.set(key, ids);
            if (realClients.get(key)) expect(o.realClient).toEqual(ALICE); // a learned real client is never lost again
            if (o.realClient) realClients.set(key, true);
          }
        };
        let now = 1000;
        for (const s of steps.filter((x) => configured.includes(x.source))) {
          now += s.gap;
          const original = tuple('198.18.0.254', 40000 + s.connection, '198.18.0.11', 30080);
          const id = s.source === 'pcap' ? `isn${s.connection}` : `${s.source}${s.connection}`;
          const conn: ObservedConnection = { source: s.source, kind: s.kind, id, original, reply: REPLY, observedAt: now, startedAt: 1000, ...(s.realClient ? { realClient: ALICE } : {}) };
          collect(merge.accept(conn, now));
          collect(merge.expire(now));
        }
        collect(merge.expire(now + 10_000));
        for (const ids of flowIds.values()) expect(ids.size).toBe(1);
      }),
    );
  });
});
