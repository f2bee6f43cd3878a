import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { EbpfEvent } from '../decode/ebpf-event';
import { PROBE } from './probe/probe-network';

/*
 * The BPF program against the real kernel, in a namespace of its own: a client connects through a DNAT rule and an
 * SNAT rule over lo, and one SYN goes to a Service port the filter table drops. Each connection must come out as
 * one NEW event with both tuples as conntrack holds them and an END; the drop as a DROP event; nothing for a dropped
 * port that is no Service's. The fallback hook (fexit) is refused on these machines: its message must say so plainly.
 */
const exec = promisify(execFile);
const ROOT = join(__dirname, '..', '..', '..', '..', '..');
const PROBE_FILE = join(__dirname, 'probe', 'ebpf-probe.ts');
const netns = `ebpf-${randomBytes(3).toString('hex')}`;

interface ProbeResult {
  mode: string;
  loaded: boolean;
  error?: string;
  attachments?: { attached: string[]; skipped: string[] };
  netns?: number;
  succeeded?: number;
  news?: number;
  ends?: number;
  drops?: EbpfEvent[];
  sampleNew?: EbpfEvent;
  sampleEnd?: EbpfEvent;
  udp?: { answered: number; news: number; ends: number; sampleNew?: EbpfEvent };
  zones?: { answered: number; news: EbpfEvent[] };
  decodeErrors?: number;
  counters?: { netns: number; connections: number; ends: number; drops: number; ringBufferFull: number }[];
}

interface ExhaustionResult {
  connected: number;
  netns: number;
  news: EbpfEvent[];
  failures: EbpfEvent[];
  counters: { netns: number; drops: number }[];
}

async function probe(mode: 'netfilter' | 'fexit', connections: number): Promise<ProbeResult>;
async function probe(mode: 'netfilter', connections: number, scenario: 'snat-exhaustion'): Promise<ExhaustionResult>;
async function probe(mode: 'netfilter' | 'fexit', connections: number, scenario = 'all'): Promise<ProbeResult | ExhaustionResult> {
  const { stdout } = await exec('ip', ['netns', 'exec', netns, process.execPath, '-r', require.resolve('@swc-node/register'), PROBE_FILE, mode, String(connections), scenario], {
    cwd: ROOT,
    env: { ...process.env, SWC_NODE_PROJECT: join(ROOT, 'tsconfig.base.json') },
    timeout: 60_000,
  });
  return JSON.parse(stdout) as ProbeResult | ExhaustionResult;
}

beforeAll(() => {
  execFileSync('ip', ['netns', 'add', netns]);
  const sh = (...args: string[]) => execFileSync('ip', ['netns', 'exec', netns, ...args]);
  sh('ip', 'link', 'set', 'lo', 'up');
  for (const address of [PROBE.client, PROBE.service, PROBE.snat]) sh('ip', 'addr', 'add', `${address}/32`, 'dev', 'lo');
  sh('iptables', '-t', 'nat', '-A', 'OUTPUT', '-d', PROBE.service, '-p', 'tcp', '--dport', String(PROBE.servicePort), '-j', 'DNAT', '--to-destination', `${PROBE.server}:${PROBE.serverPort}`);
  sh('iptables', '-t', 'nat', '-A', 'POSTROUTING', '-d', PROBE.server, '-p', 'tcp', '--dport', String(PROBE.serverPort), '-j', 'SNAT', '--to-source', PROBE.snat);
  sh('iptables', '-A', 'INPUT', '-p', 'tcp', '--dport', String(PROBE.droppedPort), '-j', 'DROP');
  sh('iptables', '-A', 'INPUT', '-p', 'tcp', '--dport', String(PROBE.otherDroppedPort), '-j', 'DROP');
  sh('iptables', '-t', 'nat', '-A', 'OUTPUT', '-d', PROBE.service, '-p', 'udp', '--dport', String(PROBE.udpServicePort), '-j', 'DNAT', '--to-destination', `${PROBE.server}:${PROBE.udpServerPort}`);
  sh('iptables', '-A', 'INPUT', '-p', 'udp', '--dport', String(PROBE.udpDroppedPort), '-j', 'DROP');
  const { min, max } = PROBE.exhaustSnatPorts;
  sh('iptables', '-t', 'nat', '-A', 'OUTPUT', '-d', PROBE.service, '-p', 'tcp', '--dport', String(PROBE.exhaustPort), '-j', 'DNAT', '--to-destination', `${PROBE.server}:${PROBE.exhaustServerPort}`);
  sh('iptables', '-t', 'nat', '-A', 'POSTROUTING', '-d', PROBE.server, '-p', 'tcp', '--dport', String(PROBE.exhaustServerPort), '-j', 'SNAT', '--to-source', `${PROBE.snat}:${min}-${max}`);
  // rules 1 and 2 of raw OUTPUT: the probe replaces them to move the zone port's traffic from zone 1 to zone 2
  sh('iptables', '-t', 'raw', '-A', 'OUTPUT', '-p', 'udp', '--dport', String(PROBE.zonePort), '-j', 'CT', '--zone', '1');
  sh('iptables', '-t', 'raw', '-A', 'OUTPUT', '-p', 'udp', '--sport', String(PROBE.zonePort), '-j', 'CT', '--zone', '1');
});

afterAll(() => {
  execFileSync('ip', ['netns', 'del', netns]);
});

