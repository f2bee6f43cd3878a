import { ParseError } from '@natlens/agent-wire';
import { formatAttribute, formatNestedAttribute, formatU16BEAttribute, formatU32BEAttribute, formatU8Attribute } from './attributes';
import { parseConntrackMessages } from './conntrack-messages';
import { CTA, CTA_COUNTERS, CTA_IP, CTA_PROTO, CTA_PROTOINFO, CTA_PROTOINFO_TCP, CTA_TIMESTAMP, CTA_TUPLE } from './ctnetlink-constants';
import { capturedDatagram } from './fixtures/captured-datagram';
import { formatConntrackEntry } from './format-conntrack';
import { NFGENMSG_LEN, NLA_HDRLEN, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN } from './netlink-constants';
import { formatNetlinkHeader } from './netlink-message';
import { parseConntrackEntry } from './parse-conntrack';

/*
 * The error table: each malformed input, the offset the ParseError must point at, and words from what it expected.
 * Synthetic messages are built attribute by attribute so each offset can be worked out by hand:
 * nlmsghdr 16 + nfgenmsg 4 puts the first attribute at 20, its first child at 24, a grandchild at 28.
 */

const FIRST_ATTRIBUTE = NLMSG_HDRLEN + NFGENMSG_LEN; // 20
const FIRST_CHILD = FIRST_ATTRIBUTE + NLA_HDRLEN; // 24
const FIRST_GRANDCHILD = FIRST_CHILD + NLA_HDRLEN; // 28
const CT_NEW = 0x0100;
const AF_INET = 2;

/** nlmsghdr + nfgenmsg + the given attribute bytes, nlmsg_len covering them all. */
function message(attributes: Buffer[], { type = CT_NEW, family = AF_INET } = {}): Buffer {
  const body = Buffer.concat(attributes);
  const out = Buffer.alloc(FIRST_ATTRIBUTE + body.length);
  formatNetlinkHeader({ length: out.length, type, flags: 0, seq: 0, pid: 0 }, out, 0);
  out.writeUInt8(family, NLMSG_HDRLEN);
  body.copy(out, FIRST_ATTRIBUTE);
  return out;
}

const v4 = (a: number) => Buffer.from([198, 18, 0, a]);
const ip = (src = formatAttribute(CTA_IP.V4_SRC, v4(2)), dst = formatAttribute(CTA_IP.V4_DST, v4(1))) => formatNestedAttribute(CTA_TUPLE.IP, [src, dst]);
const tcpPorts = () =>
  formatNestedAttribute(CTA_TUPLE.PROTO, [formatU8Attribute(CTA_PROTO.NUM, 6), formatU16BEAttribute(CTA_PROTO.SRC_PORT, 40001), formatU16BEAttribute(CTA_PROTO.DST_PORT, 8080)]);
const tuple = (type: number, children = [ip(), tcpPorts()]) => formatNestedAttribute(type, children);
const bothTuples = () => [tuple(CTA.TUPLE_ORIG), tuple(CTA.TUPLE_REPLY)];
/** After both tuples: where a third attribute starts, and its first child. */
const AFTER_TUPLES = FIRST_ATTRIBUTE + Buffer.concat(bothTuples()).length;
/** An attribute header claiming `length` without the bytes to back it. */
const rawHeader = (length: number, type: number) => {
  const out = Buffer.alloc(NLA_HDRLEN);
  out.writeUInt16LE(length, 0);
  out.writeUInt16LE(type, 2);
  return out;
};
const realEvent = capturedDatagram('event-new-tcp4');

type Case = [name: string, input: Buffer, offset: number, expected: string];

