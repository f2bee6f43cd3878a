import { ParseError } from '@natlens/agent-wire';
import { parseConntrackMessages } from './conntrack-messages';
import { capturedDatagram } from './fixtures/captured-datagram';
import { NFGENMSG_FAMILY_OFFSET, NLM_F_ACK, NLM_F_CAPPED, NLM_F_REQUEST, NLMSG_HDRLEN, NLMSG_NOOP, NLMSG_OVERRUN } from './netlink-constants';
import { formatNetlinkHeader } from './netlink-message';

const CT_GET = 0x0101; // NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_GET
const ENOENT = 2;
const EINVAL = 22;

describe('parseConntrackMessages over captured replies', () => {
  it.each([
    // [fixture, kinds in order, what the kernel answered]
    ['dump-1', Array(13).fill('entry'), 'one entry per flow, several per recv()'],
    ['dump-2', ['done'], 'NLMSG_DONE ends the dump'],
    ['dump-after-expiry-1', ['entry'], 'the SCTP entry, the only one left'],
    ['dump-after-expiry-2', ['done'], 'NLMSG_DONE'],
    ['get-tcp4-1', ['entry'], 'the entry asked for'],
    ['get-tcp4-2', ['ack'], 'the ACK NLM_F_ACK asked for'],
    ['get-missing-1', ['error'], 'ENOENT'],
    ['get-no-tuple-1', ['error'], 'EINVAL'],
  ])('%s: %j (%s)', (name, kinds) => {
    const batch = parseConntrackMessages(capturedDatagram(name));
    expect(batch.messages.map((message) => message.kind)).toEqual(kinds);
    expect(batch.errors).toEqual([]);
  });

  it('NLMSG_DONE carries the dump request seq and errno 0', () => {
    expect(parseConntrackMessages(capturedDatagram('dump-2')).messages[0]).toMatchObject({ kind: 'done', errno: 0, header: { seq: 1000 } });
  });

  it.each([
    ['get-tcp4-2', 'ack', 2000, undefined],
    ['get-missing-1', 'error', 2001, ENOENT],
    ['get-no-tuple-1', 'error', 2002, EINVAL],
  ])('%s: %s for request seq %d, errno %s, echoing the request header', (name, kind, seq, errno) => {
    const [message] = parseConntrackMessages(capturedDatagram(name)).messages;
    expect(message).toMatchObject({ kind, header: { seq }, request: { seq, type: CT_GET, flags: NLM_F_REQUEST | NLM_F_ACK } });
    if (errno !== undefined) expect(message).toMatchObject({ errno });
  });

  it('an ACK of a successful request comes capped to the request header (NLM_F_CAPPED)', () => {
    const [message] = parseConntrackMessages(capturedDatagram('get-tcp4-2')).messages;
    expect((message?.header.flags ?? 0) & NLM_F_CAPPED).toBe(NLM_F_CAPPED);
  });

  it('reads datagrams joined back to back', () => {
    const joined = Buffer.concat([capturedDatagram('dump-1'), capturedDatagram('dump-2')]);
    const kinds = parseConntrackMessages(joined).messages.map((message) => message.kind);
    expect(kinds).toEqual([...Array(13).fill('entry'), 'done']);
  });

  it('skips NLMSG_NOOP and reports NLMSG_OVERRUN', () => {
    const control = (type: number) => formatNetlinkHeader({ length: NLMSG_HDRLEN, type, flags: 0, seq: 7, pid: 0 });
    const batch = parseConntrackMessages(Buffer.concat([control(NLMSG_NOOP), control(NLMSG_OVERRUN)]));
    expect(batch.messages).toEqual([{ kind: 'overrun', offset: NLMSG_HDRLEN, header: { length: NLMSG_HDRLEN, type: NLMSG_OVERRUN, flags: 0, seq: 7, pid: 0 } }]);
  });
});

describe('one bad message in a dump', () => {
  const dump = capturedDatagram('dump-1');
  const offsets = parseConntrackMessages(dump).messages.map((message) => message.offset);
  const third = offsets[2] ?? -1;
  const fifth = offsets[4] ?? -1;

  /** dump-1 with the third message's nfgen_family set to AF_BRIDGE (7): framing intact, body unreadable. */
  function withBadFamily(): Buffer {
    const copy = Buffer.from(dump);
    copy.writeUInt8(7, third + NLMSG_HDRLEN + NFGENMSG_FAMILY_OFFSET);
    return copy;
  }

  it('collect: keeps the ten good entries and reports the bad one at its nfgenmsg', () => {
    const batch = parseConntrackMessages(withBadFamily(), { mode: 'collect' });
    expect(batch.messages.map((message) => message.offset)).toEqual(offsets.filter((offset) => offset !== third));
    expect(batch.errors).toHaveLength(1);
    expect(batch.errors[0]).toBeInstanceOf(ParseError);
    expect(batch.errors[0]?.offset).toBe(third + NLMSG_HDRLEN + NFGENMSG_FAMILY_OFFSET);
  });

  it('strict (the default): throws that same ParseError', () => {
    expect(() => parseConntrackMessages(withBadFamily())).toThrow(ParseError);
    expect(() => parseConntrackMessages(withBadFamily())).toThrow(`at byte ${third + NLMSG_HDRLEN}:`);
  });

  it('collect: a broken nlmsg_len ends the datagram there, keeping what came before', () => {
    const copy = Buffer.from(dump);
    copy.writeUInt32LE(dump.length, fifth); // past the end
    const batch = parseConntrackMessages(copy, { mode: 'collect' });
    expect(batch.messages.map((message) => message.offset)).toEqual(offsets.slice(0, 4));
    expect(batch.errors.map((error) => error.offset)).toEqual([fifth]);
  });
});
