import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { ParseError } from '@natlens/agent-wire';
import { readCapture, type CaptureRecord } from './capture-reader';
import { readLivePcap } from './live-pcap-stream';

const FIXTURES = join(__dirname, '..', 'fixtures');
const fixture = (name: string): Buffer => readFileSync(join(FIXTURES, name));

/** Plays `bytes` into the live reader in `chunk`-byte writes, as a pipe from tcpdump delivers them. */
async function play(bytes: Buffer, chunk = 333): Promise<{ records: CaptureRecord[]; errors: ParseError[]; destroyed: boolean }> {
  const stream = new PassThrough();
  const records: CaptureRecord[] = [];
  const errors: ParseError[] = [];
  const ended = new Promise<void>((resolve) => {
    readLivePcap(stream, { packet: (r) => records.push({ ...r, frame: Buffer.from(r.frame) }), error: (e) => errors.push(e), end: resolve });
  });
  for (let at = 0; at < bytes.length && !stream.destroyed; at += chunk) {
    stream.write(bytes.subarray(at, at + chunk));
    await new Promise((resolve) => setImmediate(resolve));
  }
  if (!stream.destroyed) stream.end();
  await ended;
  return { records, errors, destroyed: stream.destroyed };
}

const comparable = (r: CaptureRecord) => ({ offset: r.offset, frameOffset: r.frameOffset, linkType: r.linkType, seconds: r.seconds, nanoseconds: r.nanoseconds, originalLength: r.originalLength, frame: r.frame.toString('hex') });

describe('readLivePcap (pcap-parser) on the microsecond pcap captures tcpdump -w - writes', () => {
  // The lab captures of libs/agent/pcap/src/fixtures (README.md there says how each was made), in the format
  // `tcpdump -w -` writes: classic pcap, microsecond timestamps, this machine's byte order.
  it.each([
    ['np-cluster-node1-eth0-xff.pcap', 1],
    ['lb-proxy-protocol-node1-any.pcap', 276],
    ['np-cluster-node3-any-sll.pcap', 113],
    ['np-cluster-node3-any-sll2.pcap', 276],
    ['np-local-node3-any-drop.pcap', 276],
    ['veth-ipv6-udp-fragments.pcap', 1],
    ['vlan-tagged.pcap', 1],
  ])('%s: the same records, offsets and link type (%i) as the file reader', async (name, linkType) => {
    const bytes = fixture(name);
    const expected = readCapture(bytes);
    expect(expected.errors).toEqual([]);
    for (const chunk of [1, 333, bytes.length]) {
      const live = await play(bytes, chunk);
      expect(live.errors).toEqual([]);
      expect(live.records.map(comparable)).toEqual(expected.records.map(comparable));
      expect(live.records[0]?.linkType).toBe(linkType);
    }
  });
});

describe('what pcap-parser cannot read, which is why imported files go through CaptureReader', () => {
  it.each([
    ['np-cluster-node3-eth0-nano.pcap', 'nanosecond pcap'],
    ['np-cluster-node3-eth0-nano.be.pcapng', 'pcapng'],
    ['np-cluster-node3-any-sll2.pcapng', 'pcapng'],
  ])('%s (%s) is refused at its header with an error that says what was expected', async (name) => {
    const live = await play(fixture(name));
    expect(live.records).toEqual([]);
    expect(live.errors).toHaveLength(1);
    expect(live.errors[0]?.offset).toBe(0);
    expect(live.errors[0]?.message).toMatch(/microsecond pcap stream as tcpdump -w - writes \(unknown magic number/);
    // CaptureReader reads them whole.
    expect(readCapture(fixture(name)).errors).toEqual([]);
  });

  it('a record with a corrupted captured length: reported at its offset and the stream given up, the records before it kept', async () => {
    const bytes = Buffer.from(fixture('np-cluster-node1-eth0-xff.pcap'));
    const records = readCapture(bytes).records;
    const victim = records[5] as CaptureRecord;
    bytes.writeUInt32LE(0x7fffffff, victim.offset + 8); // captured length
    const live = await play(bytes);
    expect(live.records.map(comparable)).toEqual(records.slice(0, 5).map(comparable));
    expect(live.errors.map((e) => e.offset)).toEqual([victim.offset + 8]);
    expect(live.errors[0]?.message).toMatch(/captured length of at most 262144, not 2147483647/);
    expect(live.destroyed).toBe(true);
    // The file reader steps over the damaged record and goes on.
    const file = readCapture(bytes);
    expect(file.records.length).toBeGreaterThan(records.length - 3);
    expect(file.errors.length).toBeGreaterThan(0);
  });

  it('a stream that ends inside a record says so', async () => {
    const bytes = fixture('np-cluster-node1-eth0-xff.pcap');
    const records = readCapture(bytes).records;
    const cut = (records[3] as CaptureRecord).frameOffset + 10;
    const live = await play(bytes.subarray(0, cut));
    expect(live.records).toHaveLength(3);
    expect(live.errors.map((e) => e.offset)).toEqual([(records[3] as CaptureRecord).offset]);
    expect(live.errors[0]?.message).toMatch(/the stream ended inside it/);
  });
});

describe('properties over malformed streams', () => {
  const good = fixture('np-cluster-node3-any-sll.pcap');
  const goodRecords = readCapture(good).records.map(comparable);

  it('random bytes: never throws, always ends, every error has an offset inside the stream', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), fc.integer({ min: 1, max: 97 }), async (bytes, chunk) => {
        const live = await play(Buffer.from(bytes), chunk);
        for (const e of live.errors) expect(e.offset).toBeLessThanOrEqual(bytes.length);
        if (bytes.length > 0 && live.records.length === 0) expect(live.errors.length).toBeGreaterThan(0);
      }),
      { numRuns: 200 },
    );
  });

  it('a truncated capture: the whole records before the cut, then one error unless the cut falls between records', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: good.length }), async (cut) => {
        const live = await play(good.subarray(0, cut), 211);
        expect(live.records.map(comparable)).toEqual(goodRecords.slice(0, live.records.length));
        const atBoundary = cut === 0 || cut === 24 || goodRecords.some((r) => r.offset === cut) || cut === good.length;
        expect(live.errors).toHaveLength(atBoundary ? 0 : 1);
      }),
      { numRuns: 150 },
    );
  });

  it('bit flips: never throws, always ends, and records before the first flipped byte are the file reader\'s', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: good.length - 1 }), fc.integer({ min: 0, max: 7 }), async (at, bit) => {
        const bytes = Buffer.from(good);
        bytes[at] = (bytes[at] as number) ^ (1 << bit);
        const live = await play(bytes, 157);
        const untouched = goodRecords.filter((r) => r.offset + 16 + r.frame.length / 2 <= at);
        expect(live.records.slice(0, untouched.length).map(comparable)).toEqual(untouched);
      }),
      { numRuns: 150 },
    );
  });
});
