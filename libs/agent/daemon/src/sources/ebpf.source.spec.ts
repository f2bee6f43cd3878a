import { EbpfUnavailableError, capabilitiesOf, formatEventBatch, type EbpfEvent, type EbpfProgramHandlers, type NamespaceCounters } from '@natlens/agent-ebpf';
import { buildInventory, resolveLab } from '@natlens/lab';
import { exampleTopology } from '@natlens/lab/testing';
import { ClusterIndex } from '@natlens/shared-cluster';
import { indexFromInventoryFile, LAB_SEEDS_INVENTORY } from '@natlens/shared-cluster/testing';
import pino from 'pino';
import { AgentMetrics } from '../metrics/agent-metrics';
import { enrichConnection } from '@natlens/agent-records';
import type { ObservedConnection } from '@natlens/agent-records';
import { EbpfSource, servicePortsOf, type EbpfProgramPort } from './ebpf.source';
import { selectSources, withSelectionNote } from './ebpf-selection';

/*
 * The eBPF source over ring-buffer batches in the kernel's byte format (formatEventBatch writes what the BPF program
 * writes; the layout test pins both to bpf/event.h), fed by a scripted program in place of the loader. The real
 * program against the real kernel: libs/agent/ebpf (loader spec), e2e/lab-agents.spec.ts and lab-agents-nftables.spec.ts.
 */

// The seeds lab's inventory (examples/seeds.yaml): default/web is a Local-policy LoadBalancer (port 80, node port
// 30080) with web-1 (198.19.1.11) on node1 and no pod on node3; default/api a Cluster-policy NodePort.
const index = indexFromInventoryFile(LAB_SEEDS_INVENTORY);
const cluster = { current: () => index, onChange: () => () => undefined };

class ScriptedProgram implements EbpfProgramPort {
  readonly mode = 'netfilter' as const;
  handlers: EbpfProgramHandlers | undefined;
  ports: { protocol: number; port: number }[] = [];
  counters: NamespaceCounters[] = [{ netns: 4026532177, connections: 0, ends: 0, drops: 0, ringBufferFull: 0 }];
  closed = false;
  start(handlers: EbpfProgramHandlers): void {
    this.handlers = handlers;
  }
  setServicePorts(ports: { protocol: number; port: number }[]): number {
    this.ports = ports;
    return ports.length;
  }
  namespaceCounters(): NamespaceCounters[] {
    return this.counters;
  }
  stats() {
    return { events: 0, batches: 0, wakeups: 0, malformed: 0 };
  }
  attachments() {
    return { attached: ['netfilter ipv4/post-routing priority 200'], skipped: [] };
  }
  close(): void {
    this.closed = true;
  }
  deliver(events: EbpfEvent[]): void {
    const batch = formatEventBatch(events);
    this.handlers?.onEvents(batch, events.length);
  }
}

const NOW_NS = Number(process.hrtime.bigint());
const base: EbpfEvent = {
  kind: 'new',
  origin: 'post-routing',
  ktimeNs: NOW_NS,
  connCookie: 0x8f8881c3b2a100,
  netns: 4026532177,
  status: 0x1b0,
  mark: 0,
  zone: 0,
  family: 4,
  protocol: 6,
  tcpState: 1,
  dropReason: 0,
  // a node-port connection to node2, DNAT'd to web-1 (198.19.1.11) and SNAT'd to node2's address
  original: { src: '198.51.100.79', sport: 40000, dst: '198.18.0.12', dport: 30080 },
  reply: { src: '198.19.1.11', sport: 8080, dst: '198.18.0.12', dport: 54321 },
};

function setup(options: ConstructorParameters<typeof EbpfSource>[4] = {}) {
  const program = new ScriptedProgram();
  const observed: ObservedConnection[] = [];
  const metrics = new AgentMetrics();
  const sut = new EbpfSource(program, cluster, metrics, pino({ level: 'silent' }), { countersIntervalMs: 60_000, sweepIntervalMs: 60_000, ...options });
  void sut.start({ observe: (batch) => observed.push(...batch), tableSynced: () => undefined });
  return { sut, program, observed, metrics };
}

