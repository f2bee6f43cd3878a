import type { LeanConntrackEntry } from '@natlens/agent-conntrack';
import type { Tuple } from '@natlens/shared-model';
import { tupleKeyOf } from './conntrack-observation';

/** The identity of one connection the kernel holds: its instance and the flowId built once from it. */
export interface ConnectionIdentity {
  readonly id: number;
  readonly original: Tuple;
  readonly instance: string;
  readonly flowId: string;
  /** When the agent first saw it. */
  readonly since: number;
}

/*
 * The identities of the connections the kernel holds, by conntrack id (CTA_ID) and original tuple. The kernel gives
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
  /** By conntrack id; ids are unique among live entries but for a hash collision, hence a (short) list. */
  private readonly byId = new Map<number, ConnectionIdentity[]>();
  private sequence = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** The identity of the connection an entry describes, assigned when the entry starts one. */
  of(entry: LeanConntrackEntry & { id: number }, original: Tuple, now: number): ConnectionIdentity {
    const known = entry.event === 'new' ? undefined : this.find(entry.id, original);
    const identity = known ?? this.assign(entry, original, now);
    if (entry.event === 'destroy') this.forget(identity);
    return identity;
  }

  /** After a dump that started at `dumpStartedAt`: forgets the identities it did not list (their DESTROY never came). */
  prune(dumpStartedAt: number, listed: ReadonlySet<ConnectionIdentity>): void {
    for (const chain of this.byId.values()) {
      for (const identity of [...chain]) if (identity.since < dumpStartedAt && !listed.has(identity)) this.forget(identity);
    }
  }

  private find(id: number, o: Tuple): ConnectionIdentity | undefined {
    const chain = this.byId.get(id);
    if (chain === undefined) return undefined;
    for (const k of chain) {
      const t = k.original;
      if (t.sport === o.sport && t.dport === o.dport && t.src === o.src && t.dst === o.dst && t.proto === o.proto) return k;
    }
    return undefined;
  }

  private assign(entry: LeanConntrackEntry & { id: number }, original: Tuple, now: number): ConnectionIdentity {
    const fromKernel = entry.event !== 'new' && entry.startMs !== undefined;
    this.sequence = (this.sequence + 1) % 1_000_000;
    const instance = fromKernel ? timeOrderedInstance(entry.startMs as number, entry.startNsInMs ?? 0) : timeOrderedInstance(now, this.sequence);
    const identity: ConnectionIdentity = { id: entry.id, original, instance, flowId: `conntrack:${instance}:${entry.id}:${tupleKeyOf(original)}`, since: now };
    const chain = this.byId.get(entry.id);
    const replaced = chain?.findIndex((k) => sameTuple(k.original, original)) ?? -1;
    if (chain === undefined) this.byId.set(entry.id, [identity]);
    else if (replaced >= 0) chain[replaced] = identity;
    else chain.push(identity);
    if (replaced < 0) this.count++;
    return identity;
  }

  private forget(identity: ConnectionIdentity): void {
    const chain = this.byId.get(identity.id);
    const at = chain?.indexOf(identity) ?? -1;
    if (chain === undefined || at < 0) return;
    this.count--;
    if (chain.length === 1) this.byId.delete(identity.id);
    else chain.splice(at, 1);
  }
}

function sameTuple(a: Tuple, b: Tuple): boolean {
  return a.sport === b.sport && a.dport === b.dport && a.src === b.src && a.dst === b.dst && a.proto === b.proto;
}

/**
 * 12 characters that sort as the time they name: milliseconds (8 base-36 digits, enough until 2059) and a part below
 * the millisecond (4 digits, < 1,679,616): the kernel's nanoseconds, or the agent's sequence when it has no timestamp.
 */
export function timeOrderedInstance(ms: number, belowMs: number): string {
  return `${Math.floor(ms).toString(36).padStart(8, '0')}${Math.floor(belowMs).toString(36).padStart(4, '0')}`;
}
