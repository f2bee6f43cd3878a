import type { Tuple } from '@natlens/shared-model';
import type { DecodedPacket } from '../decode/packet';
import { TcpFlag, type TcpSegment } from '../decode/transport';
import { MAX_HTTP_HEADER_BYTES, realClientFromPayload, type RealClient } from '../proxy/real-client';

/*
 * Packets → connections, with NAT undone. Pure state, no clock of its own: time is the packets' and the caller's.
 *
 * A connection NATed on the capturing node shows up as two (or more) TCP legs: client → node:nodePort (or the LB IP)
 * before the rewrite and node → pod after it. kube-proxy's DNAT/SNAT rewrite addresses and ports only, so both legs
 * carry the same sequence numbers: the client's initial sequence number (the SYN's seq) joins the legs, and the
 * earliest leg is the connection as the client sent it (`original`), the last one as the pod receives it. The output
 * carries `reply` = that last leg inverted, as conntrack would write it, so the same enrich stage reads both sources.
 * Legs whose SYN we missed are joined by the (seq, ack) of their first packet, which is identical on both sides too.
 *
 * A SYN that gets no answer at all (no SYN-ACK, no RST, no translated leg) within `unansweredAfterMs` is reported
 * `dropped`: on a Local-policy node without a local endpoint kube-proxy's KUBE-EXTERNAL-SERVICES chain drops it.
 */

export interface TrackedConnection {
  /** Stable for the connection's life: the client's initial sequence number and the first SYN's time. */
  id: string;
  original: Tuple;
  /** The last leg's tuple inverted (conntrack's REPLY direction). */
  reply: Tuple;
  startedAt: number;
  lastSeenAt: number;
  endedAt?: number;
  state: 'SYN_SENT' | 'ESTABLISHED' | 'FIN' | 'CLOSED' | 'RESET' | 'UNANSWERED' | 'IDLE';
  /** Per direction on the original leg (a packet seen twice by `-i any` counts once). */
  counters: { original: { packets: number; bytes: number }; reply: { packets: number; bytes: number } };
  realClient?: RealClient;
  /** SYNs that no one answered. */
  dropped?: boolean;
  /** How many distinct tuples (legs) the connection was seen with on the capturing host. */
  legs: number;
}

export interface TrackerOptions {
  /** An unanswered SYN is a drop after this long (Linux retries SYNs at 1 s, 3 s, 7 s …). Default 3000. */
  unansweredAfterMs?: number;
  /** Report a connection this long after its first packet even if its real client is still undecided. Default 2000. */
  settleAfterMs?: number;
  /** Forget a connection without packets for this long. Default 120000. */
  idleAfterMs?: number;
  /** Legs of one connection start within this window. Default 3000. */
  joinWindowMs?: number;
  /** Bound on connections held; the oldest is reported and forgotten beyond it. Default 65536. */
  maxConnections?: number;
  /** True for a destination that is a Service frontend (node port, LB IP, ClusterIP): it makes that leg the original. */
  isServiceFrontend?: (ip: string, port: number) => boolean;
}

export type TrackerEvent = { kind: 'new' | 'update' | 'destroy'; connection: TrackedConnection };

interface Leg {
  tuple: Tuple;
  key: string;
  group: Group;
  firstAt: number;
  clientIsn?: number;
  /** Last packet signature and time per direction, to drop the copies `-i any` sees on a bridge and its port. */
  lastForward?: string;
  lastBackward?: string;
  lastForwardAt: number;
  lastBackwardAt: number;
  /** Next expected client sequence number for payload collection, and what was collected. */
  nextSeq?: number;
  payload?: Buffer[];
  payloadBytes: number;
}

interface Group {
  id: string;
  joinKey: string;
  /** Whether the packet that created the group went client → server (mid-stream joins follow it). */
  joinPacketFromClient: boolean;
  /** False while the client side is a guess (no SYN, no Service frontend seen). */
  directionKnown: boolean;
  legs: Leg[];
  firstAt: number;
  lastAt: number;
  /** Something came back from the server side. */
  answered: boolean;
  /** NAT sent the connection on: a second leg appeared. */
  forwarded: boolean;
  finFromClient: boolean;
  finFromServer: boolean;
  reset: boolean;
  counters: TrackedConnection['counters'];
  realClient?: RealClient;
  realClientDecided: boolean;
  reported: boolean;
  endReported: boolean;
  dirty: boolean;
  ended: boolean;
}

