import type { ConntrackReaderHandlers, DumpResult, LeanConntrackEntry, NetlinkSocketStats } from '@natlens/agent-conntrack';
import { leanConntrackEntryOf } from '@natlens/agent-conntrack';
import type { Counter } from 'prom-client';
import type { Logger } from 'pino';
import type { AgentMetrics } from '../metrics/agent-metrics';
import type { ObservedConnection } from '@natlens/agent-records';
import type { ConnectionSink, ConnectionSource } from './connection-source';
import { type ConnectionIdentity, ConnectionIdentities } from './conntrack-identities';
import { observationOf, tupleOf } from './conntrack-observation';

/** The part of ConntrackReader the source uses (a plain object stands in for it in unit tests). */
export interface ConntrackReaderPort {
  start(handlers: ConntrackReaderHandlers): void;
  dump(): Promise<DumpResult>;
  stats(): { events?: NetlinkSocketStats; dump?: NetlinkSocketStats };
  close(): void;
}

const KINDS = ['new', 'update', 'destroy', 'dump'] as const;
const KIND_INDEX: Readonly<Record<LeanConntrackEntry['event'], number>> = { new: 0, update: 1, destroy: 2, dump: 3 };

/** A lost event is answered with a full dump; losses in a burst share one. */
const RESYNC_DEBOUNCE_MS = 200;

/*
 * The conntrack source: subscribe first, then dump, so no connection falls between the two; after the kernel
 * reports lost events (ENOBUFS), and every resync interval, dump again and let the pipeline end the flows the table
 * no longer holds (nf_conntrack_events=2 never reports the end of a connection older than our subscription).
 */
export class ConntrackSource implements ConnectionSource {
  readonly name = 'conntrack' as const;
  private reader: ConntrackReaderPort | undefined;
  private sink: ConnectionSink | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private periodic: NodeJS.Timeout | undefined;
  private dumpIds: Set<string> | undefined;
  private dumpListed: Set<ConnectionIdentity> | undefined;
  private lastDump: { reason: string; entries: number; ms: number; at: number } | undefined;
  private losses = 0;
  /** The identity (instance, flowId) of each live connection: assigned at NEW (or first sight in a dump). */
  private readonly identities = new ConnectionIdentities();
  private metricChildren: { events: Counter.Internal[]; withoutId: Counter.Internal; datagrams: Record<'events' | 'dump', Counter.Internal> } | undefined;

  constructor(
    private readonly createReader: () => ConntrackReaderPort,
    private readonly metrics: AgentMetrics,
    private readonly log: Logger,
    private readonly resyncIntervalMs: number,
  ) {}

  async start(sink: ConnectionSink): Promise<void> {
    this.sink = sink;
    this.reader = this.createReader();
    this.reader.start({
      // A reader that decodes full entries (tests, or `decode: 'full'`) goes through the same lean path.
      onEntries: (entries, via) => this.onEntries(entries.map((entry) => leanConntrackEntryOf(entry)), via, 1),
      onLeanEntries: (entries, via, datagrams) => this.onEntries(entries, via, datagrams),
      onLoss: (reason) => {
        this.losses++;
        this.metrics.netlinkEnobufs.inc();
        if (this.losses === 1 || this.losses % 100 === 0) {
          this.log.warn({ reason, losses: this.losses }, 'the kernel dropped conntrack events (receive buffer full); resynchronising with a dump');
        }
        this.scheduleResync('loss');
      },
      onParseErrors: (errors, via) => {
        this.metrics.dropped.inc({ stage: 'decode', reason: 'malformed-netlink' }, errors.length);
        this.log.warn({ via, count: errors.length, first: errors[0]?.message }, 'undecodable ctnetlink messages skipped');
      },
    });
    await this.resync('start');
    this.periodic = setInterval(() => void this.resync('interval'), this.resyncIntervalMs);
    this.periodic.unref();
  }

  private onEntries(entries: LeanConntrackEntry[], via: 'events' | 'dump', datagrams: number): void {
    const now = Date.now();
    const batch: ObservedConnection[] = [];
    const counts = [0, 0, 0, 0]; // by KINDS
    let withoutId = 0;
    for (const entry of entries) {
      counts[KIND_INDEX[entry.event]] = (counts[KIND_INDEX[entry.event]] ?? 0) + 1;
      if (entry.id === undefined) {
        withoutId++;
        continue;
      }
      const withId = entry as LeanConntrackEntry & { id: number };
      const identity = this.identities.of(withId, now);
      const observation = observationOf(withId, now, identity.instance, identity.flowId, identity.original, tupleOf(entry.reply));
      if (via === 'dump') {
        this.dumpIds?.add(identity.flowId);
        this.dumpListed?.add(identity);
      }
      batch.push(observation);
    }
    const counters = this.counters();
    counts.forEach((n, kind) => n > 0 && counters.events[kind]?.inc(n));
    if (withoutId > 0) counters.withoutId.inc(withoutId);
    counters.datagrams[via].inc(datagrams);
    if (batch.length > 0) this.sink?.observe(batch);
  }

  /** Metric children resolved once: a labelled inc() per event would hash its labels every time. */
  private counters() {
    if (!this.metricChildren) {
      const m = this.metrics;
      this.metricChildren = {
        events: KINDS.map((kind) => m.conntrackEvents.labels({ kind })),
        withoutId: m.dropped.labels({ stage: 'decode', reason: 'no-conntrack-id' }),
        datagrams: { events: m.netlinkDatagrams.labels({ purpose: 'events' }), dump: m.netlinkDatagrams.labels({ purpose: 'dump' }) },
      };
    }
    return this.metricChildren;
  }

  private scheduleResync(reason: string): void {
    if (this.resyncTimer) return;
    this.resyncTimer = setTimeout(() => {
      this.resyncTimer = undefined;
      void this.resync(reason);
    }, RESYNC_DEBOUNCE_MS);
  }

  private async resync(reason: string): Promise<void> {
    if (!this.reader) return;
    this.metrics.resyncs.inc({ reason });
    const startedAt = Date.now();
    this.dumpIds = new Set();
    this.dumpListed = new Set();
    try {
      const result = await this.reader.dump();
      const ids = this.dumpIds;
      this.identities.prune(startedAt, this.dumpListed);
      this.dumpIds = undefined;
      this.dumpListed = undefined;
      this.lastDump = { reason, entries: result.entries, ms: result.finishedAt - result.startedAt, at: result.finishedAt };
      this.sink?.tableSynced(ids, startedAt);
    } catch (err) {
      this.dumpIds = undefined;
      this.dumpListed = undefined;
      this.log.error({ err: (err as Error).message, reason }, 'conntrack dump failed; will retry at the next resync');
    }
  }

  stop(): void {
    clearTimeout(this.resyncTimer);
    clearInterval(this.periodic);
    this.reader?.close();
    this.reader = undefined;
  }

  /** Subscribed to the kernel's events and the table read once: nothing older or newer escapes it from now on. */
  observing(): boolean {
    return this.reader !== undefined && this.lastDump !== undefined;
  }

  status(): Record<string, unknown> {
    return { losses: this.losses, lastDump: this.lastDump, sockets: this.reader?.stats() };
  }
}

export { timeOrderedInstance } from './conntrack-identities';
