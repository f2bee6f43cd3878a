import type { ObservedConnection } from '@natlens/agent-records';
import { lastActivityOf } from './last-activity';

const observation = (over: Partial<ObservedConnection>): ObservedConnection => ({
  source: 'conntrack',
  kind: 'dump',
  id: '1',
  instance: 'i',
  original: { proto: 'tcp', src: '203.0.113.5', sport: 40000, dst: '192.0.2.10', dport: 30080 },
  reply: { proto: 'tcp', src: '10.1.0.5', sport: 8080, dst: '192.0.2.10', dport: 40000 },
  observedAt: 60_000,
  zone: 0,
  ...over,
});

describe('lastActivityOf', () => {
  it.each<[string, Partial<ObservedConnection>, number | undefined]>([
    ['a dump of an open connection: it was open when read', { state: 'ESTABLISHED' }, 60_000],
    ['a dump listing it in TIME_WAIT: closed earlier, time unknown', { state: 'TIME_WAIT' }, undefined],
    ['a dump listing it in CLOSE', { state: 'CLOSE' }, undefined],
    ['a dump listing it in LAST_ACK', { state: 'LAST_ACK' }, undefined],
    ['a UDP entry in a dump (no TCP state)', { state: undefined }, 60_000],
    ['conntrack DESTROY when TIME_WAIT expires: the entry went, the connection had closed', { kind: 'destroy', state: 'TIME_WAIT', endedAt: 120_000 }, undefined],
    ['conntrack DESTROY of an open connection (timed out, or deleted): its stop time', { kind: 'destroy', state: 'ESTABLISHED', endedAt: 120_000 }, 120_000],
    ['eBPF END at the move to TIME_WAIT: the close itself', { source: 'ebpf', kind: 'destroy', state: 'TIME_WAIT', endedAt: 61_000 }, 61_000],
    ['a NEW event', { kind: 'new', state: 'SYN_SENT' }, 60_000],
  ])('%s', (_name, over, expected) => {
    expect(lastActivityOf(observation(over))).toBe(expected);
  });
});
