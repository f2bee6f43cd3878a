import type { ParseError } from '@natlens/agent-wire';
import type { ConntrackEntry } from '../netlink/conntrack-entry';
import { parseConntrackMessages } from '../netlink/conntrack-messages';
import { decodeConntrackDatagramLean, emptyLeanBatch, type LeanConntrackBatch } from '../netlink/decode-event-lean';
import type { LeanConntrackEntry } from '../netlink/lean-conntrack-entry';
import { formatDumpRequest } from '../netlink/format-conntrack';
import { NETLINK_NETFILTER } from '../netlink/netlink-constants';
import { CONNTRACK_GROUP_DESTROY, CONNTRACK_GROUP_NEW, ENOBUFS, forEachDatagram, NetlinkSocket, NetlinkSocketStats } from './netlink-socket';

/*
 * The conntrack table of this network namespace as a stream: NEW and DESTROY events from the multicast groups, plus
 * full dumps on request (at start, and after the kernel tells us it dropped events). Two sockets, because a dump's
 * replies and the event stream must not interleave on one socket: a dump can take a while on a big table, and events
 * arriving meanwhile would be mistaken for dump entries.
 */

export interface ConntrackReaderHandlers {
  /** Full entries, one call per datagram (the default `decode: 'full'`). */
  onEntries(entries: ConntrackEntry[], via: 'events' | 'dump'): void;
  /**
   * With `decode: 'lean'`, entries arrive here instead of onEntries: every entry of the datagrams the socket handed
   * over at once, in one call; `datagrams` says how many datagrams they came in.
   */
  onLeanEntries?(entries: LeanConntrackEntry[], via: 'events' | 'dump', datagrams: number): void;
  /** Events were lost (ENOBUFS from the kernel, or NLMSG_OVERRUN); the caller should dump to resynchronise. */
  onLoss(reason: 'enobufs' | 'overrun'): void;
  /** Messages that could not be decoded; the rest of their datagram was still used. */
  onParseErrors(errors: ParseError[], via: 'events' | 'dump'): void;
}

export interface ConntrackReaderOptions {
  /** SO_RCVBUFFORCE for the event socket: the burst the agent can absorb while busy (default 32 MiB). */
  receiveBufferBytes?: number;
  groups?: number;
  /**
   * `full`: ConntrackEntry objects with every attribute natlens knows (parseConntrackMessages), to onEntries.
   * `lean`: LeanConntrackEntry objects with only what the agent uses, at a fraction of the CPU and garbage
   * (decodeConntrackDatagramLean), to onLeanEntries. Default: `lean` when the handlers have onLeanEntries.
   */
  decode?: 'full' | 'lean';
  /**
   * After a wake that delivered events, leave the event socket unread this long (ms) so that the events of that
   * time arrive together: one libuv wake, one call into JavaScript and one pass of the pipeline per batch instead
   * of per event. Costs that much latency (records are flushed every second anyway); the receive buffer holds the
   * events meanwhile. 0 reads as soon as the socket is readable. Default 10.
   */
  coalesceMs?: number;
}

export interface DumpResult {
  entries: number;
  startedAt: number;
  finishedAt: number;
}

const DUMP_TIMEOUT_MS = 60_000;
const DEFAULT_COALESCE_MS = 10;
/** kMaxDatagramsPerWake in native/src/netlink_socket.cc. */
const MAX_DATAGRAMS_PER_WAKE = 512;
const COLLECT = { mode: 'collect' } as const;

type LeanEntriesHandler = NonNullable<ConntrackReaderHandlers['onLeanEntries']>;