describe('the BPF program (real kernel)', () => {
  it('netfilter link: one NEW per connection with the translated tuples, its END, and the Service-port drop', async () => {
    const result = await probe('netfilter', 30);
    expect(result.error).toBeUndefined();
    expect(result.attachments?.attached).toEqual(expect.arrayContaining(['netfilter ipv4/post-routing priority 200', 'netfilter ipv4/local-in priority 200', 'tp_btf kfree_skb']));
    expect(result).toMatchObject({ succeeded: 30, news: 30, ends: 30, decodeErrors: 0 });
    expect(result.sampleNew).toMatchObject({
      kind: 'new',
      origin: 'post-routing',
      protocol: 6,
      tcpState: 1, // SYN_SENT
      netns: result.netns,
      original: { src: PROBE.client, dst: PROBE.service, dport: PROBE.servicePort },
      reply: { src: PROBE.server, sport: PROBE.serverPort, dst: PROBE.snat },
    });
    expect(result.sampleEnd).toMatchObject({ kind: 'end', tcpState: 7 /* TIME_WAIT */, connCookie: result.sampleNew?.connCookie });
    expect(result.drops).toHaveLength(2);
    expect(result.drops?.[0]).toMatchObject({ kind: 'drop', origin: 'kfree-skb', dropReason: 12, protocol: 6, zone: 0, original: { dst: PROBE.client, dport: PROBE.droppedPort } });
    // a datagram to a UDP Service port is a drop like a SYN
    expect(result.drops?.[1]).toMatchObject({ kind: 'drop', origin: 'kfree-skb', dropReason: 12, protocol: 17, original: { dst: PROBE.client, dport: PROBE.udpDroppedPort } });
    const ours = result.counters?.find((c) => c.netns === result.netns);
    // every dropped SYN or datagram is a new connection too (locally sent: they pass POST_ROUTING before INPUT drops
    // them): 30 TCP + 2 dropped SYNs, 30 UDP queries + 1 dropped datagram, the zone port's tuple in 2 zones
    expect(ours).toMatchObject({ connections: 65, drops: 2, ringBufferFull: 0 });
  });

  it('netfilter link: UDP gets a NEW per query with the translated tuples, and no END (UDP ends by timeout)', async () => {
    const result = await probe('netfilter', 20);
    expect(result.udp).toMatchObject({ answered: 20, news: 20, ends: 0 });
    expect(result.udp?.sampleNew).toMatchObject({
      kind: 'new',
      origin: 'post-routing',
      protocol: 17,
      tcpState: 0,
      zone: 0,
      original: { src: PROBE.client, dst: PROBE.service, dport: PROBE.udpServicePort },
      reply: { src: PROBE.server, sport: PROBE.udpServerPort, dst: PROBE.client },
    });
  });

  it('netfilter link: reads the conntrack zone from the nf_conn: one tuple in zones 1 and 2 is two connections', async () => {
    const result = await probe('netfilter', 1);
    expect(result.zones?.answered).toBe(2);
    const news = result.zones?.news ?? [];
    expect(news.map((e) => [e.zone, e.kind, e.origin])).toEqual([[1, 'new', 'post-routing'], [2, 'new', 'post-routing']]);
    expect(news[1]?.original).toEqual(news[0]?.original);
    expect(news[0]?.original).toMatchObject({ src: PROBE.client, dport: PROBE.zonePort });
  });

  it('netfilter link: SNAT out of ports: each SYN conntrack could not insert is a NAT_FAILURE with its translation', async () => {
    const { min, max } = PROBE.exhaustSnatPorts;
    const ports = max - min + 1;
    const result = await probe('netfilter', ports * 2, 'snat-exhaustion');
    // as many connections as the SNAT rule has ports; every SYN of the others (and its retransmission) failed
    expect(result.connected).toBe(ports);
    expect(result.failures.length).toBeGreaterThanOrEqual(ports);
    for (const failure of result.failures) {
      expect(failure).toMatchObject({
        kind: 'nat-failure',
        origin: 'kfree-skb',
        dropReason: 12, // SKB_DROP_REASON_NETFILTER_DROP on 6.18
        protocol: 6,
        original: { src: PROBE.client, dst: PROBE.service, dport: PROBE.exhaustPort },
        reply: { src: PROBE.server, sport: PROBE.exhaustServerPort, dst: PROBE.snat },
      });
      // SNAT and DNAT applied, both NAT hooks done, never confirmed
      expect(failure.status & 0x1b8).toBe(0x1b0);
      // the port SNAT settled on is one of its range, already used by a live connection
      expect(failure.reply.dport).toBeGreaterThanOrEqual(min);
      expect(failure.reply.dport).toBeLessThanOrEqual(max);
      // the netfilter link saw the same entry as NEW at POST_ROUTING, before conntrack refused it
      expect(result.news.map((e) => e.connCookie)).toContain(failure.connCookie);
    }
    expect(result.counters.find((c) => c.netns === result.netns)?.drops).toBe(result.failures.length);
  });

  it('fexit fallback: refused by this kernel with a plain reason, nothing loaded', async () => {
    const result = await probe('fexit', 1);
    expect(result).toEqual({
      mode: 'fexit',
      loaded: false,
      error: "fexit on nf_nat_setup_info was refused at load (EPERM): this kernel's policy or missing CAP_BPF/CAP_PERFMON/CAP_NET_ADMIN forbids it",
    });
  });
});
