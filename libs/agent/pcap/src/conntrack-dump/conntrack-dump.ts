import { ConntrackDumpReader, type ConntrackDumpReaderOptions } from './conntrack-dump-reader';
import type { ConntrackDump, ConntrackDumpEntry } from './conntrack-entry';

/*
 * `conntrack -L` output saved on some node, for `natlens import`: the text formats (default and `-o extended`, with
 * or without `-o id`, accounting counters and zones) and `-o xml`. These take the whole text; an import streams the
 * bytes through ConntrackDumpReader (conntrack-dump-stream.ts: in a worker thread) instead. Pure; errors carry the
 * byte offset of the line or element, the first 100 are listed (all counted), and the other entries are returned.
 */
export type { ConntrackDump, ConntrackDumpEntry } from './conntrack-entry';
export { ConntrackDumpReader, DEFAULT_MAX_ERRORS_KEPT, type ConntrackDumpReaderOptions, type ConntrackDumpReadSummary } from './conntrack-dump-reader';

export function parseConntrackDump(text: string | Buffer, options: ConntrackDumpReaderOptions = {}): ConntrackDump {
  const entries: ConntrackDumpEntry[] = [];
  const reader = new ConntrackDumpReader((entry) => entries.push(entry), options);
  reader.push(typeof text === 'string' ? Buffer.from(text, 'utf8') : text);
  return { ...reader.end(), entries };
}

/** One `conntrack -L [-o extended]` line per entry. */
export function parseConntrackText(text: string | Buffer, options: Omit<ConntrackDumpReaderOptions, 'format'> = {}): ConntrackDump {
  return parseConntrackDump(text, { ...options, format: 'text' });
}

/** `conntrack -L -o xml`: <flow> elements with <meta direction="original|reply|independent">. */
export function parseConntrackXml(text: string | Buffer, options: Omit<ConntrackDumpReaderOptions, 'format'> = {}): ConntrackDump {
  return parseConntrackDump(text, { ...options, format: 'xml' });
}
