import { ParseError } from '@natlens/agent-wire';
import { IpProtocol, parseIPv4, parseIPv6, type IpPacket } from './ip';
import { EtherType, linkParserFor, type LinkFrame } from './link-layer';
import { parseTcp, parseUdp, type TcpSegment, type UdpDatagram } from './transport';

/** One captured frame decoded as far as we understand it. */
export interface DecodedPacket {
  link: LinkFrame;
  /** Absent for frames that carry no IP (ARP, LLDP, …). */
  ip?: IpPacket;
  /** Absent for non-first fragments and other protocols. */
  tcp?: TcpSegment;
  udp?: UdpDatagram;
}

/**
 * Decodes link layer → IP → TCP/UDP. Throws ParseError with the offset in the frame; a link type we do not
 * decode is a ParseError at offset 0 too (the caller counts it, and every other packet of the file still decodes).
 */
export function decodePacket(linkType: number, frame: Buffer): DecodedPacket {
  const parseLink = linkParserFor(linkType);
  if (!parseLink) throw new ParseError(0, `a supported link type (Ethernet, Linux cooked v1/v2, raw IP), not ${linkType}`, 'frame');
  const link = parseLink(frame).value;
  const packet: DecodedPacket = { link };
  if (link.etherType !== EtherType.IPV4 && link.etherType !== EtherType.IPV6) return packet;
  const network = frame.subarray(link.payloadOffset);
  let ip: IpPacket;
  try {
    ip = (link.etherType === EtherType.IPV4 ? parseIPv4(network) : parseIPv6(network)).value;
  } catch (err) {
    throw shifted(err, link.payloadOffset);
  }
  packet.ip = ip;
  if (ip.fragment && ip.fragment.offset !== 0) return packet;
  const transportOffset = link.payloadOffset + (ip.payload.byteOffset - network.byteOffset);
  try {
    if (ip.protocol === IpProtocol.TCP) packet.tcp = parseTcp(ip.payload).value;
    else if (ip.protocol === IpProtocol.UDP) packet.udp = parseUdp(ip.payload).value;
  } catch (err) {
    throw shifted(err, transportOffset);
  }
  return packet;
}

/** A ParseError from an inner layer, with its offset moved to count from the start of the frame. */
function shifted(err: unknown, by: number): unknown {
  if (!(err instanceof ParseError)) return err;
  return new ParseError(err.offset + by, err.expected, err.what);
}
