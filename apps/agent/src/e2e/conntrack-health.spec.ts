import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NodeReport } from '@natlens/shared-model';
import { IngestReceiver, makeWorkDir, waitFor } from '@natlens/agent-daemon/testing';
import { type AgentProcess, getJson, startLabAgent, stopAgent } from '@natlens/lab/testing';

/*
 * `natlens agent` (the compiled build) on a node whose masquerade rule may use four ports only: it reports, in its
 * node report to the hub and on /metrics, the node's conntrack statistics and the SNAT pair at its range, and
 * insert_failed moving when connections find no free port. Two throwaway namespaces joined by a veth pair: the
 * "node" (the agent, clients on 198.18.216.1, `MASQUERADE --random-fully --to-ports 40000-40003` out of veth0) and a
 * "pod" (198.18.215.2:8080, accepting and holding connections).
 */
const id = randomBytes(3).toString('hex');
const nodeNs = `t${id}-ctnode`;
const podNs = `t${id}-ctpod`;
const NODE = '198.18.215.1';
const POD = '198.18.215.2';
const CLIENT = '198.18.216.1';
const workDir = makeWorkDir('natlens-conntrack-health-e2e');
const receiver = new IngestReceiver(join(workDir, 'hub.sock'));
const children: ChildProcess[] = [];
let agent: AgentProcess | undefined;

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
const inNs = (ns: string, ...args: string[]) => execFileSync('ip', ['netns', 'exec', ns, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** A python process in a namespace; resolves with its first line of output. */
async function python(ns: string, code: string): Promise<string> {
  const child = spawn('ip', ['netns', 'exec', ns, 'python3', '-u', '-c', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  if (!child.stdout) throw new Error('spawn gave no stdout');
  const [chunk] = (await once(child.stdout, 'data')) as [Buffer];
  return chunk.toString().trim();
}

const SERVER = `
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("${POD}", 8080)); s.listen(64)
print("listening")
held = []
while True:
    c, _ = s.accept(); held.append(c)
`;

/** Six connections at once, each given 2 s; prints how many got through and how many did not, then holds them. */
const CLIENTS = `
import select, socket, time
socks = []
for _ in range(6):
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
  inNs(nodeNs, 'iptables', '-t', 'nat', '-A', 'POSTROUTING', '-o', 'veth0', '-p', 'tcp', '-j', 'MASQUERADE', '--random-fully', '--to-ports', '40000-40003');
  await python(podNs, SERVER);
  const inventory = join(workDir, 'inventory.json');
  writeFileSync(inventory, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [] }));
  await receiver.start();
  agent = await startLabAgent({
    netns: nodeNs,
    node: 'snat-node',
    inventory,
    hub: `unix:${receiver.socketPath}`,
    workDir,
    extraArgs: ['--source', 'conntrack', '--conntrack-sample-interval-ms', '500', '--node-report-interval-ms', '500', '--health-check-interval-ms', '0'],
  });
}, 90_000);

afterAll(async () => {
  if (agent) await stopAgent(agent);
  for (const child of children) if (child.exitCode === null) child.kill();
  await receiver.stop();
  for (const ns of [nodeNs, podNs]) {
    try {
      ip('netns', 'del', ns);
    } catch {
      // already gone
    }
  }
  rmSync(workDir, { recursive: true, force: true });
}, 30_000);

describe('conntrack and SNAT health (compiled agent, real kernel)', () => {
  const reports = () => receiver.nodeReports as NodeReport[];

  it('reports the table, the SNAT pair at its rule\'s range and the insert failures of port exhaustion', async () => {
    await waitFor(() => reports().some((r) => r.conntrack !== undefined), 15_000, () => `no conntrack statistics in ${reports().length} reports; ${agent?.log()}`);
    const first = reports().find((r) => r.conntrack !== undefined)?.conntrack;
    const [connected = 0, failed = 0] = (await python(nodeNs, CLIENTS)).split(' ').map(Number);
    expect([connected, failed]).toEqual([4, 2]);

    const pair = { snatAddress: NODE, destination: POD, destinationPort: 8080, protocol: 'tcp', inUse: 4, range: { min: 40000, max: 40003 }, rangeBasis: 'nat-rule' };
    const settled = () => reports().find((r) => (r.conntrack?.at ?? 0) > Date.now() - 60_000 && (r.conntrack?.counters.insertFailed ?? 0) >= (first?.counters.insertFailed ?? 0) + failed && r.snatPorts?.some((p) => p.inUse === 4));
    await waitFor(() => settled() !== undefined, 15_000, () => `last report: ${JSON.stringify(reports().at(-1))}`);
    const report = settled();
    expect(report?.snatPorts).toEqual([pair]);
    expect(report?.conntrack).toMatchObject({ max: Number(inNs(nodeNs, 'cat', '/proc/sys/net/netfilter/nf_conntrack_max').trim()), buckets: Number(inNs(nodeNs, 'cat', '/proc/sys/net/netfilter/nf_conntrack_buckets').trim()) });
    expect(report?.conntrack?.entries).toBeGreaterThanOrEqual(4);
    expect((report?.conntrack?.counters.drop ?? 0) - (first?.counters.drop ?? 0)).toBeGreaterThanOrEqual(failed);

    const metrics = (await getJson(agent?.apiSocket ?? '', '/metrics')) as string;
    expect(metrics).toContain(`natlens_agent_conntrack_snat_ports_in_use{snat_address="${NODE}",destination="${POD}",destination_port="8080",protocol="tcp"} 4`);
    expect(metrics).toMatch(/natlens_agent_conntrack_snat_busiest_share 1\n/);
    expect(metrics).toMatch(/natlens_agent_conntrack_stat_total\{counter="insert_failed"\} [1-9]/);
  });
});
