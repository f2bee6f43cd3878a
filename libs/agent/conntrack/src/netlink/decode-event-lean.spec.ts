import { ParseError } from '@natlens/agent-wire';
import fc from 'fast-check';
import { formatAttribute, formatNestedAttribute } from './attributes';
import { parseConntrackMessages } from './conntrack-messages';
import { decodeConntrackDatagramLean, emptyLeanBatch } from './decode-event-lean';
import { forEachDatagram } from '../socket/netlink-socket';
import { conntrackEntryArbitrary } from './fixtures/arbitraries';
import { CAPTURED } from './fixtures/captured';
import { capturedDatagram } from './fixtures/captured-datagram';
import { CAPTURED_FLOW_EXPECTATIONS } from './fixtures/flows';
import { formatConntrackEntry } from './format-conntrack';
import { leanConntrackEntryOf, leanTimestampNs } from './lean-conntrack-entry';
import { NLMSG_HDRLEN } from './netlink-constants';
import { formatNetlinkHeader } from './netlink-message';

/*
 * The lean decoder against the full one: over every captured datagram and over generated, random, truncated and
 * mangled bytes, decodeConntrackDatagramLean() must give what parseConntrackMessages() gives, projected with
 * leanConntrackEntryOf() — the same entries, the same control messages, the same ParseErrors (offset, expectation).
 */

/** What the full parser makes of buf, in the lean decoder's terms. */
function viaFullParser(buf: Buffer, mode: 'strict' | 'collect') {
  const full = parseConntrackMessages(buf, { mode });
  return {
    entries: full.messages.flatMap((m) => (m.kind === 'entry' ? [leanConntrackEntryOf(m.entry, m.header.seq, m.offset)] : [])),
    controls: full.messages.filter((m) => m.kind !== 'entry'),
    errors: full.errors,
  };
}

const errorFields = (error: unknown) => (error instanceof ParseError ? { offset: error.offset, expected: error.expected, what: error.what } : error);

function outcome(run: () => unknown): { ok: unknown } | { error: unknown } {
  try {
    return { ok: run() };
  } catch (error) {
    return { error: errorFields(error) };
  }
}

/** Both modes, both decoders: equal results; returns whether the datagram parsed strictly. */
function checkSame(buf: Buffer): 'parsed' | 'rejected' {
  const lean = decodeConntrackDatagramLean(buf, { mode: 'collect' }); // must not throw at all
  const full = viaFullParser(buf, 'collect');
  expect(lean.entries).toEqual(full.entries);
  expect(lean.controls).toEqual(full.controls);
  expect(lean.errors.map(errorFields)).toEqual(full.errors.map(errorFields));
  for (const error of lean.errors) expect(error).toBeInstanceOf(ParseError);
  expect(lean.entries.length + lean.controls.length + lean.errors.length).toBeLessThanOrEqual(Math.ceil(buf.length / NLMSG_HDRLEN));
  const strictLean = outcome(() => decodeConntrackDatagramLean(buf).entries);
  const strictFull = outcome(() => viaFullParser(buf, 'strict').entries);
  expect(strictLean).toEqual(strictFull);
  return 'ok' in strictLean ? 'parsed' : 'rejected';
}

const datagrams = CAPTURED.map((fixture) => Buffer.from(fixture.hex, 'hex'));

