import fc from 'fast-check';
import { natFailureSchema } from '@natlens/shared-model';
import { decodeEvent } from './decode-events';
import { EVENT_LAYOUT } from './event-layout';
import { IPS, natFailureOf } from './nat-failure';

// Captured on kernel 6.18 with src/loader/probe/ebpf-probe.ts (`netfilter 8 snat-exhaustion`, its `raw` field): the
// SYN of 198.18.202.1:40175 → 198.18.202.2:81, DNAT'd to 198.18.202.1:18081 and SNAT'd to 198.18.202.3:41002, a port
// of the rule's four (41000-41003) a held connection already used; dropped at confirm (status 0x1b0, reason 12).
const CAPTURED_NAT_FAILURE = Buffer.from(
  '1bb2d5e6eb11000000eec0ef8188ffffe60200f0b001000000000000000004040206010cc612ca01000000000000000000000000c612ca020000000000000000000000009cef0051c612ca01000000000000000000000000c612ca0300000000000000000000000046a1a02a00000000',
  'hex',
);

describe('natFailureOf', () => {
  it('reads a NAT failure the kernel reported: SNAT applied, so its port range was exhausted', () => {
    const event = decodeEvent(CAPTURED_NAT_FAILURE, 0);
    expect(event).toMatchObject({
      kind: 'nat-failure',
      origin: 'kfree-skb',
      status: 0x1b0,
      dropReason: 12,
      original: { src: '198.18.202.1', sport: 40175, dst: '198.18.202.2', dport: 81 },
      reply: { src: '198.18.202.1', sport: 18081, dst: '198.18.202.3', dport: 41002 },
    });
    expect(natFailureOf(event)).toEqual({ reason: 'nat-port-exhausted', kernelReason: 'SKB_DROP_REASON_NETFILTER_DROP', observed: true });
  });

  it('calls an insert failure without SNAT a plain insert failure (a clash conntrack could not resolve)', () => {
    const bytes = Buffer.from(CAPTURED_NAT_FAILURE);
    bytes.writeUInt32LE(IPS.DST_NAT | IPS.SRC_NAT_DONE | IPS.DST_NAT_DONE, EVENT_LAYOUT.status);
    expect(natFailureOf(decodeEvent(bytes, 0))?.reason).toBe('insert-failed');
  });

  it('says nothing about other events', () => {
    for (const kind of ['new', 'end', 'drop'] as const) expect(natFailureOf({ kind, status: 0x1b0 })).toBeUndefined();
  });

  it('always gives a failure the record schema accepts, whatever the status bits (fast-check)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (status) => {
        expect(natFailureSchema.parse(natFailureOf({ kind: 'nat-failure', status }))).toMatchObject({ observed: true });
      }),
    );
  });
});
