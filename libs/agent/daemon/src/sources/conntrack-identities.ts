import type { LeanConntrackEntry, LeanConntrackTuple } from '@natlens/agent-conntrack';
import type { Tuple } from '@natlens/shared-model';
import { flowIdText } from '@natlens/agent-records';
import { dportOf, protocolOf, sportOf, tupleOf, zoneOf } from './conntrack-observation';

/** The identity of one connection the kernel holds: its instance and the flowId built once from it. */
export interface ConnectionIdentity {
  readonly id: number;
  readonly original: Tuple;
  /** The zone of the original direction (conntrack-observation.ts zoneOf): with the tuple, what conntrack keys on. */
  readonly zone: number;
  readonly instance: string;
  readonly flowId: string;
  /** When the agent first saw it. */
  readonly since: number;
}

/*
 * The identities of the connections the kernel holds, by conntrack id (CTA_ID), original tuple and zone (two entries
 * with one tuple in two zones are two connections; their ids differ too, but an id may collide). The kernel gives
 * a connection's successor the same id when a client reuses a TIME_WAIT tuple, so NEW always starts a new identity
 * (a new instance), and DESTROY forgets it. Every later event of a connection finds its identity by the numeric id
 * and a field-by-field tuple comparison, and gets the same flowId string back: no key or flowId string is built per
 * event (most events are of connections already known), and the pipeline's maps keyed by that flowId hash it once.
 *
 * The instance is fixed-width and time-ordered (timeOrderedInstance) and leads the flowId. A connection first seen in
 * a dump (older than the agent) is named after the kernel's start time when there is one, so a restarted agent
 * names it the same again; otherwise after the time the agent first saw it, with a sequence below the millisecond.
 */
export class ConnectionIdentities {
  /**
   * By conntrack id; ids are unique among live entries but for a hash collision, when the id holds a (short) list.
   * One identity is held as itself, not in a list of one: that list would be two more objects per live connection.
   */
  private readonly byId = new Map<number, ConnectionIdentity | ConnectionIdentity[]>();
  private sequence = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /**
   * The identity of the connection an entry describes, assigned when the entry starts one. The entry's original
   * tuple is compared field by field with the identities held, so a later event of a known connection builds no
   * tuple: its identity's `original` is the one it would build.
   */
  of(entry: LeanConntrackEntry & { id: number }, now: number): ConnectionIdentity {
    const zone = zoneOf(entry);
    const known = entry.event === 'new' ? undefined : this.find(entry.id, entry.original, zone);
    const identity = known ?? this.assign(entry, tupleOf(entry.original), zone, now);
    if (entry.event === 'destroy') this.forget(identity);
    return identity;
  }

  /** After a dump that started at `dumpStartedAt`: forgets the identities it did not list (their DESTROY never came). */
  prune(dumpStartedAt: number, listed: ReadonlySet<ConnectionIdentity>): void {
    const stale: ConnectionIdentity[] = [];
    for (const held of this.byId.values()) {
      for (const identity of Array.isArray(held) ? held : [held]) if (identity.since < dumpStartedAt && !listed.has(identity)) stale.push(identity);
    }
    for (const identity of stale) this.forget(identity);
  }

  private find(id: number, o: LeanConntrackTuple, zone: number): ConnectionIdentity | undefined {
    const held = this.byId.get(id);
    if (held === undefined) return undefined;
    if (!Array.isArray(held)) return held.zone === zone && sameAsLean(held.original, o) ? held : undefined;
    for (const k of held) if (k.zone === zone && sameAsLean(k.original, o)) return k;
    return undefined;
  }

  private assign(entry: LeanConntrackEntry & { id: number }, original: Tuple, zone: number, now: number): ConnectionIdentity {
    const fromKernel = entry.event !== 'new' && entry.startMs !== undefined;
    this.sequence = (this.sequence + 1) % 1_000_000;
    const instance = fromKernel ? timeOrderedInstance(entry.startMs as number, entry.startNsInMs ?? 0) : timeOrderedInstance(now, this.sequence);
    const identity: ConnectionIdentity = { id: entry.id, original, zone, instance, flowId: flowIdText('conntrack', instance, entry.id, original, zone), since: now };
    const held = this.byId.get(entry.id);
    if (held === undefined) {
      this.byId.set(entry.id, identity);
      this.count++;
    } else if (!Array.isArray(held)) {
      const successor = held.zone === zone && sameTuple(held.original, original);
      this.byId.set(entry.id, successor ? identity : [held, identity]);
      if (!successor) this.count++;
    } else {
      const replaced = held.findIndex((k) => k.zone === zone && sameTuple(k.original, original));
      if (replaced >= 0) held[replaced] = identity;
      else {
        held.push(identity);
        this.count++;
      }
    }
    return identity;
  }

  private forget(identity: ConnectionIdentity): void {
    const held = this.byId.get(identity.id);
    if (held === identity) {
      this.byId.delete(identity.id);
      this.count--;
      return;
    }
    const at = Array.isArray(held) ? held.indexOf(identity) : -1;
    if (!Array.isArray(held) || at < 0) return;
    this.count--;
    held.splice(at, 1);
    if (held.length === 1) this.byId.set(identity.id, held[0] as ConnectionIdentity);
  }
}

function sameTuple(a: Tuple, b: Tuple): boolean {
  return a.sport === b.sport && a.dport === b.dport && a.src === b.src && a.dst === b.dst && a.proto === b.proto;
}

/** sameTuple(a, tupleOf(b)) without building the tuple. */
function sameAsLean(a: Tuple, b: LeanConntrackTuple): boolean {
  return a.sport === sportOf(b) && a.dport === dportOf(b) && a.src === b.src && a.dst === b.dst && a.proto === protocolOf(b);
}

/** The last millisecond named and its text: the connections of one read share it. */
let lastMs = -1;
let lastMsText = '';

/**
 * 12 characters that sort as the time they name: milliseconds (8 base-36 digits, enough until 2059) and a part below
 * the millisecond (4 digits, < 1,679,616): the kernel's nanoseconds, or the agent's sequence when it has no timestamp.
 */
export function timeOrderedInstance(ms: number, belowMs: number): string {
  const whole = Math.floor(ms);
  if (whole !== lastMs) {
    lastMs = whole;
    lastMsText = whole.toString(36).padStart(8, '0');
  }
  return lastMsText + Math.floor(belowMs).toString(36).padStart(4, '0');
}
