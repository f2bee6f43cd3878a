import type { ConntrackEntry, ConntrackStatusFlag } from './conntrack-entry';
import { parseConntrackMessages } from './conntrack-messages';
import { CAPTURED, CONNTRACK_TOOL_LISTING } from './fixtures/captured';
import { capturedDatagram } from './fixtures/captured-datagram';
import { CAPTURED_FLOW_EXPECTATIONS, type CapturedFlow, capturedFlowName } from './fixtures/flows';
import { parseConntrackEntry } from './parse-conntrack';

/*
 * The decoder against real kernel bytes (fixtures/captured.ts, Linux 6.18). Expectations come from what
 * capture.py did (fixtures/flows.ts) and the kernel's documented defaults, and are cross-checked with what the
 * conntrack tool printed for the same table.
 */

function entriesOf(name: string): ConntrackEntry[] {
  return parseConntrackMessages(capturedDatagram(name)).messages.flatMap((message) => (message.kind === 'entry' ? [message.entry] : []));
}

function flow(name: string): CapturedFlow {
  const expected = CAPTURED_FLOW_EXPECTATIONS[name];
  if (expected === undefined) throw new Error(`no flow ${name}`);
  return expected;
}

function natFlags(entry: ConntrackEntry): ConntrackStatusFlag[] {
  return entry.status?.flags.filter((f) => f === 'SRC_NAT' || f === 'DST_NAT') ?? [];
}

const dumpEntries = entriesOf('dump-1');
const dumpByFlow = new Map(dumpEntries.map((entry) => [capturedFlowName(entry), entry]));

describe('a dump taken while every flow was open (dump-1)', () => {
  it('holds exactly one entry per flow capture.py made', () => {
    expect(dumpEntries.map((entry) => capturedFlowName(entry)).sort()).toEqual(Object.keys(CAPTURED_FLOW_EXPECTATIONS).sort());
  });

  it.each(Object.keys(CAPTURED_FLOW_EXPECTATIONS))('%s: family, both tuples, NAT bits, counters, zone and mark', (name) => {
    const expected = flow(name);
    const entry = dumpByFlow.get(name);
    expect(entry).toMatchObject({ event: 'dump', family: expected.family, use: 1, mark: expected.mark ?? 0 });
    expect(entry?.original).toEqual(expected.original);
    expect(entry?.reply).toEqual(expected.reply);
    expect(entry && natFlags(entry)).toEqual(expected.nat);
    expect(entry?.status?.flags).toEqual(expect.arrayContaining(['SEEN_REPLY', 'CONFIRMED']));
    expect(entry?.counters).toEqual({ original: expected.openCounters[0], reply: expected.openCounters[1] });
    expect(entry?.zone).toBe(expected.zone);
    expect(entry?.timestamp?.stop).toBeUndefined();
  });

  it.each([
    // Default nf_conntrack_tcp_timeout_established is 5 days; the dump comes a moment after the last packet.
    ['tcp4', 'ESTABLISHED', 431_990, 432_000],
    ['dnat', 'ESTABLISHED', 431_990, 432_000],
    ['tcp6', 'ESTABLISHED', 431_990, 432_000],
    // nf_conntrack_sctp_timeout_established defaults to 210 s.
    ['sctp4', 'ESTABLISHED', 200, 210],
    // capture.py sets the UDP and ICMP timeouts to 3 s.
    ['udp4', undefined, 0, 3],
    ['icmp6', undefined, 0, 3],
  ])('%s: protocol state %s and a timeout in [%d, %d]', (name, state, minTimeout, maxTimeout) => {
    const entry = dumpByFlow.get(name);
    expect(entry?.tcp?.state ?? entry?.sctp?.state).toBe(state);
    expect(entry?.timeout).toBeGreaterThanOrEqual(minTimeout);
    expect(entry?.timeout).toBeLessThanOrEqual(maxTimeout);
  });

  it('reads TCP window scaling and flags: Linux offers wscale 10 on lo, and SACK + window scale (0x03) plus MAXACK_SET (0x20) once established', () => {
    expect(dumpByFlow.get('tcp4')?.tcp).toEqual({
      state: 'ESTABLISHED',
      wscaleOriginal: 10,
      wscaleReply: 10,
      flagsOriginal: { flags: 0x23, mask: 0 },
      flagsReply: { flags: 0x23, mask: 0 },
    });
  });

  it('reads the SCTP verification tags capture.py chose: ORIGINAL packets carry the server tag, REPLY ones the client tag', () => {
    expect(dumpByFlow.get('sctp4')?.sctp).toEqual({ state: 'ESTABLISHED', vtagOriginal: 0x22222222, vtagReply: 0x11111111 });
  });

  it('holds one tuple twice, in zones 1 and 2, as two entries with their own CTA_ID', () => {
    const twins = [dumpByFlow.get('twin-z1'), dumpByFlow.get('twin-z2')];
    expect(twins.map((e) => e?.zone)).toEqual([1, 2]);
    expect(twins[1]?.original).toEqual(twins[0]?.original);
    expect(twins[1]?.id).not.toBe(twins[0]?.id);
  });

  it('marks only TCP and SCTP as ASSURED (one datagram each way does not assure UDP or ICMP)', () => {
    const assured = dumpEntries.filter((entry) => entry.status?.flags.includes('ASSURED')).map((entry) => capturedFlowName(entry));
    expect(assured.sort()).toEqual(['dnat', 'masq', 'sctp4', 'snat', 'tcp4', 'tcp6']);
  });

  it('reads timestamps as ns since the epoch (bigint): every entry started during the capture', () => {
    const starts = dumpEntries.map((entry) => entry.timestamp?.start ?? 0n);
    const first = starts.reduce((a, b) => (a < b ? a : b));
    const last = starts.reduce((a, b) => (a > b ? a : b));
    expect(first).toBeGreaterThan(1_600_000_000n * 1_000_000_000n); // after 2020
    expect(last - first).toBeLessThan(2_000_000_000n); // all flows within 2 s
  });
});

