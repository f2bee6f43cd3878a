import { readFileSync } from 'node:fs';
import { readCapture } from '../capture/capture-reader';
import { ParseError } from '@natlens/agent-wire';
import { FIXTURES_DIR, ethernetFrame, ipPacket } from '../testing';
import { ipv6At } from './addresses';
import { parseIPv4, parseIPv6 } from './ip';
import { LinkType, parseEthernet } from './link-layer';
import { decodePacket } from './packet';
import { parseTcp, parseUdp, tcpFlagsText } from './transport';

/*
 * Every fixture (fixtures/README.md says how each was captured) is decoded and compared, packet by packet, with what
 * tcpdump 4.99.3 printed for it (`tcpdump -nn -tt -S -r FILE > FILE.tcpdump.txt`): an independent decoder.
 */
interface TcpdumpLine {
  seconds: number;
  micros: number;
  version: 4 | 6;
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  flags?: string;
  seq?: number;
  length?: number;
  fragmentOffset?: number;
}

function parseTcpdumpLine(line: string): TcpdumpLine {
  const m = /^(\d+)\.(\d{6}) (?:\S+\s+(?:In|Out|M|B|P)\s+)?(IP6?) (\S+) > (\S+?):(?= |$)(?: frag \((\d+)\|\d+\)(?: (\d+) > (\d+):)?)? ?(.*)$/.exec(line);
  if (!m) throw new Error(`unexpected tcpdump line: ${line}`);
  const [, seconds, micros, ipv, srcText = '', dstText = '', fragOffset, fragSport, fragDport, rest = ''] = m;
  const version = ipv === 'IP6' ? 6 : 4;
  const split = (text: string): [string, number | undefined] => {
    // A port follows the last dot, except for a non-first fragment where there is none.
    const portless = rest.startsWith('ip-proto') || (fragOffset !== undefined && fragSport === undefined) || fragSport !== undefined;
    if (portless) return [text, undefined];
    const dot = text.lastIndexOf('.');
    return [text.slice(0, dot), Number(text.slice(dot + 1))];
  };
  const [src, sport] = split(srcText);
  const [dst, dport] = split(dstText);
  const flags = /Flags \[([^\]]+)\]/.exec(rest)?.[1];
  const seq = /, seq (\d+)/.exec(rest)?.[1];
  const length = flags ? /, length (\d+)(?::|$)/.exec(rest)?.[1] : undefined;
  return {
    seconds: Number(seconds),
    micros: Number(micros),
    version,
    src,
    dst,
    ...(sport !== undefined ? { sport, dport } : fragSport !== undefined ? { sport: Number(fragSport), dport: Number(fragDport) } : {}),
    ...(flags ? { flags } : {}),
    ...(seq ? { seq: Number(seq) } : {}),
    ...(length ? { length: Number(length) } : {}),
    ...(fragOffset !== undefined ? { fragmentOffset: Number(fragOffset) } : {}),
  };
}

