import { type ConntrackDumpEntry, EntryDefect, protocolOf, tupleOf } from './conntrack-entry';

/*
 * `conntrack -L -o xml` read as a stream of bytes in one pass: a tag scanner and the <flow> being built, nothing
 * else kept, so time is linear in the input and memory is one flow, whatever the input holds (a regex over the
 * whole text was quadratic on unclosed <flow> tags). conntrack-tools writes one element per field:
 *
 *   <flow><meta direction="original"><layer3 …><src>…</src><dst>…</dst></layer3><layer4 protoname="tcp">
 *   <sport>…</sport><dport>…</dport></layer4><counters><packets>…</packets><bytes>…</bytes></counters></meta>
 *   <meta direction="reply">…</meta><meta direction="independent"><state>…</state><timeout>…</timeout><mark>…</mark>
 *   <zone>…</zone><id>…</id><assured/></meta></flow>
 *
 * Damage is reported with the byte offset of the tag or <flow> it concerns and reading goes on: a <flow> not closed
 * before the next one (or the end), a </flow> without its <flow>, a tag not closed by '>' (or longer than any tag
 * conntrack writes), a flow without its two tuples. Pure: bytes in, entries and errors out through callbacks.
 */
const LT = 0x3c; // '<'
const GT = 0x3e; // '>'
/** conntrack's longest tag is about 50 bytes; past this it is not a tag we would use. */
const MAX_TAG_BYTES = 1024;
/** Element text is an address, a number or a state name; longer text is cut (and then fails validation). */
const MAX_TEXT_BYTES = 256;
const WHAT = 'conntrack XML';
const WHAT_FLOW = 'conntrack XML flow';

export interface ConntrackXmlSink {
  entry(entry: ConntrackDumpEntry): void;
  /** The parts of a ParseError; the sink builds one only if it keeps it (see EntryDefect). */
  error(offset: number, expected: string, what: string): void;
}

interface MetaFields {
  fields: Map<string, string>;
  protoname?: string;
  /** self-closing elements (<assured/>, <unreplied/>) */
  flags: Set<string>;
}

interface OpenFlow {
  offset: number;
  metas: Map<string, MetaFields>;
  meta?: MetaFields;
  /** the leaf element whose text is being read */
  element?: string;
  /** its bytes so far, one character per byte (latin1), decoded as UTF-8 when the element ends */
  text: string;
}

export class ConntrackXmlReader {
  /** bytes before the current chunk */
  private consumed = 0;
  private inTag = false;
  private tagOffset = 0;
  private tag = '';
  /** the tag was cut short by a '<' or grew past MAX_TAG_BYTES: reported once, then skipped up to its '>' */
  private tagBroken = false;
  private flow: OpenFlow | undefined;
  /** whether a <conntrack> element was seen: a document without it and without flows is no conntrack XML */
  private sawDocument = false;
  private sawFlow = false;

  constructor(private readonly sink: ConntrackXmlSink) {}

