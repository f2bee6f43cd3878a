import { ParseError } from '@natlens/agent-wire';
import type { ConntrackFamily, ConntrackProtocol } from './conntrack-entry';
import { CTA_IP, CTA_PROTO, CTA_TUPLE, IPPROTO } from './ctnetlink-constants';
import { formatIPv6, IPV4_LENGTH, IPV6_LENGTH } from '@natlens/agent-wire';
import { checkAttributes, expectLength, ipv4Text, LENGTH_OFFSET, step, u16host, u16net } from './lean-attribute-reader';
import { emptyLeanTuple, type LeanConntrackTuple } from './lean-conntrack-entry';
import { NLA_HDRLEN, NLA_TYPE_MASK, NLA_TYPE_OFFSET } from './netlink-constants';

/*
 * CTA_TUPLE_ORIG / CTA_TUPLE_REPLY for the lean decoder (decode-event-lean.ts), with parseTuple()'s checks and
 * ParseErrors (parse-conntrack.ts) in the same order.
 */

const WHAT = 'ctnetlink message';

function protocolOf(number: number): ConntrackProtocol {
  switch (number) {
    case IPPROTO.TCP:
      return 'tcp';
    case IPPROTO.UDP:
      return 'udp';
    case IPPROTO.SCTP:
      return 'sctp';
    case IPPROTO.ICMP:
      return 'icmp';
    case IPPROTO.ICMPV6:
      return 'icmpv6';
    default:
      return number;
  }
}

export function decodeTuple(buf: Buffer, nest: number, nestEnd: number, family: ConntrackFamily, name: string): LeanConntrackTuple {
  const tuple = emptyLeanTuple();
  let src: string | undefined;
  let dst: string | undefined;
  let protocol: number | undefined;
  checkAttributes(buf, nest + NLA_HDRLEN, nestEnd);
  for (let at = nest + NLA_HDRLEN; at < nestEnd; at += step(buf, at, nestEnd)) {
    const type = u16host(buf, at + NLA_TYPE_OFFSET) & NLA_TYPE_MASK;
    const payloadEnd = at + u16host(buf, at + LENGTH_OFFSET);
    if (type === CTA_TUPLE.IP) {
      checkAttributes(buf, at + NLA_HDRLEN, payloadEnd);
      for (let address = at + NLA_HDRLEN; address < payloadEnd; address += step(buf, address, payloadEnd)) {
        const addressType = u16host(buf, address + NLA_TYPE_OFFSET) & NLA_TYPE_MASK;
        if (addressType === CTA_IP.V4_SRC || addressType === CTA_IP.V6_SRC) src = readAddress(buf, address, addressType, family);
        if (addressType === CTA_IP.V4_DST || addressType === CTA_IP.V6_DST) dst = readAddress(buf, address, addressType, family);
      }
    } else if (type === CTA_TUPLE.PROTO) {
      checkAttributes(buf, at + NLA_HDRLEN, payloadEnd);
      for (let field = at + NLA_HDRLEN; field < payloadEnd; field += step(buf, field, payloadEnd)) {
        const fieldEnd = field + u16host(buf, field + LENGTH_OFFSET);
        const value = field + NLA_HDRLEN; // ports and ids in network order
        switch (u16host(buf, field + NLA_TYPE_OFFSET) & NLA_TYPE_MASK) {
          case CTA_PROTO.NUM:
            expectLength(field, fieldEnd, 1, 'CTA_PROTO_NUM');
            protocol = buf[value] as number;
            break;
          case CTA_PROTO.SRC_PORT:
            expectLength(field, fieldEnd, 2, 'CTA_PROTO_SRC_PORT');
            tuple.sport = u16net(buf, value);
            break;
          case CTA_PROTO.DST_PORT:
            expectLength(field, fieldEnd, 2, 'CTA_PROTO_DST_PORT');
            tuple.dport = u16net(buf, value);
            break;
          case CTA_PROTO.ICMP_ID:
          case CTA_PROTO.ICMPV6_ID:
            expectLength(field, fieldEnd, 2, 'CTA_PROTO_ICMP(V6)_ID');
            tuple.icmpId = u16net(buf, value);
            break;
          case CTA_PROTO.ICMP_TYPE:
          case CTA_PROTO.ICMPV6_TYPE:
            expectLength(field, fieldEnd, 1, 'CTA_PROTO_ICMP(V6)_TYPE');
            tuple.icmpType = buf[value] as number;
            break;
          case CTA_PROTO.ICMP_CODE:
          case CTA_PROTO.ICMPV6_CODE:
            expectLength(field, fieldEnd, 1, 'CTA_PROTO_ICMP(V6)_CODE');
            tuple.icmpCode = buf[value] as number;
            break;
        }
      }
    } else if (type === CTA_TUPLE.ZONE) {
      expectLength(at, payloadEnd, 2, 'CTA_TUPLE_ZONE');
      tuple.zone = u16net(buf, at + NLA_HDRLEN);
    }
  }
  const v = family === 'ipv4' ? 'V4' : 'V6';
  if (src === undefined) throw new ParseError(nest, `${name} with CTA_IP_${v}_SRC`, WHAT);
  if (dst === undefined) throw new ParseError(nest, `${name} with CTA_IP_${v}_DST`, WHAT);
  if (protocol === undefined) throw new ParseError(nest, `${name} with CTA_PROTO_NUM`, WHAT);
  const icmpFields = Number(tuple.icmpId !== undefined) + Number(tuple.icmpType !== undefined) + Number(tuple.icmpCode !== undefined);
  if (icmpFields !== 0 && icmpFields !== 3) throw new ParseError(nest, `${name} with all of the ICMP id, type and code, or none`, WHAT);
  tuple.src = src;
  tuple.dst = dst;
  tuple.proto = protocolOf(protocol);
  return tuple;
}

/** An address attribute must match the message's family: nf_conntrack never mixes them in one entry. */
function readAddress(buf: Buffer, at: number, type: number, family: ConntrackFamily): string {
  const isV4 = type === CTA_IP.V4_SRC || type === CTA_IP.V4_DST;
  if (isV4 !== (family === 'ipv4')) {
    const expected = family === 'ipv4' ? 'CTA_IP_V4_* in an AF_INET message' : 'CTA_IP_V6_* in an AF_INET6 message';
    throw new ParseError(at, `${expected}, found type ${type}`, WHAT);
  }
  const payloadEnd = at + u16host(buf, at + LENGTH_OFFSET);
  const bytes = at + NLA_HDRLEN; // network order
  if (isV4) {
    expectLength(at, payloadEnd, IPV4_LENGTH, 'CTA_IP_V4_*');
    return ipv4Text(buf, bytes);
  }
  expectLength(at, payloadEnd, IPV6_LENGTH, 'CTA_IP_V6_*');
  return formatIPv6(buf.subarray(bytes, bytes + IPV6_LENGTH));
}
