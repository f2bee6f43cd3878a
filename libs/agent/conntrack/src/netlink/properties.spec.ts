import { ParseError } from '@natlens/agent-wire';
import fc from 'fast-check';
import { formatAttribute, formatNestedAttribute } from './attributes';
import { parseConntrackMessages } from './conntrack-messages';
import { CAPTURED } from './fixtures/captured';
import { formatConntrackEntry } from './format-conntrack';
import { NLMSG_HDRLEN } from './netlink-constants';
import { formatNetlinkHeader } from './netlink-message';

/*
 * Whatever arrives on the socket, the codec answers with messages or ParseErrors: never another exception, never a
 * hang. Inputs: random bytes, random attributes behind a valid header, and the real captured datagrams truncated
 * at every length and with bits flipped.
 */

const datagrams = CAPTURED.map((fixture) => Buffer.from(fixture.hex, 'hex'));

/** Runs both modes and checks the contract; returns how the strict mode ended. */
function checkContract(buf: Buffer): 'parsed' | 'rejected' {
  const collected = parseConntrackMessages(buf, { mode: 'collect' }); // must not throw at all
  for (const error of collected.errors) {
    expect(error).toBeInstanceOf(ParseError);
    expect(error.offset).toBeGreaterThanOrEqual(0);
    expect(error.offset).toBeLessThanOrEqual(buf.length);
  }
  // Every message takes at least a header, so a bounded count is the proof the loop advanced.
  expect(collected.messages.length + collected.errors.length).toBeLessThanOrEqual(Math.ceil(buf.length / NLMSG_HDRLEN));
  try {
    const strict = parseConntrackMessages(buf);
    expect(collected.errors).toEqual([]);
    expect(strict.messages).toEqual(collected.messages);
    return 'parsed';
  } catch (error) {
    expect(error).toBeInstanceOf(ParseError);
    expect(collected.errors[0]).toEqual(error);
    return 'rejected';
  }
}

describe('parseConntrackMessages never throws anything but ParseError', () => {
  it('on random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => void checkContract(Buffer.from(bytes))), { numRuns: 2000 });
  });

  it('on random attributes behind a valid ctnetlink header (reaching the entry decoder)', () => {
    const ctnetlinkMessage = fc
      .record({
        type: fc.constantFrom(0x0100, 0x0102, 0x0101, 0x0002, 0x0003),
        flags: fc.constantFrom(0, 0x0002, 0x0600),
        family: fc.constantFrom(2, 10, 0, 7),
        attributes: fc.uint8Array({ maxLength: 400 }),
      })
      .map(({ type, flags, family, attributes }) => {
        const length = NLMSG_HDRLEN + 4 + attributes.length;
        const header = formatNetlinkHeader({ length, type, flags, seq: 0, pid: 0 });
        return Buffer.concat([header, Buffer.from([family, 0, 0, 0]), Buffer.from(attributes)]);
      });
    fc.assert(fc.property(ctnetlinkMessage, (buf) => void checkContract(buf)), { numRuns: 3000 });
  });

  it('on random attribute trees of plausible sizes behind a valid ctnetlink header (reaching the field decoders)', () => {
    const sizes = fc.constantFrom(0, 1, 2, 4, 8, 16).chain((size) => fc.uint8Array({ minLength: size, maxLength: size }));
    const tree = fc.letrec<{ attribute: Buffer }>((tie) => ({
      attribute: fc.oneof(
        { depthSize: 'small' },
        fc.tuple(fc.integer({ min: 0, max: 28 }), sizes).map(([type, payload]) => formatAttribute(type, Buffer.from(payload))),
        fc.tuple(fc.integer({ min: 0, max: 28 }), fc.array(tie('attribute'), { maxLength: 4 })).map(([type, children]) => formatNestedAttribute(type, children)),
      ),
    })).attribute;
    const entry = formatConntrackEntry({
      event: 'new',
      family: 'ipv4',
      original: { src: '198.18.0.2', dst: '198.18.0.1', proto: 'udp', sport: 1, dport: 2 },
      reply: { src: '198.18.0.1', dst: '198.18.0.2', proto: 'udp', sport: 2, dport: 1 },
    });
    let parsed = 0;
    fc.assert(
      fc.property(fc.array(tree, { maxLength: 6 }), (attributes) => {
        const extra = Buffer.concat(attributes);
        const buf = Buffer.concat([entry, extra]);
        buf.writeUInt32LE(entry.length + extra.length, 0); // nlmsg_len covers the extra attributes
        if (checkContract(buf) === 'parsed') parsed++;
      }),
      { numRuns: 3000 },
    );
    expect(parsed).toBeGreaterThan(100); // not vacuous: many trees are read, not all refused
  });

  it('on every truncation of every captured datagram', () => {
    let rejected = 0;
    for (const datagram of datagrams) {
      for (let length = 0; length < datagram.length; length++) {
        if (checkContract(datagram.subarray(0, length)) === 'rejected') rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(0); // the property is not vacuous: cut datagrams are refused
  });

  it('on captured datagrams with one bit flipped', () => {
    const flipped = fc
      .record({ which: fc.nat({ max: datagrams.length - 1 }), position: fc.nat(), bit: fc.nat({ max: 7 }) })
      .map(({ which, position, bit }) => {
        const copy = Buffer.from(datagrams[which] ?? Buffer.alloc(0));
        const index = position % Math.max(copy.length, 1);
        if (copy.length > 0) copy.writeUInt8((copy[index] ?? 0) ^ (1 << bit), index);
        return copy;
      });
    fc.assert(fc.property(flipped, (buf) => void checkContract(buf)), { numRuns: 5000 });
  });

  it('on captured datagrams with several bytes overwritten', () => {
    const mangled = fc
      .record({ which: fc.nat({ max: datagrams.length - 1 }), writes: fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { minLength: 1, maxLength: 8 }) })
      .map(({ which, writes }) => {
        const copy = Buffer.from(datagrams[which] ?? Buffer.alloc(0));
        for (const [position, value] of writes) if (copy.length > 0) copy.writeUInt8(value, position % copy.length);
        return copy;
      });
    fc.assert(fc.property(mangled, (buf) => void checkContract(buf)), { numRuns: 3000 });
  });

  it('the captured kernel datagrams themselves all parse strictly; the tool request is not a kernel message', () => {
    const verdicts = CAPTURED.map((fixture) => [fixture.name, checkContract(Buffer.from(fixture.hex, 'hex'))]);
    expect(verdicts.filter(([, verdict]) => verdict === 'rejected')).toEqual([['tool-dump-request-ipv6', 'rejected']]);
  });
});
