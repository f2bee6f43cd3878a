import { ParseError } from '@natlens/agent-wire';
import { type ConntrackDumpEntry, EntryDefect } from './conntrack-entry';
import { parseConntrackTextLine } from './conntrack-text-line';
import { ConntrackXmlReader } from './conntrack-xml-reader';

/*
 * A saved `conntrack -L` table read as it streams in, in one pass: the format from the first bytes that are not
 * white space (`<?xml` or `<conntrack>`: XML, anything else: one entry per line), then entries handed out as they
 * are read. Errors carry byte offsets; only the first `maxErrors` are kept, all are counted, so a file of nothing
 * but damage costs constant memory. Pure: no I/O.
 */
export const DEFAULT_MAX_ERRORS_KEPT = 100;
/** conntrack lines are under 1 KiB; a longer one is reported and skipped rather than kept whole. */
const MAX_LINE_BYTES = 64 * 1024;
const NEWLINE = 0x0a;
/** `<conntrack>` is the longest opening the format test needs after the white space. */
const FORMAT_PROBE_BYTES = '<conntrack>'.length;

export interface ConntrackDumpReaderOptions {
  /** How many errors to keep (all are counted); default 100. */
  maxErrors?: number;
  /** `auto` (the default) tells XML from text by the first bytes. */
  format?: 'auto' | 'text' | 'xml';
}

export interface ConntrackDumpReadSummary {
  format: 'text' | 'xml';
  errors: ParseError[];
  errorCount: number;
}

export class ConntrackDumpReader {
  private readonly errors: ParseError[] = [];
  private errorCount = 0;
  private format: 'text' | 'xml' | undefined;
  /** bytes held until the format is known */
  private head: Buffer[] = [];
  private headBytes = 0;
  /** where the first byte that is not white space is in the head, once seen */
  private firstSignificant = -1;
  private xml: ConntrackXmlReader | undefined;
  private lines: LineSplitter | undefined;

  private readonly maxErrors: number;

  constructor(
    private readonly onEntry: (entry: ConntrackDumpEntry) => void,
    options: ConntrackDumpReaderOptions = {},
  ) {
    this.maxErrors = options.maxErrors ?? DEFAULT_MAX_ERRORS_KEPT;
    if (options.format === 'text' || options.format === 'xml') this.start(options.format);
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (this.format) return this.feed(chunk);
    if (this.firstSignificant < 0) {
      const at = firstNonWhitespace(chunk);
      if (at >= 0) this.firstSignificant = this.headBytes + at;
    }
    this.head.push(chunk);
    this.headBytes += chunk.length;
    if (this.firstSignificant >= 0 && this.headBytes - this.firstSignificant >= FORMAT_PROBE_BYTES) this.decide();
  }

  end(): ConntrackDumpReadSummary {
    if (!this.format) this.decide();
    if (this.xml) this.xml.end();
    else this.lines?.end();
    return { format: this.format ?? 'text', errors: this.errors, errorCount: this.errorCount };
  }

  private decide(): void {
    const head = Buffer.concat(this.head);
    this.head = [];
    const start = Math.max(0, this.firstSignificant);
    const probe = head.toString('latin1', start, start + FORMAT_PROBE_BYTES);
    this.start(probe.startsWith('<?xml') || probe === '<conntrack>' ? 'xml' : 'text');
    this.feed(head);
  }

  private start(format: 'text' | 'xml'): void {
    this.format = format;
    const error = (offset: number, expected: string, what: string) => this.noteError(offset, expected, what);
    if (format === 'xml') this.xml = new ConntrackXmlReader({ entry: this.onEntry, error });
    else this.lines = new LineSplitter((line, offset) => this.textLine(line, offset), error);
  }

  private feed(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (this.xml) this.xml.push(chunk);
    else this.lines?.push(chunk);
  }

  private textLine(line: string, offset: number): void {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('conntrack v')) return; // the summary line conntrack prints on stderr
    const entry = parseConntrackTextLine(trimmed);
    if (entry instanceof EntryDefect) this.noteError(offset, entry.expected, 'conntrack line');
    else this.onEntry(entry);
  }

  /** Builds the ParseError only when it is listed: an Error's stack trace costs more than reading a flow. */
  private noteError(offset: number, expected: string, what: string): void {
    this.errorCount++;
    if (this.errors.length < this.maxErrors) this.errors.push(new ParseError(offset, expected, what));
  }
}

/** Lines as they stream in, each with the byte offset where it starts; a line past MAX_LINE_BYTES is an error. */
class LineSplitter {
  private consumed = 0;
  private lineStart = 0;
  private parts: Buffer[] = [];
  private partBytes = 0;
  private tooLong = false;

  constructor(
    private readonly onLine: (line: string, offset: number) => void,
    private readonly onError: (offset: number, expected: string, what: string) => void,
  ) {}

  push(chunk: Buffer): void {
    let i = 0;
    for (;;) {
      const nl = chunk.indexOf(NEWLINE, i);
      const end = nl < 0 ? chunk.length : nl;
      this.take(chunk.subarray(i, end));
      if (nl < 0) break;
      this.finishLine();
      this.lineStart = this.consumed + nl + 1;
      i = nl + 1;
    }
    this.consumed += chunk.length;
  }

  end(): void {
    if (this.partBytes > 0 || this.tooLong) this.finishLine();
  }

  private take(bytes: Buffer): void {
    if (this.tooLong || bytes.length === 0) return;
    if (this.partBytes + bytes.length > MAX_LINE_BYTES) {
      this.tooLong = true;
      this.parts = [];
      this.partBytes = 0;
      return;
    }
    this.parts.push(Buffer.from(bytes)); // a copy: the caller may reuse its chunk
    this.partBytes += bytes.length;
  }

  private finishLine(): void {
    if (this.tooLong) this.onError(this.lineStart, `a line of at most ${MAX_LINE_BYTES} bytes`, 'conntrack line');
    else this.onLine(Buffer.concat(this.parts, this.partBytes).toString('utf8'), this.lineStart);
    this.parts = [];
    this.partBytes = 0;
    this.tooLong = false;
  }
}

function firstNonWhitespace(chunk: Buffer): number {
  for (let i = 0; i < chunk.length; i++) {
    const byte = chunk[i] as number;
    if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d && byte !== 0x0b && byte !== 0x0c) return i;
  }
  return -1;
}
