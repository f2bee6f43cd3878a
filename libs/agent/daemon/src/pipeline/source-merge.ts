import type { Tuple } from '@natlens/shared-model';
import { zoneSuffix, type ObservedConnection } from '@natlens/agent-records';

/*
 * One connection seen by two (or three) sources becomes one record. With `--source conntrack,pcap` the kernel and
 * the capture both report the connection client:port → node:nodePort; exported apart they would count it twice.
 * Sources see the same original tuple (the capture joins its pre- and post-NAT legs back into the tuple as the
 * client sent it, as conntrack's ORIGINAL direction does), so that tuple, with the connection's conntrack zone, is the
 * join key: one tuple in two zones is two connections (conntrack and eBPF both report the zone). The capture cannot
 * see zones; its observations join the connection a kernel source reported for their tuple, in whatever zone.
 *
 * Who decides what: the best-ranked source that saw the connection (conntrack, then eBPF, then the capture) gives
 * the record its identity (flowId), its translated tuple, its state, counters and end; the others add what only
 * they can see: the real client behind a proxy (PROXY protocol, X-Forwarded-For) and drops. So that the identity
 * does not depend on which source reported first, a lower-ranked source's first sight waits up to `holdMs` for a
 * better one; after that it is released under its own identity (a SYN the node dropped never reaches conntrack),
 * and whatever comes later for the same connection is exported under that identity too: once a flowId has left
 * the agent it is never replaced, because the hub would count both.
 *
 * Pure state with the caller's clock; source-agnostic (any of conntrack, ebpf, pcap, in any combination).
 */

export type SourceName = ObservedConnection['source'];

/** Lower is more authoritative about the translation and the connection's life. */
const RANK: Record<SourceName, number> = { conntrack: 0, ebpf: 1, pcap: 2 };

export interface SourceMergeOptions {
  /** The sources this agent runs: only a connection's best possible source is worth waiting for. */
  sources: readonly SourceName[];
  /** How long a lower-ranked source's observation waits for a better one. Default 5000 (the capture lags ~1–3 s). */
  holdMs?: number;
  /** How long an ended connection is remembered, to absorb a slower source's late report. Default 30000. */
  lingerMs?: number;
  /** Bound on connections remembered; the oldest are forgotten beyond it. Default 1,000,000. */
  maxConnections?: number;
}

type Identity = Pick<ObservedConnection, 'source' | 'id' | 'instance' | 'flowId'>;

interface MergedConnection {
  key: string;
  /** The key without the zone (what a zone-blind capture observation looks the connection up by). */
  readonly tupleKey: string;
  /** Some observation named the zone (a kernel source's); until then the connection may still move to its zone's key. */
  zoneKnown: boolean;
  /** The identity exported; undefined while the first sight waits for a better source. */
  owner?: Identity;
  /** The latest observation of the deciding source (the best-ranked that saw the connection). */
  decidingLast?: ObservedConnection;
  decidingRank: number;
  realClient?: ObservedConnection['realClient'];
  dropped: boolean;
  /** Facts already handed on (so a repeat of them from another source adds nothing). */
  sentRealClient: boolean;
  sentDropped: boolean;
  /** The first held observation's arrival, and the latest held observation (it carries the whole state so far). */
  heldSince?: number;
  held?: ObservedConnection;
  heldDestroy: boolean;
  endedAt?: number;
}

export interface SourceMergeStats {
  /** Observations absorbed into a connection another source owns (no record of their own). */
  merged: number;
  /** First sights released under their own identity after waiting for a better source in vain. */
  released: number;
  /** Connections forgotten early to stay within maxConnections. */
  evicted: number;
}

export function connectionKey(original: Tuple, zone = 0): string {
  return `${original.proto}:${original.src}:${original.sport}>${original.dst}:${original.dport}${zoneSuffix(zone)}`;
}

