import { ConnectionTracker, decodePacket, readLivePcap, type LivePcapVisitor } from '@natlens/agent-pcap';
import { ParseError } from '@natlens/agent-wire';
import type { ClusterIndex, ClusterMetadataSource } from '@natlens/shared-cluster';
import type { Logger } from 'pino';
import type { Readable } from 'node:stream';
import type { AgentMetrics } from '../metrics/agent-metrics';
import type { ConnectionSink, ConnectionSource } from './connection-source';
import { observationOfCapture } from '@natlens/agent-records';
import { servicePortFilter } from './capture-filter';

/** The part of a child process the source uses (a scripted stream stands in for tcpdump in unit tests). */
export interface CaptureProcess {
  readonly stdout: Readable;
  readonly stderr: NodeJS.ReadableStream;
  onExit(listener: (code: number | null, signal: string | null) => void): void;
  onError(listener: (err: Error) => void): void;
  kill(): void;
}

export interface CaptureSourceOptions {
  /** Interfaces to capture on; `any` (the default) is every interface, Linux cooked headers. */
  interfaces: string[];
  /** A BPF filter to use instead of the one made from the Services' ports. */
  filter?: string;
  /** How often connections are reported. */
  pollIntervalMs?: number;
  /** Wait before starting tcpdump again after it died. */
  restartDelayMs?: number;
}

/**
 * tcpdump's arguments: pcap to stdout, flushed per packet (-U), an 8 MiB kernel buffer, no name lookups. Not
 * --immediate-mode: on this kernel it lost 80 of 180 packets of 10 connections (libpcap 1.10.3, TPACKET_V3), where
 * the default 1 s block timeout lost none; a packet reaches us at most that second late.
 */
export function tcpdumpArguments(iface: string, filter: string): string[] {
  return ['-i', iface, '-w', '-', '-U', '-B', '8192', '-n', filter];
}

/*
 * The capture source: one `tcpdump -w -` per interface, its stdout decoded incrementally (readLivePcap on pcap-parser →
 * decodePacket) into one ConnectionTracker shared by every interface (a NATed connection enters on one interface and
 * leaves on another), polled every interval for connections to report. The BPF filter keeps only the Services'
 * ports (node ports, ports, target ports) and is renewed when the Services change.
 */
export class CaptureSource implements ConnectionSource {
  readonly name = 'pcap' as const;
  private sink: ConnectionSink | undefined;
  private readonly processes = new Map<string, CaptureProcess>();
  /** Interfaces whose tcpdump said it is listening (it prints `listening on <iface>` once the capture is open). */
  private readonly listening = new Set<string>();
  private tracker: ConnectionTracker;
  private filter = '';
  private pollTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private stopped = false;
  private readonly counts = { packets: 0, malformedPackets: 0, fileErrors: 0, restarts: 0, reported: 0 };
  private lastError: string | undefined;

  constructor(
    private readonly spawnCapture: (args: string[]) => CaptureProcess,
    private readonly cluster: Pick<ClusterMetadataSource, 'current' | 'onChange'>,
    private readonly metrics: AgentMetrics,
    private readonly log: Logger,
    private readonly options: CaptureSourceOptions,
  ) {
    this.tracker = this.newTracker();
  }

  async start(sink: ConnectionSink): Promise<void> {
    this.sink = sink;
    this.filter = this.options.filter ?? servicePortFilter(this.cluster.current());
    for (const iface of this.options.interfaces) this.spawn(iface);
    this.unsubscribe = this.cluster.onChange((index) => this.servicesChanged(index));
    this.pollTimer = setInterval(() => this.poll(Date.now()), this.options.pollIntervalMs ?? 500);
    this.pollTimer.unref();
  }

  private newTracker(): ConnectionTracker {
    return new ConnectionTracker({
      isServiceFrontend: (ip, port) => this.cluster.current().serviceFrontend(ip, port, 'tcp') !== undefined,
    });
  }