describe('decodeConntrackDatagramLean reads what parseConntrackMessages reads', () => {
  it.each(CAPTURED.map((fixture) => [fixture.name, fixture.how, Buffer.from(fixture.hex, 'hex')] as const))('captured %s (%s)', (_name, _how, datagram) => {
    checkSame(datagram);
  });

  it('the captured events carry what the agent needs, as plain numbers', () => {
    const [destroy] = decodeConntrackDatagramLean(capturedDatagram('event-destroy-tcp4')).entries;
    const [fullDestroy] = parseConntrackMessages(capturedDatagram('event-destroy-tcp4')).messages;
    const start = fullDestroy?.kind === 'entry' ? fullDestroy.entry.timestamp?.start : undefined;
    const stop = fullDestroy?.kind === 'entry' ? fullDestroy.entry.timestamp?.stop : undefined;
    const [original, reply] = CAPTURED_FLOW_EXPECTATIONS['tcp4']?.finalCounters ?? [];
    expect(destroy).toMatchObject({
      event: 'destroy',
      family: 'ipv4',
      original: { src: '198.18.0.2', dst: '198.18.0.1', proto: 'tcp', sport: 40001, dport: 8080, icmpId: undefined },
      reply: { src: '198.18.0.1', dst: '198.18.0.2', proto: 'tcp', sport: 8080, dport: 40001 },
      originalPackets: Number(original?.packets),
      originalBytes: Number(original?.bytes),
      replyPackets: Number(reply?.packets),
      replyBytes: Number(reply?.bytes),
    });
    expect(start && stop).toBeTruthy();
    expect(destroy && leanTimestampNs(destroy.startMs ?? 0, destroy.startNsInMs ?? 0)).toBe(start);
    expect(destroy && leanTimestampNs(destroy.stopMs ?? 0, destroy.stopNsInMs ?? 0)).toBe(stop);
    const [icmp] = decodeConntrackDatagramLean(capturedDatagram('event-new-icmp4')).entries;
    expect(icmp?.original).toMatchObject({ proto: 'icmp', sport: undefined, icmpId: 0x4242, icmpType: 8, icmpCode: 0 });
    const [zoned] = decodeConntrackDatagramLean(capturedDatagram('event-new-zone')).entries;
    expect(zoned).toMatchObject({ zone: 7, mark: 0x2a });
    const [zonedOriginal] = decodeConntrackDatagramLean(capturedDatagram('event-new-zone-orig')).entries;
    expect(zonedOriginal).toMatchObject({ zone: undefined, original: { zone: 9 }, reply: { zone: undefined } });
  });

  it('one tuple in zones 1 and 2: two entries, told apart by CTA_ZONE and CTA_ID', () => {
    const twins = ['event-new-twin-z1', 'event-new-twin-z2'].flatMap((name) => decodeConntrackDatagramLean(capturedDatagram(name)).entries);
    expect(twins.map((e) => e.zone)).toEqual([1, 2]);
    expect(twins[1]?.original).toEqual(twins[0]?.original);
    expect(twins[1]?.id).not.toBe(twins[0]?.id);
  });

  it('a dump datagram: every entry with the request seq, and the end of the dump as a control message', () => {
    const dump = decodeConntrackDatagramLean(capturedDatagram('dump-1'));
    expect(dump.entries.length).toBe(Object.keys(CAPTURED_FLOW_EXPECTATIONS).length);
    expect(new Set(dump.entries.map((e) => [e.event, e.seq].join()))).toEqual(new Set(['dump,1000']));
    expect(decodeConntrackDatagramLean(capturedDatagram('dump-2'))).toMatchObject({ entries: [], controls: [{ kind: 'done', errno: 0 }] });
  });

  it('entries that formatConntrackEntry writes from generated ones: lean == full == the generated entry', () => {
    fc.assert(
      fc.property(conntrackEntryArbitrary, fc.nat({ max: 0xffffffff }), (entry, seq) => {
        const buf = formatConntrackEntry(entry, { seq });
        expect(checkSame(buf)).toBe('parsed');
        expect(decodeConntrackDatagramLean(buf).entries).toEqual([leanConntrackEntryOf(entry, seq, 0)]);
      }),
      { numRuns: 2000 },
    );
  });

  it('timestamps over the whole u64 range: exact ms (floor) and ns within the ms', () => {
    const u64 = fc.oneof(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.bigInt({ min: 1_700_000_000_000_000_000n, max: 2_000_000_000_000_000_000n }));
    fc.assert(
      fc.property(u64, u64, (start, stop) => {
        const entry = formatConntrackEntry({
          event: 'destroy',
          family: 'ipv4',
          original: { src: '198.18.0.2', dst: '198.18.0.1', proto: 'tcp', sport: 1, dport: 2 },
          reply: { src: '198.18.0.1', dst: '198.18.0.2', proto: 'tcp', sport: 2, dport: 1 },
          timestamp: { start, stop },
        });
        const [lean] = decodeConntrackDatagramLean(entry).entries;
        expect(lean?.startMs).toBe(Number(start / 1_000_000n));
        expect(lean && leanTimestampNs(lean.startMs ?? -1, lean.startNsInMs ?? -1)).toBe(start);
        expect(lean && leanTimestampNs(lean.stopMs ?? -1, lean.stopNsInMs ?? -1)).toBe(stop);
      }),
      { numRuns: 2000 },
    );
  });

  it('several messages in one datagram, one of them malformed: the others are kept (collect mode)', () => {
    fc.assert(
      fc.property(fc.array(conntrackEntryArbitrary, { minLength: 2, maxLength: 6 }), fc.nat(), (entries, which) => {
        const messages = entries.map((entry, i) => formatConntrackEntry(entry, { seq: i }));
        const bad = which % messages.length;
        const broken = Buffer.from(messages[bad] ?? Buffer.alloc(0));
        broken.writeUInt16LE(0x0200, 4); // nlmsg_type of the expectation subsystem: its body cannot be read
        messages[bad] = broken;
        const buf = Buffer.concat(messages);
        checkSame(buf);
        const lean = decodeConntrackDatagramLean(buf, { mode: 'collect' });
        expect(lean.entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i).filter((i) => i !== bad));
        expect(lean.errors).toHaveLength(1);
      }),
      { numRuns: 300 },
    );
  });
});

