import type { LeanConntrackEntry } from '@natlens/agent-conntrack';
import type { SnatPortUsage } from '@natlens/shared-model';
import { resolveSnatRange, type SourceNatRule } from './nat-port-ranges';

/*
 * SNAT source-port usage from the conntrack table. An entry was source-translated when its reply goes back to
 * another address or port than the original source (reply.dst:dport ≠ original.src:sport); the translated source is
 * reply.dst:dport and the destination as the node sent it is reply.src:sport (after DNAT: the endpoint). Each
 * (translated address, destination, destination port, protocol) can use each source port once, so the count of
 * distinct translated ports against the range the rules allow is how close that pair is to exhaustion.
 */

const PROTOCOLS = new Set(['tcp', 'udp', 'sctp']);
/** The contract's bound: the busiest pairs only. */
export const SNAT_TOP_PAIRS = 50;

/** Counts pairs as entries arrive (a dump's batches), so the table is never held in memory at once. */
export class SnatPortTally {
  private readonly ports = new Map<string, { snatAddress: string; destination: string; destinationPort: number; protocol: SnatPortUsage['protocol']; ports: Set<number> }>();

  add(entries: readonly LeanConntrackEntry[]): void {
    for (const entry of entries) {
      const { original, reply } = entry;
      if (typeof original.proto !== 'string' || !PROTOCOLS.has(original.proto)) continue;
      if (reply.dport === undefined || reply.sport === undefined) continue;
      if (reply.dst === original.src && reply.dport === original.sport) continue; // not source-translated
      const key = `${original.proto} ${reply.dst} ${reply.src} ${reply.sport}`;
      let pair = this.ports.get(key);
      if (!pair) {
        pair = { snatAddress: reply.dst, destination: reply.src, destinationPort: reply.sport, protocol: original.proto as SnatPortUsage['protocol'], ports: new Set() };
        this.ports.set(key, pair);
      }
      pair.ports.add(reply.dport);
    }
  }

  /** The busiest pairs by share of their range (then by ports in use), at most `limit`. */
  top(rules: readonly SourceNatRule[], limit = SNAT_TOP_PAIRS): SnatPortUsage[] {
    const usage: SnatPortUsage[] = [];
    for (const pair of this.ports.values()) {
      const { range, rangeBasis } = resolveSnatRange(pair.snatAddress, pair.ports, rules);
      usage.push({ snatAddress: pair.snatAddress, destination: pair.destination, destinationPort: pair.destinationPort, protocol: pair.protocol, inUse: pair.ports.size, range, rangeBasis });
    }
    return usage.sort((a, b) => snatPortShare(b) - snatPortShare(a) || b.inUse - a.inUse || a.snatAddress.localeCompare(b.snatAddress) || a.destination.localeCompare(b.destination) || a.destinationPort - b.destinationPort).slice(0, limit);
  }

  get pairs(): number {
    return this.ports.size;
  }
}

/** The fraction of a pair's range in use (0-1, more when ports outside the range are counted). */
export function snatPortShare(usage: Pick<SnatPortUsage, 'inUse' | 'range'>): number {
  return usage.inUse / (usage.range.max - usage.range.min + 1);
}
