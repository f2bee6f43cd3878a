import { ParseError } from '@natlens/agent-wire';
import fc from 'fast-check';
import { formatU16BEAttribute, formatU32BEAttribute } from './attributes';
import {
  CONNTRACK_STAT_ATTRIBUTES,
  type ConntrackStatCounters,
  type ConntrackStatsMessage,
  formatStatsCpuMessage,
  formatStatsCpuRequest,
  formatStatsMessage,
  formatStatsRequest,
  parseConntrackStatsMessages,
  sumConntrackStatCounters,
} from './conntrack-stats';
import { CAPTURED_STATS, CAPTURED_STATS_TOOL } from './fixtures/captured-stats';
import { NLMSG_HDRLEN } from './netlink-constants';
import { formatNetlinkHeader } from './netlink-message';

const captured = (name: string) => Buffer.from(CAPTURED_STATS.find((fixture) => fixture.name === name)?.hex ?? '', 'hex');

/** `conntrack -S` prints `cpu=N found=… insert_failed=… chaintoolong=…`: the same counters, by the tool's names. */
const TOOL_NAMES: Record<string, keyof ConntrackStatCounters> = {
  found: 'found',
  invalid: 'invalid',
  insert: 'insert',
  insert_failed: 'insertFailed',
  drop: 'drop',
  early_drop: 'earlyDrop',
  error: 'error',
  search_restart: 'searchRestart',
  clash_resolve: 'clashResolve',
  chaintoolong: 'chainTooLong',
};
function toolPerCpu(): Array<{ cpu: number; counters: ConntrackStatCounters }> {
  return CAPTURED_STATS_TOOL.perCpu
    .trim()
    .split('\n')
    .map((line) => {
      const fields = Object.fromEntries(line.trim().split(/\s+/).map((field) => field.split('=') as [string, string]));
      const counters: ConntrackStatCounters = {};
      for (const [tool, name] of Object.entries(TOOL_NAMES)) counters[name] = Number(fields[tool]);
      return { cpu: Number(fields['cpu']), counters };
    });
}

describe('parseConntrackStatsMessages over captured replies', () => {
  it('reads one message per CPU with the counters conntrack -S printed, then NLMSG_DONE', () => {
    const messages = CAPTURED_STATS.filter((fixture) => fixture.name.startsWith('stats-cpu-')).flatMap((fixture) => parseConntrackStatsMessages(Buffer.from(fixture.hex, 'hex')).messages);
    const cpus = messages.filter((m): m is Extract<ConntrackStatsMessage, { kind: 'cpu' }> => m.kind === 'cpu');
    expect(cpus.map(({ cpu, counters }) => ({ cpu, counters }))).toEqual(toolPerCpu());
    expect(cpus.every((m) => m.header.seq === 1)).toBe(true);
    expect(messages.at(-1)).toMatchObject({ kind: 'done', errno: 0, header: { seq: 1 } });
    // The capture made the `error` counter move (ICMP of an unknown type), so the table is not all zeros.
    expect(sumConntrackStatCounters(cpus.map((m) => m.counters)).error).toBeGreaterThan(0);
  });

  it('reads the global message: entries as conntrack -C counted, max as the sysctl', () => {
    const { messages } = parseConntrackStatsMessages(captured('stats-global'));
    expect(messages).toEqual([expect.objectContaining({ kind: 'global', entries: Number(CAPTURED_STATS_TOOL.count.trim()), maxEntries: Number(CAPTURED_STATS_TOOL.max), header: expect.objectContaining({ seq: 2 }) })]);
  });

  it.each(CAPTURED_STATS.map((fixture) => [fixture.name, fixture.hex] as const))('%s formats back to the same bytes', (_name, hex) => {
    const datagram = Buffer.from(hex, 'hex');
    const reformatted = parseConntrackStatsMessages(datagram).messages.map((message) => {
      if (message.kind === 'cpu') return formatStatsCpuMessage(message.cpu, message.counters, message.header.seq, message.header.pid);
      if (message.kind === 'global') return formatStatsMessage(message.entries, message.maxEntries, message.header.seq, message.header.pid);
      return datagram.subarray(message.offset, message.offset + message.header.length);
    });
    // The kernel's own flags (NLM_F_MULTI on dump parts) are not ours to reproduce for the global reply.
    const normalise = (buf: Buffer) => { const copy = Buffer.from(buf); for (let o = 0; o + NLMSG_HDRLEN <= copy.length; o += copy.readUInt32LE(o)) copy.writeUInt16LE(0, o + 6); return copy.toString('hex'); };
    expect(normalise(Buffer.concat(reformatted))).toBe(normalise(datagram));
  });
});

describe('requests', () => {
  it('asks for the per-CPU dump as conntrack -S does: type 0x104, NLM_F_REQUEST|NLM_F_DUMP, AF_UNSPEC', () => {
    expect(formatStatsCpuRequest(7).toString('hex')).toBe('1400000004010103070000000000000000000000');
  });
  it('asks for the global statistics: type 0x105, NLM_F_REQUEST', () => {
    expect(formatStatsRequest(9).toString('hex')).toBe('1400000005010100090000000000000000000000');
  });
});

