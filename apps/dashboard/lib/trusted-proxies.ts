import ipaddr from 'ipaddr.js';

/*
 * The addresses of authenticating proxies whose user header the dashboard believes. Pure. An IPv4 peer may arrive
 * as an IPv4-mapped IPv6 address (::ffff:10.0.0.5) on a dual-stack socket: it is compared as IPv4.
 */
export interface TrustedProxies {
  readonly isEmpty: boolean;
  includes(address: string): boolean;
}

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

function normalise(address: ipaddr.IPv4 | ipaddr.IPv6): ipaddr.IPv4 | ipaddr.IPv6 {
  return address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress() ? (address as ipaddr.IPv6).toIPv4Address() : address;
}

export function parseTrustedProxies(text: string): { trusted: TrustedProxies; problems: string[] } {
  const problems: string[] = [];
  const ranges: Range[] = [];
  for (const entry of text.split(',').map((e) => e.trim()).filter((e) => e !== '')) {
    try {
      if (entry.includes('/')) {
        const [address, bits] = ipaddr.parseCIDR(entry);
        ranges.push([normalise(address), address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress() ? bits - 96 : bits]);
      } else {
        const address = normalise(ipaddr.parse(entry));
        ranges.push([address, address.kind() === 'ipv4' ? 32 : 128]);
      }
    } catch {
      problems.push(`"${entry}" is not an IP address or CIDR range`);
    }
  }
  return {
    trusted: {
      isEmpty: ranges.length === 0,
      includes(address: string): boolean {
        if (!ipaddr.isValid(address)) return false;
        const peer = normalise(ipaddr.parse(address));
        return ranges.some(([range, bits]) => {
          if (peer.kind() === 'ipv4' && range.kind() === 'ipv4') return (peer as ipaddr.IPv4).match(range as ipaddr.IPv4, bits);
          if (peer.kind() === 'ipv6' && range.kind() === 'ipv6') return (peer as ipaddr.IPv6).match(range as ipaddr.IPv6, bits);
          return false;
        });
      },
    },
    problems,
  };
}
