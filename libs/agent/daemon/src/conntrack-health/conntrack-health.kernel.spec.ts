import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ConntrackStats, SnatPortUsage } from '@natlens/shared-model';

/*
 * The conntrack health sampler against the real kernel. Two throwaway namespaces joined by a veth pair: a "node"
 * whose masquerade rule may only use ports 40000-40007 (kube-proxy's rule with --random-fully and --to-ports), and a
 * "pod" that accepts and holds connections. Twelve connections from the node to the pod: eight get a port, four
 * find none, and the kernel counts each of their SYNs in insert_failed (and drop), as it does for SNAT port
 * exhaustion on a real node.
 */
const exec = promisify(execFile);
const ROOT = join(__dirname, '..', '..', '..', '..', '..');
const PROBE = join(__dirname, 'probe', 'conntrack-health-probe.ts');
const id = randomBytes(3).toString('hex');
const nodeNs = `cthn-${id}`;
const podNs = `cthp-${id}`;
const NODE = '198.18.212.1';
const POD = '198.18.212.2';
const CLIENT = '198.18.213.1';

interface Sample {
  conntrack: ConntrackStats;
  snatPorts: SnatPortUsage[];
  status: { problems?: Record<string, string> };
  metrics: string[];
}

async function sample(): Promise<Sample> {
  const { stdout } = await exec('ip', ['netns', 'exec', nodeNs, process.execPath, '-r', require.resolve('@swc-node/register'), PROBE], {
    cwd: ROOT,
    env: { ...process.env, SWC_NODE_PROJECT: join(ROOT, 'tsconfig.base.json') },
    timeout: 60_000,
  });
  return JSON.parse(stdout) as Sample;
}

const ip = (...args: string[]) => execFileSync('ip', args);
const inNs = (ns: string, ...args: string[]) => execFileSync('ip', ['netns', 'exec', ns, ...args], { encoding: 'utf8' });
const children: ChildProcess[] = [];