describe('EbpfSource', () => {
  it('reports a connection at NEW with both tuples, and ends the same record at END', () => {
    const { sut, program, observed } = setup();
    program.deliver([base, { ...base, kind: 'end', tcpState: 7, ktimeNs: NOW_NS + 5_000_000 }]);
    expect(observed).toHaveLength(2);
    const [opened, closed] = observed;
    expect(opened).toMatchObject({
      source: 'ebpf',
      kind: 'new',
      state: 'SYN_SENT',
      original: { src: '198.51.100.79', sport: 40000, dst: '198.18.0.12', dport: 30080, proto: 'tcp' },
      reply: { src: '198.19.1.11', sport: 8080, dst: '198.18.0.12', dport: 54321, proto: 'tcp' },
    });
    expect(Math.abs((opened?.startedAt ?? 0) - Date.now())).toBeLessThan(1000);
    expect(closed).toMatchObject({ kind: 'destroy', state: 'TIME_WAIT', flowId: opened?.flowId, startedAt: opened?.startedAt, endedAt: (opened?.startedAt ?? 0) + 5 });
    expect(opened?.flowId).toBe(`ebpf:${opened?.id}:${opened?.instance}:tcp:198.51.100.79:40000>198.18.0.12:30080`);
    const record = enrichConnection(opened as ObservedConnection, index, 'node2');
    expect(record).toMatchObject({ source: 'ebpf', dnat: true, snat: true, service: { name: 'web', entry: 'nodePort' }, endpoint: { pod: 'web-1' } });
    sut.stop();
  });

  it('observes each event when the kernel saw it, so a record never looks newer at NEW than at its END', () => {
    // A short connection's NEW and END come in one read, well after both happened. The hub keeps the version of a
    // record with the latest lastSeen (endedAt ?? observedAt): the END's version, and a copy of it re-made later
    // with the capture's real client, must not look older than the NEW's.
    const { sut, program, observed } = setup();
    const readLater = NOW_NS - 200_000_000; // both events 200 ms before this test reads them
    program.deliver([{ ...base, ktimeNs: readLater }, { ...base, kind: 'end', tcpState: 7, ktimeNs: readLater + 2_000_000 }]);
    const [opened, closed] = observed;
    const lastSeen = (o: ObservedConnection | undefined) => o?.endedAt ?? o?.observedAt ?? Number.NaN;
    expect(opened?.observedAt).toBe(opened?.startedAt);
    expect(lastSeen(closed)).toBeGreaterThanOrEqual(lastSeen(opened));
    expect(Date.now() - lastSeen(closed)).toBeGreaterThan(150);
    // an END whose kernel time reads before its NEW (the clock offset was measured again in between) ends at the NEW
    program.deliver([{ ...base, connCookie: 7, ktimeNs: readLater }, { ...base, connCookie: 7, kind: 'end', tcpState: 7, ktimeNs: readLater - 3_000_000 }]);
    expect(observed[3]?.endedAt).toBe(observed[2]?.startedAt);
    sut.stop();
  });

  it('gives two connections two identities, even on one reused kernel object', () => {
    const { sut, program, observed } = setup();
    program.deliver([base, { ...base, original: { ...base.original, sport: 40001 }, ktimeNs: NOW_NS + 1 }]);
    // the second NEW on the same cookie ends the first (its END never came)
    expect(observed.map((o) => o.kind)).toEqual(['new', 'destroy', 'new']);
    expect(observed[1]?.flowId).toBe(observed[0]?.flowId);
    expect(observed[2]?.flowId).not.toBe(observed[0]?.flowId);
    sut.stop();
  });

  it('ignores an END it has no NEW for, and a repeated END', () => {
    const { sut, program, observed } = setup();
    program.deliver([{ ...base, kind: 'end', connCookie: 42 }, base, { ...base, kind: 'end' }, { ...base, kind: 'end' }]);
    expect(observed.map((o) => o.kind)).toEqual(['new', 'destroy']);
    expect(sut.status()).toMatchObject({ events: { new: 1, end: 1, endWithoutNew: 2 } });
    sut.stop();
  });

  it('turns a NAT failure into a dropped-nat-failure record of the attempt the NEW began, mapped to its Service', async () => {
    const { sut, program, observed, metrics } = setup();
    // node2 SNATs to its address, and the port it settled on (54321) is taken: conntrack refuses the entry. The
    // netfilter link reported the entry as NEW just before; a second attempt (the retransmitted SYN) fails again.
    const failure: EbpfEvent = { ...base, kind: 'nat-failure', origin: 'kfree-skb', dropReason: 12, ktimeNs: NOW_NS + 1000 };
    const retry = { ...base, connCookie: 99, ktimeNs: NOW_NS + 1e9 };
    program.deliver([base, failure, retry, { ...failure, connCookie: 99, ktimeNs: NOW_NS + 1e9 + 1000 }]);
    expect(observed.map((o) => [o.kind, o.dropped ?? false])).toEqual([
      ['new', false],
      ['destroy', true],
      ['new', false],
      ['destroy', true],
    ]);
    expect(observed[1]?.flowId).toBe(observed[0]?.flowId);
    expect(observed[3]?.flowId).toBe(observed[2]?.flowId);
    expect(observed[3]?.flowId).not.toBe(observed[1]?.flowId);
    const record = enrichConnection(observed[1] as ObservedConnection, index, 'node2');
    expect(record).toMatchObject({
      verdict: 'dropped-nat-failure',
      natFailure: { reason: 'nat-port-exhausted', kernelReason: 'SKB_DROP_REASON_NETFILTER_DROP', observed: true },
      service: { name: 'web', entry: 'nodePort' },
      endpoint: { pod: 'web-1' },
      client: { ip: '198.51.100.79', kind: 'external' },
      ended: true,
    });
    // neither attempt is left live: an END or an idle sweep will not report them again
    program.deliver([{ ...base, kind: 'end', tcpState: 7 }]);
    expect(observed).toHaveLength(4);
    expect(sut.status()).toMatchObject({ events: { new: 2, natFailure: 2, endWithoutNew: 1 } });
    expect(await metrics.registry.getSingleMetricAsString('natlens_agent_ebpf_events_total')).toContain('natlens_agent_ebpf_events_total{kind="nat-failure"} 2');
    sut.stop();
  });

  it('reports a NAT failure whose NEW it never saw under the tuple alone', () => {
    const { sut, program, observed } = setup();
    const failure: EbpfEvent = { ...base, kind: 'nat-failure', origin: 'kfree-skb', dropReason: 12, status: 0x1a0 /* no SNAT */ };
    program.deliver([failure]);
    expect(observed).toMatchObject([{ kind: 'destroy', dropped: true, natFailure: { reason: 'insert-failed', observed: true }, flowId: 'ebpf:nat-failure:-:tcp:198.51.100.79:40000>198.18.0.12:30080' }]);
    sut.stop();
  });

  it('turns a netfilter drop on a Local node without endpoints into dropped-no-local-endpoint', () => {
    const { sut, program, observed } = setup();
    const drop: EbpfEvent = {
      ...base,
      kind: 'drop',
      origin: 'kfree-skb',
      connCookie: 0,
      dropReason: 12,
      tcpState: 0x02, // SYN
      original: { src: '198.51.100.79', sport: 40002, dst: '198.18.0.13', dport: 30080 },
      reply: { src: '198.18.0.13', sport: 30080, dst: '198.51.100.79', dport: 40002 },
    };
    program.deliver([drop, { ...drop, ktimeNs: NOW_NS + 1e9 }]); // the SYN and its retransmission
    expect(observed).toMatchObject([
      { source: 'ebpf', kind: 'destroy', dropped: true, state: 'DROPPED' },
      { source: 'ebpf', kind: 'destroy', dropped: true },
    ]);
    expect(observed[1]?.flowId).toBe(observed[0]?.flowId);
    const record = enrichConnection(observed[0] as ObservedConnection, index, 'node3');
    expect(record).toMatchObject({ verdict: 'dropped-no-local-endpoint', service: { name: 'web' }, original: { dst: '198.18.0.13', dport: 30080 } });
    expect(enrichConnection(observed[0] as ObservedConnection, index, 'node1').verdict).not.toBe('dropped-no-local-endpoint');
    sut.stop();
  });

  it('reports UDP at NEW like TCP, and carries the conntrack zone into the identity: one tuple, two zones, two flows', () => {
    const { sut, program, observed } = setup();
    const udp: EbpfEvent = { ...base, protocol: 17, tcpState: 0, original: { ...base.original, dport: 30053 }, reply: { ...base.reply, sport: 5353 } };
    program.deliver([udp, { ...udp, connCookie: base.connCookie + 64, zone: 7 }]);
    expect(observed).toMatchObject([
      { kind: 'new', zone: 0, state: undefined, original: { proto: 'udp', dport: 30053 }, reply: { proto: 'udp', sport: 5353 } },
      { kind: 'new', zone: 7, original: { proto: 'udp', dport: 30053 } },
    ]);
    expect(observed[0]?.flowId).toBe(`ebpf:${observed[0]?.id}:${observed[0]?.instance}:udp:198.51.100.79:40000>198.18.0.12:30053`);
    expect(observed[1]?.flowId).toBe(`ebpf:${observed[1]?.id}:${observed[1]?.instance}:udp:198.51.100.79:40000>198.18.0.12:30053@z7`);
    sut.sweep(Date.now() + 121_000);
    expect(observed.slice(2)).toMatchObject([
      { kind: 'destroy', zone: 0, flowId: observed[0]?.flowId },
      { kind: 'destroy', zone: 7, flowId: observed[1]?.flowId },
    ]);
    sut.stop();
  });

  it('ends connections the program never ends after their idle timeout', () => {
    const { sut, program, observed } = setup({ tcpIdleTimeoutMs: 10_000, otherIdleTimeoutMs: 1000 });
    const udp: EbpfEvent = { ...base, protocol: 17, tcpState: 0, connCookie: 7, original: { ...base.original, dport: 53 } };
    program.deliver([base, udp]);
    const started = observed[0]?.startedAt ?? 0;
    sut.sweep(started + 2000);
    expect(observed.slice(2)).toMatchObject([{ kind: 'destroy', original: { proto: 'udp', dport: 53 } }]);
    sut.sweep(started + 11_000);
    expect(observed.slice(3)).toMatchObject([{ kind: 'destroy', original: { proto: 'tcp' }, flowId: observed[0]?.flowId }]);
    expect(sut.status()).toMatchObject({ liveConnections: 0, events: { idleEnded: 2 } });
    sut.stop();
  });

  it('skips undecodable records, counts them, and keeps the rest of the batch', () => {
    const { sut, program, observed, metrics } = setup();
    const batch = formatEventBatch([base, { ...base, connCookie: 9, original: { ...base.original, sport: 40009 } }]);
    batch[30] = 77; // the first record's kind
    program.handlers?.onEvents(batch, 2);
    expect(observed).toMatchObject([{ kind: 'new', original: { sport: 40009 } }]);
    expect(sut.status()).toMatchObject({ events: { malformed: 1 } });
    return metrics.registry.getSingleMetricAsString('natlens_agent_dropped_total').then((text) => {
      expect(text).toContain('natlens_agent_dropped_total{stage="decode",reason="malformed-ebpf-event"} 1');
      sut.stop();
    });
  });

  it('exports the kernel-side totals and counts ring-buffer drops', async () => {
    const { sut, program, metrics } = setup({ countersIntervalMs: 10 });
    program.counters = [{ netns: 4026532177, connections: 10, ends: 9, drops: 1, ringBufferFull: 3 }];
    // Until the 10 ms counters timer has run once (a loaded machine may take longer than a fixed pause).
    let text = '';
    for (let waited = 0; waited < 5000 && !text.includes('natlens_agent_ebpf_ringbuf_drops_total 3'); waited += 10) {
      await new Promise((r) => setTimeout(r, 10));
      text = await metrics.registry.metrics();
    }
    expect(text).toContain('natlens_agent_ebpf_kernel_totals{netns="4026532177",counter="connections"} 10');
    expect(text).toContain('natlens_agent_ebpf_ringbuf_drops_total 3');
    sut.stop();
    expect(program.closed).toBe(true);
  });

  it("tells the program the Services' ports and node ports, for drop reports", () => {
    const { sut, program } = setup();
    expect(program.ports).toEqual(expect.arrayContaining([{ protocol: 6, port: 80 }, { protocol: 6, port: 30080 }]));
    expect(servicePortsOf(index)).toEqual(program.ports);
    sut.stop();
  });

  it('counts UDP Service ports and node ports as Service ports too, keyed by protocol', () => {
    const udp = ClusterIndex.fromObjects(buildInventory(resolveLab(exampleTopology('udp-dns.yaml'))).items);
    expect(servicePortsOf(udp)).toEqual(expect.arrayContaining([{ protocol: 17, port: 53 }, { protocol: 17, port: 30053 }]));
    expect(servicePortsOf(udp).filter((p) => p.protocol !== 17)).toEqual([]);
  });
});

