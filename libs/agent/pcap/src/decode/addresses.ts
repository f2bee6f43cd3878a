/*
 * Addresses as text, read from network-order bytes. IPv6 is written in the RFC 5952 canonical form (lower case,
 * the longest run of two or more zero groups as "::"), the form conntrack, tcpdump and `ip` print, so tuples from
 * every source compare equal as strings.
 */

/** Four bytes at `offset`, network order → dotted quad. */
export function ipv4At(buf: Buffer, offset: number): string {
  return `${buf.readUInt8(offset)}.${buf.readUInt8(offset + 1)}.${buf.readUInt8(offset + 2)}.${buf.readUInt8(offset + 3)}`;
}

/** Sixteen bytes at `offset`, network order → RFC 5952 text. */
export function ipv6At(buf: Buffer, offset: number): string {
  const groups: number[] = new Array(8);
  for (let i = 0; i < 8; i++) groups[i] = buf.readUInt16BE(offset + 2 * i);
  // An IPv4-mapped address (::ffff:a.b.c.d) keeps its dotted tail, as RFC 5952 section 5 recommends.
  if (groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 && groups[4] === 0 && groups[5] === 0xffff) {
    return `::ffff:${ipv4At(buf, offset + 12)}`;
  }
  let bestStart = -1;
  let bestLength = 1; // a single zero group is not compressed (section 4.2.2)
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number) => groups.slice(from, to).map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`;
}
