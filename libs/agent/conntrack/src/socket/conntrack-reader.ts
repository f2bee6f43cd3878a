import type { ParseError } from '@natlens/agent-pcap';
import type { ConntrackEntry } from '../netlink/conntrack-entry';
import { parseConntrackMessages } from '../netlink/conntrack-messages';
import { formatDumpRequest } from '../netlink/format-conntrack';
import { NETLINK_NETFILTER } from '../netlink/netlink-constants';
import { CONNTRACK_GROUP_DESTROY, CONNTRACK_GROUP_NEW, ENOBUFS, NetlinkSocket, NetlinkSocketStats } from './netlink-socket';

/*
 * The conntrack table of this network namespace as a stream: NEW and DESTROY events from the multicast groups, plus
 * full dumps on request (at start, and after the kernel tells us it dropped events). Two sockets, because a dump's
 * replies and the event stream must not interleave on one socket: a dump can take a while on a big table, and events
 * arriving meanwhile would be mistaken for dump entries.
 */

export interface ConntrackReaderHandlers {
  onEntries(entries: ConntrackEntry[], via: 'events' | 'dump'): void;
  /** Events were lost (ENOBUFS from the kernel, or NLMSG_OVERRUN); the caller should dump to resynchronise. */
  onLoss(reason: 'enobufs' | 'overrun'): void;
  /** Messages that could not be decoded; the rest of their datagram was still used. */
  onParseErrors(errors: ParseError[], via: 'events' | 'dump'): void;
}

export interface ConntrackReaderOptions {
  /** SO_RCVBUFFORCE for the event socket: the burst the agent can absorb while busy (default 32 MiB). */
  receiveBufferBytes?: number;
  groups?: number;
}

export interface DumpResult {
  entries: number;
  startedAt: number;
  finishedAt: number;
}

const DUMP_TIMEOUT_MS = 60_000;

export class ConntrackReader {
  private events: NetlinkSocket | undefined;
  private dumper: NetlinkSocket | undefined;
  private seq = Math.floor(Math.random() * 1e6);
  private currentDump: { seq: number; entries: number; startedAt: number; resolve(r: DumpResult): void; reject(e: Error): void; timer: NodeJS.Timeout } | undefined;
  private dumpChain: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: ConntrackReaderOptions = {}) {}

  start(handlers: ConntrackReaderHandlers): void {
    const groups = this.options.groups ?? CONNTRACK_GROUP_NEW | CONNTRACK_GROUP_DESTROY;
    this.events = new NetlinkSocket(NETLINK_NETFILTER, groups, this.options.receiveBufferBytes ?? 32 << 20);
    this.events.start({
      onDatagrams: (datagrams) => {
        for (const datagram of datagrams) {
          const batch = parseConntrackMessages(datagram, { mode: 'collect' });
          if (batch.errors.length > 0) handlers.onParseErrors(batch.errors, 'events');
          const entries: ConntrackEntry[] = [];
          for (const message of batch.messages) {
            if (message.kind === 'entry') entries.push(message.entry);
            else if (message.kind === 'overrun') handlers.onLoss('overrun');
          }
          if (entries.length > 0) handlers.onEntries(entries, 'events');
        }
      },
      onError: (errno) => {
        if (errno === ENOBUFS) handlers.onLoss('enobufs');
      },
    });

    // The dump socket joins no group: it only ever carries answers to our own requests.
    this.dumper = new NetlinkSocket(NETLINK_NETFILTER, 0, 8 << 20);
    this.dumper.start({
      onDatagrams: (datagrams) => {
        for (const datagram of datagrams) this.onDumpDatagram(datagram, handlers);
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

  private failDump(error: Error): void {
    const dump = this.currentDump;
    if (!dump) return;
    clearTimeout(dump.timer);
    this.currentDump = undefined;
    dump.reject(error);
  }

  /** Reads the whole table; entries arrive through onEntries(…, 'dump'). Dumps run one at a time. */
  dump(): Promise<DumpResult> {
    const run = () =>
      new Promise<DumpResult>((resolve, reject) => {
        if (!this.dumper) return reject(new Error('dump: the reader is not started'));
        const seq = ++this.seq;
        const timer = setTimeout(() => this.failDump(new Error(`conntrack dump did not finish within ${DUMP_TIMEOUT_MS} ms`)), DUMP_TIMEOUT_MS);
        this.currentDump = { seq, entries: 0, startedAt: Date.now(), resolve, reject, timer };
        try {
          this.dumper.send(formatDumpRequest({ family: 'any', seq }));
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
    this.events?.close();
    this.dumper?.close();
    this.events = undefined;
    this.dumper = undefined;
  }
}
