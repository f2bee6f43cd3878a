import fc from 'fast-check';
import type { ParseError } from '@natlens/agent-wire';
import { ConntrackDumpReader, parseConntrackXml, type ConntrackDumpEntry } from './conntrack-dump';

/** conntrack-tools' layout of one <flow> (as in fixtures/*.conntrack.xml), for generated documents. */
function flowXml(e: ConntrackDumpEntry): string {
  const protonum = { tcp: 6, udp: 17, sctp: 132, icmp: 1, icmpv6: 58, other: 2 }[e.original.proto];
  const protoname = e.original.proto === 'other' ? 'unknown' : e.original.proto;
  const ports = (t: ConntrackDumpEntry['original']) => (e.original.proto === 'tcp' || e.original.proto === 'udp' ? `<sport>${t.sport}</sport><dport>${t.dport}</dport>` : '');
  const meta = (direction: string, t: ConntrackDumpEntry['original'], c?: { packets: number; bytes: number }) =>
    `<meta direction="${direction}"><layer3 protonum="2" protoname="ipv4"><src>${t.src}</src><dst>${t.dst}</dst></layer3><layer4 protonum="${protonum}" protoname="${protoname}">${ports(t)}</layer4>${c ? `<counters><packets>${c.packets}</packets><bytes>${c.bytes}</bytes></counters>` : ''}</meta>`;
  const independent = `<meta direction="independent">${e.state ? `<state>${e.state}</state>` : ''}<timeout>${e.timeout}</timeout><mark>${e.mark}</mark>${e.zone !== undefined ? `<zone>${e.zone}</zone>` : ''}<use>1</use><id>${e.id}</id>${e.flags.map((f) => `<${f.toLowerCase()}/>`).join('')}</meta>`;
  return `<flow>${meta('original', e.original, e.counters?.original)}${meta('reply', e.reply, e.counters?.reply)}${independent}</flow>`;
}

const tuple = (proto: 'tcp' | 'udp' | 'other') =>
  fc.record({ src: fc.ipV4(), sport: proto === 'other' ? fc.constant(0) : fc.integer({ min: 0, max: 65535 }), dst: fc.ipV4(), dport: proto === 'other' ? fc.constant(0) : fc.integer({ min: 0, max: 65535 }), proto: fc.constant(proto) });
const counter = fc.record({ packets: fc.nat(), bytes: fc.nat() });
const anEntry: fc.Arbitrary<ConntrackDumpEntry> = fc.constantFrom('tcp' as const, 'udp' as const, 'other' as const).chain((proto) =>
  fc.record(
    {
      original: tuple(proto),
      reply: tuple(proto),
      state: fc.constantFrom('ESTABLISHED', 'TIME_WAIT', 'SYN_SENT'),
      timeout: fc.nat({ max: 432000 }),
      mark: fc.nat(),
      zone: fc.nat({ max: 65535 }),
      id: fc.nat().map(String),
      counters: fc.record({ original: counter, reply: counter }),
      flags: fc.subarray(['ASSURED', 'UNREPLIED']),
    },
    { requiredKeys: ['original', 'reply', 'timeout', 'mark', 'id', 'flags'] },
  ),
);

/** A document part and what the reader must make of it: an entry, an error at the part's first byte, both, or nothing. */
type Part = { xml: string; entry?: ConntrackDumpEntry; error?: true };
const aPart: fc.Arbitrary<Part> = fc.oneof(
  { weight: 4, arbitrary: anEntry.map((entry) => ({ xml: `${flowXml(entry)}\n`, entry })) },
  // a flow cut short at a tag boundary, then a good one: the cut one is reported at its <flow> when the next begins
  {
    weight: 2,
    arbitrary: fc.tuple(anEntry, anEntry).chain(([cut, entry]) => {
      const xml = flowXml(cut);
      const ends = [...xml.matchAll(/>/g)].map((m) => (m.index as number) + 1).filter((end) => end < xml.length);
      return fc.constantFrom(...ends).map((end) => ({ xml: `${xml.slice(0, end)}\n${flowXml(entry)}`, entry, error: true as const }));
    }),
  },
  // a flow without its reply tuple
  { weight: 1, arbitrary: anEntry.map((entry) => ({ xml: flowXml(entry).replace(/<meta direction="reply">.*?<\/meta>/, ''), error: true as const })) },
  // a </flow> with no <flow>
  { weight: 1, arbitrary: fc.constant({ xml: '</flow>', error: true as const }) },
  // text between flows, with characters of several bytes in UTF-8: offsets are bytes, not characters
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }).map((text) => ({ xml: text.replace(/[<>]/g, '') })) },
);

/** Splits bytes at the given cut points (sorted, deduplicated), as a stream's chunks would arrive. */
function chunksOf(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(from, point));
    from = point;
  }
  return chunks;
}

function read(chunks: Buffer[], maxErrors?: number) {
  const entries: ConntrackDumpEntry[] = [];
  const reader = new ConntrackDumpReader((entry) => entries.push(entry), { format: 'xml', ...(maxErrors !== undefined ? { maxErrors } : {}) });
  for (const chunk of chunks) reader.push(chunk);
  return { entries, ...reader.end() };
}

const plain = (errors: ParseError[]) => errors.map((e) => ({ offset: e.offset, message: e.message }));