describe('decodeConntrackDatagramLean on bad input: only ParseErrors, the same as the full parser, never a hang', () => {
  it('random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => void checkSame(Buffer.from(bytes))), { numRuns: 2000 });
  });

  it('random attributes behind a valid ctnetlink header', () => {
    const message = fc
      .record({
        type: fc.constantFrom(0x0100, 0x0102, 0x0101, 0x0001, 0x0002, 0x0003, 0x0004),
        flags: fc.constantFrom(0, 0x0002, 0x0600),
        family: fc.constantFrom(2, 10, 0, 7),
        attributes: fc.uint8Array({ maxLength: 400 }),
      })
      .map(({ type, flags, family, attributes }) =>
        Buffer.concat([formatNetlinkHeader({ length: NLMSG_HDRLEN + 4 + attributes.length, type, flags, seq: 0, pid: 0 }), Buffer.from([family, 0, 0, 0]), Buffer.from(attributes)]),
      );
    fc.assert(fc.property(message, (buf) => void checkSame(buf)), { numRuns: 3000 });
  });

  it('random attribute trees of plausible sizes after a valid entry (reaching every field decoder)', () => {
    const sizes = fc.constantFrom(0, 1, 2, 4, 8, 16).chain((size) => fc.uint8Array({ minLength: size, maxLength: size }));
    const tree = fc.letrec<{ attribute: Buffer }>((tie) => ({
      attribute: fc.oneof(
        { depthSize: 'small' },
        fc.tuple(fc.integer({ min: 0, max: 28 }), sizes).map(([type, payload]) => formatAttribute(type, Buffer.from(payload))),
        fc.tuple(fc.integer({ min: 0, max: 28 }), fc.array(tie('attribute'), { maxLength: 4 })).map(([type, children]) => formatNestedAttribute(type, children)),
      ),
    })).attribute;
    let parsed = 0;
    fc.assert(
      fc.property(conntrackEntryArbitrary, fc.array(tree, { maxLength: 6 }), fc.boolean(), (entry, attributes, before) => {
        const base = formatConntrackEntry(entry);
        const extra = Buffer.concat(attributes);
        // before: the random attributes go first, so they replace nothing and faults in them come first
        const body = before ? Buffer.concat([base.subarray(0, 20), extra, base.subarray(20)]) : Buffer.concat([base, extra]);
        body.writeUInt32LE(base.length + extra.length, 0);
        if (checkSame(body) === 'parsed') parsed++;
      }),
      { numRuns: 3000 },
    );
    expect(parsed).toBeGreaterThan(100);
  });

  it('every truncation of every captured datagram', () => {
    let rejected = 0;
    for (const datagram of datagrams) {
      for (let length = 0; length < datagram.length; length++) if (checkSame(datagram.subarray(0, length)) === 'rejected') rejected++;
    }
    expect(rejected).toBeGreaterThan(0);
  });

  it('captured datagrams with one bit flipped', () => {
    const flipped = fc.record({ which: fc.nat({ max: datagrams.length - 1 }), position: fc.nat(), bit: fc.nat({ max: 7 }) }).map(({ which, position, bit }) => {
      const copy = Buffer.from(datagrams[which] ?? Buffer.alloc(0));
      const index = position % Math.max(copy.length, 1);
      if (copy.length > 0) copy.writeUInt8((copy[index] ?? 0) ^ (1 << bit), index);
      return copy;
    });
    fc.assert(fc.property(flipped, (buf) => void checkSame(buf)), { numRuns: 5000 });
  });

  it('captured datagrams with several bytes overwritten', () => {
    const mangled = fc
      .record({ which: fc.nat({ max: datagrams.length - 1 }), writes: fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { minLength: 1, maxLength: 8 }) })
      .map(({ which, writes }) => {
        const copy = Buffer.from(datagrams[which] ?? Buffer.alloc(0));
        for (const [position, value] of writes) if (copy.length > 0) copy.writeUInt8(value, position % copy.length);
        return copy;
      });
    fc.assert(fc.property(mangled, (buf) => void checkSame(buf)), { numRuns: 3000 });
  });
});

