/*
 * The conntrack dump parser as it was before issue 18 (a regex per <flow> over the whole text, offsets recomputed per
 * flow: quadratic on unclosed tags). Kept only as the oracle of conntrack-dump.spec.ts: the streaming reader must
 * read the real fixtures to the same entries. Not exported; product code uses conntrack-dump.ts.
 */
import type { Protocol, Tuple } from '@natlens/shared-model';
import type { ConntrackDumpEntry } from './conntrack-entry';
import { ParseError } from '@natlens/agent-wire';

export interface ConntrackDump {
  format: 'text' | 'xml';
  entries: ConntrackDumpEntry[];
  errors: ParseError[];
}

const KNOWN_PROTOCOLS = new Set<Protocol>(['tcp', 'udp', 'sctp', 'icmp', 'icmpv6']);

function protocolOf(name: string): Protocol {
  return KNOWN_PROTOCOLS.has(name as Protocol) ? (name as Protocol) : 'other';
}

export function parseConntrackDumpWithRegex(text: string): ConntrackDump {
  return /^\s*<\?xml|^\s*<conntrack>/.test(text) ? parseXml(text) : parseText(text);
}

/** One `conntrack -L [-o extended]` line per entry; the summary line conntrack prints on stderr is skipped if present. */
function parseText(text: string): ConntrackDump {
  const entries: ConntrackDumpEntry[] = [];
  const errors: ParseError[] = [];
  let offset = 0;
  for (const line of text.split('\n')) {
    const lineOffset = offset;
    offset += Buffer.byteLength(line, 'utf8') + 1;
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('conntrack v')) continue;
    try {
      entries.push(parseTextLine(trimmed, lineOffset));
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
      errors.push(err);
    }
  }
  return { format: 'text', entries, errors };
}

function parseTextLine(line: string, lineOffset: number): ConntrackDumpEntry {
  const tokens = line.split(/\s+/);
  let i = 0;
  // -o extended starts with the layer-3 name and number ("ipv4 2"); the default format starts at the layer-4 name.
  if (tokens[0] === 'ipv4' || tokens[0] === 'ipv6') i = 2;
  const l4 = tokens[i];
  if (!l4 || !/^[a-z0-9-]+$/.test(l4) || !/^\d+$/.test(tokens[i + 1] ?? '')) throw new ParseError(lineOffset, 'a layer-4 protocol name and number ("tcp 6")', 'conntrack line');
  const proto = protocolOf(l4);
  i += 2;
  const entry: ConntrackDumpEntry = { original: undefined as unknown as Tuple, reply: undefined as unknown as Tuple, flags: [] };
  if (/^\d+$/.test(tokens[i] ?? '')) entry.timeout = Number(tokens[i++]);
  if (/^[A-Z_]+$/.test(tokens[i] ?? '')) entry.state = tokens[i++];
  const tuples: Partial<Record<'src' | 'dst' | 'sport' | 'dport', string>>[] = [];
  const counters: { packets: number; bytes: number }[] = [];
  for (; i < tokens.length; i++) {
    const token = tokens[i] as string;
    const flag = /^\[([A-Z_]+)\]$/.exec(token);
    if (flag) {
      entry.flags.push(flag[1] as string);
      continue;
    }
    const eq = token.indexOf('=');
    if (eq < 0) continue;
    const key = token.slice(0, eq);
    const value = token.slice(eq + 1);
    if (key === 'src') tuples.push({ src: value });
    else if ((key === 'dst' || key === 'sport' || key === 'dport') && tuples.length > 0) (tuples[tuples.length - 1] as Record<string, string>)[key] = value;
    else if (key === 'packets') counters[tuples.length - 1] = { packets: Number(value), bytes: 0 };
    else if (key === 'bytes' && counters[tuples.length - 1]) (counters[tuples.length - 1] as { bytes: number }).bytes = Number(value);
    else if (key === 'mark') entry.mark = Number(value);
    else if (key === 'zone') entry.zone = Number(value);
    else if (key === 'id') entry.id = value;
  }
  if (tuples.length < 2) throw new ParseError(lineOffset, 'two tuples (src= dst= …) for ORIGINAL and REPLY', 'conntrack line');
  entry.original = tupleOf(tuples[0] as Record<string, string>, proto, lineOffset);
  entry.reply = tupleOf(tuples[1] as Record<string, string>, proto, lineOffset);
  if (counters[0] || counters[1]) entry.counters = { ...(counters[0] ? { original: counters[0] } : {}), ...(counters[1] ? { reply: counters[1] } : {}) };
  return entry;
}

