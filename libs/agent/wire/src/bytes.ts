/*
 * Numbers read straight from bytes, without a DataView or Buffer method call per field (the decoders' hot paths).
 * The byte order is in each reader's name: `net` is network order (big-endian: addresses, ports, ctnetlink and
 * pcap header fields), `host` the machine's own (netlink headers), little-endian on every target we build
 * (x86-64, arm64).
 */
const TWO_POW_32 = 4294967296;

export const u16host = (buf: Buffer, at: number): number => (buf[at] as number) | ((buf[at + 1] as number) << 8);
export const u32host = (buf: Buffer, at: number): number => u16host(buf, at) + u16host(buf, at + 2) * 0x10000;
export const u16net = (buf: Buffer, at: number): number => ((buf[at] as number) << 8) | (buf[at + 1] as number);
export const u32net = (buf: Buffer, at: number): number => u16net(buf, at) * 0x10000 + u16net(buf, at + 2);

/** A u64 in network order to the nearest double (Number(bigint) rounds the same way: one rounding of hi·2^32 + lo). */
export function u64net(buf: Buffer, at: number): number {
  return u32net(buf, at) * TWO_POW_32 + u32net(buf, at + 4);
}
