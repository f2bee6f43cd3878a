import type { ConntrackReaderHandlers, DumpResult, LeanConntrackEntry, NetlinkSocketStats } from '@natlens/agent-conntrack';
import { leanConntrackEntryOf } from '@natlens/agent-conntrack';
import type { Counter } from 'prom-client';
import type { Logger } from 'pino';
import type { AgentMetrics } from '../metrics/agent-metrics';
import type { ObservedConnection } from '../pipeline/observed-connection';
import type { ConnectionSink, ConnectionSource } from './connection-source';
import { observationOf, tupleKeyOf, tupleOf } from './conntrack-observation';

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
  private dumpKeys: Set<string> | undefined;
  private lastDump: { reason: string; entries: number; ms: number; at: number } | undefined;
  private losses = 0;
  /** The instance of each live (id, tuple): assigned at NEW (or first sight in a dump), forgotten at DESTROY. */
  private readonly instances = new Map<string, { instance: string; since: number }>();
  private instanceSequence = 0;
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
      const original = tupleOf(entry.original);
      const tupleKey = tupleKeyOf(original);
      // One string names the (id, tuple) for the instance map; the flowId reuses the tuple part.
      const key = `${entry.id}:${tupleKey}`;
      const instance = this.instanceOf(key, entry as LeanConntrackEntry & { id: number }, now);
      const flowId = `conntrack:${instance}:${entry.id}:${tupleKey}`;
      const observation = observationOf(entry as LeanConntrackEntry & { id: number }, now, instance, flowId, original, tupleOf(entry.reply));
      if (via === 'dump') {
        this.dumpIds?.add(flowId);
        this.dumpKeys?.add(key);
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

  /**
   * Tells apart connections that reuse an (id, tuple): the kernel destroys a TIME_WAIT entry and creates its successor
   * with the same CTA_ID when a client reuses the tuple. NEW starts a new instance, DESTROY ends it. The kernel's start
   * timestamp cannot serve: ctnetlink sends it with DESTROY events and dumps, not with NEW events. A connection first
   * seen in a dump (older than the agent) is named after its start time (in ns) when there is one, so a restarted
   * agent gives it the same flowId again; otherwise after the time the agent first saw it. Either way the instance is
   * a fixed-width, time-ordered string and leads the flowId: the hub's (node, flowId) key then grows at its end, as a
   * time-ordered id does, instead of at random places (conntrack ids are hashes), which is what lets its store take
   * 100k records/s (bench/hub-ingest). `key` names the (id, tuple).
   */
  private instanceOf(key: string, entry: LeanConntrackEntry & { id: number }, now: number): string {
    let known = this.instances.get(key);
    if (entry.event === 'new' || !known) {
      const fromKernel = entry.event !== 'new' && entry.startMs !== undefined;
      this.instanceSequence = (this.instanceSequence + 1) % 1_000_000;
      const instance = fromKernel ? timeOrderedInstance(entry.startMs as number, entry.startNsInMs ?? 0) : timeOrderedInstance(now, this.instanceSequence);
      known = { instance, since: now };
      this.instances.set(key, known);
    }
    if (entry.event === 'destroy') this.instances.delete(key);
    return known.instance;
  }

  /** After a dump: forget the instances of connections it no longer lists (their DESTROY never reached us). */
  private pruneInstances(dumpStartedAt: number, listed: Set<string>): void {
    for (const [key, known] of this.instances) {
      if (known.since < dumpStartedAt && !listed.has(key)) this.instances.delete(key);
    }
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
    this.dumpKeys = new Set();
    try {
      const result = await this.reader.dump();
      const ids = this.dumpIds;
      this.pruneInstances(startedAt, this.dumpKeys);
      this.dumpIds = undefined;
      this.dumpKeys = undefined;
      this.lastDump = { reason, entries: result.entries, ms: result.finishedAt - result.startedAt, at: result.finishedAt };
      this.sink?.tableSynced(ids, startedAt);
    } catch (err) {
      this.dumpIds = undefined;
      this.dumpKeys = undefined;
      this.log.error({ err: (err as Error).message, reason }, 'conntrack dump failed; will retry at the next resync');
    }
  }

  stop(): void {
    clearTimeout(this.resyncTimer);
    clearInterval(this.periodic);
    this.reader?.close();
    this.reader = undefined;
  }

  status(): Record<string, unknown> {
    return { losses: this.losses, lastDump: this.lastDump, sockets: this.reader?.stats() };
  }
}

/**
 * 12 characters that sort as the time they name: milliseconds (8 base-36 digits, enough until 2059) and a part below
 * the millisecond (4 digits, < 1,679,616): the kernel's nanoseconds, or the agent's sequence when it has no timestamp.
 */
export function timeOrderedInstance(ms: number, belowMs: number): string {
  return `${Math.floor(ms).toString(36).padStart(8, '0')}${Math.floor(belowMs).toString(36).padStart(4, '0')}`;
}
