import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { decodePacket } from '../decode/packet';
import { ParseError } from '@natlens/agent-wire';
import { FIXTURES_DIR, pcapFile } from '../testing';
import { CaptureReader, readCapture, type CaptureRecord, type CaptureVisitor } from './capture-reader';
import { splitTimestamp } from './pcapng-format';

const fixture = (name: string) => readFileSync(`${FIXTURES_DIR}/${name}`);
const sll = fixture('np-cluster-node3-any-sll.pcap'); // 40 records, microsecond, little-endian
const pcapng = fixture('np-cluster-node3-any-sll2.pcapng'); // SHB, IDB, unknown block, SPB, 40 EPBs
const SHB_LENGTH = pcapng.readUInt32LE(4);

/** Offsets of the records of a pcap file, walked by hand (little-endian). */
function pcapRecordOffsets(file: Buffer): number[] {
  const offsets: number[] = [];
  for (let o = 24; o + 16 <= file.length; o += 16 + file.readUInt32LE(o + 8)) offsets.push(o);
  return offsets;
}

function summary(records: CaptureRecord[]): string[] {
  return records.map((r) => `${r.offset}:${r.seconds}.${r.nanoseconds}:${r.frame.toString('hex')}`);
}

describe('CaptureReader: the containers', () => {
  it.each([
    ['pcap, µs, little-endian', 'np-cluster-node3-any-sll.pcap', 'pcap', 1795316711, 300443000],
    ['pcap, ns, little-endian', 'np-cluster-node3-eth0-nano.pcap', 'pcap', 1795316704, 64671460],
    ['pcap, ns, big-endian', 'np-cluster-node3-eth0-nano.be.pcap', 'pcap', 1795316704, 64671460],
    ['pcapng, big-endian, if_tsresol 9', 'np-cluster-node3-eth0-nano.be.pcapng', 'pcapng', 1795316704, 64671460],
  ])('%s: format and the first timestamp to the nanosecond', (_name, file, format, seconds, nanoseconds) => {
    const result = readCapture(fixture(file));
    expect(result.format).toBe(format);
    expect(result.records[0]).toMatchObject({ seconds, nanoseconds });
  });

  it('reads pcapng SPBs (no timestamp) and skips blocks of unknown type', () => {
    const { records, errors } = readCapture(pcapng);
    expect(errors).toEqual([]);
    expect(records[0]).toMatchObject({ seconds: 0, nanoseconds: 0, interfaceId: 0, linkType: 276 });
    expect(records[0]?.frame.equals(records[1]?.frame as Buffer)).toBe(true);
  });

  it('gives the same records from a stream in chunks of any size as from the whole file', () => {
    for (const file of [sll, pcapng, fixture('np-cluster-node3-eth0-nano.be.pcapng')]) {
      const whole = summary(readCapture(file).records);
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 1, max: 600 }), { minLength: 1, maxLength: 40 }), (sizes) => {
          const reader = new CaptureReader();
          const records: CaptureRecord[] = [];
          const errors: ParseError[] = [];
          const visitor: CaptureVisitor = { packet: (r) => records.push(r), error: (e) => errors.push(e) };
          let at = 0;
          for (let i = 0; at < file.length; i++) {
            const size = sizes[i % sizes.length] as number;
            reader.push(file.subarray(at, at + size), visitor);
            at += size;
          }
          reader.end(visitor);
          expect(errors).toEqual([]);
          expect(summary(records)).toEqual(whole);
        }),
        { numRuns: 30 },
      );
    }
  });

  it('splits timestamps exactly for every resolution', () => {
    expect(splitTimestamp(0x0660_0000, 0x1234_5678, 1e9)).toEqual({ seconds: Math.floor((0x0660_0000 * 2 ** 32 + 0x1234_5678) / 1e9), nanoseconds: Number(((0x0660_0000n << 32n) | 0x1234_5678n) % 1_000_000_000n) });
    expect(splitTimestamp(0, 1_500_000, 1e6)).toEqual({ seconds: 1, nanoseconds: 500_000_000 });
    expect(splitTimestamp(0, 3, 4)).toEqual({ seconds: 0, nanoseconds: 750_000_000 }); // 2^-2 resolution
  });
});

