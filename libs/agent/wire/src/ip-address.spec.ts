import fc from 'fast-check';
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from './ip-address';

describe('IPv6 text (RFC 5952)', () => {
  it.each([
    // [address as written anywhere, canonical form, why]
    ['2001:0002:0000:0000:0000:0000:0000:0001', '2001:2::1', 'leading zeros dropped, longest zero run compressed'],
    ['0:0:0:0:0:0:0:0', '::', 'all zeros'],
    ['0:0:0:0:0:0:0:1', '::1', 'loopback'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1', 'section 4.2.2: a single zero group is not compressed'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1', 'section 4.2.3: the longest run wins'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1', 'section 4.2.3: on a tie, the first run'],
    ['2001:DB8::A', '2001:db8::a', 'section 4.3: lower case'],
    ['fe80::', 'fe80::', 'trailing run'],
    ['::ffff:c612:1', '::ffff:198.18.0.1', 'section 5: an IPv4-mapped address keeps its dotted tail'],
    ['::ffff:198.18.0.1', '::ffff:198.18.0.1', 'a dotted IPv4 tail is read and printed'],
  ])('%s → %s (%s)', (text, canonical) => {
    expect(formatIPv6(parseIPv6(text))).toBe(canonical);
  });

  it('matches the text the kernel fixtures were captured with', () => {
    expect(formatIPv6(Buffer.from('20010002000000000000000000000002', 'hex'))).toBe('2001:2::2');
  });

  it('parse(format(bytes)) gives the bytes back, and Node agrees the text is canonical', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 }), (groups) => {
        const bytes = Buffer.alloc(16);
        groups.forEach((group, i) => bytes.writeUInt16BE(group, i * 2));
        const text = formatIPv6(bytes);
        expect(parseIPv6(text)).toEqual(bytes);
        // The WHATWG URL serializer also prints RFC 5952 form, without the IPv4 tail rule of section 5.
        if (!text.startsWith('::ffff:') || !text.includes('.')) expect(`[${text}]`).toBe(new URL(`http://[${text}]/`).hostname);
      }),
      { numRuns: 2000 },
    );
  });

  it.each(['', '1.2.3.4', '1::2::3', 'g::1', '1:2:3:4:5:6:7:8:9'])('refuses %j', (text) => {
    expect(() => parseIPv6(text)).toThrow(TypeError);
  });
});

describe('IPv4 text', () => {
  it('round trips every address', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), (bytes) => {
        expect(parseIPv4(formatIPv4(Buffer.from(bytes)))).toEqual(Buffer.from(bytes));
      }),
    );
  });

  it.each(['', '198.18.0', '198.18.0.256', '2001:2::1', '198.18.0.01'])('refuses %j', (text) => {
    expect(() => parseIPv4(text)).toThrow(TypeError);
  });
});
