import { cidrContains, formatIp, ipKey, parseCidr, parseIp } from './ip-address';

describe('parseIp / formatIp', () => {
  it.each([
    // [text, family, canonical text]
    ['198.18.0.11', 4, '198.18.0.11'],
    ['0.0.0.0', 4, '0.0.0.0'],
    ['255.255.255.255', 4, '255.255.255.255'],
    ['2001:db8::1', 6, '2001:db8::1'],
    ['2001:DB8:0:0:0:0:0:1', 6, '2001:db8::1'],
    ['::', 6, '::'],
    ['::1', 6, '::1'],
    ['fd00:10:244:1::', 6, 'fd00:10:244:1::'],
    ['2001:db8:0:0:1:0:0:1', 6, '2001:db8::1:0:0:1'], // RFC 5952 §4.2.3: the first of two equal zero runs
    ['2001:0:0:1:0:0:0:1', 6, '2001:0:0:1::1'], // the longest run wins
    ['2001:db8:1:2:3:4:5:6', 6, '2001:db8:1:2:3:4:5:6'],
    ['fe80::1%eth0', 6, 'fe80::1'],
    ['::ffff:198.18.0.11', 4, '198.18.0.11'], // IPv4-mapped: the IPv4 peer of a dual-stack socket
    ['::ffff:c612:b', 4, '198.18.0.11'],
    ['64:ff9b::198.18.0.11', 6, '64:ff9b::c612:b'], // NAT64 is not mapped: a different address
  ] as const)('%s is IPv%s %s', (text, family, canonical) => {
    const address = parseIp(text);
    expect(address?.family).toBe(family);
    expect(address && formatIp(address)).toBe(canonical);
  });

  it.each(['', 'node1', '198.18.0', '198.18.0.256', '01.2.3.4', '2001:db8:::1', '1:2:3:4:5:6:7:8:9', '198.18.0.11/24'])(
    '%j is no address',
    (text) => {
      expect(parseIp(text)).toBeUndefined();
      expect(ipKey(text)).toBeUndefined();
    },
  );

  it('gives every spelling of one address one key', () => {
    expect(new Set(['2001:db8::1', '2001:DB8:0::1', '2001:0db8:0000:0000:0000:0000:0000:0001'].map(ipKey))).toEqual(new Set([ipKey('2001:db8::1')]));
    expect(ipKey('::ffff:198.18.0.11')).toBe(ipKey('198.18.0.11'));
    expect(ipKey('198.18.0.11')).not.toBe(ipKey('::198.18.0.11'));
  });
});

describe('parseCidr', () => {
  it.each([
    // [cidr, member, non-member]
    ['198.19.1.0/24', '198.19.1.200', '198.19.2.1'],
    ['198.19.1.77/24', '198.19.1.0', '198.19.0.255'], // host bits are cleared
    ['10.0.0.0/8', '10.255.255.255', '11.0.0.0'],
    ['fd00:10:244:1::/64', 'fd00:10:244:1:ffff::9', 'fd00:10:244:2::1'],
    ['0.0.0.0/0', '203.0.113.10', '2001:db8::1'], // families never mix
  ])('%s holds %s, not %s', (text, member, nonMember) => {
    const cidr = parseCidr(text);
    if (cidr === undefined) throw new Error(`${text} did not parse`);
    expect(cidrContains(cidr, parseIp(member) ?? { family: 4, value: -1n })).toBe(true);
    expect(cidrContains(cidr, parseIp(nonMember) ?? { family: 4, value: -1n })).toBe(false);
  });

  it.each(['198.19.1.0', '198.19.1.0/33', 'fd00::/129', '198.19.1.0/x', 'node1/24', '::ffff:10.0.0.0/104'])('%j is no CIDR', (text) => {
    expect(parseCidr(text)).toBeUndefined();
  });
});