describe('ConntrackXmlReader (through ConntrackDumpReader)', () => {
  it('reads every good flow and reports each damaged part at its first byte, whatever the chunking', () => {
    fc.assert(
      fc.property(fc.array(aPart, { maxLength: 30 }), fc.array(fc.nat(), { maxLength: 12 }), (parts, cuts) => {
        const prefix = '<?xml version="1.0" encoding="utf-8"?>\n<conntrack>\n';
        let offset = Buffer.byteLength(prefix);
        const expectedErrors: number[] = [];
        for (const part of parts) {
          if (part.error) expectedErrors.push(offset);
          offset += Buffer.byteLength(part.xml);
        }
        const bytes = Buffer.from(`${prefix}${parts.map((p) => p.xml).join('')}</conntrack>\n`);
        const result = read(chunksOf(bytes, cuts), 1000);
        expect(result.entries).toEqual(parts.flatMap((p) => (p.entry ? [p.entry] : [])));
        expect(result.errors.map((e) => e.offset)).toEqual(expectedErrors);
        expect(result.errorCount).toBe(expectedErrors.length);
        for (const offset of expectedErrors) expect(bytes[offset]).toBe(0x3c); // '<'
      }),
      { numRuns: 200 },
    );
  });

  it('never throws on any bytes, keeps at most maxErrors, counts them all, and points inside the input', () => {
    const tagSoup = fc
      .array(fc.constantFrom('<flow>', '</flow>', '<meta direction="original">', '<meta direction="reply">', '</meta>', '<src>', '</src>', '198.51.100.1', '<dport>', '99999', '</dport>', '<', '>', '<<', '/>', '<assured/>', '"', 'é', '\u0000', '<?xml', '<!--', ' '), { maxLength: 200 })
      .map((parts) => Buffer.from(parts.join('')));
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 2000 }).map((a) => Buffer.from(a)), tagSoup), fc.array(fc.nat(), { maxLength: 8 }), fc.integer({ min: 0, max: 5 }), (bytes, cuts, maxErrors) => {
        const result = read(chunksOf(bytes, cuts), maxErrors);
        expect(result.errors.length).toBeLessThanOrEqual(maxErrors);
        expect(result.errorCount).toBeGreaterThanOrEqual(result.errors.length);
        for (const error of result.errors) {
          expect(error.offset).toBeGreaterThanOrEqual(0);
          expect(error.offset).toBeLessThanOrEqual(Math.max(0, bytes.length - 1));
        }
        // the same bytes in one piece: the same outcome
        const whole = read([bytes], maxErrors);
        expect(plain(whole.errors)).toEqual(plain(result.errors));
        expect(whole.entries).toEqual(result.entries);
        expect(whole.errorCount).toBe(result.errorCount);
      }),
      { numRuns: 300 },
    );
  });

  it.each([
    ['a tag never closed', '<conntrack><flow><meta direction="original"', [[17, /'>' closing the tag before the end/], [11, /<\/flow> before the end/]]],
    ['a tag longer than any conntrack writes', `<conntrack><flow${'x'.repeat(2000)}>`, [[11, /a tag of at most 1024 bytes/]]],
    ['a port out of range', '<conntrack><flow><meta direction="original"><src>a</src><dst>b</dst><layer4 protoname="tcp"><sport>70000</sport></layer4></meta><meta direction="reply"><src>b</src><dst>a</dst></meta></flow>', [[11, /a port 0-65535, not "70000"/]]],
    ['a timeout that is no number', `<conntrack>${flowXmlWith('<timeout>soon</timeout>')}`, [[11, /a whole number in <timeout>, not "soon"/]]],
    ['not conntrack XML at all', '<html></html>', [[0, /a <conntrack> document/]]],
  ])('reports %s with its offset', (_name, text, expected) => {
    const dump = parseConntrackXml(text);
    expect(dump.errors.map((e) => [e.offset, e.message])).toEqual(expected.map(([offset, message]) => [offset, expect.stringMatching(message as RegExp)]));
  });

  it('reads 10 MB of unclosed <flow> tags in linear time, listing 100 errors and counting all', () => {
    const time = (megabytes: number) => {
      const bytes = Buffer.from(`<?xml version="1.0"?>\n<conntrack>\n${'<flow>'.repeat(Math.floor((megabytes * 1e6) / 6))}`);
      const started = process.hrtime.bigint();
      const dump = parseConntrackXml(bytes);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      expect(dump.errors).toHaveLength(100);
      expect(dump.errorCount).toBe(Math.floor((megabytes * 1e6) / 6));
      return ms;
    };
    time(1); // warm up
    const one = time(1);
    const ten = time(10);
    // Linear: ten times the bytes, about ten times the time (quadratic would be a hundred). Generous for a busy machine.
    expect(ten).toBeLessThan(Math.max(one, 5) * 30);
    expect(ten).toBeLessThan(30_000); // the regex parser took 6.5 s for 144 KB of these on this machine
  });
});

function flowXmlWith(independent: string): string {
  return `<flow><meta direction="original"><src>198.51.100.1</src><dst>203.0.113.1</dst></meta><meta direction="reply"><src>203.0.113.1</src><dst>198.51.100.1</dst></meta><meta direction="independent">${independent}</meta></flow>`;
}