describe('malformed replies', () => {
  const header = (type: number, length: number) => formatNetlinkHeader({ length, type, flags: 0, seq: 0, pid: 0 });
  const withBody = (type: number, body: Buffer) => Buffer.concat([header(type, NLMSG_HDRLEN + body.length), body]);
  const nfgen = Buffer.from([0, 0, 0, 0]);
  type Case = [name: string, input: Buffer, offset: number, expected: string];
  const cases: Case[] = [
    ['a header cut short', captured('stats-global').subarray(0, 10), 0, '16-byte nlmsghdr'],
    ['nlmsg_len past the end', captured('stats-global').subarray(0, 30), 0, 'nlmsg_len within the 30 bytes left'],
    ['a per-CPU message without nfgenmsg', withBody(0x104, Buffer.alloc(0)), NLMSG_HDRLEN, '4-byte nfgenmsg'],
    ['a counter of 2 bytes', withBody(0x104, Buffer.concat([nfgen, formatU16BEAttribute(9, 1)])), 20, '4-byte payload'],
    ['an attribute running past its message', withBody(0x104, Buffer.concat([nfgen, Buffer.from([0x40, 0, 9, 0])])), 20, 'nla_len within'],
    ['a global message without entries', withBody(0x105, Buffer.concat([nfgen, formatU32BEAttribute(2, 100)])), 20, 'CTA_STATS_GLOBAL_ENTRIES'],
    ['a conntrack entry where statistics were asked for', withBody(0x100, nfgen), 4, 'IPCTNL_MSG_CT_GET_STATS_CPU (0x104)'],
  ];
  it.each(cases)('%s: ParseError at its offset', (_name, input, offset, expected) => {
    let thrown: unknown;
    try {
      parseConntrackStatsMessages(input);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ParseError);
    expect((thrown as ParseError).offset).toBe(offset);
    expect((thrown as ParseError).message).toContain(expected);
  });

  it('collect mode reports a bad message and keeps the good ones after it', () => {
    const bad = withBody(0x104, Buffer.concat([nfgen, formatU16BEAttribute(9, 1)]));
    const good = formatStatsCpuMessage(1, { insertFailed: 3 });
    const batch = parseConntrackStatsMessages(Buffer.concat([bad, good]), { mode: 'collect' });
    expect(batch.errors).toHaveLength(1);
    expect(batch.messages).toEqual([expect.objectContaining({ kind: 'cpu', cpu: 1, counters: { insertFailed: 3 } })]);
  });

  it('skips counters a newer kernel may add', () => {
    const message = withBody(0x104, Buffer.concat([nfgen, formatU32BEAttribute(9, 4), formatU32BEAttribute(40, 99)]));
    expect(parseConntrackStatsMessages(message).messages[0]).toMatchObject({ kind: 'cpu', counters: { insertFailed: 4 } });
  });
});

const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const countersArbitrary: fc.Arbitrary<ConntrackStatCounters> = fc.record(Object.fromEntries(CONNTRACK_STAT_ATTRIBUTES.map(([, name]) => [name, u32])) as Record<keyof ConntrackStatCounters, fc.Arbitrary<number>>, { requiredKeys: [] });

describe('properties', () => {
  it('per-CPU messages round-trip, and the sum is the sum of each counter', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 0xffff }), countersArbitrary), { maxLength: 16 }), (cpus) => {
        const datagram = Buffer.concat(cpus.map(([cpu, counters]) => formatStatsCpuMessage(cpu, counters)));
        const parsed = parseConntrackStatsMessages(datagram).messages.map((m) => (m.kind === 'cpu' ? [m.cpu, m.counters] : undefined));
        expect(parsed).toEqual(cpus);
        const sum = sumConntrackStatCounters(cpus.map(([, counters]) => counters));
        for (const [, name] of CONNTRACK_STAT_ATTRIBUTES) {
          const present = cpus.filter(([, c]) => c[name] !== undefined);
          expect(sum[name]).toBe(present.length === 0 ? undefined : present.reduce((total, [, c]) => total + (c[name] ?? 0), 0));
        }
      }),
    );
  });

  /** Whatever the bytes, both modes answer with messages or ParseErrors, and collect mode never throws. */
  function checkContract(buf: Buffer): void {
    const collected = parseConntrackStatsMessages(buf, { mode: 'collect' });
    for (const error of collected.errors) {
      expect(error).toBeInstanceOf(ParseError);
      expect(error.offset).toBeGreaterThanOrEqual(0);
      expect(error.offset).toBeLessThanOrEqual(buf.length);
    }
    expect(collected.messages.length + collected.errors.length).toBeLessThanOrEqual(Math.ceil(buf.length / NLMSG_HDRLEN));
    try {
      expect(parseConntrackStatsMessages(buf).messages).toEqual(collected.messages);
    } catch (error) {
      expect(error).toBeInstanceOf(ParseError);
      expect(collected.errors[0]).toEqual(error);
    }
  }

  it('random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => checkContract(Buffer.from(bytes))), { numRuns: 1000 });
  });

  it('random attributes behind a valid per-CPU or global header', () => {
    fc.assert(
      fc.property(fc.constantFrom(0x104, 0x105), fc.uint8Array({ maxLength: 128 }), (type, body) => {
        const payload = Buffer.concat([Buffer.from([0, 0, 0, 0]), Buffer.from(body)]);
        checkContract(Buffer.concat([formatNetlinkHeader({ length: NLMSG_HDRLEN + payload.length, type, flags: 0, seq: 0, pid: 0 }), payload]));
      }),
      { numRuns: 1000 },
    );
  });

  it('captured replies truncated anywhere or with a flipped bit', () => {
    const datagrams = CAPTURED_STATS.map((fixture) => Buffer.from(fixture.hex, 'hex'));
    for (const datagram of datagrams) for (let length = 0; length <= datagram.length; length++) checkContract(datagram.subarray(0, length));
    fc.assert(
      fc.property(fc.constantFrom(...datagrams), fc.nat(), fc.integer({ min: 0, max: 7 }), (datagram, at, bit) => {
        const copy = Buffer.from(datagram);
        copy.writeUInt8(copy.readUInt8(at % copy.length) ^ (1 << bit), at % copy.length);
        checkContract(copy);
      }),
      { numRuns: 1000 },
    );
  });
});