describe('cross-check with `conntrack -L -o extended,id` run right after the dump', () => {
  const lines = CONNTRACK_TOOL_LISTING.trim().split('\n');

  it('lists the same number of entries', () => {
    expect(lines).toHaveLength(dumpEntries.length);
  });

  it.each(lines)('%s', (line) => {
    const listed = parseListingLine(line);
    const entry = dumpEntries.find((candidate) => candidate.id === listed.id);
    expect(entry).toBeDefined();
    if (entry === undefined) return;
    expect(entry.family).toBe(listed.family);
    expect(entry.tcp?.state ?? entry.sctp?.state).toBe(listed.state);
    expect(tupleFields(entry.original)).toEqual(listed.original);
    expect(tupleFields(entry.reply)).toEqual(listed.reply);
    expect(entry.counters).toEqual({ original: listed.originalCounters, reply: listed.replyCounters });
    expect(entry.status?.flags.includes('ASSURED')).toBe(listed.assured);
    expect(entry.mark).toBe(listed.mark);
    expect(entry.zone).toBe(listed.zone);
    expect(entry.use).toBe(listed.use);
    // The tool listed a moment after the dump: at most one second less.
    expect((entry.timeout ?? 0) - listed.timeout).toBeGreaterThanOrEqual(0);
    expect((entry.timeout ?? 0) - listed.timeout).toBeLessThanOrEqual(1);
  });
});

/**
 * `conntrack -L -o extended,id` prints the ORIGINAL tuple's key=value fields and its counters, the REPLY tuple's,
 * then flags in brackets and the entry's fields (mark, zone, use, id).
 */