const DUPLICATE_WINDOW_MS = 5;
/** After a connection's end is reported, its late packets (the last ACK, a retransmitted FIN) are absorbed this long. */
const LINGER_AFTER_END_MS = 5000;

export class ConnectionTracker {
  private readonly legs = new Map<string, Leg>();
  private readonly byJoinKey = new Map<string, Group>();
  private readonly groups = new Set<Group>();
  private readonly options: Required<Omit<TrackerOptions, 'isServiceFrontend'>> & Pick<TrackerOptions, 'isServiceFrontend'>;
  readonly stats = { packets: 0, duplicates: 0, notTcp: 0, evicted: 0 };

  constructor(options: TrackerOptions = {}) {
    this.options = {
      unansweredAfterMs: options.unansweredAfterMs ?? 3000,
      settleAfterMs: options.settleAfterMs ?? 2000,
      idleAfterMs: options.idleAfterMs ?? 120_000,
      joinWindowMs: options.joinWindowMs ?? 3000,
      maxConnections: options.maxConnections ?? 65_536,
      ...(options.isServiceFrontend ? { isServiceFrontend: options.isServiceFrontend } : {}),
    };
  }

  get size(): number {
    return this.groups.size;
  }

  /** One decoded packet seen at `at` (ms); `ipLength` is the IP packet's length on the wire. */
  add(packet: DecodedPacket, at: number, ipLength: number): void {
    const ip = packet.ip;
    const tcp = packet.tcp;
    if (!ip || !tcp) {
      this.stats.notTcp++;
      return;
    }
    this.stats.packets++;
    const forwardKey = `${ip.src}|${tcp.sport}|${ip.dst}|${tcp.dport}`;
    let leg = this.legs.get(forwardKey);
    let fromClient = true;
    if (!leg) {
      leg = this.legs.get(`${ip.dst}|${tcp.dport}|${ip.src}|${tcp.sport}`);
      fromClient = false;
    }
    if (!leg) ({ leg, fromClient } = this.newLeg(ip.src, ip.dst, tcp, at));
    const group = leg.group;
    const signature = `${tcp.seq}:${tcp.ack}:${tcp.flags}:${tcp.payload.length}`;
    if (fromClient ? leg.lastForward === signature && at - leg.lastForwardAt <= DUPLICATE_WINDOW_MS : leg.lastBackward === signature && at - leg.lastBackwardAt <= DUPLICATE_WINDOW_MS) {
      this.stats.duplicates++;
      return;
    }
    if (fromClient) {
      leg.lastForward = signature;
      leg.lastForwardAt = at;
    } else {
      leg.lastBackward = signature;
      leg.lastBackwardAt = at;
    }

    group.lastAt = Math.max(group.lastAt, at);
    group.dirty = true;
    if (leg === this.originalLeg(group)) {
      const side = fromClient ? group.counters.original : group.counters.reply;
      side.packets++;
      side.bytes += ipLength;
    }
    if (!fromClient) group.answered = true;
    if (tcp.flags & TcpFlag.RST) group.reset = true;
    if (tcp.flags & TcpFlag.FIN) {
      if (fromClient) group.finFromClient = true;
      else group.finFromServer = true;
    }
    if (fromClient && !group.realClientDecided) this.collectPayload(leg, tcp);
    if (group.reset || (group.finFromClient && group.finFromServer)) group.ended = true;
  }

  /**
   * What changed by `now`: connections to report for the first time (settled: real client decided, answered
   * long enough, or ended), updates of reported ones, ends, drops, and idle ones forgotten.
   */
  poll(now: number): TrackerEvent[] {
    const events: TrackerEvent[] = [];
    for (const group of this.groups) {
      const idle = now - group.lastAt >= this.options.idleAfterMs;
      if (group.endReported) {
        // Kept a while after its end so the last ACKs do not start a connection of their own.
        if (now - group.lastAt >= LINGER_AFTER_END_MS) this.forget(group);
        continue;
      }
      const heard = group.answered || group.forwarded;
      const unanswered = !heard && now - group.firstAt >= this.options.unansweredAfterMs;
      if (!group.reported) {
        // Report a connection once what it is is known: its real client decided, or answered long enough, or over.
        const settled = group.ended || idle || unanswered || (heard && (group.realClientDecided || now - group.firstAt >= this.options.settleAfterMs));
        if (!settled) continue;
      } else if (!group.dirty && !idle) {
        continue;
      }
      const final = group.ended || idle || unanswered;
      const connection = this.snapshot(group, unanswered ? 'UNANSWERED' : idle && !group.ended ? 'IDLE' : undefined);
      events.push({ kind: final ? 'destroy' : group.reported ? 'update' : 'new', connection });
      group.reported = true;
      group.dirty = false;
      if (final) {
        group.endReported = true;
        if (idle || unanswered || now - group.lastAt >= LINGER_AFTER_END_MS) this.forget(group);
      }
    }
    return events;
  }

