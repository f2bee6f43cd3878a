import { ParseError } from '@natlens/agent-wire';
import { parse as parsePcapStream, type GlobalHeader, type PacketHeader } from 'pcap-parser';
import type { Readable } from 'node:stream';
import type { CaptureRecord, CaptureVisitor } from './capture-reader';
import { MAXIMUM_SNAPLEN, PCAP_FILE_HEADER_LENGTH, PCAP_RECORD_HEADER_LENGTH } from './pcap-format';

/*
 * The live capture path: the classic pcap stream `tcpdump -w - -U` writes, read with pcap-parser (the library the
 * design names for packet capture). A live stream from tcpdump is well formed, microsecond pcap, so the library's
 * simple state machine is enough; files imported from elsewhere go through CaptureReader instead, which reads
 * pcapng and nanosecond pcap and steps over damaged records with their offsets (pcap-parser does neither: see
 * live-pcap-stream.spec.ts).
 *
 * One guard is ours: pcap-parser waits for as many bytes as a record header announces, so a corrupted captured
 * length would make it buffer the stream forever. A length beyond the snap length is reported as a ParseError at the
 * record's offset and the stream is destroyed, which ends tcpdump (SIGPIPE) so its owner can start a new one.
 */

export interface LivePcapStats {
  linkType: number | undefined;
  packets: number;
  errors: number;
  /** Stream bytes accounted for: the file header and every whole record. */
  bytes: number;
}

export interface LivePcapReader {
  readonly stats: LivePcapStats;
}

export interface LivePcapVisitor extends CaptureVisitor {
  /** The stream ended or was given up; no more records come. */
  end?(): void;
}

export function readLivePcap(stream: Readable, visitor: LivePcapVisitor): LivePcapReader {
  const stats: LivePcapStats = { linkType: undefined, packets: 0, errors: 0, bytes: 0 };
  let recordLimit = MAXIMUM_SNAPLEN;
  let failed = false;
  let ended = false;
  const fail = (error: ParseError): void => {
    if (failed) return;
    failed = true;
    stats.errors++;
    visitor.error(error);
    stream.destroy();
    finish();
  };
  const finish = (): void => {
    if (ended) return;
    ended = true;
    visitor.end?.();
  };

  // pcap-parser drops a record the stream ends inside of without a word; counting what arrived lets us say so.
  let received = 0;
  stream.on('data', (chunk: Buffer) => {
    received += chunk.length;
  });
  const parser = parsePcapStream(stream);
  parser.on('globalHeader', (header: GlobalHeader) => {
    stats.linkType = header.linkLayerType & 0x0fffffff;
    recordLimit = Math.max(header.snapshotLength, MAXIMUM_SNAPLEN);
    stats.bytes = PCAP_FILE_HEADER_LENGTH;
  });
  parser.on('packetHeader', (header: PacketHeader) => {
    if (header.capturedLength > recordLimit || header.capturedLength > header.originalLength + recordLimit) {
      fail(new ParseError(stats.bytes + 8, `a captured length of at most ${recordLimit}, not ${header.capturedLength}`, 'pcap record header'));
    }
  });
  parser.on('packet', ({ header, data }) => {
    if (failed) return;
    const offset = stats.bytes;
    stats.bytes += PCAP_RECORD_HEADER_LENGTH + data.length;
    stats.packets++;
    const record: CaptureRecord = {
      offset,
      frameOffset: offset + PCAP_RECORD_HEADER_LENGTH,
      linkType: stats.linkType ?? 0,
      interfaceId: 0,
      seconds: header.timestampSeconds,
      nanoseconds: header.timestampMicroseconds * 1000,
      originalLength: header.originalLength,
      frame: data,
    };
    visitor.packet(record);
  });
  parser.on('error', (err: Error) => {
    // pcap-parser's only own error is the file header's ("unknown magic number", "unsupported version");
    // a stream error (EPIPE, destroyed) arrives here too.
    fail(new ParseError(0, `a microsecond pcap stream as tcpdump -w - writes (${err.message})`, 'pcap file header'));
  });
  parser.on('end', () => {
    if (!failed && received > stats.bytes) {
      stats.errors++;
      visitor.error(new ParseError(stats.bytes, `${received - stats.bytes} more bytes of a record; the stream ended inside it`, stats.bytes < PCAP_FILE_HEADER_LENGTH ? 'pcap file header' : 'pcap record'));
    }
    finish();
  });
  return { stats };
}
