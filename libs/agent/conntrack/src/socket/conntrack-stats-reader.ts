import type { ParseError } from '@natlens/agent-wire';
import { type ConntrackStatCounters, formatStatsCpuRequest, formatStatsRequest, parseConntrackStatsMessages, sumConntrackStatCounters } from '../netlink/conntrack-stats';
import { NETLINK_NETFILTER } from '../netlink/netlink-constants';
import { forEachDatagram, NetlinkSocket } from './netlink-socket';

/*
 * conntrack's statistics of this network namespace, on request: the per-CPU dump then the global message, over one
 * netlink socket that joins no multicast group (so nothing but our answers arrives on it). One read at a time.
 */

export interface ConntrackStatsReading {
  /** The per-CPU counters summed (what `conntrack -S` prints per CPU, added up). */
  counters: ConntrackStatCounters;
  cpus: number;
  /** Entries in this namespace's table (CTA_STATS_GLOBAL_ENTRIES). */
  entries: number;
  /** nf_conntrack_max as the kernel sent it (CTA_STATS_GLOBAL_MAX_ENTRIES, Linux 4.19+); undefined before. */
  maxEntries: number | undefined;
  /** Messages that could not be decoded (the rest of the answer was used). */
  parseErrors: ParseError[];
}

const READ_TIMEOUT_MS = 5000;

interface Pending {
  cpuSeq: number;
  globalSeq: number;
  perCpu: ConntrackStatCounters[];
  parseErrors: ParseError[];
  resolve(reading: ConntrackStatsReading): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

export class ConntrackStatsReader {
  private socket: NetlinkSocket | undefined;
  private seq = Math.floor(Math.random() * 1e6);
  private pending: Pending | undefined;
  private chain: Promise<unknown> = Promise.resolve();

  /** Opens the socket (throws NetlinkUnavailableError without the addon, or the kernel's error). */
  open(): void {
    if (this.socket) return;
    const socket = new NetlinkSocket(NETLINK_NETFILTER, 0, 1 << 20);
    socket.start({
      onDatagrams: (packed, lengths) => forEachDatagram(lengths, (start, end) => this.onDatagram(packed.subarray(start, end))),
      onError: (errno, message) => this.fail(new Error(`conntrack statistics socket: ${message} (errno ${errno})`)),
    });
    this.socket = socket;
  }

  /** Reads the statistics now; rejects on a kernel error or after 5 s without an answer. */
  read(): Promise<ConntrackStatsReading> {
    const run = () =>
      new Promise<ConntrackStatsReading>((resolve, reject) => {
        if (!this.socket) return reject(new Error('conntrack statistics: the reader is not open'));
        const cpuSeq = ++this.seq;
        const globalSeq = ++this.seq;
        const timer = setTimeout(() => this.fail(new Error(`conntrack statistics did not arrive within ${READ_TIMEOUT_MS} ms`)), READ_TIMEOUT_MS);
        this.pending = { cpuSeq, globalSeq, perCpu: [], parseErrors: [], resolve, reject, timer };
        try {
          this.socket.send(formatStatsCpuRequest(cpuSeq));
        } catch (err) {
          this.fail(err as Error);
        }
      });
    const next = this.chain.then(run, run);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private onDatagram(datagram: Buffer): void {
    const pending = this.pending;
    if (!pending) return; // a late answer to a read we gave up on
    const batch = parseConntrackStatsMessages(datagram, { mode: 'collect' });
    pending.parseErrors.push(...batch.errors);
    for (const message of batch.messages) {
      const seq = message.header.seq;
      if (message.kind === 'cpu' && seq === pending.cpuSeq) pending.perCpu.push(message.counters);
      else if (message.kind === 'done' && seq === pending.cpuSeq) {
        if (message.errno !== 0) return this.fail(new Error(`the kernel ended the per-CPU statistics dump with errno ${message.errno}`));
        try {
          this.socket?.send(formatStatsRequest(pending.globalSeq));
        } catch (err) {
          return this.fail(err as Error);
        }
      } else if (message.kind === 'error' && (seq === pending.cpuSeq || seq === pending.globalSeq)) {
        return this.fail(new Error(`the kernel refused the conntrack statistics request: errno ${message.errno}`));
      } else if (message.kind === 'global' && seq === pending.globalSeq) {
        clearTimeout(pending.timer);
        this.pending = undefined;
        pending.resolve({ counters: sumConntrackStatCounters(pending.perCpu), cpus: pending.perCpu.length, entries: message.entries, maxEntries: message.maxEntries, parseErrors: pending.parseErrors });
        return;
      }
    }
  }

  private fail(error: Error): void {
    const pending = this.pending;
    if (!pending) return;
    clearTimeout(pending.timer);
    this.pending = undefined;
    pending.reject(error);
  }

  close(): void {
    this.fail(new Error('the conntrack statistics reader was closed'));
    this.socket?.close();
    this.socket = undefined;
  }
}