  /** The capture ended (a file was read to its end): report everything that is left, unanswered SYNs as drops. */
  finish(): TrackerEvent[] {
    return this.poll(Infinity);
  }

  private newLeg(src: string, dst: string, tcp: TcpSegment, at: number): { leg: Leg; fromClient: boolean } {
    const isSyn = (tcp.flags & (TcpFlag.SYN | TcpFlag.ACK)) === TcpFlag.SYN;
    const isSynAck = (tcp.flags & (TcpFlag.SYN | TcpFlag.ACK)) === (TcpFlag.SYN | TcpFlag.ACK);
    // The join key: the client's ISN from a SYN; without one, this packet's (seq, ack), which its NATed copy on the
    // other leg carries too (so the first packets of the two legs must be copies of one packet, as they are when a
    // capture starts mid-connection).
    // A SYN-ACK acknowledges the client's ISN + 1, so a leg whose SYN we missed still joins by the ISN.
    const joinKey = isSyn ? `isn:${tcp.seq}` : isSynAck ? `isn:${(tcp.ack - 1) >>> 0}` : `mid:${tcp.seq}:${tcp.ack}`;
    let group = this.byJoinKey.get(joinKey);
    if (group && at - group.firstAt > this.options.joinWindowMs) group = undefined;
    // Which side is the client: the SYN's sender; else the side facing a Service frontend; else, on a joined leg,
    // the same side as on the first leg (turning that leg round when it was only a guess and this one knows).
    const evidence = isSyn ? true : isSynAck ? false : this.frontendSays(src, tcp.sport, dst, tcp.dport);
    if (group && !group.directionKnown && evidence !== undefined && evidence !== group.joinPacketFromClient) this.turnRound(group);
    const fromClient = evidence ?? group?.joinPacketFromClient ?? this.looksLikeClient(src, tcp.sport, dst, tcp.dport);
    const tuple: Tuple = fromClient ? { src, sport: tcp.sport, dst, dport: tcp.dport, proto: 'tcp' } : { src: dst, sport: tcp.dport, dst: src, dport: tcp.sport, proto: 'tcp' };
    const key = `${tuple.src}|${tuple.sport}|${tuple.dst}|${tuple.dport}`;
    if (group?.legs.some((l) => l.key === key)) group = undefined;
    if (!group) {
      if (this.groups.size >= this.options.maxConnections) this.evictOldest();
      group = {
        id: `${isSyn ? tcp.seq.toString(16) : `m${tcp.seq.toString(16)}`}.${Math.floor(at)}`,
        joinKey,
        joinPacketFromClient: fromClient,
        directionKnown: evidence !== undefined,
        legs: [],
        firstAt: at,
        lastAt: at,
        answered: false,
        forwarded: false,
        finFromClient: false,
        finFromServer: false,
        reset: false,
        counters: { original: { packets: 0, bytes: 0 }, reply: { packets: 0, bytes: 0 } },
        realClientDecided: false,
        reported: false,
        endReported: false,
        dirty: true,
        ended: false,
      };
      this.groups.add(group);
      this.byJoinKey.set(joinKey, group);
    } else {
      group.forwarded = true;
    }
    const leg: Leg = { tuple, key, group, firstAt: at, payloadBytes: 0, lastForwardAt: -Infinity, lastBackwardAt: -Infinity, ...(isSyn ? { clientIsn: tcp.seq, nextSeq: (tcp.seq + 1) >>> 0 } : {}) };
    group.legs.push(leg);
    this.legs.set(key, leg);
    return { leg, fromClient };
  }

  private frontendSays(src: string, sport: number, dst: string, dport: number): boolean | undefined {
    const frontend = this.options.isServiceFrontend;
    if (frontend?.(dst, dport)) return true;
    if (frontend?.(src, sport)) return false;
    return undefined;
  }

