import fc from 'fast-check';
import { formatIpv4Cidr, ipv4CidrContains, parseIpv4Cidr } from './ipv4';

describe('IPv4 CIDRs as kube-proxy reads them', () => {
  it.each([
    ['203.0.113.0/25', '203.0.113.0/25'],
    [' 203.0.113.7/25 ', '203.0.113.0/25'],
    ['10.0.0.0/8', '10.0.0.0/8'],
    ['192.168.0.2/32', '192.168.0.2/32'],
    ['0.0.0.0/0', '0.0.0.0/0'],
  ])('%j is the network %s', (text, network) => {
    expect(formatIpv4Cidr(parseIpv4Cidr(text) as NonNullable<ReturnType<typeof parseIpv4Cidr>>)).toBe(network);
  });

  it.each(['', 'bogus', '10.0.0.0', '10.0.0.0/33', '10.0.0/8', '2001:db8::/32', '10.0.0.0/8/1', '10.0.0.0/-1'])('rejects %j', (text) => {
    expect(parseIpv4Cidr(text)).toBeUndefined();
  });

  it('contains exactly the addresses that share its prefix (property)', () => {
    const address = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
    fc.assert(
      fc.property(address, address, fc.integer({ min: 0, max: 32 }), (a, b, prefix) => {
        const cidr = parseIpv4Cidr(`${a}/${prefix}`);
        if (!cidr) return false;
        const bits = (ip: string) => ip.split('.').map((o) => Number(o).toString(2).padStart(8, '0')).join('');
        return ipv4CidrContains(cidr, b) === (bits(a).slice(0, prefix) === bits(b).slice(0, prefix));
      }),
    );
  });

  it('never throws on malformed text (property)', () => {
    fc.assert(fc.property(fc.string(), (text) => parseIpv4Cidr(text) === undefined || typeof parseIpv4Cidr(text)?.network === 'number'));
  });
});
