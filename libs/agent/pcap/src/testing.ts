import { isIPv4 } from 'node:net';
import { formatPcapFileHeader, formatPcapRecord } from './capture/pcap-format';
import { LinkType } from './decode/link-layer';

/*
 * Frame builders for tests and the bench: Ethernet + IPv4/IPv6 + TCP/UDP with correct lengths (checksums zero:
 * nothing here verifies them). Not a general packet writer; real captures are the fixtures.
 */

export const FIXTURES_DIR = `${__dirname}/fixtures`;

export interface SegmentSpec {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq?: number;
  ack?: number;
  /** TcpFlag bits; default SYN */
  flags?: number;
  payload?: Buffer;
  proto?: 'tcp' | 'udp';
  vlans?: number[];
}

export function ipBytes(address: string): Buffer {
  if (isIPv4(address)) return Buffer.from(address.split('.').map(Number));
  const [head = '', tail = ''] = address.includes('::') ? address.split('::') : [address, ''];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...new Array(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

function transport(spec: SegmentSpec): Buffer {
  const payload = spec.payload ?? Buffer.alloc(0);
  if (spec.proto === 'udp') {
    const udp = Buffer.alloc(8);
    udp.writeUInt16BE(spec.sport, 0);
    udp.writeUInt16BE(spec.dport, 2);
    udp.writeUInt16BE(8 + payload.length, 4);
    return Buffer.concat([udp, payload]);
  }
  const tcp = Buffer.alloc(20);
  tcp.writeUInt16BE(spec.sport, 0);
  tcp.writeUInt16BE(spec.dport, 2);
  tcp.writeUInt32BE((spec.seq ?? 1000) >>> 0, 4);
  tcp.writeUInt32BE((spec.ack ?? 0) >>> 0, 8);
  tcp.writeUInt8(5 << 4, 12);
  tcp.writeUInt8(spec.flags ?? 0x02, 13);
  tcp.writeUInt16BE(64240, 14);
  return Buffer.concat([tcp, payload]);
}

/** An IP packet (v4 or v6 by the source address) carrying a TCP segment or UDP datagram. */
export function ipPacket(spec: SegmentSpec): Buffer {
  const body = transport(spec);
  const protocol = spec.proto === 'udp' ? 17 : 6;
  if (isIPv4(spec.src)) {
    const ip = Buffer.alloc(20);
    ip.writeUInt8(0x45, 0);
    ip.writeUInt16BE(20 + body.length, 2);
    ip.writeUInt16BE(0x4000, 6); // DF
    ip.writeUInt8(64, 8);
    ip.writeUInt8(protocol, 9);
    ipBytes(spec.src).copy(ip, 12);
    ipBytes(spec.dst).copy(ip, 16);
    return Buffer.concat([ip, body]);
  }
  const ip = Buffer.alloc(40);
  ip.writeUInt32BE(0x60000000, 0);
  ip.writeUInt16BE(body.length, 4);
  ip.writeUInt8(protocol, 6);
  ip.writeUInt8(64, 7);
  ipBytes(spec.src).copy(ip, 8);
  ipBytes(spec.dst).copy(ip, 24);
  return Buffer.concat([ip, body]);
}

/** An Ethernet frame (with 802.1Q tags for `vlans`) around ipPacket(spec). */
export function ethernetFrame(spec: SegmentSpec): Buffer {
  const packet = ipPacket(spec);
  const tags = (spec.vlans ?? []).map((vid) => Buffer.from([0x81, 0x00, vid >> 8, vid & 0xff]));
  const header = Buffer.from('02000000000102000000000200', 'hex').subarray(0, 12);
  const etherType = Buffer.from(isIPv4(spec.src) ? [0x08, 0x00] : [0x86, 0xdd]);
  return Buffer.concat([header, ...tags, etherType, packet]);
}

/** A little-endian microsecond pcap file of Ethernet frames, one per spec, `stepUs` apart. */
export function pcapFile(specs: SegmentSpec[], startSeconds = 1_795_316_700, stepUs = 100): Buffer {
  const parts = [formatPcapFileHeader({ linkType: LinkType.ETHERNET })];
  specs.forEach((spec, i) => {
    const us = i * stepUs;
    parts.push(formatPcapRecord({ seconds: startSeconds + Math.floor(us / 1e6), fraction: us % 1e6, frame: ethernetFrame(spec) }));
  });
  return Buffer.concat(parts);
}
