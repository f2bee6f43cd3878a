import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { ParseError } from '@natlens/agent-wire';
import { FIXTURES_DIR } from '../testing';
import { ConntrackDumpReader, parseConntrackDump, type ConntrackDumpEntry } from './conntrack-dump';
import { parseConntrackDumpWithRegex } from './regex-conntrack-dump.reference';

describe('parseConntrackDump', () => {
  // Both files are one `conntrack -L` of node3's table in the np-cluster lab, taken a second apart (fixtures/README.md).
  const text = parseConntrackDump(readFileSync(`${FIXTURES_DIR}/np-cluster-node3.conntrack-extended.txt`, 'utf8'));
  const xml = parseConntrackDump(readFileSync(`${FIXTURES_DIR}/np-cluster-node3.conntrack.xml`, 'utf8'));

  it('reads -o extended and -o xml of the same table to the same tuples', () => {
    expect(text.format).toBe('text');
    expect(xml.format).toBe('xml');
    expect(text.errors).toEqual([]);
    expect(xml.errors).toEqual([]);
    expect(text.entries).toHaveLength(9);
    const tuples = (entries: typeof text.entries) => entries.map((e) => ({ original: e.original, reply: e.reply, state: e.state })).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    expect(tuples(xml.entries)).toEqual(tuples(text.entries));
  });

  it('reads a NodePort entry of node3: DNAT to web-1 and SNAT to the node', () => {
    expect(text.entries[0]).toEqual({
      original: { src: '198.51.100.79', sport: 58504, dst: '198.18.0.13', dport: 30080, proto: 'tcp' },
      reply: { src: '198.19.1.11', sport: 8080, dst: '198.18.0.13', dport: 52595, proto: 'tcp' },
      state: 'TIME_WAIT',
      timeout: 104,
      mark: 0,
      flags: ['ASSURED'],
    });
    expect(xml.entries[0]).toMatchObject({ id: '3700733801', flags: ['ASSURED'] });
  });

  it('reads a portless protocol (IGMP, "unknown 2") with ports 0', () => {
    expect(text.entries.find((e) => e.original.proto === 'other')).toMatchObject({ original: { src: '198.19.3.1', dst: '224.0.0.22', sport: 0, dport: 0 }, flags: ['UNREPLIED'] });
  });

  it('reads counters, zone and id (format of `conntrack -L -o extended,id` with nf_conntrack_acct=1)', () => {
    const line =
      'ipv4     2 udp      17 29 src=198.51.100.79 dst=198.18.255.10 sport=5353 dport=53 packets=1 bytes=60 src=198.19.1.11 dst=198.51.100.79 sport=53 dport=5353 packets=1 bytes=120 mark=0 zone=3 use=1 id=1234\n';
    expect(parseConntrackDump(line).entries[0]).toEqual({
      original: { src: '198.51.100.79', sport: 5353, dst: '198.18.255.10', dport: 53, proto: 'udp' },
      reply: { src: '198.19.1.11', sport: 53, dst: '198.51.100.79', dport: 5353, proto: 'udp' },
      timeout: 29,
      counters: { original: { packets: 1, bytes: 60 }, reply: { packets: 1, bytes: 120 } },
      mark: 0,
      zone: 3,
      id: '1234',
      flags: [],
    });
  });

  it('reports bad lines with their byte offset and keeps the others', () => {
    const good = 'tcp      6 104 TIME_WAIT src=1.1.1.1 dst=2.2.2.2 sport=1 dport=2 src=2.2.2.2 dst=1.1.1.1 sport=2 dport=1 [ASSURED] mark=0 use=1\n';
    const dump = parseConntrackDump(`${good}garbage here\n${good.replace('sport=1 ', 'sport=70000 ')}${good}`);
    expect(dump.entries).toHaveLength(2);
    expect(dump.errors.map((e) => [e.offset, e instanceof ParseError])).toEqual([
      [good.length, true],
      [good.length + 'garbage here\n'.length, true],
    ]);
  });

  it('counts every error and lists the first ones only', () => {
    const dump = parseConntrackDump('garbage\n'.repeat(250), { maxErrors: 7 });
    expect(dump.errors.map((e) => e.offset)).toEqual([0, 8, 16, 24, 32, 40, 48]);
    expect(dump.errorCount).toBe(250);
  });
});

