import { readFileSync } from 'node:fs';
import { readCapture } from '../capture/capture-reader';
import { parseConntrackText } from '../conntrack-dump/conntrack-dump';
import { decodePacket } from '../decode/packet';
import { TcpFlag } from '../decode/transport';
import { ethernetFrame, FIXTURES_DIR } from '../testing';
import { ConnectionTracker, type TrackerEvent, type TrackerOptions } from './connection-tracker';

function track(fixture: string, options: TrackerOptions = {}): { events: TrackerEvent[]; tracker: ConnectionTracker } {
  const tracker = new ConnectionTracker(options);
  for (const r of readCapture(readFileSync(`${FIXTURES_DIR}/${fixture}`)).records) {
    const packet = decodePacket(r.linkType, r.frame);
    tracker.add(packet, r.seconds * 1000 + r.nanoseconds / 1e6, r.originalLength - packet.link.payloadOffset);
  }
  return { events: tracker.finish(), tracker };
}

const tuple = (src: string, sport: number, dst: string, dport: number) => ({ src, sport, dst, dport, proto: 'tcp' });

describe('ConnectionTracker over lab captures', () => {
  it('joins the two legs of a NodePort connection on node3 (Cluster policy: DNAT to a pod on node1 + SNAT) into conntrack\'s view', () => {
    // The conntrack table of node3 was dumped right after the capture (fixtures/README.md): it must agree.
    const conntrack = parseConntrackText(readFileSync(`${FIXTURES_DIR}/np-cluster-node3.conntrack-extended.txt`, 'utf8')).entries;
    // (not the .pcapng: its Simple Packet Block repeats the first SYN without a timestamp, a leg of its own)
    for (const fixture of ['np-cluster-node3-any-sll.pcap', 'np-cluster-node3-any-sll2.pcap', 'np-cluster-node3-eth0-nano.pcap', 'np-cluster-node3-eth0-nano.be.pcapng']) {
      const { events } = track(fixture);
      expect(events).toHaveLength(2);
      for (const { kind, connection } of events) {
        expect(kind).toBe('destroy');
        expect(connection).toMatchObject({ state: 'CLOSED', legs: 2 });
        expect(connection.original).toMatchObject({ src: '198.51.100.79', dst: '198.18.0.13', dport: 30080 });
        const entry = conntrack.find((e) => e.original.sport === connection.original.sport);
        expect(entry).toBeDefined();
        expect({ original: connection.original, reply: connection.reply }).toEqual({ original: entry?.original, reply: entry?.reply });
      }
    }
  });

  it('counts each packet once when -i any sees it on the bridge, the veth and eth0', () => {
    const { events, tracker } = track('lb-proxy-protocol-node1-any.pcap');
    expect(tracker.stats.duplicates).toBe(12);
    expect(events).toHaveLength(1);
    expect(events[0]?.connection.counters).toEqual({ original: { packets: 6, bytes: 405 }, reply: { packets: 6, bytes: 913 } });
  });

  it('reads the real client from the PROXY v2 header the lab load balancer sends (proxy-protocol, Local policy: DNAT only)', () => {
    const { events } = track('lb-proxy-protocol-node1-any.pcap');
    expect(events[0]?.connection).toMatchObject({
      original: tuple('198.18.0.254', 36626, '198.18.0.11', 30080),
      reply: tuple('198.19.1.11', 8080, '198.18.0.254', 36626),
      realClient: { ip: '198.51.100.79', via: 'proxy-v2' },
    });
  });

  it('reads X-Forwarded-For and Forwarded: for= from the first request', () => {
    const { events } = track('np-cluster-node1-eth0-xff.pcap');
    expect(events.map((e) => e.connection.realClient)).toEqual([
      { ip: '192.0.2.44', via: 'x-forwarded-for', chain: ['192.0.2.44', '10.0.0.1'] },
      { ip: '2001:db8::7', port: 4711, via: 'forwarded', chain: ['[2001:db8::7]:4711'] },
    ]);
  });

  it('reports SYNs nobody answered as dropped (Local policy, node3 has no endpoint)', () => {
    const { events } = track('np-local-node3-any-drop.pcap');
    expect(events).toEqual([
      {
        kind: 'destroy',
        connection: expect.objectContaining({ original: tuple('198.51.100.79', 39822, '198.18.0.13', 30080), state: 'UNANSWERED', dropped: true, legs: 1, counters: { original: { packets: 2, bytes: 120 }, reply: { packets: 0, bytes: 0 } } }),
      },
    ]);
  });

  it('keeps IPv6 connections and ignores what is not TCP', () => {
    const { events, tracker } = track('veth-ipv6-udp-fragments.pcap');
    expect(events.map((e) => e.connection.original)).toEqual([tuple('2001:2:7::1', 58528, '2001:2:7::2', 8080), tuple('198.18.7.1', 53910, '198.18.7.2', 8080)]);
    expect(tracker.stats.notTcp).toBe(4);
  });
});

