import { decodeEventBatch, type EbpfMode, type EbpfProgramHandlers, type EbpfProgramStats, type NamespaceCounters } from '@natlens/agent-ebpf';
import type { ClusterIndex, ClusterMetadataSource } from '@natlens/shared-cluster';
import type { Tuple } from '@natlens/shared-model';
import type { Counter } from 'prom-client';
import type { Logger } from 'pino';
import type { AgentMetrics } from '../metrics/agent-metrics';
import type { ObservedConnection } from '@natlens/agent-records';
import type { ConnectionSink, ConnectionSource } from './connection-source';
import { ebpfFlowId, epochMsOf, observationOfConnectionEvent, observationOfDrop, observationOfNatFailure, tuplesOf, type EbpfIdentity } from './ebpf-observation';

/** The part of EbpfProgram the source uses (a scripted stand-in feeds recorded batches in unit tests). */
export interface EbpfProgramPort {
  readonly mode: EbpfMode;
  start(handlers: EbpfProgramHandlers): void;
  setServicePorts(ports: { protocol: number; port: number }[]): number;
  namespaceCounters(): NamespaceCounters[];
  stats(): EbpfProgramStats;
  attachments(): { attached: string[]; skipped: string[] };
  close(): void;
}

export interface EbpfSourceOptions {
  /**
   * A TCP connection whose end the program never saw (its last packets took another path, or it only ever sent a
   * SYN) is ended after this long, so the source's memory stays bounded. A connection quiet for longer that is still
   * open is then reported ended; its real end finds no NEW to match and is not reported. Default 15 min.
   */
  tcpIdleTimeoutMs?: number;
  /** UDP, ICMP and the rest end by timeout in conntrack too; the program reports only their start. Default 120 s. */
  otherIdleTimeoutMs?: number;
  sweepIntervalMs?: number;
  countersIntervalMs?: number;
}

const PROTOCOL_NUMBERS: Record<string, number> = { TCP: 6, UDP: 17, SCTP: 132 };

/** The Services' ports and node ports (what kube-proxy's KUBE-EXTERNAL-SERVICES drop matches), as the program keys them. */
export function servicePortsOf(index: ClusterIndex): { protocol: number; port: number }[] {
  const keys = new Map<number, { protocol: number; port: number }>();
  for (const info of index.services()) {
    for (const port of index.service(info)?.ports ?? []) {
      const protocol = PROTOCOL_NUMBERS[port.protocol];
      if (protocol === undefined) continue;
      keys.set(protocol * 65536 + port.port, { protocol, port: port.port });
      if (port.nodePort) keys.set(protocol * 65536 + port.nodePort, { protocol, port: port.nodePort });
    }
  }
  return [...keys.values()];
}

interface LiveConnection {
  identity: EbpfIdentity;
  original: Tuple;
  reply: Tuple;
  zone: number;
  startedAt: number;
  tcp: boolean;
}

/** ms to add to CLOCK_MONOTONIC (what bpf_ktime_get_ns and process.hrtime read) to get the epoch. */
function monotonicToEpochMs(): number {
  return Date.now() - Number(process.hrtime.bigint()) / 1e6;
}

/*
 * The eBPF source: the kernel reports each connection's NEW (both tuples, after NAT) and, for TCP, its END; the
 * source gives the connection its identity at NEW and ends the same record at END. Drops of Service traffic become
 * `dropped` observations (a Local-policy node without endpoints). No table to dump: the program sees connections
 * from the moment it is attached; older ones are the conntrack source's to report.
 */
export class EbpfSource implements ConnectionSource {
  readonly name = 'ebpf' as const;
  private sink: ConnectionSink | undefined;
  private readonly live = new Map<number, LiveConnection>();
  private sequence = 0;
  /** Tells apart the ids of two runs of the agent (ids restart at 1). */
  private readonly runTag = `r${Date.now().toString(36)}`;
  private clockOffsetMs = monotonicToEpochMs();
  private sweepTimer: NodeJS.Timeout | undefined;
  private countersTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly counts = { new: 0, end: 0, drop: 0, natFailure: 0, endWithoutNew: 0, idleEnded: 0, malformed: 0, ringBufferErrors: 0 };
  private kernelRingBufferFull = 0;
  private servicePorts = 0;
  private lastError: string | undefined;
  private started = false;
  private children: { new: Counter.Internal; end: Counter.Internal; drop: Counter.Internal; natFailure: Counter.Internal } | undefined;
  private readonly tcpIdleTimeoutMs: number;
  private readonly otherIdleTimeoutMs: number;