const cases: Case[] = [
  ['an empty buffer', Buffer.alloc(0), 0, '16-byte nlmsghdr'],
  ['a header cut at 10 bytes', realEvent.subarray(0, 10), 0, '16-byte nlmsghdr'],
  ['nlmsg_len 8, shorter than the header', (() => { const b = Buffer.from(realEvent); b.writeUInt32LE(8, 0); return b; })(), 0, 'nlmsg_len of at least 16'],
  ['nlmsg_len past the end of the buffer', (() => { const b = Buffer.from(realEvent); b.writeUInt32LE(realEvent.length + 4, 0); return b; })(), 0, 'nlmsg_len within'],
  ['a message cut in the middle', realEvent.subarray(0, 100), 0, 'nlmsg_len within the 100 bytes left'],
  ['no nfgenmsg', formatNetlinkHeader({ length: NLMSG_HDRLEN, type: CT_NEW, flags: 0, seq: 0, pid: 0 }), NLMSG_HDRLEN, '4-byte nfgenmsg'],
  ['family AF_BRIDGE (7)', message(bothTuples(), { family: 7 }), NLMSG_HDRLEN, 'family AF_INET (2) or AF_INET6 (10), found 7'],
  ['an expectation message (subsystem 2)', message(bothTuples(), { type: 0x0200 }), 4, 'nlmsg_type IPCTNL_MSG_CT_NEW'],
  ['a CT_GET request where an entry should be', message(bothTuples(), { type: 0x0101 }), 4, 'found 0x0101'],
  ['an attribute with nla_len 2', message([rawHeader(2, CTA.ID), Buffer.alloc(4)]), FIRST_ATTRIBUTE, 'nla_len of at least 4'],
  ['an attribute longer than the message', message([rawHeader(200, CTA.ID), Buffer.alloc(4)]), FIRST_ATTRIBUTE, 'nla_len within the 8 bytes left'],
  ['a nested attribute longer than its parent', message([formatNestedAttribute(CTA.TUPLE_ORIG, [rawHeader(64, CTA_TUPLE.IP), Buffer.alloc(4)])]), FIRST_CHILD, 'within the 8 bytes left in its parent'],
  ['3 stray bytes after the last attribute', message([...bothTuples(), Buffer.alloc(3)]), AFTER_TUPLES, '4-byte attribute header, found 3'],
  ['CTA_ID of 3 bytes', message([formatAttribute(CTA.ID, Buffer.alloc(3)), ...bothTuples()]), FIRST_ATTRIBUTE, 'CTA_ID with a 4-byte payload, found 3'],
  ['CTA_ZONE of 4 bytes', message([formatU32BEAttribute(CTA.ZONE, 7), ...bothTuples()]), FIRST_ATTRIBUTE, 'CTA_ZONE with a 2-byte payload'],
  ['an IPv4 source of 5 bytes', message([tuple(CTA.TUPLE_ORIG, [ip(formatAttribute(CTA_IP.V4_SRC, Buffer.alloc(5)))])]), FIRST_GRANDCHILD, 'with a 4-byte payload, found 5'],
  ['an IPv6 source in an AF_INET message', message([tuple(CTA.TUPLE_ORIG, [ip(formatAttribute(CTA_IP.V6_SRC, Buffer.alloc(16)))])]), FIRST_GRANDCHILD, 'CTA_IP_V4_* in an AF_INET message'],
  ['CTA_PROTO_NUM of 2 bytes', message([tuple(CTA.TUPLE_ORIG, [formatNestedAttribute(CTA_TUPLE.PROTO, [formatU16BEAttribute(CTA_PROTO.NUM, 6)])])]), FIRST_GRANDCHILD, 'CTA_PROTO_NUM with a 1-byte payload'],
  ['a tuple without addresses', message([tuple(CTA.TUPLE_ORIG, [tcpPorts()]), tuple(CTA.TUPLE_REPLY)]), FIRST_ATTRIBUTE, 'CTA_TUPLE_ORIG with CTA_IP_V4_SRC'],
  ['a tuple without CTA_PROTO_NUM', message([tuple(CTA.TUPLE_ORIG, [ip()]), tuple(CTA.TUPLE_REPLY)]), FIRST_ATTRIBUTE, 'CTA_TUPLE_ORIG with CTA_PROTO_NUM'],
  ['an ICMP id without type and code', message([tuple(CTA.TUPLE_ORIG, [ip(), formatNestedAttribute(CTA_TUPLE.PROTO, [formatU8Attribute(CTA_PROTO.NUM, 1), formatU16BEAttribute(CTA_PROTO.ICMP_ID, 1)])]), tuple(CTA.TUPLE_REPLY)]), FIRST_ATTRIBUTE, 'ICMP id, type and code'],
  ['no CTA_TUPLE_ORIG', message([tuple(CTA.TUPLE_REPLY)]), 0, 'a CTA_TUPLE_ORIG attribute'],
  ['no CTA_TUPLE_REPLY', message([tuple(CTA.TUPLE_ORIG)]), 0, 'a CTA_TUPLE_REPLY attribute'],
  ['TCP state 10 (past SYN_SENT2)', message([...bothTuples(), formatNestedAttribute(CTA.PROTOINFO, [formatNestedAttribute(CTA_PROTOINFO.TCP, [formatU8Attribute(CTA_PROTOINFO_TCP.STATE, 10)])])]), AFTER_TUPLES + 3 * NLA_HDRLEN, 'CTA_PROTOINFO_TCP_STATE 0-9, found 10'],
  ['TCP protoinfo without a state', message([...bothTuples(), formatNestedAttribute(CTA.PROTOINFO, [formatNestedAttribute(CTA_PROTOINFO.TCP, [])])]), AFTER_TUPLES + NLA_HDRLEN, 'with CTA_PROTOINFO_TCP_STATE'],
  ['counters without bytes', message([...bothTuples(), formatNestedAttribute(CTA.COUNTERS_ORIG, [formatAttribute(CTA_COUNTERS.PACKETS, Buffer.alloc(8))])]), AFTER_TUPLES, 'both CTA_COUNTERS_PACKETS and CTA_COUNTERS_BYTES'],
  ['a 4-byte CTA_TIMESTAMP_START', message([...bothTuples(), formatNestedAttribute(CTA.TIMESTAMP, [formatU32BEAttribute(CTA_TIMESTAMP.START, 1)])]), AFTER_TUPLES + NLA_HDRLEN, 'CTA_TIMESTAMP_START with a 8-byte payload'],
];