function parseListingLine(line: string) {
  const [family = '', , , , timeout = '', ...rest] = line.trim().split(/\s+/);
  const state = rest[0]?.includes('=') ? undefined : rest.shift();
  const replyStart = rest.findIndex((token, i) => i > 0 && token.startsWith('src='));
  const replyEnd = rest.findIndex((token, i) => i > replyStart && (token.startsWith('[') || token.startsWith('mark=')));
  const fields = (tokens: string[]) => Object.fromEntries(tokens.filter((t) => t.includes('=')).map((t) => t.split('=') as [string, string]));
  const split = (tokens: string[]) => {
    const { packets, bytes, ...tuple } = fields(tokens);
    return { tuple, counters: { packets: BigInt(packets ?? -1), bytes: BigInt(bytes ?? -1) } };
  };
  const original = split(rest.slice(0, replyStart));
  const reply = split(rest.slice(replyStart, replyEnd));
  const entry = fields(rest.slice(replyEnd));
  return {
    family,
    timeout: Number(timeout),
    state,
    original: original.tuple,
    originalCounters: original.counters,
    reply: reply.tuple,
    replyCounters: reply.counters,
    assured: rest.includes('[ASSURED]'),
    mark: Number(entry['mark']),
    zone: entry['zone'] === undefined ? undefined : Number(entry['zone']),
    use: Number(entry['use']),
    id: Number(entry['id']),
  };
}

/** A tuple in the tool's spelling. */
function tupleFields(tuple: ConntrackEntry['original']): Record<string, string> {
  const fields: Record<string, string> = { src: tuple.src, dst: tuple.dst };
  if (tuple.icmp) Object.assign(fields, { type: String(tuple.icmp.type), code: String(tuple.icmp.code), id: String(tuple.icmp.id) });
  if (tuple.sport !== undefined) fields['sport'] = String(tuple.sport);
  if (tuple.dport !== undefined) fields['dport'] = String(tuple.dport);
  if (tuple.zone !== undefined) fields['zone-orig'] = String(tuple.zone);
  return fields;
}