describe('ConnectionTracker in a live stream', () => {
  const client = { src: '198.51.100.79', sport: 40000, dst: '198.18.0.13', dport: 30080 };
  const natted = { src: '198.18.0.13', sport: 5555, dst: '198.19.1.11', dport: 8080 };
  const reverse = (t: typeof client) => ({ src: t.dst, sport: t.dport, dst: t.src, dport: t.sport });
  const feed = (tracker: ConnectionTracker, at: number, spec: Parameters<typeof ethernetFrame>[0]) => {
    const packet = decodePacket(1, ethernetFrame(spec));
    tracker.add(packet, at, 60);
  };

  it('reports a connection once settled, updates it, ends it, and absorbs the last ACK', () => {
    const sut = new ConnectionTracker({ settleAfterMs: 1000 });
    feed(sut, 0, { ...client, seq: 7, flags: TcpFlag.SYN });
    expect(sut.poll(1)).toEqual([]);
    feed(sut, 1, { ...natted, seq: 7, flags: TcpFlag.SYN });
    feed(sut, 2, { ...reverse(natted), seq: 900, ack: 8, flags: TcpFlag.SYN | TcpFlag.ACK });
    feed(sut, 3, { ...reverse(client), seq: 900, ack: 8, flags: TcpFlag.SYN | TcpFlag.ACK });
    expect(sut.poll(10)).toEqual([]); // answered, but its first bytes (a PROXY header? a request?) are not here yet
    feed(sut, 20, { ...client, seq: 8, ack: 901, flags: TcpFlag.ACK | TcpFlag.PSH, payload: Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n') });
    const [first] = sut.poll(21);
    expect(first).toMatchObject({ kind: 'new', connection: { original: { ...client, proto: 'tcp' }, reply: { ...reverse(natted), proto: 'tcp' }, state: 'ESTABLISHED' } });
    expect(first?.connection.realClient).toBeUndefined();
    feed(sut, 30, { ...client, seq: 35, ack: 901, flags: TcpFlag.FIN | TcpFlag.ACK });
    expect(sut.poll(31)).toMatchObject([{ kind: 'update', connection: { state: 'FIN' } }]);
    feed(sut, 40, { ...reverse(client), seq: 901, ack: 36, flags: TcpFlag.FIN | TcpFlag.ACK });
    expect(sut.poll(41)).toMatchObject([{ kind: 'destroy', connection: { state: 'CLOSED', id: first?.connection.id } }]);
    feed(sut, 42, { ...client, seq: 36, ack: 902, flags: TcpFlag.ACK });
    expect(sut.poll(43)).toEqual([]);
    expect(sut.poll(10_000)).toEqual([]);
    expect(sut.size).toBe(0);
  });

  it('joins legs whose SYN it missed by their sequence numbers', () => {
    const sut = new ConnectionTracker({ isServiceFrontend: (ip, port) => ip === '198.18.0.13' && port === 30080 });
    // the post-NAT copy is seen first this time; the Service frontend still makes the client's leg the original
    feed(sut, 0, { ...natted, seq: 5000, ack: 9000, flags: TcpFlag.ACK, payload: Buffer.from('x') });
    feed(sut, 0.1, { ...client, seq: 5000, ack: 9000, flags: TcpFlag.ACK, payload: Buffer.from('x') });
    feed(sut, 0.2, { ...reverse(natted), seq: 9000, ack: 5001, flags: TcpFlag.ACK });
    const events = sut.finish();
    expect(events).toHaveLength(1);
    expect(events[0]?.connection).toMatchObject({ original: { ...client, proto: 'tcp' }, reply: { ...reverse(natted), proto: 'tcp' }, legs: 2 });
  });

  it('bounds what it holds', () => {
    const sut = new ConnectionTracker({ maxConnections: 10 });
    for (let i = 0; i < 100; i++) feed(sut, i, { ...client, sport: 1000 + i, seq: i, flags: TcpFlag.SYN });
    expect(sut.size).toBe(10);
    expect(sut.stats.evicted).toBe(90);
  });
});
