import { ParseError } from '@natlens/agent-wire';

/*
 * pcapng (draft-ietf-opsawg-pcapng). A file is a sequence of blocks:
 *   0 block type (4) | 4 block total length (4) | 8 body | total length again (4)
 * in the byte order of the section they belong to, which the Section Header Block announces with its byte-order
 * magic 0x1A2B3C4D (the SHB's own type, 0x0A0D0D0A, reads the same both ways). Lengths are multiples of 4.
 */

export const BlockType = {
  SECTION_HEADER: 0x0a0d0d0a,
  INTERFACE_DESCRIPTION: 0x00000001,
  /** Obsolete Packet Block: still written by old tools. */
  PACKET: 0x00000002,
  SIMPLE_PACKET: 0x00000003,
  NAME_RESOLUTION: 0x00000004,
  INTERFACE_STATISTICS: 0x00000005,
  ENHANCED_PACKET: 0x00000006,
} as const;

export const BLOCK_HEADER_LENGTH = 8; // type + total length
export const BLOCK_MIN_LENGTH = 12; // header + trailing total length
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const SHB_BYTE_ORDER_OFFSET = 8;
const SHB_MIN_LENGTH = 28; // header (8) + magic (4) + version (4) + section length (8) + trailer (4)
const IDB_LINK_TYPE_OFFSET = 8;
const IDB_SNAPLEN_OFFSET = 12;
const IDB_OPTIONS_OFFSET = 16;
const EPB_FIXED_LENGTH = 32; // header (8) + interface (4) + ts high (4) + ts low (4) + captured (4) + original (4) + trailer (4)
const SPB_FIXED_LENGTH = 16; // header (8) + original length (4) + trailer (4)
const OPB_FIXED_LENGTH = 32; // header (8) + interface (2) + drops (2) + ts high (4) + ts low (4) + captured (4) + original (4) + trailer (4)
const OPTION_END = 0;
const IF_TSRESOL = 9;
const IF_TSOFFSET = 14;

export interface InterfaceDescription {
  linkType: number;
  snapLength: number;
  /** Timestamp units per second, from if_tsresol (default 10^6). */
  unitsPerSecond: number;
  /** if_tsoffset: seconds to add to every timestamp. */
  offsetSeconds: number;
}

/** Which byte order a section uses: read from the SHB at `offset` (the caller checked its type). */
export function sectionByteOrder(buf: Buffer, offset: number): boolean {
  if (buf.length < offset + SHB_MIN_LENGTH) throw new ParseError(buf.length, `a section header block of at least ${SHB_MIN_LENGTH} bytes`, 'pcapng section header');
  if (buf.readUInt32LE(offset + SHB_BYTE_ORDER_OFFSET) === BYTE_ORDER_MAGIC) return true;
  if (buf.readUInt32BE(offset + SHB_BYTE_ORDER_OFFSET) === BYTE_ORDER_MAGIC) return false;
  throw new ParseError(offset + SHB_BYTE_ORDER_OFFSET, 'the byte-order magic 1a2b3c4d', 'pcapng section header');
}

/** An Interface Description Block's body: `block` is the whole block, in the section's byte order. */
export function parseInterfaceDescription(block: Buffer, littleEndian: boolean, blockOffset: number): { value: InterfaceDescription; consumed: number } {
  if (block.length < IDB_OPTIONS_OFFSET + 4) throw new ParseError(blockOffset, 'an interface description block of at least 20 bytes', 'pcapng IDB');
  const u16 = (o: number) => (littleEndian ? block.readUInt16LE(o) : block.readUInt16BE(o));
  const u32 = (o: number) => (littleEndian ? block.readUInt32LE(o) : block.readUInt32BE(o));
  const value: InterfaceDescription = { linkType: u16(IDB_LINK_TYPE_OFFSET), snapLength: u32(IDB_SNAPLEN_OFFSET), unitsPerSecond: 1e6, offsetSeconds: 0 };
  const end = block.length - 4;
  let o = IDB_OPTIONS_OFFSET;
  while (o + 4 <= end) {
    const code = u16(o);
    const length = u16(o + 2);
    if (code === OPTION_END) break;
    if (o + 4 + length > end) throw new ParseError(blockOffset + o, `an option of ${length} bytes within the block`, 'pcapng IDB');
    if (code === IF_TSRESOL && length >= 1) {
      const resolution = block.readUInt8(o + 4);
      // High bit clear: 10^-n seconds; set: 2^-n seconds. Beyond 10^-15 / 2^-50 no clock exists; refuse rather than lose precision silently.
      const exponent = resolution & 0x7f;
      if ((resolution & 0x80) === 0 ? exponent > 15 : exponent > 50) throw new ParseError(blockOffset + o + 4, 'an if_tsresol of at most 10^-15 or 2^-50', 'pcapng IDB');
      value.unitsPerSecond = (resolution & 0x80) === 0 ? 10 ** exponent : 2 ** exponent;
    } else if (code === IF_TSOFFSET && length >= 8) {
      const high = littleEndian ? block.readInt32LE(o + 8) : block.readInt32BE(o + 4);
      const low = littleEndian ? block.readUInt32LE(o + 4) : block.readUInt32BE(o + 8);
      value.offsetSeconds = high * 2 ** 32 + low;
    }
    o += 4 + length + ((4 - (length % 4)) % 4);
  }
  return { value, consumed: block.length };
}