describe('events', () => {
  /*
   * Each row: a captured event, what it must say. TCP timeouts are the kernel defaults for each state
   * (nf_conntrack_tcp_timeout_syn_sent 120, syn_recv 60, established 432000, fin_wait 120, last_ack 30) and the
   * 1 s time_wait capture.py sets; SCTP's are closed 10, cookie_wait 3, cookie_echoed 3, established 210.
   */
  type Row = [name: string, event: ConntrackEntry['event'], state: string | undefined, timeout: number | undefined];
  const tcpLifecycle = (flowName: string): Row[] => [
    [`event-new-${flowName}`, 'new', 'SYN_SENT', 120],
    [`event-update-${flowName}-1`, 'update', 'SYN_RECV', 60],
    [`event-update-${flowName}-2`, 'update', 'ESTABLISHED', 432_000],
    [`event-update-${flowName}-3`, 'update', 'FIN_WAIT', 120], // the client closes first
    [`event-update-${flowName}-4`, 'update', 'LAST_ACK', 30], // the server's FIN
    [`event-update-${flowName}-5`, 'update', 'TIME_WAIT', 1], // the client's last ACK
    [`event-destroy-${flowName}`, 'destroy', 'TIME_WAIT', undefined],
  ];
  const requestResponse = (flowName: string): Row[] => [
    [`event-new-${flowName}`, 'new', undefined, 3],
    [`event-update-${flowName}-1`, 'update', undefined, 3], // the answer: SEEN_REPLY
    [`event-destroy-${flowName}`, 'destroy', undefined, undefined],
  ];
  const rows: Row[] = [
    ...['tcp4', 'tcp6', 'dnat', 'snat', 'masq'].flatMap(tcpLifecycle),
    ...['udp4', 'icmp4', 'icmp6', 'zone', 'zone-orig', 'twin-z1', 'twin-z2'].flatMap(requestResponse),
    // On this kernel an INIT leaves the entry CLOSED (closed timeout 10 s); the INIT_ACK moves it to COOKIE_WAIT.
    ['event-new-sctp4', 'new', 'CLOSED', 10],
    ['event-update-sctp4-1', 'update', 'COOKIE_WAIT', 3],
    ['event-update-sctp4-2', 'update', 'COOKIE_ECHOED', 3],
    ['event-update-sctp4-3', 'update', 'ESTABLISHED', 210],
    // `conntrack -F` removed it while established; a flush reports the time that was left.
    ['event-destroy-sctp4', 'destroy', 'ESTABLISHED', undefined],
  ];

  it('covers every captured event', () => {
    const captured = CAPTURED.filter((fixture) => fixture.name.startsWith('event-')).map((fixture) => fixture.name);
    expect(rows.map(([name]) => name).sort()).toEqual(captured.sort());
  });

  it.each(rows)('%s: %s, state %s, timeout %s', (name, event, state, timeout) => {
    const [entry, ...others] = entriesOf(name);
    expect(others).toHaveLength(0);
    if (entry === undefined) throw new Error(`${name} holds no entry`);
    const flowName = name.replace(/^event-(new|update|destroy)-/, '').replace(/-\d+$/, '');
    const expected = flow(flowName);
    expect(entry.event).toBe(event);
    expect(entry.original).toEqual(expected.original);
    expect(entry.reply).toEqual(expected.reply);
    expect(natFlags(entry)).toEqual(expected.nat); // NAT is decided on the first packet, before the NEW event
    expect(entry.tcp?.state ?? entry.sctp?.state).toBe(state);
    if (name !== 'event-destroy-sctp4') expect(entry.timeout).toBe(timeout);
    expect(entry.zone).toBe(expected.zone);
    expect(entry.eventTimestamp).toBeGreaterThan(0n); // CTA_TIMESTAMP_EVENT, Linux 6.14+
    expect(entry.status?.flags.includes('SEEN_REPLY')).toBe(event !== 'new');
    if (event === 'destroy') {
      expect(entry.status?.flags).toContain('DYING');
      expect(entry.counters).toEqual({ original: expected.finalCounters[0], reply: expected.finalCounters[1] });
      expect(entry.timestamp?.stop).toBeGreaterThan(entry.timestamp?.start ?? 0n);
      expect(entry.mark).toBe(expected.mark); // events carry CTA_MARK only when it is set
    } else {
      expect(entry.counters).toBeUndefined(); // ctnetlink sends counters only on DESTROY
    }
  });

  it('the SCTP flush reports the time that was left (less than the 210 s of ESTABLISHED)', () => {
    const [entry] = entriesOf('event-destroy-sctp4');
    expect(entry?.timeout).toBeGreaterThan(0);
    expect(entry?.timeout).toBeLessThan(210);
  });

  it.each(Object.keys(CAPTURED_FLOW_EXPECTATIONS))('%s: every event and the dump agree on CTA_ID', (name) => {
    const ids = CAPTURED.filter((fixture) => fixture.name.startsWith('event-') && fixture.name.replace(/^event-(new|update|destroy)-/, '').replace(/-\d+$/, '') === name)
      .flatMap((fixture) => entriesOf(fixture.name))
      .map((entry) => entry.id);
    expect(ids.length).toBeGreaterThanOrEqual(3);
    expect(new Set(ids)).toEqual(new Set([dumpByFlow.get(name)?.id]));
  });
});

describe('replies to single requests', () => {
  it('a CT_GET for the tcp4 tuple returns the same entry as the dump (NLM_F_MULTI, so it reads as "dump")', () => {
    const [entry] = entriesOf('get-tcp4-1');
    const dumped = dumpByFlow.get('tcp4');
    // The lookup holds a reference while the reply is built (use), and time passes (timeout).
    expect({ ...entry, use: 0, timeout: 0 }).toEqual({ ...dumped, use: 0, timeout: 0 });
  });
});

describe('parseConntrackEntry', () => {
  it('reads one message and says how many bytes it used, padding included', () => {
    const buf = capturedDatagram('dump-1');
    const first = parseConntrackEntry(buf, 0);
    const second = parseConntrackEntry(buf, first.consumed);
    expect(first.consumed).toBe(buf.readUInt32LE(0)); // dump messages are multiples of 4 long
    expect([first.value, second.value]).toEqual(dumpEntries.slice(0, 2));
  });
});
