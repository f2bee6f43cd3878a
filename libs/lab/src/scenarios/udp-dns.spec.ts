import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readState } from '../runtime/lab-state';
import { runIn } from '../runtime/exec';
import { connectionsPerPod, EXAMPLES_DIR, expectGoldenRules, expectShare, seenAddresses, useLab } from '../testing';
import type { ProxyMode } from '../topology/topology.schema';

/** The UDP entries of a lab node's conntrack table (`conntrack -L` prints `zone=N` outside the default zone). */
async function udpEntries(labName: string, node: string): Promise<string[]> {
  const out = await runIn(readState(labName).netns.nodes[node] as string, ['conntrack', '-L', '-p', 'udp']);
  return out.split('\n').filter((line) => line.startsWith('udp'));
}

// In both of kube-proxy's modes: the same ground truth, the rules each mode writes.
describe.each<[ProxyMode]>([['iptables'], ['nftables']])('example udp-dns, kube-proxy %s mode (real kernel)', (proxyMode) => {
  const lab = useLab('udp-dns.yaml', { proxyMode });
  const golden = (node: string) => readFileSync(join(EXAMPLES_DIR, 'golden', 'udp-dns', `${node}.${proxyMode === 'iptables' ? 'iptables-save' : 'nft'}`), 'utf8');
  const tester = '198.19.3.11';
  const node3 = '198.18.0.13';

  it('pins the kube-proxy rules of every node: the same chains as TCP, matching udp', async () => {
    await expectGoldenRules(lab.name, 'udp-dns');
    const node3Rules = golden('node3');
    if (proxyMode === 'iptables') {
      expect(node3Rules).toMatch(/^-A KUBE-SERVICES -d 198\.18\.255\.10\/32 -p udp -m comment --comment "default\/dns:dns cluster IP" -m udp --dport 53 -j KUBE-SVC-/m);
      expect(node3Rules).toMatch(/^-A KUBE-NODEPORTS -p udp -m comment --comment "default\/dns-nodeport:dns" -m udp --dport 30053 -j KUBE-EXT-/m);
      expect(node3Rules).not.toMatch(/-p tcp .*--dport (53|30053)\b/);
      // node3's CNI zone: raw-table rules apart from kube-proxy's
      expect(node3Rules).toMatch(/^-A PREROUTING -m comment --comment "natlens lab: CNI conntrack zone 7" -j CT --zone 7$/m);
      expect(golden('node1')).not.toContain('*raw');
    } else {
      expect(node3Rules).toMatch(/198\.18\.255\.10 \. udp \. 53 : goto service-\S+-default\/dns\/udp\/dns/);
      expect(node3Rules).toMatch(/udp \. 30053 : goto external-\S+-default\/dns-nodeport\/udp\/dns/);
      // node3's CNI zone: a table of its own beside kube-proxy's
      expect(node3Rules).toMatch(/^table ip natlens-cni-zone \{/m);
      expect(node3Rules).toMatch(/ct zone set 7/);
      expect(golden('node1')).not.toContain('natlens-cni-zone');
    }
  });

  it('delivers a pod\'s queries to the ClusterIP with the pod as source: DNAT, no SNAT, split over both pods', async () => {
    const since = Date.now();
    const n = 600;
    const result = await lab.traffic({ service: 'default/dns', via: { kind: 'pod', namespace: 'default', name: 'tester' }, connections: n });
    expect(result).toMatchObject({ made: n, succeeded: n, failed: 0, seen: { [tester]: n } });
    const truth = lab.truth(since);
    expect([...seenAddresses(truth)]).toEqual([tester]);
    const perPod = connectionsPerPod(truth);
    expect((perPod['dns-1'] ?? 0) + (perPod['dns-2'] ?? 0)).toBe(n);
    expectShare(perPod['dns-1'] ?? 0, n, 1 / 2);
    expectShare(perPod['dns-2'] ?? 0, n, 1 / 2);
  });

  it('SNATs a client\'s datagrams to the entry node under Cluster policy, entering a node without an endpoint', async () => {
    const since = Date.now();
    const n = 200;
    const result = await lab.traffic({ service: 'default/dns-nodeport', via: { kind: 'node', node: 'node3' }, client: 'alice', connections: n });
    expect(result).toMatchObject({ made: n, succeeded: n, failed: 0 });
    const truth = lab.truth(since);
    expect([...seenAddresses(truth)]).toEqual([node3]);
    const perPod = connectionsPerPod(truth);
    expect((perPod['dns-1'] ?? 0) + (perPod['dns-2'] ?? 0)).toBe(n);
    expect(perPod['dns-1']).toBeGreaterThan(0);
    expect(perPod['dns-2']).toBeGreaterThan(0);
  });

  it('keeps the client\'s address under Local policy, served by the entry node\'s own pod; node3 without one drops', async () => {
    const since = Date.now();
    const kept = await lab.traffic({ service: 'default/dns-local', via: { kind: 'node', node: 'node1' }, client: 'alice', connections: 100 });
    expect(kept).toMatchObject({ made: 100, succeeded: 100, failed: 0, servedBy: { 'dns-1': 100 }, seen: { '198.51.100.79': 100 } });
    const dropped = await lab.traffic({ service: 'default/dns-local', via: { kind: 'node', node: 'node3' }, client: 'alice', connections: 16, timeoutMs: 1000 });
    expect(dropped).toMatchObject({ made: 16, succeeded: 0, failed: 16, errors: { timeout: 16 } });
    expect(lab.truth(since).map((p) => [p.pod, p.seen])).toEqual([
      ['dns-1', { '198.51.100.79': 100 }],
      ['dns-2', {}],
    ]);
    if (proxyMode === 'iptables') expect(golden('node3')).toMatch(/^-A KUBE-EXTERNAL-SERVICES -p udp -m comment --comment "default\/dns-local:dns has no local endpoints" -m addrtype --dst-type LOCAL -m udp --dport 30054 -j DROP$/m);
    else expect(golden('node3')).toMatch(/udp \. 30054 comment "default\/dns-local:dns" : drop/);
  });

  it('tracks node3\'s connections in its CNI\'s zone 7, and the forwarded legs on node1 and node2 in the default zone', async () => {
    const result = await lab.traffic({ service: 'default/dns-nodeport', via: { kind: 'node', node: 'node3' }, client: 'alice', connections: 20 });
    expect(result.succeeded).toBe(20);
    const entry = (await udpEntries(lab.name, 'node3')).filter((line) => line.includes('dport=30053'));
    expect(entry.length).toBeGreaterThanOrEqual(20);
    for (const line of entry) expect(line).toMatch(/ zone=7 /);
    const forwarded = [...(await udpEntries(lab.name, 'node1')), ...(await udpEntries(lab.name, 'node2'))].filter((line) => line.includes(`src=${node3} `));
    expect(forwarded.length).toBeGreaterThanOrEqual(20);
    for (const line of forwarded) expect(line).not.toMatch(/zone=/);
  });
});