function identityOf(conn: ObservedConnection): Identity {
  return { source: conn.source, id: conn.id, ...(conn.instance !== undefined ? { instance: conn.instance } : {}), ...(conn.flowId !== undefined ? { flowId: conn.flowId } : {}) };
}

function sameIdentity(a: Identity, b: ObservedConnection): boolean {
  return a.source === b.source && a.id === b.id && a.instance === b.instance;
}

export class SourceMerge {
  private readonly connections = new Map<string, MergedConnection>();
  /** Tuple key → the key of the connection a kernel source last reported for it outside the default zone. */
  private readonly zonedKeys = new Map<string, string>();
  private readonly bestRank: number;
  private readonly holdMs: number;
  private readonly lingerMs: number;
  private readonly maxConnections: number;
  readonly stats: SourceMergeStats = { merged: 0, released: 0, evicted: 0 };

  constructor(options: SourceMergeOptions) {
    this.bestRank = Math.min(...options.sources.map((source) => RANK[source]));
    this.holdMs = options.holdMs ?? 5000;
    this.lingerMs = options.lingerMs ?? 30_000;
    this.maxConnections = options.maxConnections ?? 1_000_000;
  }

  get size(): number {
    return this.connections.size;
  }

  /** One observation in; what the pipeline should enrich out (none while it waits, or when it adds nothing new). */
  accept(conn: ObservedConnection, now: number): ObservedConnection[] {
    const tupleKey = connectionKey(conn.original);
    const key = this.keyOf(conn, tupleKey);
    let merged = this.connections.get(key);
    if (merged && this.isLaterConnection(merged, conn)) {
      this.connections.delete(key); // replaced under the same key at once: its zonedKeys entry stays right
      merged = undefined;
    }
    if (!merged) {
      merged = { key, tupleKey, zoneKnown: false, decidingRank: Number.POSITIVE_INFINITY, dropped: false, sentRealClient: false, sentDropped: false, heldDestroy: false };
      this.connections.set(key, merged);
      this.evictBeyondBound();
    }
    if (conn.zone !== undefined) merged.zoneKnown = true;
    const rank = RANK[conn.source];
    if (conn.realClient && !merged.realClient) merged.realClient = conn.realClient;
    if (conn.dropped) merged.dropped = true;

    if (!merged.owner) {
      if (rank > this.bestRank) {
        // Wait for a better source; the latest observation holds the whole state so far.
        merged.heldSince ??= now;
        merged.held = conn;
        if (conn.kind === 'destroy') merged.heldDestroy = true;
        return [];
      }
      merged.owner = identityOf(conn);
      if (merged.held) this.stats.merged++;
      merged.held = undefined;
      merged.heldSince = undefined;
    }

    if (rank <= merged.decidingRank) {
      merged.decidingRank = rank;
      merged.decidingLast = conn;
      if (conn.kind === 'destroy') merged.endedAt = now;
      return [this.asOwner(merged, conn)];
    }

    // A lower-ranked source: its facts only, and only when they are news.
    const news = (merged.realClient !== undefined && !merged.sentRealClient) || (merged.dropped && !merged.sentDropped);
    this.stats.merged++;
    if (!news || !merged.decidingLast) return [];
    const base = merged.decidingLast;
    return [this.asOwner(merged, { ...base, kind: base.kind === 'destroy' ? 'destroy' : 'update', observedAt: conn.observedAt })];
  }

  /**
   * Releases first sights whose wait for a better source is over (under their own identity), and forgets
   * connections ended longer than `lingerMs` ago.
   */
  expire(now: number): ObservedConnection[] {
    const out: ObservedConnection[] = [];
    for (const merged of this.connections.values()) {
      if (merged.held && merged.heldSince !== undefined && now - merged.heldSince >= this.holdMs) {
        const held: ObservedConnection = merged.heldDestroy && merged.held.kind !== 'destroy' ? { ...merged.held, kind: 'destroy' } : merged.held;
        merged.owner = identityOf(held);
        merged.decidingRank = RANK[held.source];
        merged.decidingLast = held;
        merged.held = undefined;
        merged.heldSince = undefined;
        if (held.kind === 'destroy') merged.endedAt = now;
        this.stats.released++;
        out.push(this.asOwner(merged, held));
      } else if (merged.endedAt !== undefined && now - merged.endedAt >= this.lingerMs) {
        this.forget(merged);
      }
    }
    return out;
  }