describe('parseConntrackEntry: malformed input throws ParseError at the offset of the fault', () => {
  it.each(cases.map(([name, input, offset, expected]) => [name, offset, expected, input] as const))('%s → byte %d', (_name, offset, expected, input) => {
    let thrown: unknown;
    try {
      parseConntrackEntry(input);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ParseError);
    expect(thrown).toMatchObject({ offset });
    expect((thrown as ParseError).expected).toContain(expected);
  });

  it('the synthetic messages are well formed apart from their one fault', () => {
    const good = message(bothTuples());
    expect(parseConntrackEntry(good).value).toEqual({
      event: 'update',
      family: 'ipv4',
      original: { src: '198.18.0.2', dst: '198.18.0.1', proto: 'tcp', sport: 40001, dport: 8080 },
      reply: { src: '198.18.0.2', dst: '198.18.0.1', proto: 'tcp', sport: 40001, dport: 8080 },
    });
    expect(formatConntrackEntry(parseConntrackEntry(good).value)).toEqual(good);
  });
});

describe('control messages too short for their payload', () => {
  const control = (type: number, payload: Buffer) =>
    Buffer.concat([formatNetlinkHeader({ length: NLMSG_HDRLEN + payload.length, type, flags: 0, seq: 1, pid: 0 }), payload]);

  it.each([
    ['NLMSG_ERROR with only the errno', NLMSG_HDRLEN, '20-byte struct nlmsgerr', control(NLMSG_ERROR, Buffer.alloc(4))],
    ['NLMSG_DONE with 2 bytes', NLMSG_HDRLEN, '4-byte error code', control(NLMSG_DONE, Buffer.alloc(2))],
  ] as const)('%s → byte %d', (_name, offset, expected, input) => {
    expect(() => parseConntrackMessages(input)).toThrow(ParseError);
    const { errors } = parseConntrackMessages(input, { mode: 'collect' });
    expect(errors).toMatchObject([{ offset }]);
    expect(errors[0]?.expected).toContain(expected);
  });

  it('NLMSG_DONE without a payload (old kernels) is a plain end of dump', () => {
    expect(parseConntrackMessages(control(NLMSG_DONE, Buffer.alloc(0))).messages).toMatchObject([{ kind: 'done', errno: 0 }]);
  });
});
