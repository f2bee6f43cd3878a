import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FlowRecord } from '@natlens/shared-model';
import { IngestReceiver, makeWorkDir, waitFor } from '@natlens/agent-daemon/testing';
import { type AgentProcess, startLabAgent, stopAgent } from '@natlens/lab/testing';

/*
 * Conntrack zones against the real kernel, in a throwaway namespace: the same UDP tuple twice, in zones 1 and 2 (the
 * raw table picks the zone by the sockets' mark, so both entries live at once, as conntrack keys its table by tuple
 * and zone). `natlens agent` with the conntrack source and with the eBPF source, side by side in that namespace, must
 * each report two connections, each with its zone; and with the conntrack source a UDP connection ends when conntrack
 * expires its entry (the DESTROY event), here after a 2 s UDP timeout.
 */
const netns = `t${randomBytes(3).toString('hex')}-zones`;
const ADDRESS = '198.18.205.1';
const workDir = makeWorkDir('natlens-zones-e2e');
const receiver = new IngestReceiver(join(workDir, 'hub.sock'));
const agents: AgentProcess[] = [];
const sh = (...args: string[]) => execFileSync('ip', ['netns', 'exec', netns, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** One query and its answer from 198.18.205.1:40011 to :5353, both sockets marked (the mark picks the zone). */
const QUERY = (mark: number) => `
import socket
server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for s in (server, client):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, ${mark})
server.bind(("${ADDRESS}", 5353))
client.bind(("${ADDRESS}", 40011))
client.settimeout(2)
client.sendto(b"query", ("${ADDRESS}", 5353))
data, peer = server.recvfrom(64)
server.sendto(data, peer)
print(client.recv(64).decode())
`;

beforeAll(async () => {
  execFileSync('ip', ['netns', 'add', netns]);
  sh('ip', 'link', 'set', 'lo', 'up');
  sh('ip', 'addr', 'add', `${ADDRESS}/32`, 'dev', 'lo');
  sh('sysctl', '-q', '-w', 'net.netfilter.nf_conntrack_udp_timeout=2', 'net.netfilter.nf_conntrack_udp_timeout_stream=2');
  for (const zone of [1, 2]) sh('iptables', '-t', 'raw', '-A', 'OUTPUT', '-p', 'udp', '-m', 'mark', '--mark', String(zone), '-j', 'CT', '--zone', String(zone));
  const inventory = join(workDir, 'inventory.json');
  writeFileSync(inventory, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [] }));
  await receiver.start();
  const hub = `unix:${receiver.socketPath}`;
  for (const [node, source] of [['by-conntrack', 'conntrack'], ['by-ebpf', 'ebpf']] as const) {
    agents.push(await startLabAgent({ netns, node, inventory, hub, workDir, extraArgs: ['--source', source] }));
  }
}, 90_000);

afterAll(async () => {
  await Promise.all(agents.map(stopAgent));
  await receiver.stop();
  execFileSync('ip', ['netns', 'del', netns]);
  rmSync(workDir, { recursive: true, force: true });
}, 30_000);

describe('conntrack zones (real kernel)', () => {
  const ours = (node: string) => receiver.all().filter((r) => r.node === node && r.original.proto === 'udp' && r.original.sport === 40011 && r.original.dport === 5353);

  it('reports one tuple in zones 1 and 2 as two connections, each with its zone, from either source', async () => {
    for (const mark of [1, 2]) expect(sh('python3', '-c', QUERY(mark)).trim()).toBe('query');
    const listed = sh('conntrack', '-L', '-p', 'udp').split('\n').filter((line) => line.includes('sport=40011'));
    expect(listed.map((line) => /zone=(\d+)/.exec(line)?.[1]).sort()).toEqual(['1', '2']);
    for (const node of ['by-conntrack', 'by-ebpf']) {
      await waitFor(() => ours(node).length >= 2, 10_000, () => `${node}: ${ours(node).length} of 2 records; ${agents.map((a) => a.log()).join('\n')}`);
      const records: FlowRecord[] = ours(node);
      expect(records).toHaveLength(2);
      expect(records.map((r) => r.zone).sort()).toEqual([1, 2]);
      expect(new Set(records.map((r) => r.flowId)).size).toBe(2);
      expect(records.map((r) => r.flowId.endsWith(`@z${r.zone}`))).toEqual([true, true]);
      expect(records[1]?.original).toEqual(records[0]?.original);
      expect(records.every((r) => r.verdict === 'not-service')).toBe(true);
    }
  });

  it('ends a UDP connection when conntrack expires its entry (conntrack source: the DESTROY event)', async () => {
    // UDP timeout 2 s; the kernel reaps expired entries in its periodic garbage collection (or at the next dump)
    await waitFor(() => ours('by-conntrack').filter((r) => r.ended).length >= 2, 90_000, () => `${ours('by-conntrack').filter((r) => r.ended).length} of 2 ended`);
    for (const r of ours('by-conntrack')) expect(r).toMatchObject({ ended: true, counters: { original: { packets: 1 }, reply: { packets: 1 } } });
  }, 100_000);
});