  constructor(
    private readonly program: EbpfProgramPort,
    private readonly cluster: Pick<ClusterMetadataSource, 'current' | 'onChange'>,
    private readonly metrics: AgentMetrics,
    private readonly log: Logger,
    private readonly options: EbpfSourceOptions = {},
  ) {
    this.tcpIdleTimeoutMs = options.tcpIdleTimeoutMs ?? 15 * 60_000;
    this.otherIdleTimeoutMs = options.otherIdleTimeoutMs ?? 120_000;
  }

  async start(sink: ConnectionSink): Promise<void> {
    this.sink = sink;
    this.setServicePorts(this.cluster.current());
    this.unsubscribe = this.cluster.onChange((index) => this.setServicePorts(index));
    this.program.start({
      onEvents: (batch) => this.onBatch(batch),
      onError: (errno, message) => {
        this.counts.ringBufferErrors++;
        this.lastError = `ring buffer read failed (${errno}): ${message}`;
        this.log.warn({ errno }, this.lastError);
      },
    });
    this.sweepTimer = setInterval(() => this.sweep(Date.now()), this.options.sweepIntervalMs ?? 5000);
    this.sweepTimer.unref();
    this.countersTimer = setInterval(() => this.readKernelCounters(), this.options.countersIntervalMs ?? 1000);
    this.countersTimer.unref();
    const { attached, skipped } = this.program.attachments();
    this.started = true;
    this.log.info({ mode: this.program.mode, attached, skipped, servicePorts: this.servicePorts }, `eBPF source running (${this.program.mode} hook)`);
  }

  private setServicePorts(index: ClusterIndex): void {
    try {
      this.servicePorts = this.program.setServicePorts(servicePortsOf(index));
    } catch (err) {
      this.lastError = `cannot update the Service ports for drop reports: ${(err as Error).message}`;
      this.log.warn(this.lastError);
    }
  }

  /**
   * One ring-buffer batch: decode, give identities, hand on in one call.
   *
   * An event is observed when the kernel saw it (its ktime), not when the batch was read: a short connection's NEW
   * and END usually arrive in one read, and a NEW stamped with the read time would make the record's lastSeen later
   * than its END. The hub keeps the version of a record with the latest lastSeen, so a record re-made after its end
   * (the capture adding the real client behind a proxy, seconds later) carried the END's time, looked older than the
   * NEW's, and was ignored: with `--source ebpf,pcap` most proxied connections kept the proxy as their client.
   */
  onBatch(batch: Buffer): void {
    const now = Date.now();
    const { events, errors } = decodeEventBatch(batch);
    if (errors.length > 0) {
      this.counts.malformed += errors.length;
      this.metrics.dropped.inc({ stage: 'decode', reason: 'malformed-ebpf-event' }, errors.length);
      this.log.warn({ count: errors.length, first: errors[0]?.message }, 'undecodable eBPF events skipped');
    }
    const out: ObservedConnection[] = [];
    let news = 0;
    let ends = 0;
    let drops = 0;
    let natFailures = 0;
    for (const event of events) {
      const at = epochMsOf(event.ktimeNs, this.clockOffsetMs);
      if (event.kind === 'drop') {
        drops++;
        out.push(observationOfDrop(event, at, now));
        continue;
      }
      if (event.kind === 'nat-failure') {
        natFailures++;
        const attempt = this.live.get(event.connCookie);
        this.live.delete(event.connCookie);
        out.push(observationOfNatFailure(event, attempt?.identity, attempt?.startedAt, at, now));
        continue;
      }
      if (event.kind === 'new') {
        news++;
        const { original, reply } = tuplesOf(event);
        const previous = this.live.get(event.connCookie);
        // The kernel reused a connection's memory for a new one whose predecessor's END never came: that one is over.
        if (previous) out.push(this.ended(previous, at, now));
        const id = (++this.sequence).toString(36);
        const identity = { id, instance: this.runTag, flowId: ebpfFlowId(id, this.runTag, original, event.zone) };
        this.live.set(event.connCookie, { identity, original, reply, zone: event.zone, startedAt: at, tcp: original.proto === 'tcp' });
        out.push(observationOfConnectionEvent(event, identity, original, reply, at, at, at));
        continue;
      }
      const known = this.live.get(event.connCookie);
      if (!known) {
        // a connection older than the program, or a repeated END (a retransmission in TIME_WAIT, or lo's two hooks)
        this.counts.endWithoutNew++;
        continue;
      }
      ends++;
      this.live.delete(event.connCookie);
      // The clock offset is measured again every second: an END read after a new measurement must still not precede
      // its NEW.
      const endedAt = Math.max(at, known.startedAt);
      out.push(observationOfConnectionEvent(event, known.identity, known.original, known.reply, known.startedAt, endedAt, endedAt));
    }
    this.count(news, ends, drops, natFailures);
    if (out.length > 0) this.sink?.observe(out);
  }

