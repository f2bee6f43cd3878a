import { ParseError } from '@natlens/agent-wire';
import { isPcapMagic, MAXIMUM_SNAPLEN, parsePcapFileHeader, PCAP_RECORD_HEADER_LENGTH, readPcapRecordHeader, type PcapFileHeader, type PcapRecordHeader } from './pcap-format';
import { BLOCK_HEADER_LENGTH, BLOCK_MIN_LENGTH, BlockType, parseInterfaceDescription, parsePacketBlock, sectionByteOrder, splitTimestamp, type InterfaceDescription } from './pcapng-format';

/*
 * Reads a pcap or pcapng capture from a whole buffer or from a stream (`tcpdump -w - -U`), one chunk at a time.
 * No I/O. Every record comes out as a view into the bytes that were pushed, with its file offset.
 *
 * Malformed input never stops the reader while more packets can be had: a record header that cannot be right (a
 * captured length beyond any snap length, a pcapng block whose two length fields disagree) is reported as a
 * ParseError at its file offset, and the reader scans forward for the next header that is plausible and is followed
 * by two more plausible headers (or the end of the file), so one corrupted record costs one record. A file with a
 * wrong magic number is the only fatal error.
 */

export interface CaptureRecord {
  /** File offset of the record header (pcap) or block (pcapng). */
  offset: number;
  /** File offset of the frame's first byte. */
  frameOffset: number;
  linkType: number;
  /** pcapng interface id; 0 for pcap. */
  interfaceId: number;
  seconds: number;
  nanoseconds: number;
  /** The frame's length on the wire; `frame.length` is what was captured. */
  originalLength: number;
  frame: Buffer;
}

export interface CaptureVisitor {
  packet(record: CaptureRecord): void;
  error(error: ParseError): void;
}

export type CaptureFormat = 'pcap' | 'pcapng';

const PCAPNG_SHB_TYPE_BYTES = 0x0a0d0d0a;
/** No block we read is longer: a length beyond it is corruption, not a reason to buffer more of a live stream. */
const PCAPNG_MAX_BLOCK_LENGTH = 16 << 20;
/** Snap lengths beyond this are not set by any capture tool; 0 means "unset" to some writers but is still wrong. */
const ABSURD_SNAPLEN = 16 << 20;
/** When resynchronising, a record must lie within a day of the last good one to be believed. */
const RESYNC_MAX_SECONDS_APART = 86_400;
/** How many plausible record headers must follow a candidate before a resynchronising scan believes it. */
const RESYNC_CHAIN = 2;
const KNOWN_BLOCK_TYPES = new Set<number>(Object.values(BlockType));

export class CaptureReader {
  private pending: Buffer = Buffer.alloc(0);
  /** File offset of pending[0]. */
  private base = 0;
  private format: CaptureFormat | 'failed' | undefined;
  private pcap: (PcapFileHeader & { recordLimit: number; fractionLimit: number }) | undefined;
  private lastSeconds: number | undefined;
  private littleEndian = true;
  private interfaces: InterfaceDescription[] = [];
  /** A resynchronising scan waiting for more bytes starts here (file offset). */
  private resyncFrom: number | undefined;
  private packets = 0;
  private errors = 0;

  get stats(): { format: CaptureFormat | 'failed' | undefined; packets: number; errors: number; bytes: number } {
    return { format: this.format, packets: this.packets, errors: this.errors, bytes: this.base + this.pending.length };
  }

