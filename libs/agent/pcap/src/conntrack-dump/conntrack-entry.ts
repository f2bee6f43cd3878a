import type { ParseError } from '@natlens/agent-wire';
import type { Protocol, Tuple } from '@natlens/shared-model';

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

/**
 * What a damaged entry lacks, as the `expected` of the ParseError the reader makes of it. A value, not a throw: a
 * file of nothing but damage has millions, and an Error captures a stack trace each time (tens of µs); the reader
 * builds a ParseError only for the few it lists.
 */
export class EntryDefect {
  constructor(readonly expected: string) {}
}

export function tupleOf(fields: Record<string, string | undefined>, proto: Protocol): Tuple | EntryDefect {
  const { src, dst } = fields;
  if (!src || !dst) return new EntryDefect('src= and dst= in each tuple');
  const sport = portOf(fields['sport']);
  if (sport instanceof EntryDefect) return sport;
  const dport = portOf(fields['dport']);
  if (dport instanceof EntryDefect) return dport;
  return { src, sport, dst, dport, proto };
}

function portOf(text: string | undefined): number | EntryDefect {
  if (text === undefined) return 0; // protocols without ports (icmp, gre, unknown)
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) return new EntryDefect(`a port 0-65535, not "${text.slice(0, 40)}"`);
  return n;
}
