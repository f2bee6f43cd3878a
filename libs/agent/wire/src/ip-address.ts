import { isIPv4, isIPv6 } from 'node:net';

/*
 * Addresses between wire bytes (network order) and text. IPv6 text is RFC 5952's canonical form (lower case, the
 * longest run of two or more zero groups as "::", the first such run on a tie, an IPv4-mapped address with its dotted
 * tail), which is what `conntrack -L`, tcpdump, `ip addr` and Kubernetes print, so tuples from every source compare
 * equal as plain strings. The one formatter of the agent's decoders (conntrack, eBPF, pcap).
 */

export const IPV4_LENGTH = 4;
export const IPV6_LENGTH = 16;
const IPV6_GROUPS = 8;

export function formatIPv4(bytes: Buffer): string {
  return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
}

export function formatIPv6(bytes: Buffer): string {
  const groups: number[] = [];
  for (let i = 0; i < IPV6_GROUPS; i++) groups.push(bytes.readUInt16BE(i * 2)); // network order
  // An IPv4-mapped address (::ffff:a.b.c.d) keeps its dotted tail (RFC 5952 section 5), as inet_ntop, tcpdump and
  // `conntrack -L` print it.
  if (groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 && groups[4] === 0 && groups[5] === 0xffff) {
    return `::ffff:${formatIPv4(bytes.subarray(12, 16))}`;
  }
  let bestStart = -1;
  let bestLength = 1; // RFC 5952 section 4.2.2: a single zero group is not shortened
  for (let start = 0; start < IPV6_GROUPS; ) {
    let end = start;
    while (end < IPV6_GROUPS && groups[end] === 0) end++;
    if (end - start > bestLength) {
      bestStart = start;
      bestLength = end - start;
    }
    start = end === start ? start + 1 : end;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** IPv4 dotted quad to 4 bytes (network order). Throws TypeError on anything else. */
export function parseIPv4(text: string): Buffer {
  if (!isIPv4(text)) throw new TypeError(`not an IPv4 address: ${text}`);
  return Buffer.from(text.split('.').map(Number));
}

/** Any IPv6 text form (including "::" and a dotted IPv4 tail) to 16 bytes (network order). */
export function parseIPv6(text: string): Buffer {
  if (!isIPv6(text)) throw new TypeError(`not an IPv6 address: ${text}`);
  let body = text;
  const tail: number[] = [];
  const lastColon = body.lastIndexOf(':');
  if (body.includes('.', lastColon)) {
    const v4 = parseIPv4(body.slice(lastColon + 1));
    tail.push(v4.readUInt16BE(0), v4.readUInt16BE(2));
    body = body.slice(0, lastColon + 1) + '0';
    // The placeholder group stands for the two groups of the IPv4 tail; drop it again below.
  }
  const [head = '', rest] = body.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const restGroups = rest === undefined || rest === '' ? [] : rest.split(':');
  if (tail.length > 0) (rest === undefined ? headGroups : restGroups).pop();
  const explicit = headGroups.length + restGroups.length + tail.length;
  const zeros = rest === undefined ? [] : Array<string>(IPV6_GROUPS - explicit).fill('0');
  const groups = [...headGroups, ...zeros, ...restGroups].map((group) => parseInt(group, 16)).concat(tail);
  const out = Buffer.alloc(IPV6_LENGTH);
  groups.forEach((group, i) => out.writeUInt16BE(group, i * 2)); // network order
  return out;
}