  /**
   * After `source` read its whole table (started at `startedAt`): connections it decides that were missing from it
   * ended without a report (the aggregator ends their records the same way).
   */
  tableSynced(source: SourceName, liveFlowIds: ReadonlySet<string>, startedAt: number, now: number): void {
    for (const merged of this.connections.values()) {
      const last = merged.decidingLast;
      if (!last || last.source !== source || merged.endedAt !== undefined || last.observedAt >= startedAt) continue;
      if (last.flowId !== undefined && !liveFlowIds.has(last.flowId)) merged.endedAt = now;
    }
  }

  /** The observation under the owner's identity, with every source's facts. */
  private asOwner(merged: MergedConnection, conn: ObservedConnection): ObservedConnection {
    const owner = merged.owner as Identity;
    const addRealClient = merged.realClient !== undefined && conn.realClient === undefined;
    const addDropped = merged.dropped && conn.dropped !== true;
    if (merged.realClient) merged.sentRealClient = true;
    if (merged.dropped) merged.sentDropped = true;
    if (sameIdentity(owner, conn) && !addRealClient && !addDropped) return conn;
    const out: ObservedConnection = { ...conn, source: owner.source, id: owner.id };
    if (owner.instance !== undefined) out.instance = owner.instance;
    else delete out.instance;
    if (owner.flowId !== undefined) out.flowId = owner.flowId;
    else delete out.flowId;
    if (addRealClient) out.realClient = merged.realClient;
    if (addDropped) out.dropped = true;
    return out;
  }

  /**
   * The same tuple again, but another connection: the deciding source names a new instance (conntrack gives a
   * reused tuple a new entry), or the remembered one has ended and this one started after that.
   */
  private isLaterConnection(merged: MergedConnection, conn: ObservedConnection): boolean {
    const last = merged.decidingLast;
    if (last && last.source === conn.source && (last.id !== conn.id || last.instance !== conn.instance)) return true;
    if (merged.endedAt === undefined) return false;
    const started = conn.startedAt ?? conn.observedAt;
    const ended = last?.endedAt ?? merged.endedAt;
    return started > ended;
  }

  private evictBeyondBound(): void {
    while (this.connections.size > this.maxConnections) {
      const oldest = this.connections.values().next();
      if (oldest.done) return;
      this.forget(oldest.value);
      this.stats.evicted++;
    }
  }

  /**
   * The key of the connection an observation is about: its tuple and zone. A zone-blind observation (the capture)
   * takes the zone a kernel source last reported for its tuple; a kernel source naming a zone first takes over what
   * zone-blind observations of its tuple gathered so far (they were about this connection).
   */
  private keyOf(conn: ObservedConnection, tupleKey: string): string {
    if (conn.zone === undefined) return this.zonedKeys.get(tupleKey) ?? tupleKey;
    if (conn.zone === 0) return tupleKey;
    const key = connectionKey(conn.original, conn.zone);
    this.zonedKeys.set(tupleKey, key);
    const blind = this.connections.get(tupleKey);
    if (blind && !blind.zoneKnown && !this.connections.has(key)) {
      this.connections.delete(tupleKey);
      blind.key = key;
      this.connections.set(key, blind);
    }
    return key;
  }

  private forget(merged: MergedConnection): void {
    this.connections.delete(merged.key);
    if (this.zonedKeys.get(merged.tupleKey) === merged.key) this.zonedKeys.delete(merged.tupleKey);
  }
}