// The real fixtures (fixtures/README.md says how each was taken) read to the same entries and errors by the streaming
// reader as by the regex parser it replaced, whole and in chunks of any size.
describe.each(['np-cluster-node3.conntrack.xml', 'np-cluster-node3.conntrack-extended.txt', 'acct-zone-lo.conntrack.xml', 'acct-zone-lo.conntrack-extended-id.txt'])('%s: the streaming reader and the regex parser', (name) => {
  const bytes = readFileSync(`${FIXTURES_DIR}/${name}`);
  const before = parseConntrackDumpWithRegex(bytes.toString('utf8'));
  const plain = (errors: ParseError[]) => errors.map((e) => ({ offset: e.offset, message: e.message }));

  it('agree on the whole file', () => {
    const after = parseConntrackDump(bytes);
    expect(after.format).toBe(before.format);
    expect(after.entries.length).toBeGreaterThan(0);
    expect(after.entries).toEqual(before.entries);
    expect(plain(after.errors)).toEqual(plain(before.errors));
    expect(after.errorCount).toBe(0);
  });

  it.each([1, 2, 7, 64, 1000])('agree when it arrives in chunks of %i bytes', (size) => {
    const entries: ConntrackDumpEntry[] = [];
    const reader = new ConntrackDumpReader((entry) => entries.push(entry));
    for (let i = 0; i < bytes.length; i += size) reader.push(bytes.subarray(i, i + size));
    const summary = reader.end();
    expect(summary).toMatchObject({ format: before.format, errorCount: 0 });
    expect(entries).toEqual(before.entries);
  });
});

describe('acct-zone-lo: counters, zone and flags from a real table', () => {
  it('reads the UDP entry in zone 3 that was never answered the same from XML and from text', () => {
    const xml = parseConntrackDump(readFileSync(`${FIXTURES_DIR}/acct-zone-lo.conntrack.xml`));
    const text = parseConntrackDump(readFileSync(`${FIXTURES_DIR}/acct-zone-lo.conntrack-extended-id.txt`));
    const expected = {
      original: { src: '198.51.100.79', sport: 45412, dst: '203.0.113.10', dport: 5353, proto: 'udp' },
      reply: { src: '203.0.113.10', sport: 5353, dst: '198.51.100.79', dport: 45412, proto: 'udp' },
      timeout: 29,
      mark: 0,
      zone: 3,
      id: '156980282',
      counters: { original: { packets: 1, bytes: 29 }, reply: { packets: 0, bytes: 0 } },
      flags: ['UNREPLIED'],
    };
    expect(xml.entries[2]).toEqual(expected);
    expect(text.entries[2]).toEqual(expected);
  });
});

describe('the streaming text reader, property', () => {
  const good = fc
    .tuple(fc.ipV4(), fc.ipV4(), fc.integer({ min: 0, max: 70000 }), fc.integer({ min: 0, max: 65535 }), fc.constantFrom('tcp      6 104 TIME_WAIT', 'udp      17 29', 'ipv4     2 tcp      6 431999 ESTABLISHED', 'unknown  2 599'))
    .map(([a, b, sport, dport, head]) => `${head} src=${a} dst=${b} sport=${sport} dport=${dport} packets=1 bytes=60 src=${b} dst=${a} sport=${dport} dport=${sport} [ASSURED] mark=0 zone=2 use=1 id=7`);
  const junk = fc.string({ unit: fc.constantFrom(...'ab =[]\t\r0189.:', 'é', '→', '🙂'), maxLength: 60 });
  const chunked = (bytes: Buffer, cuts: number[]) => {
    const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((x, y) => x - y);
    return [...points, bytes.length].map((point, i, all) => bytes.subarray(i === 0 ? 0 : (all[i - 1] as number), point));
  };

  it('reads any text, in any chunks, to the entries and byte offsets of the regex parser it replaced', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(good, junk), { maxLength: 40 }), fc.boolean(), fc.array(fc.nat(), { maxLength: 10 }), (lines, trailingNewline, cuts) => {
        const text = lines.join('\n') + (trailingNewline ? '\n' : '');
        const before = parseConntrackDumpWithRegex(text);
        const entries: ConntrackDumpEntry[] = [];
        const reader = new ConntrackDumpReader((entry) => entries.push(entry), { maxErrors: 1000 });
        for (const chunk of chunked(Buffer.from(text), cuts)) reader.push(chunk);
        const after = reader.end();
        expect(after.format).toBe('text');
        expect(entries).toEqual(before.entries);
        expect(after.errors.map((e) => [e.offset, e.message])).toEqual(before.errors.map((e) => [e.offset, e.message]));
        expect(after.errorCount).toBe(before.errors.length);
      }),
      { numRuns: 300 },
    );
  });
});