  push(chunk: Buffer): void {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (!this.inTag) {
        const lt = chunk.indexOf(LT, i);
        const end = lt < 0 ? n : lt;
        const flow = this.flow;
        if (flow?.element !== undefined && end > i && flow.text.length < MAX_TEXT_BYTES) flow.text += chunk.toString('latin1', i, Math.min(end, i + MAX_TEXT_BYTES - flow.text.length));
        if (lt < 0) break;
        this.openTag(this.consumed + lt);
        i = lt + 1;
        continue;
      }
      // Inside a tag: byte by byte, because a '<' before the '>' means this tag is broken and another begins (an
      // indexOf for '>' from every '<' would rescan the same bytes on input like "<<<<…").
      const start = i;
      while (i < n && chunk[i] !== GT && chunk[i] !== LT) i++;
      if (!this.tagBroken) {
        if (this.tag.length + (i - start) > MAX_TAG_BYTES) this.breakTag(`a tag of at most ${MAX_TAG_BYTES} bytes closed by '>'`);
        else this.tag += chunk.toString('latin1', start, i);
      }
      if (i === n) break;
      if (chunk[i] === LT) {
        if (!this.tagBroken) this.breakTag("'>' closing the tag before the next '<'");
        this.openTag(this.consumed + i);
      } else {
        this.inTag = false;
        if (!this.tagBroken) this.closeTag();
      }
      i++;
    }
    this.consumed += n;
  }

  end(): void {
    if (this.inTag && !this.tagBroken) this.breakTag("'>' closing the tag before the end of the input");
    this.inTag = false;
    if (this.flow) this.sink.error(this.flow.offset, '</flow> before the end of the input', WHAT_FLOW);
    this.flow = undefined;
    if (!this.sawDocument && !this.sawFlow) this.sink.error(0, 'a <conntrack> document', WHAT);
  }

  private openTag(offset: number): void {
    this.inTag = true;
    this.tagOffset = offset;
    this.tag = '';
    this.tagBroken = false;
  }

  private breakTag(expected: string): void {
    this.tagBroken = true;
    this.sink.error(this.tagOffset, expected, WHAT);
  }

  private closeTag(): void {
    const tag = this.tag;
    if (tag.startsWith('?') || tag.startsWith('!')) return; // <?xml …?>, comments
    if (tag.startsWith('/')) return this.endElement(tag.slice(1).trim());
    const selfClosing = tag.endsWith('/');
    const body = selfClosing ? tag.slice(0, -1) : tag;
    const space = body.search(/\s/);
    const name = space < 0 ? body : body.slice(0, space);
    const attributes = space < 0 ? '' : body.slice(space);
    this.startElement(name, attributes, selfClosing);
  }

  private startElement(name: string, attributes: string, selfClosing: boolean): void {
    if (name === 'conntrack') {
      this.sawDocument = true;
      return;
    }
    if (name === 'flow') {
      this.sawFlow = true;
      if (this.flow) this.sink.error(this.flow.offset, '</flow> before the next <flow>', WHAT_FLOW);
      this.flow = selfClosing ? undefined : { offset: this.tagOffset, metas: new Map(), text: '' };
      return;
    }
    const flow = this.flow;
    if (!flow) return;
    flow.element = undefined;
    if (name === 'meta') {
      const direction = DIRECTION.exec(attributes)?.[1] ?? '';
      // the first <meta> of a direction counts, as conntrack writes only one
      const fresh: MetaFields = { fields: new Map(), flags: new Set() };
      if (!flow.metas.has(direction)) flow.metas.set(direction, fresh);
      flow.meta = selfClosing ? undefined : fresh;
      return;
    }
    const meta = flow.meta;
    if (!meta) return;
    if (name === 'layer4') meta.protoname ??= PROTONAME.exec(attributes)?.[1];
    else if (selfClosing) meta.flags.add(name);
    else if (name !== 'layer3' && name !== 'counters') {
      flow.element = name;
      flow.text = '';
    }
  }

  private endElement(name: string): void {
    const flow = this.flow;
    if (name === 'flow') {
      if (!flow) {
        this.sink.error(this.tagOffset, '<flow> before </flow>', WHAT_FLOW);
        return;
      }
      this.flow = undefined;
      const entry = entryOf(flow);
      if (entry instanceof EntryDefect) this.sink.error(flow.offset, entry.expected, WHAT_FLOW);
      else this.sink.entry(entry);
      return;
    }
    if (!flow) return;
    if (name === 'meta') flow.meta = undefined;
    else if (flow.element === name && flow.meta && !flow.meta.fields.has(name)) flow.meta.fields.set(name, utf8Of(flow.text));
    flow.element = undefined;
  }
}

const DIRECTION = /(?:^|\s)direction\s*=\s*"([^"]*)"/;
const PROTONAME = /(?:^|\s)protoname\s*=\s*"([^"]*)"/;
const NON_ASCII = /[\x80-\xff]/;

function utf8Of(latin1: string): string {
  return NON_ASCII.test(latin1) ? Buffer.from(latin1, 'latin1').toString('utf8') : latin1;
}

function entryOf(flow: OpenFlow): ConntrackDumpEntry | EntryDefect {
  const tuple = (meta: MetaFields | undefined) => {
    if (!meta) return new EntryDefect('an original and a reply <meta> element');
    const f = meta.fields;
    return tupleOf({ src: f.get('src'), dst: f.get('dst'), sport: f.get('sport'), dport: f.get('dport') }, protocolOf(meta.protoname ?? 'unknown'));
  };
  const number = (meta: MetaFields | undefined, name: string): number | undefined | EntryDefect => {
    const text = meta?.fields.get(name);
    if (text === undefined) return undefined;
    if (!/^\d+$/.test(text)) return new EntryDefect(`a whole number in <${name}>, not "${text.slice(0, 40)}"`);
    return Number(text);
  };
  const counter = (meta: MetaFields | undefined) => {
    const packets = number(meta, 'packets');
    const bytes = number(meta, 'bytes');
    if (packets instanceof EntryDefect) return packets;
    if (bytes instanceof EntryDefect) return bytes;
    return packets === undefined ? undefined : { packets, bytes: bytes ?? 0 };
  };
  const originalMeta = flow.metas.get('original');
  const replyMeta = flow.metas.get('reply');
  const original = tuple(originalMeta);
  if (original instanceof EntryDefect) return original;
  const reply = tuple(replyMeta);
  if (reply instanceof EntryDefect) return reply;
  const entry: ConntrackDumpEntry = { original, reply, flags: [] };
  const independent = flow.metas.get('independent');
  const state = independent?.fields.get('state');
  if (state) entry.state = state;
  for (const name of ['timeout', 'mark', 'zone'] as const) {
    const value = number(independent, name);
    if (value instanceof EntryDefect) return value;
    if (value !== undefined) entry[name] = value;
  }
  const id = independent?.fields.get('id');
  if (id !== undefined) entry.id = id;
  for (const flag of ['assured', 'unreplied']) if (independent?.flags.has(flag)) entry.flags.push(flag.toUpperCase());
  const originalCounter = counter(originalMeta);
  if (originalCounter instanceof EntryDefect) return originalCounter;
  const replyCounter = counter(replyMeta);
  if (replyCounter instanceof EntryDefect) return replyCounter;
  if (originalCounter || replyCounter) entry.counters = { ...(originalCounter ? { original: originalCounter } : {}), ...(replyCounter ? { reply: replyCounter } : {}) };
  return entry;
}
