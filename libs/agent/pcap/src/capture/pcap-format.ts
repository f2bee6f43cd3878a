import { ParseError } from '@natlens/agent-wire';

/*
 * The classic pcap file format (draft-ietf-opsawg-pcap). The file's own byte order is the order its magic number
 * was written in; every later field of the file header and record headers is in that order.
 *
 *   file header (24): 0 magic (4) | 4 version major (2) | 6 minor (2) | 8 thiszone (4) | 12 sigfigs (4)
 *                     | 16 snaplen (4) | 20 link type + FCS bits (4)
 *   record header (16): 0 ts seconds (4) | 4 ts µs or ns (4) | 8 captured length (4) | 12 original length (4)
 */

export const PCAP_FILE_HEADER_LENGTH = 24;
export const PCAP_RECORD_HEADER_LENGTH = 16;
const SNAPLEN_OFFSET = 16;
const LINK_TYPE_OFFSET = 20;
/** Bits 0–27 of the link type field are the LINKTYPE; 28–31 say whether frames carry an FCS. */
const LINK_TYPE_MASK = 0x0fffffff;
/** libpcap's MAXIMUM_SNAPLEN: nothing it writes has a longer record; a longer one means a corrupted header. */
export const MAXIMUM_SNAPLEN = 262_144;

const MAGIC_MICROSECONDS = 0xa1b2c3d4;
const MAGIC_NANOSECONDS = 0xa1b23c4d;

export interface PcapFileHeader {
  littleEndian: boolean;
  nanosecond: boolean;
  versionMajor: number;
  versionMinor: number;
  snapLength: number;
  linkType: number;
}

export interface PcapRecordHeader {
  seconds: number;
  /** µs or ns, per the file's magic */
  fraction: number;
  capturedLength: number;
  originalLength: number;
}

/** True for the four pcap magic numbers in either byte order. */
export function isPcapMagic(buf: Buffer): boolean {
  if (buf.length < 4) return false;
  const le = buf.readUInt32LE(0);
  const be = buf.readUInt32BE(0);
  return le === MAGIC_MICROSECONDS || le === MAGIC_NANOSECONDS || be === MAGIC_MICROSECONDS || be === MAGIC_NANOSECONDS;
}

export function parsePcapFileHeader(buf: Buffer): { value: PcapFileHeader; consumed: number } {
  if (buf.length < 4) throw new ParseError(buf.length, 'a 4-byte pcap magic number', 'pcap file header');
  let littleEndian: boolean;
  let nanosecond: boolean;
  const le = buf.readUInt32LE(0);
  const be = buf.readUInt32BE(0);
  if (le === MAGIC_MICROSECONDS || le === MAGIC_NANOSECONDS) {
    littleEndian = true;
    nanosecond = le === MAGIC_NANOSECONDS;
  } else if (be === MAGIC_MICROSECONDS || be === MAGIC_NANOSECONDS) {
    littleEndian = false;
    nanosecond = be === MAGIC_NANOSECONDS;
  } else {
    throw new ParseError(0, 'a pcap magic number (a1b2c3d4 or a1b23c4d, either byte order)', 'pcap file header');
  }
  if (buf.length < PCAP_FILE_HEADER_LENGTH) throw new ParseError(buf.length, `a ${PCAP_FILE_HEADER_LENGTH}-byte file header`, 'pcap file header');
  const u16 = (o: number) => (littleEndian ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const u32 = (o: number) => (littleEndian ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  return {
    value: {
      littleEndian,
      nanosecond,
      versionMajor: u16(4),
      versionMinor: u16(6),
      snapLength: u32(SNAPLEN_OFFSET),
      linkType: u32(LINK_TYPE_OFFSET) & LINK_TYPE_MASK,
    },
    consumed: PCAP_FILE_HEADER_LENGTH,
  };
}

/** Reads a record header at `offset` (the caller checked 16 bytes are there). */
export function readPcapRecordHeader(buf: Buffer, offset: number, littleEndian: boolean): PcapRecordHeader {
  if (littleEndian) {
    return { seconds: buf.readUInt32LE(offset), fraction: buf.readUInt32LE(offset + 4), capturedLength: buf.readUInt32LE(offset + 8), originalLength: buf.readUInt32LE(offset + 12) };
  }
  return { seconds: buf.readUInt32BE(offset), fraction: buf.readUInt32BE(offset + 4), capturedLength: buf.readUInt32BE(offset + 8), originalLength: buf.readUInt32BE(offset + 12) };
}

/** Writes a pcap file header in little-endian order (test fixtures and the bench's synthetic captures). */
export function formatPcapFileHeader(header: { linkType: number; snapLength?: number; nanosecond?: boolean }): Buffer {
  const out = Buffer.alloc(PCAP_FILE_HEADER_LENGTH);
  out.writeUInt32LE(header.nanosecond ? MAGIC_NANOSECONDS : MAGIC_MICROSECONDS, 0);
  out.writeUInt16LE(2, 4);
  out.writeUInt16LE(4, 6);
  out.writeUInt32LE(header.snapLength ?? MAXIMUM_SNAPLEN, SNAPLEN_OFFSET);
  out.writeUInt32LE(header.linkType, LINK_TYPE_OFFSET);
  return out;
}

/** Writes one record (header + frame) in little-endian order. */
export function formatPcapRecord(record: { seconds: number; fraction: number; frame: Buffer; originalLength?: number }): Buffer {
  const header = Buffer.alloc(PCAP_RECORD_HEADER_LENGTH);
  header.writeUInt32LE(record.seconds, 0);
  header.writeUInt32LE(record.fraction, 4);
  header.writeUInt32LE(record.frame.length, 8);
  header.writeUInt32LE(record.originalLength ?? record.frame.length, 12);
  return Buffer.concat([header, record.frame]);
}
