import { isIPv4, isIPv6 } from 'node:net';
import { ParseError } from '@natlens/agent-wire';

/*
 * PROXY protocol v1 (text) and v2 (binary), as HAProxy's proxy-protocol.txt specifies: a load balancer that
 * terminates TCP prepends the client's original addresses to the stream so the backend can still know them.
 */

/** v2 signature, section 2.2: "\r\n\r\n\0\r\nQUIT\n". */
export const PROXY_V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V2_FIXED_HEADER_LENGTH = 16; // signature (12) + ver/cmd (1) + family/transport (1) + length (2, network order)
const V2_INET_ADDRESS_LENGTH = 12; // src (4) + dst (4) + sport (2) + dport (2)
const V2_INET6_ADDRESS_LENGTH = 36; // src (16) + dst (16) + sport (2) + dport (2)
const V1_PREFIX = Buffer.from('PROXY ');
/** Section 2.1: a v1 line is at most 107 bytes including the CRLF. */
const V1_MAX_LENGTH = 107;

export interface ProxyAddress {
  address: string;
  port: number;
}

export interface ProxyHeader {
  version: 1 | 2;
  /** LOCAL: the connection was made by the proxy itself (health checks); no addresses follow. */
  command: 'PROXY' | 'LOCAL';
  family: 'TCP4' | 'TCP6' | 'UNKNOWN';
  source?: ProxyAddress;
  destination?: ProxyAddress;
}

export type ProxyParseResult =
  | { kind: 'none' }
  | { kind: 'incomplete' }
  | { kind: 'header'; value: ProxyHeader; consumed: number };

/**
 * Looks for a PROXY header at the start of a stream. `none` means the stream does not start with one,
 * `incomplete` that more bytes are needed to decide; a malformed header throws ParseError.
 */
export function parseProxyProtocol(buf: Buffer): ProxyParseResult {
  if (startsWithPrefixOf(buf, PROXY_V2_SIGNATURE)) {
    return buf.length < PROXY_V2_SIGNATURE.length ? { kind: 'incomplete' } : parseV2(buf);
  }
  if (startsWithPrefixOf(buf, V1_PREFIX)) {
    return buf.length < V1_PREFIX.length ? { kind: 'incomplete' } : parseV1(buf);
  }
  return { kind: 'none' };
}

/** True when buf and prefix agree on their common length (so a short buf may still become the prefix). */
function startsWithPrefixOf(buf: Buffer, prefix: Buffer): boolean {
  const n = Math.min(buf.length, prefix.length);
  return n > 0 && buf.subarray(0, n).equals(prefix.subarray(0, n));
}

function parseV2(buf: Buffer): ProxyParseResult {
  if (buf.length < V2_FIXED_HEADER_LENGTH) return { kind: 'incomplete' };
  const versionCommand = buf.readUInt8(12);
  if (versionCommand >> 4 !== 2) throw new ParseError(12, 'version 2 in the high nibble', 'PROXY v2 header');
  const commandBits = versionCommand & 0x0f;
  if (commandBits > 1) throw new ParseError(12, 'command LOCAL (0) or PROXY (1)', 'PROXY v2 header');
  const familyTransport = buf.readUInt8(13);
  const length = buf.readUInt16BE(14);
  const total = V2_FIXED_HEADER_LENGTH + length;
  if (buf.length < total) return { kind: 'incomplete' };
  const command = commandBits === 0 ? 'LOCAL' : 'PROXY';
  const body = buf.subarray(V2_FIXED_HEADER_LENGTH, total);
  // Section 2.2: with LOCAL, and with an unspecified family, the receiver ignores the address block.
  if (command === 'LOCAL' || familyTransport === 0x00) {
    return { kind: 'header', value: { version: 2, command, family: 'UNKNOWN' }, consumed: total };
  }
  if (familyTransport === 0x11) {
    if (length < V2_INET_ADDRESS_LENGTH) throw new ParseError(14, `a length of at least ${V2_INET_ADDRESS_LENGTH} for TCP over IPv4`, 'PROXY v2 header');
    return {
      kind: 'header',
      consumed: total,
      value: {
        version: 2,
        command,
        family: 'TCP4',
        source: { address: ipv4(body.subarray(0, 4)), port: body.readUInt16BE(8) },
        destination: { address: ipv4(body.subarray(4, 8)), port: body.readUInt16BE(10) },
      },
    };
  }
  if (familyTransport === 0x21) {
    if (length < V2_INET6_ADDRESS_LENGTH) throw new ParseError(14, `a length of at least ${V2_INET6_ADDRESS_LENGTH} for TCP over IPv6`, 'PROXY v2 header');
    return {
      kind: 'header',
      consumed: total,
      value: {
        version: 2,
        command,
        family: 'TCP6',
        source: { address: ipv6(body.subarray(0, 16)), port: body.readUInt16BE(32) },
        destination: { address: ipv6(body.subarray(16, 32)), port: body.readUInt16BE(34) },
      },
    };
  }
  // UDP and UNIX families are legal but carry no client we could use.
  return { kind: 'header', value: { version: 2, command, family: 'UNKNOWN' }, consumed: total };
}

