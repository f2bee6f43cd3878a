import { ParseError } from '@natlens/agent-wire';
import { parseAttributes } from './attributes';
import { capturedDatagram } from './fixtures/captured-datagram';
import { NLA_F_NESTED, NLMSG_DONE, NLMSG_HDRLEN, NLM_F_MULTI, netlinkAlign } from './netlink-constants';
import { formatNetlinkHeader, parseNetlinkHeader, parseNetlinkMessages, parseNfGenMessage } from './netlink-message';

describe('netlink framing over captured datagrams', () => {
  it('splits the dump datagram into its 13 messages (one per flow), each starting where the previous one ended (NLMSG_ALIGN)', () => {
    const dump = capturedDatagram('dump-1');
    const messages = parseNetlinkMessages(dump);
    expect(messages).toHaveLength(13);
    messages.forEach((message, i) => {
      const previous = messages[i - 1];
      expect(message.offset).toBe(previous === undefined ? 0 : previous.offset + netlinkAlign(previous.header.length));
      expect(message.payload.length).toBe(message.header.length - NLMSG_HDRLEN);
      expect(message.header).toMatchObject({ type: 0x0100, flags: NLM_F_MULTI, seq: 1000 }); // CT_NEW, the request's seq
    });
    const last = messages[messages.length - 1];
    expect(last && last.offset + last.header.length).toBe(dump.length);
  });

  it('reads NLMSG_DONE as its own datagram', () => {
    const [done] = parseNetlinkMessages(capturedDatagram('dump-2'));
    expect(done?.header).toMatchObject({ length: 20, type: NLMSG_DONE, flags: NLM_F_MULTI, seq: 1000 });
  });

  it('payloads are views into the datagram, not copies', () => {
    const dump = capturedDatagram('dump-1');
    const [first] = parseNetlinkMessages(dump);
    expect(first?.payload.buffer).toBe(dump.buffer);
  });

  it('reads nfgenmsg: family, version 0, res_id in network order', () => {
    const event = capturedDatagram('event-new-tcp6');
    expect(parseNfGenMessage(event, NLMSG_HDRLEN)).toEqual({ value: { family: 'ipv6', version: 0, resourceId: 0 }, consumed: 4 });
    const custom = Buffer.from([2, 0, 0x12, 0x34]);
    expect(parseNfGenMessage(custom).value.resourceId).toBe(0x1234);
  });

  it('nested attributes carry NLA_F_NESTED on the wire, and the parser masks it off', () => {
    const event = capturedDatagram('event-new-tcp4');
    expect(event.readUInt16LE(NLMSG_HDRLEN + 4 + 2)).toBe(NLA_F_NESTED | 1); // CTA_TUPLE_ORIG, host order
    const [orig] = parseAttributes(event, NLMSG_HDRLEN + 4, event.readUInt32LE(0));
    expect(orig?.type).toBe(1);
  });
});

describe('header round trip', () => {
  it('formatNetlinkHeader writes what parseNetlinkHeader reads (host order)', () => {
    const header = { length: 0xfffffff0, type: 0x0102, flags: 0x0600, seq: 0xdeadbeef, pid: 4242 };
    const bytes = formatNetlinkHeader(header);
    expect(bytes.toString('hex')).toBe('f0ffffff' + '0201' + '0006' + 'efbeadde' + '92100000');
    expect(parseNetlinkHeader(bytes)).toEqual({ value: header, consumed: 16 });
  });
});

describe('netlinkAlign', () => {
  it.each([
    [0, 0],
    [1, 4],
    [4, 4],
    [5, 8],
    [0xfffffffd, 0x100000000], // a u32 nlmsg_len near the top: no int32 wrap-around
  ])('%d → %d', (length, aligned) => {
    expect(netlinkAlign(length)).toBe(aligned);
  });
});

describe('the last message or attribute may end without its padding', () => {
  it('a datagram whose last message length is not a multiple of 4', () => {
    const header = formatNetlinkHeader({ length: 18, type: 0x10, flags: 0, seq: 0, pid: 0 });
    const buf = Buffer.concat([header, Buffer.from([1, 2])]);
    expect(parseNetlinkMessages(buf).map((message) => message.payload)).toEqual([Buffer.from([1, 2])]);
  });

  it('an attribute of 5 bytes at the very end of its parent', () => {
    const buf = Buffer.from([5, 0, 1, 0, 6]);
    expect(parseAttributes(buf, 0, buf.length).map((attribute) => attribute.payload)).toEqual([Buffer.from([6])]);
  });

  it('but a length that overruns the buffer is still an error', () => {
    const buf = Buffer.from([9, 0, 1, 0, 6]);
    expect(() => parseAttributes(buf, 0, buf.length)).toThrow(ParseError);
  });
});