describe('selectSources', () => {
  const log = pino({ level: 'silent' });
  const program = new ScriptedProgram();
  const refused = () => {
    throw new EbpfUnavailableError(capabilitiesOf('6.18.0', true, 1), [{ mode: 'netfilter', error: 'EPERM' }], 'netfilter: EPERM');
  };

  it.each([
    [undefined, ['ebpf']],
    [['ebpf', 'pcap'], ['ebpf', 'pcap']],
    [['conntrack'], ['conntrack']],
  ] as const)('asked for %j where eBPF loads: %j', (requested, names) => {
    expect(selectSources(requested ? [...requested] : undefined, () => program, log)).toMatchObject({ names });
  });

  it.each([
    [undefined, ['conntrack']],
    [['ebpf'], ['conntrack']],
    [['ebpf', 'conntrack', 'pcap'], ['conntrack', 'pcap']],
  ] as const)('asked for %j where the kernel refuses eBPF: %j, and says why', (requested, names) => {
    const warnings: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => warnings.push(JSON.parse(line).msg) });
    expect(selectSources(requested ? [...requested] : undefined, refused, logger)).toEqual({ names, fallback: 'netfilter: EPERM' });
    expect(warnings).toEqual(['eBPF source unavailable (netfilter: EPERM); using the conntrack source instead']);
  });

  it('never opens the program when eBPF is not asked for', () => {
    expect(selectSources(['pcap'], refused, log)).toEqual({ names: ['pcap'] });
  });

  it('notes the reason on the fallback source for /healthz', () => {
    const noted = withSelectionNote({ name: 'conntrack', start: async () => undefined, stop: () => undefined, observing: () => true, status: () => ({ losses: 0 }) }, 'in place of eBPF: EPERM');
    expect(noted.status()).toEqual({ losses: 0, selectedBecause: 'in place of eBPF: EPERM' });
  });
});