describe('decodePacket over captures made in the lab', () => {
  it.each([
    // [fixture, link type, packets]
    ['np-cluster-node3-any-sll.pcap', LinkType.LINUX_SLL, 40],
    ['np-cluster-node3-any-sll2.pcap', LinkType.LINUX_SLL2, 40],
    ['np-cluster-node3-any-sll2.pcapng', LinkType.LINUX_SLL2, 41],
    ['np-cluster-node3-eth0-nano.pcap', LinkType.ETHERNET, 40],
    ['np-cluster-node3-eth0-nano.be.pcap', LinkType.ETHERNET, 40],
    ['np-cluster-node3-eth0-nano.be.pcapng', LinkType.ETHERNET, 40],
    ['np-cluster-node1-eth0-xff.pcap', LinkType.ETHERNET, 40],
    ['np-local-node3-any-drop.pcap', LinkType.LINUX_SLL2, 2],
    ['lb-proxy-protocol-node1-any.pcap', LinkType.LINUX_SLL2, 36],
    ['veth-ipv6-udp-fragments.pcap', LinkType.ETHERNET, 24],
    ['vlan-tagged.pcap', LinkType.ETHERNET, 24],
  ])('%s agrees with tcpdump on every packet', (fixture, linkType, count) => {
    const { records, errors } = readCapture(readFileSync(`${FIXTURES_DIR}/${fixture}`));
    const golden = readFileSync(`${FIXTURES_DIR}/${fixture}.tcpdump.txt`, 'utf8').trim().split('\n').map(parseTcpdumpLine);
    expect(errors).toEqual([]);
    expect(records).toHaveLength(count);
    expect(golden).toHaveLength(count);
    records.forEach((record, i) => {
      const want = golden[i] as TcpdumpLine;
      expect(record.linkType).toBe(linkType);
      const packet = decodePacket(record.linkType, record.frame);
      const got: TcpdumpLine = {
        seconds: record.seconds,
        micros: Math.floor(record.nanoseconds / 1000),
        version: packet.ip?.version ?? 4,
        src: packet.ip?.src ?? '',
        dst: packet.ip?.dst ?? '',
        ...(packet.tcp ? { sport: packet.tcp.sport, dport: packet.tcp.dport } : packet.udp ? { sport: packet.udp.sport, dport: packet.udp.dport } : {}),
        ...(packet.tcp ? { flags: tcpFlagsText(packet.tcp.flags) } : {}),
        ...(packet.tcp && want.seq !== undefined ? { seq: packet.tcp.seq } : {}),
        ...(packet.tcp ? { length: packet.tcp.payload.length } : {}),
        ...(packet.ip?.fragment && packet.ip.version === 6 ? { fragmentOffset: packet.ip.fragment.offset } : {}),
      };
      expect({ packet: i, ...got }).toEqual({ packet: i, ...want });
    });
  });

  it('reads the tags of the VLAN fixture: 802.1Q 100 on IPv4, 802.1ad 200 + 802.1Q 10 on IPv6', () => {
    const { records } = readCapture(readFileSync(`${FIXTURES_DIR}/vlan-tagged.pcap`));
    const tags = records.map((r) => decodePacket(r.linkType, r.frame)).map((p) => `${p.ip?.version}:${p.link.vlans.join('/')}`);
    expect(new Set(tags)).toEqual(new Set(['4:100', '6:200/10']));
  });

  it('flags IPv4 and IPv6 fragments and reads ports only from the first', () => {
    const { records } = readCapture(readFileSync(`${FIXTURES_DIR}/veth-ipv6-udp-fragments.pcap`));
    const fragments = records.map((r) => decodePacket(r.linkType, r.frame)).filter((p) => p.ip?.fragment);
    expect(fragments.map((p) => [p.ip?.version, p.ip?.fragment?.offset, p.ip?.fragment?.moreFragments, p.udp?.dport])).toEqual([
      [4, 0, true, 5353],
      [4, 1480, false, undefined],
      [6, 0, true, 5353],
      [6, 1448, false, undefined],
    ]);
    // the IPv6 fragment header is an extension header: it shows in `options`
    expect(fragments[2]?.ip?.options).toHaveLength(8);
  });

  it('tells the direction from Linux cooked headers (PACKET_HOST 0, PACKET_OUTGOING 4)', () => {
    const { records } = readCapture(readFileSync(`${FIXTURES_DIR}/np-cluster-node3-any-sll.pcap`));
    const types = records.slice(0, 4).map((r) => decodePacket(r.linkType, r.frame).link.packetType);
    expect(types).toEqual([0, 4, 0, 4]);
  });
});

