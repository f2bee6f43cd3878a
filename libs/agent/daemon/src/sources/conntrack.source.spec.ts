import pino from 'pino';
import { type ConntrackEntry, type ConntrackReaderHandlers, decodeConntrackDatagramLean, type DumpResult, formatConntrackEntry } from '@natlens/agent-conntrack';
import { AgentMetrics } from '../metrics/agent-metrics';
import type { ObservedConnection } from '@natlens/agent-records';
import { ConntrackSource, ConntrackReaderPort, timeOrderedInstance } from './conntrack.source';

const entry = (id: number, event: ConntrackEntry['event']): ConntrackEntry => ({
  event,
  family: 'ipv4',
  id,
  original: { src: '198.51.100.79', dst: '198.18.0.11', proto: 'tcp', sport: 40000 + id, dport: 30080 },
  reply: { src: '198.19.1.11', dst: '198.51.100.79', proto: 'tcp', sport: 8080, dport: 40000 + id },
  timestamp: { start: 1_700_000_000_123_456_789n },
  counters: { original: { packets: 3n, bytes: 180n } },
  tcp: { state: 'ESTABLISHED' },
});

/** A plain object in place of the netlink reader: the test plays the kernel. */
class FakeKernel implements ConntrackReaderPort {
  handlers: ConntrackReaderHandlers | undefined;
  table: ConntrackEntry[] = [];
  dumps = 0;
  start(handlers: ConntrackReaderHandlers): void {
    this.handlers = handlers;
  }
  async dump(): Promise<DumpResult> {
    this.dumps++;
    this.handlers?.onEntries(this.table.map((e) => ({ ...e, event: 'dump' })), 'dump');
    return { entries: this.table.length, startedAt: Date.now(), finishedAt: Date.now() };
  }
  stats() {
    return {};
  }
  close(): void {
    this.handlers = undefined;
  }
}