describe('CaptureReader: malformed files', () => {
  const offsets = pcapRecordOffsets(sll);
  const third = offsets[2] as number;

  const cases: [string, () => Buffer, { errors: [number, RegExp][]; records: number }][] = [
    ['empty file', () => Buffer.alloc(0), { errors: [[0, /pcap file header/]], records: 0 }],
    ['wrong magic', () => Buffer.concat([Buffer.from('deadbeef', 'hex'), sll.subarray(4)]), { errors: [[0, /magic/]], records: 0 }],
    ['file header cut at 20 bytes', () => sll.subarray(0, 20), { errors: [[20, /24 bytes/]], records: 0 }],
    ['snap length 0 (absurd): reported, every record still read', () => withUInt32LE(sll, 16, 0), { errors: [[16, /snap length/]], records: 40 }],
    ['snap length 2^31 (absurd)', () => withUInt32LE(sll, 16, 0x8000_0000), { errors: [[16, /snap length/]], records: 40 }],
    ['last record cut in its data', () => sll.subarray(0, sll.length - 10), { errors: [[sll.length - 10, /the file ends first/]], records: 39 }],
    ['last record cut in its header', () => sll.subarray(0, (offsets[39] as number) + 7), { errors: [[(offsets[39] as number), /16-byte record header/]], records: 39 }],
    [
      'a captured length of 2^30 in the third record: it is lost, the rest is read',
      () => withUInt32LE(sll, third + 8, 0x4000_0000),
      { errors: [[third + 8, /captured length of at most/]], records: 39 },
    ],
    [
      // a bit flip in the length (seen by the property below): read as it claims, it swallowed the next four records
      'a captured length grown past the original length in the third record: only that record is lost',
      () => withUInt32LE(sll, third + 8, sll.readUInt32LE(third + 8) + 512),
      { errors: [[third + 8, /at most the original length/]], records: 39 },
    ],
    [
      'a captured length running past the end of the file in the third record',
      () => withUInt32LE(sll, third + 8, sll.length),
      { errors: [[sll.length, /the file ends first/]], records: 39 },
    ],
    // the IDB is lost, so no packet block has an interface: each is reported, none is invented
    ['pcapng: block length not a multiple of 4 in the IDB', () => withUInt32LE(pcapng, SHB_LENGTH + 4, 0x33), { errors: [[SHB_LENGTH + 4, /multiple of 4/], [-1, /interface id below 0/]], records: 0 }],
    ['pcapng: last EPB cut short', () => pcapng.subarray(0, pcapng.length - 30), { errors: [[pcapng.length - 30, /the file ends first/]], records: 40 }],
    // the section header is unreadable; the blocks after it are found again (in the default little-endian order)
    ['pcapng: bad byte-order magic', () => withUInt32LE(pcapng, 8, 0x11223344), { errors: [[8, /byte-order magic/]], records: 41 }],
  ];

  it.each(cases)('%s', (_name, make, expected) => {
    const { records, errors } = readCapture(make());
    expect(records).toHaveLength(expected.records);
    expect(errors.length).toBeGreaterThanOrEqual(expected.errors.length);
    expected.errors.forEach(([offset, message], i) => {
      const error = errors[i] as ParseError;
      expect(error).toBeInstanceOf(ParseError);
      if (offset >= 0) expect(error.offset).toBe(offset);
      expect(error.message).toMatch(message);
    });
  });

  it('a corrupted block length in the middle of a pcapng costs that block only', () => {
    const blocks: number[] = [];
    for (let o = 0; o + 8 <= pcapng.length; o += pcapng.readUInt32LE(o + 4)) blocks.push(o);
    const tenth = blocks[10] as number;
    const { records, errors } = readCapture(withUInt32LE(pcapng, tenth + 4, 0x0fff_0000));
    expect(records).toHaveLength(40);
    expect(errors[0]?.offset).toBe(tenth + 4);
  });
});

describe('CaptureReader: properties over hostile bytes', () => {
  const files = [sll, pcapng, fixture('np-cluster-node3-eth0-nano.be.pcapng'), fixture('vlan-tagged.pcap')];
  const decodeAll = (file: Buffer) => {
    const { records, errors } = readCapture(file);
    for (const r of records) {
      try {
        decodePacket(r.linkType, r.frame);
      } catch (err) {
        if (!(err instanceof ParseError)) throw err;
      }
    }
    return { records, errors };
  };

  it('random bytes: only ParseErrors, never an exception or a hang', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), fc.constantFrom(Buffer.alloc(0), sll.subarray(0, 24), pcapng.subarray(0, 32)), (random, prefix) => {
        const { errors } = decodeAll(Buffer.concat([prefix, Buffer.from(random)]));
        for (const e of errors) expect(e).toBeInstanceOf(ParseError);
      }),
      { numRuns: 500 },
    );
  });

  it('truncation anywhere: every record before the cut is still read', () => {
    fc.assert(
      fc.property(fc.constantFrom(...files), fc.double({ min: 0, max: 1, noNaN: true }), (file, where) => {
        const cut = Math.floor(file.length * where);
        const whole = readCapture(file).records;
        const { records } = decodeAll(file.subarray(0, cut));
        const complete = whole.filter((r) => r.frameOffset + r.frame.length <= cut && r.offset + 4 <= cut);
        // pcapng blocks end with a 4-byte trailer after the frame: a block cut there is lost, everything before is kept
        expect(records.length).toBeGreaterThanOrEqual(complete.length - 1);
        expect(summary(records.slice(0, complete.length - 1))).toEqual(summary(complete.slice(0, complete.length - 1)));
      }),
      { numRuns: 300 },
    );
  });

  it('bit flips: only ParseErrors, and at most a few records lost per flip', () => {
    fc.assert(
      fc.property(fc.constantFrom(...files), fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 4 }), (file, flips) => {
        const damaged = Buffer.from(file);
        for (const [where, bit] of flips) {
          const at = Math.floor(where * damaged.length);
          damaged[at] = (damaged[at] as number) ^ (1 << bit);
        }
        const { records, errors } = decodeAll(damaged);
        for (const e of errors) expect(e).toBeInstanceOf(ParseError);
        const headerHit = flips.some(([where]) => Math.floor(where * damaged.length) < 32);
        if (!headerHit) expect(records.length).toBeGreaterThanOrEqual(readCapture(file).records.length - 3 * flips.length);
      }),
      { numRuns: 300 },
    );
  });

  it('a pcap of 1,000 built packets decodes every one', () => {
    const specs = Array.from({ length: 1000 }, (_, i) => ({ src: '198.51.100.79', dst: '198.18.0.11', sport: 1024 + i, dport: 30080, seq: i }));
    const { records, errors } = readCapture(pcapFile(specs));
    expect(errors).toEqual([]);
    expect(records.map((r) => decodePacket(r.linkType, r.frame).tcp?.sport)).toEqual(specs.map((s) => s.sport));
  });
});

function withUInt32LE(file: Buffer, offset: number, value: number): Buffer {
  const copy = Buffer.from(file);
  copy.writeUInt32LE(value, offset);
  return copy;
}
