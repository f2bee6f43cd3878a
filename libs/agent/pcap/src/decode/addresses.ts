import { formatIPv4, formatIPv6 } from '@natlens/agent-wire';

/* Addresses as text, read from network-order bytes at an offset: the agent's one text form (@natlens/agent-wire). */

/** Four bytes at `offset`, network order → dotted quad. */
export function ipv4At(buf: Buffer, offset: number): string {
  return formatIPv4(buf.subarray(offset, offset + 4));
}

/** Sixteen bytes at `offset`, network order → RFC 5952 text. */
export function ipv6At(buf: Buffer, offset: number): string {
  return formatIPv6(buf.subarray(offset, offset + 16));
}