describe('layer parsers on built packets', () => {
  it('parses IPv6 hop-by-hop, routing and destination options before TCP', () => {
    const plain = ipPacket({ src: '2001:db8::1', dst: '2001:db8::2', sport: 40000, dport: 80, flags: 0x02 });
    const tcp = plain.subarray(40);
    const hopByHop = Buffer.from([43, 0, 1, 4, 0, 0, 0, 0]); // next=routing, len 0 (8 bytes), PadN
    const routing = Buffer.from([60, 0, 0, 0, 0, 0, 0, 0]); // next=dst opts, type 0, segments left 0
    const destination = Buffer.from([6, 0, 1, 4, 0, 0, 0, 0]); // next=TCP
    const header = Buffer.from(plain.subarray(0, 40));
    header.writeUInt16BE(24 + tcp.length, 4);
    header.writeUInt8(0, 6); // hop-by-hop first
    const packet = Buffer.concat([header, hopByHop, routing, destination, tcp]);
    const { value } = parseIPv6(packet);
    expect(value).toMatchObject({ version: 6, src: '2001:db8::1', dst: '2001:db8::2', protocol: 6, truncated: false });
    expect(value.options).toHaveLength(24);
    expect(parseTcp(value.payload).value).toMatchObject({ sport: 40000, dport: 80 });
  });

  it('keeps IPv4 options as a view and marks a packet cut by the snap length', () => {
    const packet = ipPacket({ src: '198.51.100.79', dst: '198.18.0.11', sport: 1, dport: 2, payload: Buffer.alloc(100) });
    const withOptions = Buffer.concat([packet.subarray(0, 20), Buffer.from([1, 1, 1, 0]), packet.subarray(20)]);
    withOptions.writeUInt8(0x46, 0);
    withOptions.writeUInt16BE(packet.length + 4, 2);
    const { value } = parseIPv4(withOptions.subarray(0, 60));
    expect(value.options).toEqual(Buffer.from([1, 1, 1, 0]));
    expect(value.truncated).toBe(true);
    expect(value.options.buffer).toBe(withOptions.buffer); // a view, not a copy
  });

  it('formats IPv6 like tcpdump and conntrack (RFC 5952)', () => {
    const cases: [string, string][] = [
      ['20010db8000000000000000000000001', '2001:db8::1'],
      ['00000000000000000000000000000000', '::'],
      ['20010db8000000010000000000000000', '2001:db8:0:1::'],
      ['20010db8000000000001000000000001', '2001:db8::1:0:0:1'],
      ['20010db80000000100010001000100010', '2001:db8:0:1:1:1:1:1'],
      ['00000000000000000000ffffc633644f', '::ffff:198.51.100.79'],
    ];
    for (const [hex, text] of cases) expect(ipv6At(Buffer.from(hex.slice(0, 32), 'hex'), 0)).toBe(text);
  });

  it('reads 802.1Q tags and skips 802.3 frames', () => {
    const tagged = ethernetFrame({ src: '198.18.7.1', dst: '198.18.7.2', sport: 1, dport: 2, vlans: [5, 6] });
    expect(parseEthernet(tagged).value).toMatchObject({ etherType: 0x0800, vlans: [5, 6], payloadOffset: 22 });
    const llc = Buffer.concat([tagged.subarray(0, 12), Buffer.from([0x00, 0x26]), Buffer.alloc(38)]);
    expect(decodePacket(LinkType.ETHERNET, llc).ip).toBeUndefined();
  });

  it.each([
    ['empty Ethernet frame', () => decodePacket(LinkType.ETHERNET, Buffer.alloc(0)), 0],
    ['Ethernet header cut at 10 bytes', () => decodePacket(LinkType.ETHERNET, Buffer.alloc(10)), 10],
    ['five VLAN tags', () => parseEthernet(ethernetFrame({ src: '198.18.7.1', dst: '198.18.7.2', sport: 1, dport: 2, vlans: [1, 2, 3, 4, 5] })), 28],
    ['unknown link type 147', () => decodePacket(147, Buffer.alloc(40)), 0],
    ['SLL2 header cut', () => decodePacket(LinkType.LINUX_SLL2, Buffer.alloc(12)), 12],
    ['IPv4 with IHL 4', () => parseIPv4(Buffer.from('4400001400000000400600000a0000010a000002', 'hex')), 0],
    ['IPv4 total length below its header', () => parseIPv4(Buffer.from('4500000a00000000400600000a0000010a000002', 'hex')), 2],
    ['IPv4 version 6 in an IPv4 frame', () => decodePacket(LinkType.ETHERNET, Buffer.concat([Buffer.alloc(12), Buffer.from('0800', 'hex'), Buffer.from('65'.padEnd(40, '0'), 'hex')])), 14],
    ['IPv6 header cut at 39 bytes', () => parseIPv6(ipPacket({ src: '::1', dst: '::2', sport: 1, dport: 2 }).subarray(0, 39)), 39],
    ['TCP data offset 3', () => parseTcp(Buffer.from('0001000200000000000000003000ffff00000000', 'hex')), 12],
    ['TCP header cut inside the frame: offset counts from the frame start', () => decodePacket(LinkType.ETHERNET, ethernetFrame({ src: '198.18.7.1', dst: '198.18.7.2', sport: 1, dport: 2 }).subarray(0, 50)), 50],
    ['UDP length 4', () => parseUdp(Buffer.from('0001000200040000', 'hex')), 4],
  ])('rejects %s with a ParseError at its offset', (_name, parse, offset) => {
    let caught: unknown;
    try {
      parse();
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ParseError);
    expect((caught as ParseError).offset).toBe(offset);
  });
});
