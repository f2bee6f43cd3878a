import type { Tuple } from '@natlens/shared-model';
import { type ConntrackDumpEntry, EntryDefect, protocolOf, tupleOf } from './conntrack-entry';

/** One line of `conntrack -L [-o extended[,id]]` (already trimmed, not empty), or what it lacks. */
export function parseConntrackTextLine(line: string): ConntrackDumpEntry | EntryDefect {
  const tokens = line.split(/\s+/);
  let i = 0;
  // -o extended starts with the layer-3 name and number ("ipv4 2"); the default format starts at the layer-4 name.
  if (tokens[0] === 'ipv4' || tokens[0] === 'ipv6') i = 2;
  const l4 = tokens[i];
  if (!l4 || !/^[a-z0-9-]+$/.test(l4) || !/^\d+$/.test(tokens[i + 1] ?? '')) return new EntryDefect('a layer-4 protocol name and number ("tcp 6")');
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
  if (tuples.length < 2) return new EntryDefect('two tuples (src= dst= …) for ORIGINAL and REPLY');
  const original = tupleOf(tuples[0] as Record<string, string>, proto);
  if (original instanceof EntryDefect) return original;
  const reply = tupleOf(tuples[1] as Record<string, string>, proto);
  if (reply instanceof EntryDefect) return reply;
  entry.original = original;
  entry.reply = reply;
  if (counters[0] || counters[1]) entry.counters = { ...(counters[0] ? { original: counters[0] } : {}), ...(counters[1] ? { reply: counters[1] } : {}) };
  return entry;
}
