import fc from 'fast-check';
import type { ConntrackEntry } from './conntrack-entry';
import { parseConntrackMessages } from './conntrack-messages';
import { conntrackEntryArbitrary } from './fixtures/arbitraries';
import { CAPTURED } from './fixtures/captured';
import { capturedDatagram } from './fixtures/captured-datagram';
import { formatConntrackEntry, formatDumpRequest } from './format-conntrack';
import { NLMSG_SEQ_OFFSET, netlinkAlign } from './netlink-constants';
import { parseNetlinkMessages } from './netlink-message';
import { parseConntrackEntry } from './parse-conntrack';

describe('formatDumpRequest', () => {
  it('writes the bytes conntrack-tools sends for `conntrack -L -f ipv6` (captured with strace)', () => {
    const tool = capturedDatagram('tool-dump-request-ipv6');
    const seq = tool.readUInt32LE(NLMSG_SEQ_OFFSET); // the tool's own sequence number, host order
    expect(formatDumpRequest({ family: 'ipv6', seq }).toString('hex')).toBe(tool.toString('hex'));
  });

  it.each([
    ['any', '14000000' + '0101' + '0103' + '2a000000' + '00000000' + '00000000'],
    ['ipv4', '14000000' + '0101' + '0103' + '2a000000' + '00000000' + '02000000'],
    ['ipv6', '14000000' + '0101' + '0103' + '2a000000' + '00000000' + '0a000000'],
  ] as const)('family %s: CT_GET (0x0101), REQUEST|DUMP (0x0301), seq 42, then nfgenmsg', (family, hex) => {
    // len 20 | type | flags | seq | pid 0 (all host order) | family, version 0, res_id 0
    expect(formatDumpRequest({ family, seq: 42 }).toString('hex')).toBe(hex);
  });

  it('with a status filter: CTA_STATUS then CTA_STATUS_MASK, u32 in network order (nlmsg_len 36)', () => {
    // IPS_SRC_NAT (bit 4): what the agent asks for to count SNAT ports
    expect(formatDumpRequest({ family: 'any', seq: 42, status: { bits: 0x10, mask: 0x10 } }).toString('hex')).toBe(
      '24000000' + '0101' + '0103' + '2a000000' + '00000000' + '00000000' + '0800' + '0300' + '00000010' + '0800' + '1a00' + '00000010',
    );
  });
});

describe('formatConntrackEntry reproduces the kernel byte for byte', () => {
  // Every entry message captured: dumps follow ctnetlink_fill_info(), events ctnetlink_conntrack_event().
  const rows = CAPTURED.filter((fixture) => /^(dump|event|get)-/.test(fixture.name)).flatMap((fixture) => {
    const buf = Buffer.from(fixture.hex, 'hex');
    return parseNetlinkMessages(buf)
      .filter((message) => message.header.type >> 8 === 1)
      .map((message) => [`${fixture.name} @${message.offset}`, buf, message.offset] as const);
  });

  it('has dump, event and get reply messages to check', () => {
    expect(rows.length).toBeGreaterThan(60);
  });

  it.each(rows)('%s', (_name, buf, offset) => {
    const { value: entry, consumed } = parseConntrackEntry(buf, offset);
    const seq = buf.readUInt32LE(offset + NLMSG_SEQ_OFFSET);
    const pid = buf.readUInt32LE(offset + 12);
    const original = buf.subarray(offset, offset + consumed);
    expect(formatConntrackEntry(entry, { seq, pid }).toString('hex')).toBe(original.toString('hex'));
  });
});

describe('round trips', () => {
  it('parse(format(entry)) gives the entry back, for any entry', () => {
    fc.assert(
      fc.property(conntrackEntryArbitrary, (entry) => {
        const bytes = formatConntrackEntry(entry);
        const parsed = parseConntrackEntry(bytes);
        expect(parsed.consumed).toBe(bytes.length);
        expect(bytes.length).toBe(netlinkAlign(bytes.length));
        expect(parsed.value).toEqual(entry);
      }),
      { numRuns: 500 },
    );
  });

  it('several formatted entries read back as one batch, in order', () => {
    fc.assert(
      fc.property(fc.array(conntrackEntryArbitrary, { minLength: 1, maxLength: 5 }), (entries) => {
        const batch = parseConntrackMessages(Buffer.concat(entries.map((entry) => formatConntrackEntry(entry))));
        expect(batch.messages.map((message) => (message.kind === 'entry' ? message.entry : message.kind))).toEqual(entries);
      }),
      { numRuns: 100 },
    );
  });
});

describe('formatConntrackEntry refuses what it cannot write', () => {
  const base: ConntrackEntry = {
    event: 'new',
    family: 'ipv4',
    original: { src: '198.18.0.2', dst: '198.18.0.1', proto: 'tcp', sport: 40001, dport: 8080 },
    reply: { src: '198.18.0.1', dst: '198.18.0.2', proto: 'tcp', sport: 8080, dport: 40001 },
  };

  it.each([
    ['an IPv6 address in an IPv4 entry', { ...base, original: { ...base.original, src: '2001:2::1' } }, 'TypeError'],
    ['a port past 65535', { ...base, original: { ...base.original, sport: 65536 } }, 'RangeError'],
    ['a mark past 32 bits', { ...base, mark: 2 ** 32 }, 'RangeError'],
    ['a negative counter', { ...base, counters: { original: { packets: -1n, bytes: 0n } } }, 'RangeError'],
  ])('%s', (_name, entry, errorName) => {
    // By name: Buffer's range errors come from Node's realm, not the test sandbox's RangeError.
    expect(() => formatConntrackEntry(entry as ConntrackEntry)).toThrow(expect.objectContaining({ name: errorName }));
  });

  it('writes the base entry (the table above is not failing for another reason)', () => {
    expect(parseConntrackEntry(formatConntrackEntry(base)).value).toEqual(base);
  });
});
