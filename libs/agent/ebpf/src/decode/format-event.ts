import { isIPv4 } from 'node:net';
import { parseIPv4, parseIPv6 } from '@natlens/agent-wire';
import type { EbpfEvent } from './ebpf-event';
import { AF_INET, AF_INET6, EVENT_KIND, EVENT_LAYOUT as L, EVENT_ORIGIN, EVENT_SIZE } from './event-layout';

/*
 * The inverse of decodeEvent(): writes the bytes the BPF program would write. Tests use it to make batches and to
 * round-trip the decoder; the kernel is the only writer at run time.
 */
const KIND_CODES = { new: EVENT_KIND.NEW, end: EVENT_KIND.END, drop: EVENT_KIND.DROP, 'nat-failure': EVENT_KIND.NAT_FAILURE } as const;
const ORIGIN_CODES = { 'post-routing': EVENT_ORIGIN.NF_POST_ROUTING, 'local-in': EVENT_ORIGIN.NF_LOCAL_IN, fexit: EVENT_ORIGIN.FEXIT_NAT, 'kfree-skb': EVENT_ORIGIN.KFREE_SKB } as const;
const TWO_32 = 4294967296;

function writeAddress(buf: Buffer, at: number, text: string): void {
  (isIPv4(text) ? parseIPv4(text) : parseIPv6(text)).copy(buf, at);
}

export function formatEvent(event: EbpfEvent, buf: Buffer = Buffer.alloc(EVENT_SIZE), base = 0): Buffer {
  buf.fill(0, base, base + EVENT_SIZE);
  buf.writeUInt32LE(event.ktimeNs % TWO_32, base + L.ktime_ns);
  buf.writeUInt32LE(Math.floor(event.ktimeNs / TWO_32), base + L.ktime_ns + 4);
  buf.writeUInt32LE(event.connCookie % TWO_32, base + L.conn_cookie);
  buf.writeUInt32LE(Math.floor(event.connCookie / TWO_32), base + L.conn_cookie + 4);
  buf.writeUInt32LE(event.netns, base + L.netns);
  buf.writeUInt32LE(event.status, base + L.status);
  buf.writeUInt32LE(event.mark, base + L.mark);
  buf.writeUInt16LE(event.zone, base + L.zone);
  buf[base + L.kind] = KIND_CODES[event.kind];
  buf[base + L.origin] = ORIGIN_CODES[event.origin];
  buf[base + L.family] = event.family === 4 ? AF_INET : AF_INET6;
  buf[base + L.protocol] = event.protocol;
  buf[base + L.tcp_state] = event.tcpState;
  buf[base + L.drop_reason] = event.dropReason;
  writeAddress(buf, base + L.orig_src, event.original.src);
  writeAddress(buf, base + L.orig_dst, event.original.dst);
  buf.writeUInt16BE(event.original.sport, base + L.orig_sport);
  buf.writeUInt16BE(event.original.dport, base + L.orig_dport);
  writeAddress(buf, base + L.reply_src, event.reply.src);
  writeAddress(buf, base + L.reply_dst, event.reply.dst);
  buf.writeUInt16BE(event.reply.sport, base + L.reply_sport);
  buf.writeUInt16BE(event.reply.dport, base + L.reply_dport);
  return buf;
}

export function formatEventBatch(events: EbpfEvent[]): Buffer {
  const buf = Buffer.alloc(events.length * EVENT_SIZE);
  events.forEach((event, i) => formatEvent(event, buf, i * EVENT_SIZE));
  return buf;
}