  /** The group's legs were guessed the wrong way round: swap client and server on each. */
  private turnRound(group: Group): void {
    for (const leg of group.legs) {
      this.legs.delete(leg.key);
      const t = leg.tuple;
      leg.tuple = { src: t.dst, sport: t.dport, dst: t.src, dport: t.sport, proto: t.proto };
      leg.key = `${leg.tuple.src}|${leg.tuple.sport}|${leg.tuple.dst}|${leg.tuple.dport}`;
      [leg.lastForward, leg.lastBackward, leg.lastForwardAt, leg.lastBackwardAt] = [leg.lastBackward, leg.lastForward, leg.lastBackwardAt, leg.lastForwardAt];
      delete leg.nextSeq;
      this.legs.set(leg.key, leg);
    }
    group.counters = { original: group.counters.reply, reply: group.counters.original };
    [group.finFromClient, group.finFromServer] = [group.finFromServer, group.finFromClient];
    group.joinPacketFromClient = !group.joinPacketFromClient;
    group.directionKnown = true;
    // What came "from the server" under the wrong guess was the client talking.
    group.answered = group.counters.reply.packets > 0;
  }

  private looksLikeClient(_src: string, sport: number, _dst: string, dport: number): boolean {
    // Linux picks ephemeral ports from 32768-60999 (ip_local_port_range); a listening port is usually below.
    const ephemeral = (port: number) => port >= 32768;
    if (ephemeral(sport) !== ephemeral(dport)) return ephemeral(sport);
    return sport > dport;
  }

  /** The leg the client sent: the one addressed to a Service frontend if exactly one is, else the earliest. */
  private originalLeg(group: Group): Leg | undefined {
    const frontend = this.options.isServiceFrontend;
    if (frontend && group.legs.length > 1) {
      const toFrontend = group.legs.filter((l) => frontend(l.tuple.dst, l.tuple.dport));
      if (toFrontend.length === 1) return toFrontend[0];
    }
    return group.legs[0];
  }

  private collectPayload(leg: Leg, tcp: TcpSegment): void {
    if (tcp.payload.length === 0) return;
    const group = leg.group;
    if (leg.nextSeq === undefined) leg.nextSeq = tcp.seq; // joined mid-stream: start where we are
    if (tcp.seq !== leg.nextSeq) return; // a retransmission or a gap: wait for the in-order bytes
    leg.payload = leg.payload ?? [];
    // A copy: the frame's buffer belongs to the capture reader's chunk, which we must not keep alive.
    leg.payload.push(Buffer.from(tcp.payload.subarray(0, MAX_HTTP_HEADER_BYTES - leg.payloadBytes)));
    leg.payloadBytes += tcp.payload.length;
    leg.nextSeq = (tcp.seq + tcp.payload.length) >>> 0;
    const result = realClientFromPayload(Buffer.concat(leg.payload));
    if (result.kind === 'incomplete' && leg.payloadBytes < MAX_HTTP_HEADER_BYTES) return;
    group.realClientDecided = true;
    if (result.kind === 'found') group.realClient = result.value;
    for (const l of group.legs) delete l.payload;
  }

  private snapshot(group: Group, finalState: TrackedConnection['state'] | undefined): TrackedConnection {
    const originalLeg = this.originalLeg(group) as Leg;
    // The connection as the pod receives it: the leg that started last (legs are in order of their first packet).
    const translatedLeg = [...group.legs].reverse().find((l) => l !== originalLeg) ?? originalLeg;
    const original = originalLeg.tuple;
    const translated = translatedLeg.tuple;
    const state: TrackedConnection['state'] =
      finalState ?? (group.reset ? 'RESET' : group.ended ? 'CLOSED' : group.finFromClient || group.finFromServer ? 'FIN' : group.answered ? 'ESTABLISHED' : 'SYN_SENT');
    return {
      id: group.id,
      original,
      reply: { src: translated.dst, sport: translated.dport, dst: translated.src, dport: translated.sport, proto: 'tcp' },
      startedAt: group.firstAt,
      lastSeenAt: group.lastAt,
      ...(group.ended || finalState ? { endedAt: Number.isFinite(group.lastAt) ? group.lastAt : group.firstAt } : {}),
      state,
      counters: { original: { ...group.counters.original }, reply: { ...group.counters.reply } },
      ...(group.realClient ? { realClient: group.realClient } : {}),
      ...(state === 'UNANSWERED' ? { dropped: true } : {}),
      legs: group.legs.length,
    };
  }

  private forget(group: Group): void {
    this.groups.delete(group);
    for (const leg of group.legs) if (this.legs.get(leg.key) === leg) this.legs.delete(leg.key);
    if (this.byJoinKey.get(group.joinKey) === group) this.byJoinKey.delete(group.joinKey);
  }

  private evictOldest(): void {
    const oldest = this.groups.values().next().value as Group | undefined;
    if (!oldest) return;
    this.stats.evicted++;
    this.forget(oldest);
  }
}