export interface PacketBlock {
  interfaceId: number;
  /** Timestamp in the interface's units, as two 32-bit halves (absent for Simple Packet Blocks). */
  timestampHigh?: number;
  timestampLow?: number;
  originalLength: number;
  /** Offset of the frame in the block. */
  dataOffset: number;
  capturedLength: number;
}

/** EPB, SPB or the obsolete PB: where the frame is and how long. `block` is the whole block. */
export function parsePacketBlock(type: number, block: Buffer, littleEndian: boolean, blockOffset: number, snapLengthOfInterface0: number): { value: PacketBlock; consumed: number } {
  const u16 = (o: number) => (littleEndian ? block.readUInt16LE(o) : block.readUInt16BE(o));
  const u32 = (o: number) => (littleEndian ? block.readUInt32LE(o) : block.readUInt32BE(o));
  const bodyEnd = block.length - 4;
  if (type === BlockType.SIMPLE_PACKET) {
    if (block.length < SPB_FIXED_LENGTH) throw new ParseError(blockOffset, `a simple packet block of at least ${SPB_FIXED_LENGTH} bytes`, 'pcapng SPB');
    const originalLength = u32(8);
    // The SPB has no captured length: it is the original length cut to the snap length (and to the block).
    const limit = snapLengthOfInterface0 === 0 ? originalLength : Math.min(originalLength, snapLengthOfInterface0);
    return { value: { interfaceId: 0, originalLength, dataOffset: 12, capturedLength: Math.min(limit, bodyEnd - 12) }, consumed: block.length };
  }
  const fixed = type === BlockType.ENHANCED_PACKET ? EPB_FIXED_LENGTH : OPB_FIXED_LENGTH;
  if (block.length < fixed) throw new ParseError(blockOffset, `a packet block of at least ${fixed} bytes`, 'pcapng packet block');
  const interfaceId = type === BlockType.ENHANCED_PACKET ? u32(8) : u16(8);
  const capturedLength = u32(20);
  const dataOffset = 28;
  if (dataOffset + capturedLength > bodyEnd) throw new ParseError(blockOffset + 20, `a captured length that fits the block (at most ${bodyEnd - dataOffset})`, 'pcapng packet block');
  return { value: { interfaceId, timestampHigh: u32(12), timestampLow: u32(16), originalLength: u32(24), dataOffset, capturedLength }, consumed: block.length };
}

/** Splits a timestamp of `units` per second into whole seconds and nanoseconds, exactly. */
export function splitTimestamp(high: number, low: number, unitsPerSecond: number): { seconds: number; nanoseconds: number } {
  const units = high * 2 ** 32 + low;
  if (units <= Number.MAX_SAFE_INTEGER && Number.isInteger(unitsPerSecond)) {
    const seconds = Math.floor(units / unitsPerSecond);
    const remainder = units - seconds * unitsPerSecond;
    // remainder × 10^9 stays exact for decimal resolutions up to 10^-9 (remainder × 5^9 < 2^53); finer ones divide down.
    const nanoseconds = unitsPerSecond > 1e9 && unitsPerSecond % 1e9 === 0 ? Math.floor(remainder / (unitsPerSecond / 1e9)) : Math.floor((remainder * 1e9) / unitsPerSecond);
    return { seconds, nanoseconds };
  }
  const big = (BigInt(high) << 32n) | BigInt(low);
  const per = BigInt(unitsPerSecond);
  return { seconds: Number(big / per), nanoseconds: Number(((big % per) * 1_000_000_000n) / per) };
}
