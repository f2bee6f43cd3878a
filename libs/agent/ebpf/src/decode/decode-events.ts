import { formatIPv6 } from '@natlens/agent-wire';
import { ParseError } from '@natlens/agent-wire';
import type { EbpfEvent, EbpfEventKind, EbpfEventOrigin, EbpfTuple } from './ebpf-event';
import { AF_INET, AF_INET6, EVENT_KIND, EVENT_LAYOUT as L, EVENT_ORIGIN, EVENT_SIZE } from './event-layout';

/*
 * Ring-buffer batches → events. Pure: a batch is one Buffer of back-to-back struct natlens_event records, as the
 * addon hands it over. A record with an unknown kind, origin or family is reported as a ParseError with its offset
 * and skipped; the rest of the batch still decodes.
 */

const WHAT = 'eBPF event batch';
const KINDS: Record<number, EbpfEventKind> = { [EVENT_KIND.NEW]: 'new', [EVENT_KIND.END]: 'end', [EVENT_KIND.DROP]: 'drop', [EVENT_KIND.NAT_FAILURE]: 'nat-failure' };
const ORIGINS: Record<number, EbpfEventOrigin> = {
  [EVENT_ORIGIN.NF_POST_ROUTING]: 'post-routing',
  [EVENT_ORIGIN.NF_LOCAL_IN]: 'local-in',
  [EVENT_ORIGIN.FEXIT_NAT]: 'fexit',
  [EVENT_ORIGIN.KFREE_SKB]: 'kfree-skb',
};
const TWO_32 = 4294967296;
/** Bits 32-52 of a u64: with the low 32 bits, exactly what a double holds. */
const HIGH_BITS_KEPT = 0x1fffff;

export interface DecodedBatch {
  events: EbpfEvent[];
  errors: ParseError[];
}

function address(buf: Buffer, at: number, family: 4 | 6): string {
  return family === 4 ? `${buf[at]}.${buf[at + 1]}.${buf[at + 2]}.${buf[at + 3]}` : formatIPv6(buf.subarray(at, at + 16));
}

function tuple(buf: Buffer, base: number, src: number, dst: number, sport: number, dport: number, family: 4 | 6): EbpfTuple {
  return {
    src: address(buf, base + src, family),
    sport: buf.readUInt16BE(base + sport), // network order
    dst: address(buf, base + dst, family),
    dport: buf.readUInt16BE(base + dport), // network order
  };
}

/** One record at `base` (host order for the scalars, little-endian here). */
export function decodeEvent(buf: Buffer, base: number): EbpfEvent {
  if (base < 0 || base + EVENT_SIZE > buf.length) throw new ParseError(base, `${EVENT_SIZE} bytes of struct natlens_event`, WHAT);
  const kind = KINDS[buf[base + L.kind] as number];
  if (!kind) throw new ParseError(base + L.kind, 'an event kind (1 new, 2 end, 3 drop, 4 nat-failure)', WHAT);
  const origin = ORIGINS[buf[base + L.origin] as number];
  if (!origin) throw new ParseError(base + L.origin, 'an event origin (1-4)', WHAT);
  const familyByte = buf[base + L.family];
  if (familyByte !== AF_INET && familyByte !== AF_INET6) throw new ParseError(base + L.family, 'AF_INET (2) or AF_INET6 (10)', WHAT);
  const family = familyByte === AF_INET ? 4 : 6;
  return {
    kind,
    origin,
    ktimeNs: buf.readUInt32LE(base + L.ktime_ns + 4) * TWO_32 + buf.readUInt32LE(base + L.ktime_ns),
    connCookie: (buf.readUInt32LE(base + L.conn_cookie + 4) & HIGH_BITS_KEPT) * TWO_32 + buf.readUInt32LE(base + L.conn_cookie),
    netns: buf.readUInt32LE(base + L.netns),
    status: buf.readUInt32LE(base + L.status),
    mark: buf.readUInt32LE(base + L.mark),
    zone: buf.readUInt16LE(base + L.zone),
    family,
    protocol: buf[base + L.protocol] as number,
    tcpState: buf[base + L.tcp_state] as number,
    dropReason: buf[base + L.drop_reason] as number,
    original: tuple(buf, base, L.orig_src, L.orig_dst, L.orig_sport, L.orig_dport, family),
    reply: tuple(buf, base, L.reply_src, L.reply_dst, L.reply_sport, L.reply_dport, family),
  };
}

/** Every record of a batch; a trailing partial record is an error, as is each bad record (skipped). */
export function decodeEventBatch(buf: Buffer): DecodedBatch {
  const events: EbpfEvent[] = [];
  const errors: ParseError[] = [];
  const whole = buf.length - (buf.length % EVENT_SIZE);
  for (let base = 0; base < whole; base += EVENT_SIZE) {
    try {
      events.push(decodeEvent(buf, base));
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
      errors.push(err);
    }
  }
  if (whole !== buf.length) errors.push(new ParseError(whole, `a whole record (${EVENT_SIZE} bytes); ${buf.length - whole} left over`, WHAT));
  return { events, errors };
}