function tupleOf(fields: Record<string, string | undefined>, proto: Protocol, offset: number): Tuple {
  const { src, dst } = fields;
  if (!src || !dst) throw new ParseError(offset, 'src= and dst= in each tuple', 'conntrack line');
  const port = (text: string | undefined) => {
    if (text === undefined) return 0; // protocols without ports (icmp, gre, unknown)
    const n = Number(text);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ParseError(offset, `a port 0-65535, not "${text}"`, 'conntrack line');
    return n;
  };
  return { src, sport: port(fields['sport']), dst, dport: port(fields['dport']), proto };
}

/** `conntrack -L -o xml`: <flow> elements with <meta direction="original|reply|independent">. */
function parseXml(text: string): ConntrackDump {
  const entries: ConntrackDumpEntry[] = [];
  const errors: ParseError[] = [];
  const flowPattern = /<flow>([\s\S]*?)<\/flow>/g;
  for (let m = flowPattern.exec(text); m; m = flowPattern.exec(text)) {
    const offset = Buffer.byteLength(text.slice(0, m.index), 'utf8');
    try {
      entries.push(parseXmlFlow(m[1] as string, offset));
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
      errors.push(err);
    }
  }
  if (entries.length === 0 && errors.length === 0 && !/<conntrack>/.test(text)) errors.push(new ParseError(0, 'a <conntrack> document', 'conntrack XML'));
  return { format: 'xml', entries, errors };
}

function parseXmlFlow(flow: string, offset: number): ConntrackDumpEntry {
  const meta = (direction: string) => new RegExp(`<meta direction="${direction}">([\\s\\S]*?)</meta>`).exec(flow)?.[1];
  const element = (xml: string | undefined, name: string) => (xml === undefined ? undefined : new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1]);
  const tuple = (xml: string | undefined): Tuple => {
    if (!xml) throw new ParseError(offset, 'an original and a reply <meta> element', 'conntrack XML flow');
    const l4name = /<layer4 [^>]*protoname="([^"]+)"/.exec(xml)?.[1] ?? 'unknown';
    return tupleOf({ src: element(xml, 'src'), dst: element(xml, 'dst'), sport: element(xml, 'sport'), dport: element(xml, 'dport') }, protocolOf(l4name), offset);
  };
  const counter = (xml: string | undefined) => {
    const packets = element(xml, 'packets');
    return packets === undefined ? undefined : { packets: Number(packets), bytes: Number(element(xml, 'bytes') ?? 0) };
  };
  const originalXml = meta('original');
  const replyXml = meta('reply');
  const independent = meta('independent') ?? '';
  const entry: ConntrackDumpEntry = { original: tuple(originalXml), reply: tuple(replyXml), flags: [] };
  const state = element(independent, 'state');
  if (state) entry.state = state;
  const timeout = element(independent, 'timeout');
  if (timeout !== undefined) entry.timeout = Number(timeout);
  const mark = element(independent, 'mark');
  if (mark !== undefined) entry.mark = Number(mark);
  const zone = element(independent, 'zone');
  if (zone !== undefined) entry.zone = Number(zone);
  const id = element(independent, 'id');
  if (id !== undefined) entry.id = id;
  for (const flag of ['assured', 'unreplied']) if (new RegExp(`<${flag}/>`).test(independent)) entry.flags.push(flag.toUpperCase());
  const original = counter(originalXml);
  const reply = counter(replyXml);
  if (original || reply) entry.counters = { ...(original ? { original } : {}), ...(reply ? { reply } : {}) };
  return entry;
}