describe('ConntrackSource', () => {
  const kernel = new FakeKernel();
  const observed: ObservedConnection[] = [];
  const synced: Set<string>[] = [];
  const metrics = new AgentMetrics();
  const sut = new ConntrackSource(() => kernel, metrics, pino({ level: 'silent' }), 60_000);

  beforeAll(async () => {
    kernel.table = [entry(1, 'dump')];
    expect(sut.observing()).toBe(false);
    await sut.start({ observe: (b) => observed.push(...b), tableSynced: (ids) => synced.push(ids) });
  });

  it('observes once subscribed and the table was read', () => {
    expect(sut.observing()).toBe(true);
  });
  afterAll(() => sut.stop());

  it('dumps the table at start and reports which flows it holds', () => {
    expect(kernel.dumps).toBe(1);
    expect(observed).toEqual([expect.objectContaining({ kind: 'dump', id: '1', startedAt: 1_700_000_000_123, state: 'ESTABLISHED', counters: { original: { packets: 3, bytes: 180 } } })]);
    // first seen in a dump: named after its start time, so a restarted agent names it the same
    expect([...(synced[0] ?? [])]).toEqual([`conntrack:${timeOrderedInstance(1_700_000_000_123, 456_789)}:1:tcp:198.51.100.79:40001>198.18.0.11:30080`]);
  });

  it('passes events on as observations', () => {
    kernel.handlers?.onEntries([entry(2, 'new'), entry(1, 'destroy')], 'events');
    expect(observed.slice(-2).map((o) => [o.id, o.kind])).toEqual([['2', 'new'], ['1', 'destroy']]);
  });

  it('tells apart connections that reuse the id and the tuple (a client reusing a TIME_WAIT tuple)', () => {
    const seen = observed.length;
    // as ctnetlink sends them: NEW without timestamps, DESTROY with start and stop
    const news = () => ({ ...entry(8, 'new'), timestamp: undefined, counters: undefined });
    const destroy = (start: bigint) => ({ ...entry(8, 'destroy'), timestamp: { start, stop: start + 5_000_000n } });
    kernel.handlers?.onEntries([news(), destroy(1_700_000_001_000_000_000n), news(), destroy(1_700_000_002_000_000_000n)], 'events');
    const instances = observed.slice(seen).map((o) => o.instance);
    expect(instances[0]).toBe(instances[1]);
    expect(instances[2]).toBe(instances[3]);
    expect(instances[0]).not.toBe(instances[2]);
    // time-ordered: the later connection's flowId sorts after the earlier one's (the hub's key grows at its end)
    expect((instances[0] ?? '') < (instances[2] ?? '')).toBe(true);
  });

  it('takes lean entries from the reader: the same observations and flowIds as from full entries', () => {
    const seen = observed.length;
    const icmp: ConntrackEntry = {
      event: 'new',
      family: 'ipv4',
      id: 9,
      original: { src: '198.51.100.79', dst: '198.18.0.11', proto: 'icmp', icmp: { id: 0x4242, type: 8, code: 0 } },
      reply: { src: '198.18.0.11', dst: '198.51.100.79', proto: 'icmp', icmp: { id: 0x4242, type: 0, code: 0 } },
    };
    const destroy = (e: ConntrackEntry): ConntrackEntry => ({ ...e, event: 'destroy', counters: { original: { packets: 1n, bytes: 84n } }, timestamp: { start: 1_700_000_003_000_000_007n, stop: 1_700_000_003_250_999_999n } });
    const tcp = { ...entry(10, 'new'), timestamp: undefined, counters: undefined };
    const lean = (e: ConntrackEntry) => decodeConntrackDatagramLean(formatConntrackEntry(e)).entries;
    kernel.handlers?.onLeanEntries?.([...lean(icmp), ...lean(tcp), ...lean(destroy(icmp)), ...lean(destroy(tcp))], 'events', 4);
    kernel.handlers?.onEntries([{ ...icmp, id: 11 }, destroy({ ...icmp, id: 11 })], 'events');
    const [icmpNew, tcpNew, icmpEnd, tcpEnd, fullNew, fullEnd] = observed.slice(seen);
    const instance = icmpNew?.instance;
    expect(icmpNew).toMatchObject({ kind: 'new', id: '9', original: { proto: 'icmp', sport: 0x4242, dport: 8 << 8 }, reply: { sport: 0x4242, dport: 0 } });
    expect(icmpNew?.flowId).toBe(`conntrack:${instance}:9:icmp:198.51.100.79:${0x4242}>198.18.0.11:${8 << 8}`);
    expect(icmpEnd).toMatchObject({ kind: 'destroy', flowId: icmpNew?.flowId, startedAt: 1_700_000_003_000, endedAt: 1_700_000_003_250, counters: { original: { packets: 1, bytes: 84 } } });
    expect(tcpEnd).toMatchObject({ flowId: tcpNew?.flowId, state: 'ESTABLISHED' });
    expect(tcpNew?.flowId).toBe(`conntrack:${tcpNew?.instance}:10:tcp:198.51.100.79:40010>198.18.0.11:30080`);
    // the full path: same shape, same flowId format
    expect(fullEnd).toEqual({ ...icmpEnd, id: '11', instance: fullNew?.instance, flowId: `conntrack:${fullNew?.instance}:11:icmp:198.51.100.79:${0x4242}>198.18.0.11:${8 << 8}`, observedAt: fullEnd?.observedAt });
  });

  it('answers lost events with one resynchronising dump per burst', async () => {
    kernel.table = [entry(2, 'dump')];
    for (let i = 0; i < 5; i++) kernel.handlers?.onLoss('enobufs');
    // Until the resync has run (however loaded the machine), then long enough for a second one to show if it came.
    for (let waited = 0; waited < 5000 && synced.length < 2; waited += 10) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 400));
    expect(kernel.dumps).toBe(2);
    expect(synced).toHaveLength(2);
    expect((await metrics.registry.getSingleMetric('natlens_agent_netlink_enobufs_total')?.get())?.values[0]?.value).toBe(5);
  });
});
