import fc from 'fast-check';
import { ParseError } from '@natlens/agent-wire';
import { decodeEvent, decodeEventBatch } from './decode-events';
import type { EbpfEvent } from './ebpf-event';
import { EVENT_LAYOUT, EVENT_SIZE } from './event-layout';
import { formatEvent, formatEventBatch } from './format-event';

/*
 * The decoder over bytes: a record the kernel wrote, the encoder's round trip, an error table, and fast-check over
 * random bytes (any input gives events and ParseErrors, never another exception).
 */

// Captured on kernel 6.18 with src/loader/probe/ebpf-probe.ts (its `raw` field): the first packet of a connection
// 198.18.202.1:36803 → 198.18.202.2:80, DNAT'd to 198.18.202.1:18080 and SNAT'd to 198.18.202.3, seen at
// POST_ROUTING before conntrack confirmed it (status 0x1b0: SRC_NAT, DST_NAT and both NAT_DONE bits, not yet CONFIRMED).
const CAPTURED_NEW = Buffer.from(
  '31884d8b630c000000f638128188ffff510100f0b0010000000000000000010102060100c612ca01000000000000000000000000c612ca020000000000000000000000008fc30050c612ca01000000000000000000000000c612ca0300000000000000000000000046a08fc300000000',
  'hex',
);

const SAMPLE: EbpfEvent = {
  kind: 'new',
  origin: 'post-routing',
  ktimeNs: 13621678409777,
  connCookie: 8875812215911936,
  netns: 4026532177,
  status: 432,
  mark: 0,
  zone: 0,
  family: 4,
  protocol: 6,
  tcpState: 1,
  dropReason: 0,
  original: { src: '198.18.202.1', sport: 36803, dst: '198.18.202.2', dport: 80 },
  reply: { src: '198.18.202.1', sport: 18080, dst: '198.18.202.3', dport: 36803 },
};

const tupleArb = (family: 4 | 6) =>
  fc.record({
    src: family === 4 ? fc.ipV4() : fc.constantFrom('2001:2::1', '2001:2:7::a', 'fe80::1:2', '::1'),
    sport: fc.integer({ min: 0, max: 65535 }),
    dst: family === 4 ? fc.ipV4() : fc.constantFrom('2001:2::2', '2001:2:7::b', '::'),
    dport: fc.integer({ min: 0, max: 65535 }),
  });

const eventArb: fc.Arbitrary<EbpfEvent> = fc.constantFrom<4 | 6>(4, 6).chain((family) =>
  fc.record({
    kind: fc.constantFrom('new', 'end', 'drop', 'nat-failure'),
    origin: fc.constantFrom('post-routing', 'local-in', 'fexit', 'kfree-skb'),
    ktimeNs: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    connCookie: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    netns: fc.integer({ min: 0, max: 0xffffffff }),
    status: fc.integer({ min: 0, max: 0xffffffff }),
    mark: fc.integer({ min: 0, max: 0xffffffff }),
    zone: fc.integer({ min: 0, max: 0xffff }),
    family: fc.constant(family),
    protocol: fc.integer({ min: 0, max: 255 }),
    tcpState: fc.integer({ min: 0, max: 255 }),
    dropReason: fc.integer({ min: 0, max: 255 }),
    original: tupleArb(family),
    reply: tupleArb(family),
  }),
);

describe('decodeEvent', () => {
  it('reads a record the kernel wrote', () => {
    expect(CAPTURED_NEW).toHaveLength(EVENT_SIZE);
    expect(decodeEvent(CAPTURED_NEW, 0)).toEqual(SAMPLE);
  });

  it('formats the captured record back to the same bytes, but for the cookie bits the decoder drops', () => {
    const kept = Buffer.from(CAPTURED_NEW);
    kept.writeUInt32LE(kept.readUInt32LE(EVENT_LAYOUT.conn_cookie + 4) & 0x1fffff, EVENT_LAYOUT.conn_cookie + 4); // bits 53-63
    expect(formatEvent(SAMPLE).toString('hex')).toBe(kept.toString('hex'));
  });

  it('writes IPv6 addresses in RFC 5952 form', () => {
    const v6: EbpfEvent = { ...SAMPLE, family: 6, original: { src: '2001:2:7::a', sport: 1, dst: '2001:2::1', dport: 80 }, reply: { src: '2001:2::1', sport: 80, dst: '2001:2:7::a', dport: 1 } };
    expect(decodeEvent(formatEvent(v6), 0)).toEqual(v6);
  });

  it.each([
    ['an unknown kind', EVENT_LAYOUT.kind, 9, EVENT_LAYOUT.kind, 'an event kind (1 new, 2 end, 3 drop, 4 nat-failure)'],
    ['an unknown origin', EVENT_LAYOUT.origin, 0, EVENT_LAYOUT.origin, 'an event origin (1-4)'],
    ['an unknown family', EVENT_LAYOUT.family, 7, EVENT_LAYOUT.family, 'AF_INET (2) or AF_INET6 (10)'],
  ])('rejects %s with the offset of the bad byte', (_name, at, value, offset, expected) => {
    const bad = Buffer.from(CAPTURED_NEW);
    bad[at] = value;
    expect(() => decodeEvent(bad, 0)).toThrow(ParseError);
    expect(() => decodeEvent(bad, 0)).toThrow(expect.objectContaining({ offset, expected }));
  });

  it('rejects a record that runs past the buffer', () => {
    expect(() => decodeEvent(CAPTURED_NEW.subarray(0, 100), 0)).toThrow(expect.objectContaining({ offset: 0, expected: '112 bytes of struct natlens_event' }));
  });
});

describe('decodeEventBatch', () => {
  it('skips a bad record and decodes the rest, naming the bad one by offset', () => {
    const batch = Buffer.concat([CAPTURED_NEW, CAPTURED_NEW, CAPTURED_NEW]);
    batch[EVENT_SIZE + EVENT_LAYOUT.kind] = 0;
    const { events, errors } = decodeEventBatch(batch);
    expect(events).toEqual([SAMPLE, SAMPLE]);
    expect(errors.map((e) => e.offset)).toEqual([EVENT_SIZE + EVENT_LAYOUT.kind]);
  });

  it('reports a trailing partial record', () => {
    const { events, errors } = decodeEventBatch(Buffer.concat([CAPTURED_NEW, Buffer.alloc(10)]));
    expect(events).toEqual([SAMPLE]);
    expect(errors).toEqual([expect.objectContaining({ offset: EVENT_SIZE })]);
  });

  it('round-trips any events (fast-check)', () => {
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 20 }), (events) => {
        expect(decodeEventBatch(formatEventBatch(events))).toEqual({ events, errors: [] });
      }),
    );
  });

  it('never throws on random bytes, and accounts for every byte (fast-check)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: EVENT_SIZE * 4 }), (bytes) => {
        const { events, errors } = decodeEventBatch(Buffer.from(bytes));
        for (const e of errors) expect(e).toBeInstanceOf(ParseError);
        const partial = bytes.length % EVENT_SIZE === 0 ? 0 : 1;
        expect(events.length + errors.length).toBe(Math.floor(bytes.length / EVENT_SIZE) + partial);
      }),
    );
  });

  it('never throws on bit-flipped kernel records (fast-check)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: EVENT_SIZE * 8 - 1 }), (bit) => {
        const flipped = Buffer.from(CAPTURED_NEW);
        flipped[bit >> 3] = (flipped[bit >> 3] as number) ^ (1 << (bit & 7));
        const { events, errors } = decodeEventBatch(flipped);
        expect(events.length + errors.length).toBe(1);
      }),
    );
  });
});