describe('decodeConntrackDatagramLean within a packed wake (the socket packs the datagrams of one wake)', () => {
  /** The datagrams back to back, each padded to 4 bytes, as the addon packs them; and where each starts. */
  function pack(parts: Buffer[]): { packed: Buffer; starts: number[]; lengths: number[] } {
    const starts: number[] = [];
    let size = 0;
    for (const part of parts) {
      starts.push(size);
      size += (part.length + 3) & ~3;
    }
    const packed = Buffer.alloc(size);
    parts.forEach((part, i) => part.copy(packed, starts[i]));
    return { packed, starts, lengths: parts.map((p) => p.length) };
  }

  it('reads each datagram of a packed buffer as it reads it alone (offsets within the packed buffer)', () => {
    const { packed, starts } = pack(datagrams);
    const together = emptyLeanBatch();
    forEachDatagram(datagrams.map((d) => d.length), (start, end) => decodeConntrackDatagramLean(packed, { mode: 'collect' }, together, start, end));
    const alone = datagrams.map((d, i) => ({ batch: decodeConntrackDatagramLean(d, { mode: 'collect' }), start: starts[i] ?? 0 }));
    expect(together.entries).toEqual(alone.flatMap(({ batch, start }) => batch.entries.map((e) => ({ ...e, offset: e.offset + start }))));
    const where = (e: ParseError, shift = 0) => ({ offset: e.offset + shift, expected: e.expected, what: e.what });
    expect(together.errors.map((e) => where(e))).toEqual(alone.flatMap(({ batch, start }) => batch.errors.map((e) => where(e, start))));
  });

  it('keeps the damage of a malformed datagram to that datagram', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.nat(datagrams.length - 1), (junk, at) => {
        const parts = [...datagrams.slice(0, at), Buffer.from(junk), ...datagrams.slice(at)];
        const { packed, lengths } = pack(parts);
        const batch = emptyLeanBatch();
        forEachDatagram(lengths, (start, end) => decodeConntrackDatagramLean(packed, { mode: 'collect' }, batch, start, end));
        const good = datagrams.reduce((n, d) => n + decodeConntrackDatagramLean(d, { mode: 'collect' }).entries.length, 0);
        // the junk may decode as nothing, as errors, or (rarely) as an entry; the captured datagrams all still decode
        expect(batch.entries.length).toBeGreaterThanOrEqual(good);
      }),
    );
  });
});
