import type { Protocol, Tuple } from '@natlens/shared-model';
import { ParseError } from '@natlens/agent-wire';

/*
 * One entry of a saved `conntrack -L` table, whichever format it came in. conntrack-tools prints the ORIGINAL tuple
 * first and the REPLY tuple second; counters follow the tuple they belong to.
 */
export interface ConntrackDumpEntry {
  original: Tuple;
  reply: Tuple;
  state?: string;
  /** seconds left before the entry expires */
  timeout?: number;
  /** CTA_ID, when printed (`-o id`, always in XML) */
  id?: string;
  mark?: number;
  zone?: number;
  counters?: { original?: { packets: number; bytes: number }; reply?: { packets: number; bytes: number } };
  /** ASSURED, UNREPLIED, OFFLOAD, … */
  flags: string[];
}

export interface ConntrackDump {
  format: 'text' | 'xml';
  entries: ConntrackDumpEntry[];
  /** The first errors (at most the reader's cap), each with its byte offset. */
  errors: ParseError[];
  /** Every error, listed or not. */
  errorCount: number;
}

const KNOWN_PROTOCOLS = new Set<Protocol>(['tcp', 'udp', 'sctp', 'icmp', 'icmpv6']);

export function protocolOf(name: string): Protocol {
  return KNOWN_PROTOCOLS.has(name as Protocol) ? (name as Protocol) : 'other';
}

export function tupleOf(fields: Record<string, string | undefined>, proto: Protocol, offset: number, what: string): Tuple {
  const { src, dst } = fields;
  if (!src || !dst) throw new ParseError(offset, 'src= and dst= in each tuple', what);
  const port = (text: string | undefined) => {
    if (text === undefined) return 0; // protocols without ports (icmp, gre, unknown)
    const n = Number(text);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ParseError(offset, `a port 0-65535, not "${text.slice(0, 40)}"`, what);
    return n;
  };
  return { src, sport: port(fields['sport']), dst, dport: port(fields['dport']), proto };
}
