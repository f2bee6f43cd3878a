import { ParseError } from '@natlens/agent-wire';

/*
 * Link layers, as tcpdump.org's LINKTYPE list defines them. Each parser takes one captured frame and returns the
 * network-layer protocol (an EtherType) and a view of what follows; all multi-byte fields are network order unless
 * a comment says otherwise.
 */

/** LINKTYPE_* values (https://www.tcpdump.org/linktypes.html). */
export const LinkType = {
  ETHERNET: 1,
  /** DLT_RAW as OpenBSD numbers it; some writers use it in files. */
  RAW_OPENBSD: 14,
  /** DLT_RAW on most systems, written by `tcpdump -i <tun>`: the frame is an IP packet. */
  RAW_DLT12: 12,
  RAW: 101,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

export const EtherType = {
  IPV4: 0x0800,
  ARP: 0x0806,
  VLAN_8021Q: 0x8100,
  IPV6: 0x86dd,
  VLAN_8021AD: 0x88a8,
  /** The pre-standard Q-in-Q tag some switches still send. */
  VLAN_QINQ_9100: 0x9100,
} as const;

/** SLL/SLL2 packet types (linux/if_packet.h PACKET_*): which way the packet went through the interface. */
export const SllPacketType = { HOST: 0, BROADCAST: 1, MULTICAST: 2, OTHERHOST: 3, OUTGOING: 4 } as const;

export interface LinkFrame {
  /** The EtherType of the payload (for raw IP: 0x0800 or 0x86dd from the version nibble). */
  etherType: number;
  /** VLAN IDs, outermost first (802.1ad S-tag before 802.1Q C-tag). */
  vlans: number[];
  /** SLL/SLL2: the PACKET_* type (0 to us, 4 sent by us, …). */
  packetType?: number;
  /** SLL2: the interface index the packet was seen on (host order in the kernel, network order in the header). */
  interfaceIndex?: number;
  /** Where the network-layer packet starts in the frame. */
  payloadOffset: number;
}

const ETHERNET_HEADER_LENGTH = 14; // dst MAC (6) + src MAC (6) + EtherType (2)
const ETHERNET_TYPE_OFFSET = 12;
const VLAN_TAG_LENGTH = 4; // TCI (2: PCP 3 bits, DEI 1, VID 12) + inner EtherType (2)
/** A value below 1536 in the EtherType position is an 802.3 length, not a type (IEEE 802.3 clause 3.2.6). */
const ETHERTYPE_MIN = 0x0600;
/** More tags than this is not a frame anyone sends; stop instead of walking a corrupted chain. */
const MAX_VLAN_TAGS = 4;

/** Ethernet II with any number (≤ 4) of 802.1Q / 802.1ad tags. */
export function parseEthernet(frame: Buffer): { value: LinkFrame; consumed: number } {
  if (frame.length < ETHERNET_HEADER_LENGTH) throw new ParseError(frame.length, `an Ethernet header of ${ETHERNET_HEADER_LENGTH} bytes`, 'Ethernet frame');
  let offset = ETHERNET_TYPE_OFFSET;
  let etherType = frame.readUInt16BE(offset);
  const vlans: number[] = [];
  while (etherType === EtherType.VLAN_8021Q || etherType === EtherType.VLAN_8021AD || etherType === EtherType.VLAN_QINQ_9100) {
    if (vlans.length === MAX_VLAN_TAGS) throw new ParseError(offset, `at most ${MAX_VLAN_TAGS} VLAN tags`, 'Ethernet frame');
    if (frame.length < offset + 2 + VLAN_TAG_LENGTH) throw new ParseError(frame.length, 'a complete VLAN tag', 'Ethernet frame');
    vlans.push(frame.readUInt16BE(offset + 2) & 0x0fff);
    offset += VLAN_TAG_LENGTH;
    etherType = frame.readUInt16BE(offset);
  }
  const payloadOffset = offset + 2;
  // 802.3 with an LLC header: not IP as far as we are concerned; report type 0 so the caller skips it.
  return { value: { etherType: etherType < ETHERTYPE_MIN ? 0 : etherType, vlans, payloadOffset }, consumed: payloadOffset };
}

/*
 * Linux cooked v1 (LINKTYPE_LINUX_SLL, what `tcpdump -i any` wrote before libpcap 1.10):
 *   0 packet type (2) | 2 ARPHRD type (2) | 4 link-layer address length (2) | 6 address (8, zero-padded) | 14 protocol (2)
 */
const SLL_HEADER_LENGTH = 16;
const SLL_PROTOCOL_OFFSET = 14;

export function parseLinuxSll(frame: Buffer): { value: LinkFrame; consumed: number } {
  if (frame.length < SLL_HEADER_LENGTH) throw new ParseError(frame.length, `a Linux cooked (SLL) header of ${SLL_HEADER_LENGTH} bytes`, 'SLL frame');
  const packetType = frame.readUInt16BE(0);
  const etherType = frame.readUInt16BE(SLL_PROTOCOL_OFFSET);
  return { value: { etherType, vlans: [], packetType, payloadOffset: SLL_HEADER_LENGTH }, consumed: SLL_HEADER_LENGTH };
}

/*
 * Linux cooked v2 (LINKTYPE_LINUX_SLL2, what `tcpdump -i any` writes with libpcap ≥ 1.10):
 *   0 protocol (2) | 2 reserved (2) | 4 interface index (4) | 8 ARPHRD type (2) | 10 packet type (1)
 *   | 11 link-layer address length (1) | 12 address (8)
 */
const SLL2_HEADER_LENGTH = 20;
const SLL2_INTERFACE_INDEX_OFFSET = 4;
const SLL2_PACKET_TYPE_OFFSET = 10;

export function parseLinuxSll2(frame: Buffer): { value: LinkFrame; consumed: number } {
  if (frame.length < SLL2_HEADER_LENGTH) throw new ParseError(frame.length, `a Linux cooked v2 (SLL2) header of ${SLL2_HEADER_LENGTH} bytes`, 'SLL2 frame');
  return {
    value: {
      etherType: frame.readUInt16BE(0),
      vlans: [],
      packetType: frame.readUInt8(SLL2_PACKET_TYPE_OFFSET),
      interfaceIndex: frame.readUInt32BE(SLL2_INTERFACE_INDEX_OFFSET),
      payloadOffset: SLL2_HEADER_LENGTH,
    },
    consumed: SLL2_HEADER_LENGTH,
  };
}

/** Raw IP: no link header; the version nibble says which IP. */
export function parseRawIp(frame: Buffer): { value: LinkFrame; consumed: number } {
  if (frame.length < 1) throw new ParseError(0, 'an IP version nibble', 'raw IP frame');
  const version = frame.readUInt8(0) >> 4;
  const etherType = version === 4 ? EtherType.IPV4 : version === 6 ? EtherType.IPV6 : 0;
  return { value: { etherType, vlans: [], payloadOffset: 0 }, consumed: 0 };
}

/** The link-layer parser for a LINKTYPE, or undefined when we do not decode it. */
export function linkParserFor(linkType: number): ((frame: Buffer) => { value: LinkFrame; consumed: number }) | undefined {
  switch (linkType) {
    case LinkType.ETHERNET:
      return parseEthernet;
    case LinkType.LINUX_SLL:
      return parseLinuxSll;
    case LinkType.LINUX_SLL2:
      return parseLinuxSll2;
    case LinkType.RAW:
    case LinkType.RAW_DLT12:
    case LinkType.RAW_OPENBSD:
    case LinkType.IPV4:
    case LinkType.IPV6:
      return parseRawIp;
    default:
      return undefined;
  }
}