export class ConntrackReader {
  private events: NetlinkSocket | undefined;
  private dumper: NetlinkSocket | undefined;
  private seq = Math.floor(Math.random() * 1e6);
  private currentDump: { seq: number; entries: number; startedAt: number; resolve(r: DumpResult): void; reject(e: Error): void; timer: NodeJS.Timeout } | undefined;
  private dumpChain: Promise<unknown> = Promise.resolve();
  private coalesceTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ConntrackReaderOptions = {}) {}

  start(handlers: ConntrackReaderHandlers): void {
    const groups = this.options.groups ?? CONNTRACK_GROUP_NEW | CONNTRACK_GROUP_DESTROY;
    const lean = (this.options.decode ?? (handlers.onLeanEntries ? 'lean' : 'full')) === 'lean';
    const onLeanEntries = lean ? handlers.onLeanEntries?.bind(handlers) : undefined;
    if (lean && !onLeanEntries) throw new TypeError("ConntrackReader: decode 'lean' needs handlers.onLeanEntries");
    const events = new NetlinkSocket(NETLINK_NETFILTER, groups, this.options.receiveBufferBytes ?? 32 << 20);
    this.events = events;
    const coalesceMs = this.options.coalesceMs ?? DEFAULT_COALESCE_MS;
    events.start({
      onDatagrams: (packed, lengths) => {
        // A full wake (the addon's kMaxDatagramsPerWake) means more are waiting: read on without a pause.
        if (coalesceMs > 0 && !this.coalesceTimer && lengths.length < MAX_DATAGRAMS_PER_WAKE) {
          events.pause();
          this.coalesceTimer = setTimeout(() => {
            this.coalesceTimer = undefined;
            events.resume();
          }, coalesceMs);
        }
        if (onLeanEntries) {
          this.onLeanEventDatagrams(packed, lengths, handlers, onLeanEntries);
          return;
        }
        forEachDatagram(lengths, (start, end) => {
          const batch = parseConntrackMessages(packed.subarray(start, end), { mode: 'collect' });
          if (batch.errors.length > 0) handlers.onParseErrors(batch.errors, 'events');
          const entries: ConntrackEntry[] = [];
          for (const message of batch.messages) {
            if (message.kind === 'entry') entries.push(message.entry);
            else if (message.kind === 'overrun') handlers.onLoss('overrun');
          }
          if (entries.length > 0) handlers.onEntries(entries, 'events');
        });
      },
      onError: (errno) => {
        if (errno === ENOBUFS) handlers.onLoss('enobufs');
      },
    });

    // The dump socket joins no group: it only ever carries answers to our own requests.
    this.dumper = new NetlinkSocket(NETLINK_NETFILTER, 0, 8 << 20);
    this.dumper.start({
      onDatagrams: (packed, lengths) => {
        forEachDatagram(lengths, (start, end) => {
          if (onLeanEntries) this.onLeanDumpDatagram(packed, start, end, handlers, onLeanEntries);
          else this.onDumpDatagram(packed.subarray(start, end), handlers);
        });
      },
      onError: (errno, message) => this.failDump(new Error(`conntrack dump socket: ${message} (errno ${errno})`)),
    });
  }

  private onDumpDatagram(datagram: Buffer, handlers: ConntrackReaderHandlers): void {
    const dump = this.currentDump;
    const batch = parseConntrackMessages(datagram, { mode: 'collect' });
    if (batch.errors.length > 0) handlers.onParseErrors(batch.errors, 'dump');
    const entries: ConntrackEntry[] = [];
    for (const message of batch.messages) {
      if (!dump || message.header.seq !== dump.seq) continue; // a late answer to a dump we gave up on
      if (message.kind === 'entry') entries.push(message.entry);
      else if (message.kind === 'error') this.failDump(new Error(`conntrack dump refused: errno ${message.errno}`));
      else if (message.kind === 'done') {
        if (entries.length > 0) handlers.onEntries(entries.splice(0), 'dump');
        clearTimeout(dump.timer);
        this.currentDump = undefined;
        dump.resolve({ entries: dump.entries, startedAt: dump.startedAt, finishedAt: Date.now() });
      }
    }
    if (dump && entries.length > 0) {
      dump.entries += entries.length;
      handlers.onEntries(entries, 'dump');
    }
  }

  private onLeanEventDatagrams(packed: Buffer, lengths: readonly number[], handlers: ConntrackReaderHandlers, onLeanEntries: LeanEntriesHandler): void {
    const batch = emptyLeanBatch();
    forEachDatagram(lengths, (start, end) => decodeConntrackDatagramLean(packed, COLLECT, batch, start, end));
    if (batch.errors.length > 0) handlers.onParseErrors(batch.errors, 'events');
    for (const control of batch.controls) if (control.kind === 'overrun') handlers.onLoss('overrun');
    if (batch.entries.length > 0) onLeanEntries(batch.entries, 'events', lengths.length);
  }

  /** As onDumpDatagram; the dump's entries come before its NLMSG_DONE, so entries are handled before controls. */
  private onLeanDumpDatagram(packed: Buffer, start: number, end: number, handlers: ConntrackReaderHandlers, onLeanEntries: LeanEntriesHandler): void {
    const dump = this.currentDump;
    const batch: LeanConntrackBatch = decodeConntrackDatagramLean(packed, COLLECT, emptyLeanBatch(), start, end);
    if (batch.errors.length > 0) handlers.onParseErrors(batch.errors, 'dump');
    if (!dump) return; // a late answer to a dump we gave up on
    const entries = batch.entries.filter((entry) => entry.seq === dump.seq);
    if (entries.length > 0) {
      dump.entries += entries.length;
      onLeanEntries(entries, 'dump', 1);
    }
    for (const control of batch.controls) {
      if (control.header.seq !== dump.seq) continue;
      if (control.kind === 'error') this.failDump(new Error(`conntrack dump refused: errno ${control.errno}`));
      else if (control.kind === 'done') {
        clearTimeout(dump.timer);
        this.currentDump = undefined;
        dump.resolve({ entries: dump.entries, startedAt: dump.startedAt, finishedAt: Date.now() });
      }
    }
  }

  private failDump(error: Error): void {
    const dump = this.currentDump;
    if (!dump) return;
    clearTimeout(dump.timer);
    this.currentDump = undefined;
    dump.reject(error);
  }

  /**
   * Reads the whole table (or, with `status`, the entries with those status bits: see DumpRequestOptions); entries
   * arrive through onEntries(…, 'dump'). Dumps run one at a time.
   */
  dump(options: { status?: { bits: number; mask: number } } = {}): Promise<DumpResult> {
    const run = () =>
      new Promise<DumpResult>((resolve, reject) => {
        if (!this.dumper) return reject(new Error('dump: the reader is not started'));
        const seq = ++this.seq;
        const timer = setTimeout(() => this.failDump(new Error(`conntrack dump did not finish within ${DUMP_TIMEOUT_MS} ms`)), DUMP_TIMEOUT_MS);
        this.currentDump = { seq, entries: 0, startedAt: Date.now(), resolve, reject, timer };
        try {
          this.dumper.send(formatDumpRequest({ family: 'any', seq, ...(options.status ? { status: options.status } : {}) }));
        } catch (err) {
          this.failDump(err as Error);
        }
      });
    const next = this.dumpChain.then(run, run);
    this.dumpChain = next.catch(() => undefined);
    return next;
  }

  stats(): { events?: NetlinkSocketStats; dump?: NetlinkSocketStats } {
    return { events: this.events?.stats(), dump: this.dumper?.stats() };
  }

  close(): void {
    this.failDump(new Error('the conntrack reader was closed'));
    clearTimeout(this.coalesceTimer);
    this.coalesceTimer = undefined;
    this.events?.close();
    this.dumper?.close();
    this.events = undefined;
    this.dumper = undefined;
  }
}