/** A python process in a namespace; resolves once it printed its first line (which it returns). */
async function python(ns: string, code: string): Promise<{ child: ChildProcess; firstLine: string }> {
  const child = spawn('ip', ['netns', 'exec', ns, 'python3', '-u', '-c', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  if (!child.stdout) throw new Error('spawn gave no stdout');
  const [chunk] = (await once(child.stdout, 'data')) as [Buffer];
  return { child, firstLine: chunk.toString().trim() };
}

/** Accepts and holds connections on 8080 (behind the 8-port rule) and 8081 (behind a rule without ports). */
const SERVER = `
import select, socket
listeners = []
for port in (8080, 8081):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("${POD}", port)); s.listen(256); listeners.append(s)
print("listening")
held = []
while True:
    ready, _, _ = select.select(listeners, [], [])
    for s in ready:
        c, _ = s.accept(); held.append(c)
`;

/** Twenty connections to 8081, held; prints "ok" once all are up. */
const CLIENTS_8081 = `
import socket, time
held = []
for _ in range(20):
    s = socket.socket(); s.bind(("${CLIENT}", 0)); s.connect(("${POD}", 8081)); held.append(s)
print("ok")
time.sleep(600)
`;

/** Twelve connections at once (non-blocking), each given 2 s; prints how many got through, then holds them. */
const CLIENTS = `
import select, socket, time
socks = []
for _ in range(12):
    s = socket.socket(); s.bind(("${CLIENT}", 0)); s.setblocking(False); s.connect_ex(("${POD}", 8080)); socks.append(s)
deadline = time.time() + 2
pending = list(socks)
while pending and time.time() < deadline:
    _, writable, _ = select.select([], pending, [], 0.1)
    pending = [s for s in pending if s not in writable]
connected = [s for s in socks if s not in pending and s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0]
print(f"{len(connected)} {len(socks) - len(connected)}")
time.sleep(600)
`;

beforeAll(async () => {
  ip('netns', 'add', nodeNs);
  ip('netns', 'add', podNs);
  ip('-n', nodeNs, 'link', 'add', 'veth0', 'type', 'veth', 'peer', 'name', 'veth1', 'netns', podNs);
  for (const [ns, dev, address] of [[nodeNs, 'veth0', NODE], [podNs, 'veth1', POD]] as const) {
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', dev);
    ip('-n', ns, 'link', 'set', dev, 'up');
  }
  ip('-n', nodeNs, 'addr', 'add', `${CLIENT}/32`, 'dev', 'lo');
  inNs(nodeNs, 'iptables', '-t', 'nat', '-A', 'POSTROUTING', '-o', 'veth0', '-p', 'tcp', '--dport', '8081', '-j', 'MASQUERADE', '--random-fully');
  inNs(nodeNs, 'iptables', '-t', 'nat', '-A', 'POSTROUTING', '-o', 'veth0', '-p', 'tcp', '-j', 'MASQUERADE', '--random-fully', '--to-ports', '40000-40007');
  await python(podNs, SERVER);
});

afterAll(() => {
  for (const child of children) if (child.pid !== undefined && child.exitCode === null) child.kill();
  for (const ns of [nodeNs, podNs]) {
    try {
      ip('netns', 'del', ns);
    } catch {
      // already gone
    }
  }
});

describe('ConntrackHealthSampler (real kernel)', () => {
  it('sees SNAT port exhaustion: the pair at its rule\'s range, insert_failed and drop moving, on /metrics', async () => {
    const before = await sample();
    expect(before.status.problems ?? {}).toEqual({});
    const { firstLine } = await python(nodeNs, CLIENTS);
    const [connected, failed] = firstLine.split(' ').map(Number) as [number, number];
    expect([connected, failed]).toEqual([8, 4]);
    const after = await sample();

    expect(after.snatPorts.filter((pair) => pair.destinationPort === 8080)).toEqual([{ snatAddress: NODE, destination: POD, destinationPort: 8080, protocol: 'tcp', inUse: 8, range: { min: 40000, max: 40007 }, rangeBasis: 'nat-rule' }]);
    expect(after.conntrack.entries - before.conntrack.entries).toBeGreaterThanOrEqual(8);
    expect(after.conntrack.max).toBe(Number(inNs(nodeNs, 'cat', '/proc/sys/net/netfilter/nf_conntrack_max').trim()));
    expect(after.conntrack.buckets).toBe(Number(inNs(nodeNs, 'cat', '/proc/sys/net/netfilter/nf_conntrack_buckets').trim()));
    // Each failed connection's SYN (and its retransmissions) could not be inserted: no free tuple for the masquerade.
    expect((after.conntrack.counters.insertFailed ?? 0) - (before.conntrack.counters.insertFailed ?? 0)).toBeGreaterThanOrEqual(failed);
    expect((after.conntrack.counters.drop ?? 0) - (before.conntrack.counters.drop ?? 0)).toBeGreaterThanOrEqual(failed);
    expect(after.metrics).toEqual(
      expect.arrayContaining([
        `natlens_agent_conntrack_snat_ports_in_use{snat_address="${NODE}",destination="${POD}",destination_port="8080",protocol="tcp"} 8`,
        `natlens_agent_conntrack_snat_port_range{snat_address="${NODE}",destination="${POD}",destination_port="8080",protocol="tcp",basis="nat-rule"} 8`,
        `natlens_agent_conntrack_stat_total{counter="insert_failed"} ${after.conntrack.counters.insertFailed}`,
        `natlens_agent_conntrack_entries ${after.conntrack.entries}`,
      ]),
    );
  });

  it('without --to-ports the kernel picks from 1024-65535 (not ip_local_port_range): the pair says kernel-default', async () => {
    expect((await python(nodeNs, CLIENTS_8081)).firstLine).toBe('ok');
    const { snatPorts } = await sample();
    expect(snatPorts.find((pair) => pair.destinationPort === 8081)).toEqual({ snatAddress: NODE, destination: POD, destinationPort: 8081, protocol: 'tcp', inUse: 20, range: { min: 1024, max: 65535 }, rangeBasis: 'kernel-default' });
    // What the default stands on: --random-fully without ports draws from 1024-65535 (nf_nat_l4proto_unique_tuple()),
    // so twenty ports all inside the ephemeral range (32768-60999 by default) would be a 1-in-10^7 chance.
    const [low = 0, high = 0] = inNs(nodeNs, 'cat', '/proc/sys/net/ipv4/ip_local_port_range').trim().split(/\s+/).map(Number);
    const translated = [...inNs(nodeNs, 'conntrack', '-L', '-p', 'tcp', '--orig-port-dst', '8081').matchAll(/dport=(\d+) \[/g)].map((m) => Number(m[1]));
    expect(translated).toHaveLength(20);
    expect(translated.every((port) => port >= 1024 && port <= 65535)).toBe(true);
    expect(translated.some((port) => port < low || port > high)).toBe(true);
  });
});