function parseV1(buf: Buffer): ProxyParseResult {
  const end = buf.indexOf('\r\n');
  if (end < 0) {
    if (buf.length >= V1_MAX_LENGTH) throw new ParseError(V1_MAX_LENGTH, 'CRLF within 107 bytes', 'PROXY v1 header');
    return { kind: 'incomplete' };
  }
  if (end + 2 > V1_MAX_LENGTH) throw new ParseError(V1_MAX_LENGTH, 'CRLF within 107 bytes', 'PROXY v1 header');
  const fields = buf.subarray(0, end).toString('latin1').split(' ');
  const consumed = end + 2;
  const family = fields[1];
  if (family === 'UNKNOWN') return { kind: 'header', value: { version: 1, command: 'PROXY', family: 'UNKNOWN' }, consumed };
  if (family !== 'TCP4' && family !== 'TCP6') throw new ParseError(6, 'TCP4, TCP6 or UNKNOWN', 'PROXY v1 header');
  if (fields.length !== 6) throw new ParseError(0, 'PROXY <family> <src> <dst> <sport> <dport>', 'PROXY v1 header');
  const [, , src = '', dst = '', sport = '', dport = ''] = fields;
  const valid = family === 'TCP4' ? isIPv4 : isIPv6;
  if (!valid(src) || !valid(dst)) throw new ParseError(11, `${family} addresses`, 'PROXY v1 header');
  const source = { address: src, port: v1Port(sport) };
  const destination = { address: dst, port: v1Port(dport) };
  return { kind: 'header', value: { version: 1, command: 'PROXY', family, source, destination }, consumed };
}

function v1Port(text: string): number {
  const port = /^(0|[1-9][0-9]{0,4})$/.test(text) ? Number(text) : NaN;
  if (!(port >= 0 && port <= 65535)) throw new ParseError(0, `a port 0-65535, not "${text.slice(0, 8)}"`, 'PROXY v1 header');
  return port;
}

function ipv4(bytes: Buffer): string {
  return Array.from(bytes).join('.');
}

function ipv6(bytes: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return groups.join(':');
}

/** Writes a v2 PROXY header for a TCP over IPv4 connection (what the lab's proxying load balancer sends). */
export function formatProxyV2(source: ProxyAddress, destination: ProxyAddress): Buffer {
  const out = Buffer.alloc(V2_FIXED_HEADER_LENGTH + V2_INET_ADDRESS_LENGTH);
  PROXY_V2_SIGNATURE.copy(out, 0);
  out.writeUInt8(0x21, 12); // version 2, command PROXY
  out.writeUInt8(0x11, 13); // AF_INET, STREAM
  out.writeUInt16BE(V2_INET_ADDRESS_LENGTH, 14);
  writeIPv4(out, 16, source.address);
  writeIPv4(out, 20, destination.address);
  out.writeUInt16BE(source.port, 24);
  out.writeUInt16BE(destination.port, 26);
  return out;
}

/** Writes a v1 PROXY line. */
export function formatProxyV1(source: ProxyAddress, destination: ProxyAddress): Buffer {
  const family = isIPv6(source.address) ? 'TCP6' : 'TCP4';
  return Buffer.from(`PROXY ${family} ${source.address} ${destination.address} ${source.port} ${destination.port}\r\n`, 'latin1');
}

function writeIPv4(out: Buffer, offset: number, address: string): void {
  if (!isIPv4(address)) throw new Error(`not an IPv4 address: ${address}`);
  address.split('.').forEach((octet, i) => out.writeUInt8(Number(octet), offset + i));
}