  private ended(conn: LiveConnection, at: number, now: number): ObservedConnection {
    return {
      source: 'ebpf',
      kind: 'destroy',
      id: conn.identity.id,
      instance: conn.identity.instance,
      original: conn.original,
      reply: conn.reply,
      observedAt: now,
      startedAt: conn.startedAt,
      endedAt: at,
      zone: conn.zone,
      flowId: conn.identity.flowId,
    };
  }

  private count(news: number, ends: number, drops: number, natFailures: number): void {
    if (!this.children) {
      const m = this.metrics.ebpfEvents;
      this.children = { new: m.labels({ kind: 'new' }), end: m.labels({ kind: 'end' }), drop: m.labels({ kind: 'drop' }), natFailure: m.labels({ kind: 'nat-failure' }) };
    }
    this.counts.new += news;
    this.counts.end += ends;
    this.counts.drop += drops;
    this.counts.natFailure += natFailures;
    if (natFailures > 0) this.children.natFailure.inc(natFailures);
    if (news > 0) this.children.new.inc(news);
    if (ends > 0) this.children.end.inc(ends);
    if (drops > 0) this.children.drop.inc(drops);
    this.metrics.ebpfBatches.inc();
  }

  /** Ends what the program will never end (see EbpfSourceOptions). Map order is NEW order: the oldest come first. */
  sweep(now: number): void {
    const out: ObservedConnection[] = [];
    const shortest = Math.min(this.tcpIdleTimeoutMs, this.otherIdleTimeoutMs);
    for (const [cookie, conn] of this.live) {
      const age = now - conn.startedAt;
      if (age < shortest) break;
      if (age < (conn.tcp ? this.tcpIdleTimeoutMs : this.otherIdleTimeoutMs)) continue;
      this.live.delete(cookie);
      out.push(this.ended(conn, now, now));
    }
    if (out.length === 0) return;
    this.counts.idleEnded += out.length;
    this.sink?.observe(out);
  }

  private readKernelCounters(): void {
    this.clockOffsetMs = monotonicToEpochMs();
    let ringBufferFull = 0;
    for (const c of this.program.namespaceCounters()) {
      const netns = String(c.netns);
      this.metrics.ebpfKernelTotals.set({ netns, counter: 'connections' }, c.connections);
      this.metrics.ebpfKernelTotals.set({ netns, counter: 'ends' }, c.ends);
      this.metrics.ebpfKernelTotals.set({ netns, counter: 'drops' }, c.drops);
      this.metrics.ebpfKernelTotals.set({ netns, counter: 'ringbuf_full' }, c.ringBufferFull);
      ringBufferFull += c.ringBufferFull;
    }
    if (ringBufferFull > this.kernelRingBufferFull) {
      const lost = ringBufferFull - this.kernelRingBufferFull;
      this.metrics.ebpfRingBufferDrops.inc(lost);
      this.log.warn({ lost, total: ringBufferFull }, 'the eBPF ring buffer was full: events were lost in the kernel (raise the ring buffer size or give the agent more CPU)');
      this.kernelRingBufferFull = ringBufferFull;
    }
  }

  /** The ring buffer is read and at least one hook is attached. */
  observing(): boolean {
    return this.started && this.program.attachments().attached.length > 0;
  }

  stop(): void {
    this.started = false;
    clearInterval(this.sweepTimer);
    clearInterval(this.countersTimer);
    this.unsubscribe?.();
    this.readKernelCounters();
    this.program.close();
  }

  status(): Record<string, unknown> {
    return {
      mode: this.program.mode,
      ...this.program.attachments(),
      servicePorts: this.servicePorts,
      liveConnections: this.live.size,
      events: { ...this.counts },
      ringBufferDrops: this.kernelRingBufferFull,
      loader: this.program.stats(),
      kernel: this.program.namespaceCounters(),
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }
}