  private spawn(iface: string): void {
    const args = tcpdumpArguments(iface, this.filter);
    this.log.info({ iface, filter: this.filter }, 'starting tcpdump');
    const child = this.spawnCapture(args);
    this.processes.set(iface, child);
    const visitor: LivePcapVisitor = {
      packet: (record) => {
        this.counts.packets++;
        let packet;
        try {
          packet = decodePacket(record.linkType, record.frame);
        } catch (err) {
          if (!(err instanceof ParseError)) throw err;
          this.counts.malformedPackets++;
          this.metrics.dropped.inc({ stage: 'decode', reason: 'malformed-packet' });
          return;
        }
        this.tracker.add(packet, record.seconds * 1000 + record.nanoseconds / 1e6, record.originalLength - packet.link.payloadOffset);
      },
      error: (err) => {
        this.counts.fileErrors++;
        this.metrics.dropped.inc({ stage: 'decode', reason: 'malformed-capture' });
        this.log.warn({ iface, offset: err.offset, err: err.message }, 'malformed capture stream from tcpdump');
      },
    };
    // tcpdump's stream is read with pcap-parser (readLivePcap). A damaged stream cannot be read on (a record's
    // length is all that frames the next one), so it is given up and tcpdump ended: the exit below starts a new one.
    const reader = readLivePcap(child.stdout, visitor);
    visitor.end = () => {
      if (reader.stats.errors > 0 && this.processes.get(iface) === child) child.kill();
    };
    let stderrTail = '';
    this.listening.delete(iface);
    child.stderr.on('data', (chunk: Buffer) => {
      stderrTail = (stderrTail + chunk.toString()).slice(-2000);
      if (this.processes.get(iface) === child && /listening on /.test(stderrTail)) this.listening.add(iface);
    });
    child.onError((err) => {
      this.lastError = `tcpdump on ${iface}: ${err.message}`;
      this.log.error({ iface, err: err.message }, 'tcpdump could not be started');
    });
    child.onExit((code, signal) => {
      if (this.processes.get(iface) !== child) return; // replaced on purpose (new filter)
      this.processes.delete(iface);
      this.listening.delete(iface);
      if (this.stopped) return;
      this.counts.restarts++;
      this.lastError = `tcpdump on ${iface} exited (${signal ?? `code ${code}`}): ${stderrTail.trim().split('\n').pop() ?? ''}`;
      this.log.error({ iface, code, signal, stderr: stderrTail.trim() }, 'tcpdump exited; starting it again shortly');
      setTimeout(() => !this.stopped && !this.processes.has(iface) && this.spawn(iface), this.options.restartDelayMs ?? 5000).unref();
    });
  }

  private servicesChanged(index: ClusterIndex): void {
    if (this.options.filter !== undefined) return;
    const filter = servicePortFilter(index);
    if (filter === this.filter) return;
    this.filter = filter;
    // A new filter needs a new tcpdump; connections in flight keep their state in the shared tracker.
    for (const [iface, child] of [...this.processes]) {
      this.processes.delete(iface);
      child.kill();
      this.spawn(iface);
    }
  }

  /** Reports what the tracker settled by `now` (exposed for tests, which drive time themselves). */
  poll(now: number): void {
    const events = this.tracker.poll(now);
    if (events.length === 0) return;
    this.counts.reported += events.length;
    this.sink?.observe(events.map((event) => observationOfCapture(event, now)));
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.pollTimer);
    this.unsubscribe?.();
    for (const child of this.processes.values()) child.kill();
    this.processes.clear();
  }

  /** Every interface's tcpdump is capturing. */
  observing(): boolean {
    return !this.stopped && this.options.interfaces.every((iface) => this.listening.has(iface));
  }

  status(): Record<string, unknown> {
    return {
      interfaces: this.options.interfaces,
      listening: [...this.listening],
      filter: this.filter,
      running: [...this.processes.keys()],
      ...this.counts,
      tracked: this.tracker.size,
      tracker: this.tracker.stats,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }
}
