import { ParseError } from '@natlens/agent-wire';

/* TCP (RFC 9293) and UDP (RFC 768) headers. All fields network order; payloads are views of the captured bytes. */

/** TCP flag bits as they sit in byte 13 (CWR … FIN); NS (RFC 3540, historic) is bit 0 of byte 12. */
export const TcpFlag = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10, URG: 0x20, ECE: 0x40, CWR: 0x80 } as const;

export interface TcpSegment {
  sport: number;
  dport: number;
  /** Sequence and acknowledgment numbers, unsigned 32-bit. NAT leaves them alone (kube-proxy's rules never rewrite them). */
  seq: number;
  ack: number;
  /** Byte 13: CWR ECE URG ACK PSH RST SYN FIN. */
  flags: number;
  window: number;
  options: Buffer;
  payload: Buffer;
}

export interface UdpDatagram {
  sport: number;
  dport: number;
  /** The length field: header + data, as the sender wrote it. */
  length: number;
  payload: Buffer;
}

const TCP_MIN_HEADER_LENGTH = 20;
const TCP_SEQ_OFFSET = 4;
const TCP_ACK_OFFSET = 8;
const TCP_DATA_OFFSET_OFFSET = 12; // data offset in the high nibble, in 32-bit words
const TCP_FLAGS_OFFSET = 13;
const TCP_WINDOW_OFFSET = 14;

export function parseTcp(buf: Buffer): { value: TcpSegment; consumed: number } {
  if (buf.length < TCP_MIN_HEADER_LENGTH) throw new ParseError(buf.length, `a TCP header of at least ${TCP_MIN_HEADER_LENGTH} bytes`, 'TCP segment');
  const headerLength = (buf.readUInt8(TCP_DATA_OFFSET_OFFSET) >> 4) * 4;
  if (headerLength < TCP_MIN_HEADER_LENGTH) throw new ParseError(TCP_DATA_OFFSET_OFFSET, 'a data offset of at least 5 words', 'TCP segment');
  if (buf.length < headerLength) throw new ParseError(buf.length, `the ${headerLength}-byte TCP header with its options`, 'TCP segment');
  return {
    value: {
      sport: buf.readUInt16BE(0),
      dport: buf.readUInt16BE(2),
      seq: buf.readUInt32BE(TCP_SEQ_OFFSET),
      ack: buf.readUInt32BE(TCP_ACK_OFFSET),
      flags: buf.readUInt8(TCP_FLAGS_OFFSET),
      window: buf.readUInt16BE(TCP_WINDOW_OFFSET),
      options: buf.subarray(TCP_MIN_HEADER_LENGTH, headerLength),
      payload: buf.subarray(headerLength),
    },
    consumed: buf.length,
  };
}

/** tcpdump's notation: S, F, R, P, U, E, W and "." for ACK ("S." is a SYN-ACK). */
export function tcpFlagsText(flags: number): string {
  let text = '';
  if (flags & TcpFlag.SYN) text += 'S';
  if (flags & TcpFlag.FIN) text += 'F';
  if (flags & TcpFlag.PSH) text += 'P';
  if (flags & TcpFlag.RST) text += 'R';
  if (flags & TcpFlag.URG) text += 'U';
  if (flags & TcpFlag.ECE) text += 'E';
  if (flags & TcpFlag.CWR) text += 'W';
  if (flags & TcpFlag.ACK) text += '.';
  return text || 'none';
}

const UDP_HEADER_LENGTH = 8; // sport (2) + dport (2) + length (2) + checksum (2)

export function parseUdp(buf: Buffer): { value: UdpDatagram; consumed: number } {
  if (buf.length < UDP_HEADER_LENGTH) throw new ParseError(buf.length, `a UDP header of ${UDP_HEADER_LENGTH} bytes`, 'UDP datagram');
  const length = buf.readUInt16BE(4);
  // Length 0 is legal for jumbograms (RFC 2675); otherwise it must cover the header.
  if (length !== 0 && length < UDP_HEADER_LENGTH) throw new ParseError(4, 'a UDP length of at least 8', 'UDP datagram');
  const end = length === 0 ? buf.length : Math.min(length, buf.length);
  return { value: { sport: buf.readUInt16BE(0), dport: buf.readUInt16BE(2), length, payload: buf.subarray(UDP_HEADER_LENGTH, end) }, consumed: end };
}