  push(chunk: Buffer, visitor: CaptureVisitor): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    this.drain(visitor, false);
  }

  /** The input ended: whatever is left is a truncated record. */
  end(visitor: CaptureVisitor): void {
    this.drain(visitor, true);
  }

  private drain(visitor: CaptureVisitor, final: boolean): void {
    const counted: CaptureVisitor = {
      packet: (r) => {
        this.packets++;
        visitor.packet(r);
      },
      error: (e) => {
        this.errors++;
        visitor.error(e);
      },
    };
    if (this.format === undefined && !this.detect(counted, final)) return;
    let consumed = 0;
    if (this.format === 'pcap') consumed = this.drainPcap(counted, final);
    else if (this.format === 'pcapng') consumed = this.drainPcapng(counted, final);
    else consumed = this.pending.length;
    this.base += consumed;
    this.pending = this.pending.subarray(consumed);
  }

  private detect(visitor: CaptureVisitor, final: boolean): boolean {
    const buf = this.pending;
    if (buf.length < 4 || (isPcapMagic(buf) && buf.length < 24)) {
      if (final) {
        visitor.error(new ParseError(buf.length, 'a pcap file header (24 bytes) or a pcapng section header', 'capture file'));
        this.format = 'failed';
      }
      return false;
    }
    if (isPcapMagic(buf)) {
      const header = parsePcapFileHeader(buf).value;
      const absurd = header.snapLength === 0 || header.snapLength > ABSURD_SNAPLEN;
      if (absurd) visitor.error(new ParseError(16, `a snap length of 1 to ${ABSURD_SNAPLEN}, not ${header.snapLength}; reading on with ${MAXIMUM_SNAPLEN}`, 'pcap file header'));
      this.pcap = { ...header, recordLimit: Math.max(absurd ? 0 : header.snapLength, MAXIMUM_SNAPLEN), fractionLimit: header.nanosecond ? 1e9 : 1e6 };
      this.format = 'pcap';
      this.base = 24;
      this.pending = buf.subarray(24);
      return true;
    }
    if (buf.readUInt32BE(0) === PCAPNG_SHB_TYPE_BYTES) {
      this.format = 'pcapng';
      return true;
    }
    visitor.error(new ParseError(0, 'a pcap magic number (a1b2c3d4, a1b23c4d, either byte order) or a pcapng section header (0a0d0d0a)', 'capture file'));
    this.format = 'failed';
    return false;
  }

  // ---- pcap -------------------------------------------------------------------------------------------------------

  private drainPcap(visitor: CaptureVisitor, final: boolean): number {
    const buf = this.pending;
    const pcap = this.pcap as NonNullable<CaptureReader['pcap']>;
    let pos = 0;
    if (this.resyncFrom !== undefined) {
      const scan = this.resyncPcap(this.resyncFrom - this.base, final);
      if (scan.found === undefined) return this.waitOrGiveUp(scan.waitFrom, final);
      this.resyncFrom = undefined;
      pos = scan.found;
    }
    while (pos + PCAP_RECORD_HEADER_LENGTH <= buf.length) {
      const header = readPcapRecordHeader(buf, pos, pcap.littleEndian);
      const frameStart = pos + PCAP_RECORD_HEADER_LENGTH;
      const frameEnd = frameStart + header.capturedLength;
      if (header.capturedLength > pcap.recordLimit || (final && frameEnd > buf.length)) {
        visitor.error(
          header.capturedLength > pcap.recordLimit
            ? new ParseError(this.base + pos + 8, `a captured length of at most ${pcap.recordLimit}, not ${header.capturedLength}`, 'pcap record header')
            : new ParseError(this.base + buf.length, `${header.capturedLength} bytes of packet data after offset ${this.base + frameStart}; the file ends first`, 'pcap record'),
        );
        const scan = this.resyncPcap(pos + 1, final);
        if (scan.found === undefined) return this.waitOrGiveUp(scan.waitFrom, final);
        pos = scan.found;
        continue;
      }
      if (frameEnd > buf.length) break;
      // More bytes captured than the packet had: a damaged length, unless a believable record follows it (some
      // writers get this wrong). Read as it claims, it would swallow the records it overlaps.
      const overlong = header.capturedLength > header.originalLength && frameEnd < buf.length ? this.plausiblePcapChain(frameEnd, 0, final) : 'yes';
      if (overlong === 'wait') break;
      if (overlong === 'no') {
        visitor.error(new ParseError(this.base + pos + 8, `a captured length of at most the original length ${header.originalLength}, not ${header.capturedLength}`, 'pcap record header'));
        const scan = this.resyncPcap(pos + 1, final);
        if (scan.found === undefined) return this.waitOrGiveUp(scan.waitFrom, final);
        pos = scan.found;
        continue;
      }
      this.lastSeconds = header.seconds;
      visitor.packet({
        offset: this.base + pos,
        frameOffset: this.base + frameStart,
        linkType: pcap.linkType,
        interfaceId: 0,
        seconds: header.seconds,
        nanoseconds: pcap.nanosecond ? header.fraction : header.fraction * 1000,
        originalLength: header.originalLength,
        frame: buf.subarray(frameStart, frameEnd),
      });
      pos = frameEnd;
    }
    if (final && pos < buf.length) {
      visitor.error(new ParseError(this.base + pos, `a ${PCAP_RECORD_HEADER_LENGTH}-byte record header; the file ends after ${buf.length - pos}`, 'pcap record header'));
      return buf.length;
    }
    return pos;
  }

  /**
   * The position of the next record header worth believing; without one, where to scan on from once more bytes
   * have come (everything before it has been ruled out).
   */
  private resyncPcap(from: number, final: boolean): { found?: number; waitFrom: number } {
    const buf = this.pending;
    let p = from;
    for (; p + PCAP_RECORD_HEADER_LENGTH <= buf.length; p++) {
      const verdict = this.plausiblePcapChain(p, RESYNC_CHAIN, final);
      if (verdict === 'yes') return { found: p, waitFrom: p };
      if (verdict === 'wait') return { waitFrom: p };
    }
    return { waitFrom: p };
  }

  /**
   * Whether a record header at `p` is believable: it is plausible and so are the `followers` headers after it (or the
   * file ends exactly after it). Packet bytes often look like one plausible header by chance, rarely like a chain, so
   * a chain keeps a resynchronising scan from landing inside a packet and losing the records after it.
   */
  private plausiblePcapChain(p: number, followers: number, final: boolean): 'yes' | 'no' | 'wait' {
    const buf = this.pending;
    const littleEndian = this.pcap?.littleEndian ?? true;
    const header = readPcapRecordHeader(buf, p, littleEndian);
    if (!this.plausiblePcap(header)) return 'no';
    const next = p + PCAP_RECORD_HEADER_LENGTH + header.capturedLength;
    if (next === buf.length && final) return 'yes';
    if (next + PCAP_RECORD_HEADER_LENGTH > buf.length) return final ? 'no' : 'wait';
    return followers === 0 ? 'yes' : this.plausiblePcapChain(next, followers - 1, final);
  }

  /** No plausible header in what we hold: at the end of input give up on the rest, else wait for more. */
  private waitOrGiveUp(waitFrom: number, final: boolean): number {
    if (final) {
      this.resyncFrom = undefined;
      return this.pending.length;
    }
    this.resyncFrom = this.base + waitFrom;
    return waitFrom;
  }

  private plausiblePcap(h: PcapRecordHeader): boolean {
    const pcap = this.pcap as NonNullable<CaptureReader['pcap']>;
    if (h.capturedLength > pcap.recordLimit || h.capturedLength > h.originalLength || h.originalLength > ABSURD_SNAPLEN) return false;
    if (h.fraction >= pcap.fractionLimit) return false;
    return this.lastSeconds === undefined || Math.abs(h.seconds - this.lastSeconds) <= RESYNC_MAX_SECONDS_APART;
  }

  // ---- pcapng -----------------------------------------------------------------------------------------------------

  private drainPcapng(visitor: CaptureVisitor, final: boolean): number {
    const buf = this.pending;
    let pos = 0;
    if (this.resyncFrom !== undefined) {
      const scan = this.resyncPcapng(this.resyncFrom - this.base, final);
      if (scan.found === undefined) return this.waitOrGiveUp(scan.waitFrom, final);
      this.resyncFrom = undefined;
      pos = scan.found;
    }
    while (pos + BLOCK_HEADER_LENGTH <= buf.length) {
      const type = this.u32(buf, pos);
      if (type === BlockType.SECTION_HEADER) {
        try {
          this.littleEndian = sectionByteOrder(buf, pos);
        } catch (err) {
          if (!final && pos + 28 > buf.length) break;
          visitor.error(err as ParseError);
          const scan = this.resyncPcapng(pos + 4, final);
          if (scan.found === undefined) return this.waitOrGiveUp(scan.waitFrom, final);
          pos = scan.found;
          continue;
        }
      }
      const length = this.u32(buf, pos + 4);
      const broken = length < BLOCK_MIN_LENGTH || length % 4 !== 0 || length > PCAPNG_MAX_BLOCK_LENGTH;
      if (!broken && pos + length > buf.length && !final) break;
      if (broken || pos + length > buf.length || this.u32(buf, pos + length - 4) !== length) {
        visitor.error(
          broken
            ? new ParseError(this.base + pos + 4, `a block length that is a multiple of 4 from ${BLOCK_MIN_LENGTH} to ${PCAPNG_MAX_BLOCK_LENGTH}, not ${length}`, 'pcapng block')
            : pos + length > buf.length
              ? new ParseError(this.base + buf.length, `a block of ${length} bytes from offset ${this.base + pos}; the file ends first`, 'pcapng block')
              : new ParseError(this.base + pos + length - 4, `the trailing block length ${length} (the block's first length field)`, 'pcapng block'),
        );
        const scan = this.resyncPcapng(pos + 4, final);
        if (scan.found === undefined) return this.waitOrGiveUp(scan.waitFrom, final);
        pos = scan.found;
        continue;
      }
      this.block(type, buf.subarray(pos, pos + length), this.base + pos, visitor);
      pos += length;
    }
    if (final && pos < buf.length) {
      visitor.error(new ParseError(this.base + pos, `an ${BLOCK_HEADER_LENGTH}-byte block header; the file ends after ${buf.length - pos}`, 'pcapng block'));
      return buf.length;
    }
    return pos;
  }

  private block(type: number, block: Buffer, offset: number, visitor: CaptureVisitor): void {
    try {
      if (type === BlockType.SECTION_HEADER) {
        this.interfaces = [];
      } else if (type === BlockType.INTERFACE_DESCRIPTION) {
        const description = parseInterfaceDescription(block, this.littleEndian, offset).value;
        if (description.snapLength > ABSURD_SNAPLEN) visitor.error(new ParseError(offset + 12, `a snap length of at most ${ABSURD_SNAPLEN}, not ${description.snapLength}`, 'pcapng IDB'));
        this.interfaces.push(description);
      } else if (type === BlockType.ENHANCED_PACKET || type === BlockType.SIMPLE_PACKET || type === BlockType.PACKET) {
        const packet = parsePacketBlock(type, block, this.littleEndian, offset, this.interfaces[0]?.snapLength ?? 0).value;
        const description = this.interfaces[packet.interfaceId];
        if (!description) throw new ParseError(offset + 8, `an interface id below ${this.interfaces.length} (interfaces described so far)`, 'pcapng packet block');
        const time = packet.timestampHigh === undefined ? { seconds: 0, nanoseconds: 0 } : splitTimestamp(packet.timestampHigh, packet.timestampLow ?? 0, description.unitsPerSecond);
        visitor.packet({
          offset,
          frameOffset: offset + packet.dataOffset,
          linkType: description.linkType,
          interfaceId: packet.interfaceId,
          seconds: time.seconds + description.offsetSeconds,
          nanoseconds: time.nanoseconds,
          originalLength: packet.originalLength,
          frame: block.subarray(packet.dataOffset, packet.dataOffset + packet.capturedLength),
        });
      }
      // Name resolution, statistics, custom and unknown blocks: nothing we need.
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
      // An IDB we could not read still takes its interface id, so later packets keep their interface.
      if (type === BlockType.INTERFACE_DESCRIPTION) this.interfaces.push({ linkType: -1, snapLength: 0, unitsPerSecond: 1e6, offsetSeconds: 0 });
      visitor.error(err);
    }
  }

  private resyncPcapng(from: number, final: boolean): { found?: number; waitFrom: number } {
    const buf = this.pending;
    // Blocks are multiples of 4 from the section start, so a resynchronised block starts on a multiple of 4 too.
    let p = alignedUp(from, this.base);
    for (; p + BLOCK_HEADER_LENGTH <= buf.length; p += 4) {
      const type = this.u32(buf, p);
      if (!KNOWN_BLOCK_TYPES.has(type)) continue;
      const length = this.u32(buf, p + 4);
      if (length < BLOCK_MIN_LENGTH || length % 4 !== 0 || length > PCAPNG_MAX_BLOCK_LENGTH) continue;
      if (p + length > buf.length) {
        if (final) continue;
        return { waitFrom: p };
      }
      if (this.u32(buf, p + length - 4) === length) return { found: p, waitFrom: p };
    }
    return { waitFrom: p };
  }

  private u32(buf: Buffer, offset: number): number {
    return this.littleEndian ? buf.readUInt32LE(offset) : buf.readUInt32BE(offset);
  }
}

function alignedUp(position: number, base: number): number {
  const misalignment = (base + position) % 4;
  return misalignment === 0 ? position : position + 4 - misalignment;
}

/** Reads a whole capture file held in memory. */
export function readCapture(file: Buffer): { format: CaptureFormat | 'failed' | undefined; records: CaptureRecord[]; errors: ParseError[] } {
  const records: CaptureRecord[] = [];
  const errors: ParseError[] = [];
  const reader = new CaptureReader();
  const visitor: CaptureVisitor = { packet: (r) => records.push(r), error: (e) => errors.push(e) };
  reader.push(file, visitor);
  reader.end(visitor);
  return { format: reader.stats.format, records, errors };
}
