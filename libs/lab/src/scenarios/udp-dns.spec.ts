import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectionsPerPod, EXAMPLES_DIR, expectGoldenRules, expectShare, seenAddresses, useLab } from '../testing';

describe('example udp-dns (real kernel)', () => {
  const lab = useLab('udp-dns.yaml');
  const tester = '198.19.3.11';
  const node3 = '198.18.0.13';

  it('pins the kube-proxy rules of every node: the same chains as TCP, matching -p udp', async () => {
    await expectGoldenRules(lab.name, 'udp-dns');
    const node3Rules = readFileSync(join(EXAMPLES_DIR, 'golden', 'udp-dns', 'node3.iptables-save'), 'utf8');
    expect(node3Rules).toMatch(/^-A KUBE-SERVICES -d 198\.18\.255\.10\/32 -p udp -m comment --comment "default\/dns:dns cluster IP" -m udp --dport 53 -j KUBE-SVC-/m);
    expect(node3Rules).toMatch(/^-A KUBE-NODEPORTS -p udp -m comment --comment "default\/dns-nodeport:dns" -m udp --dport 30053 -j KUBE-EXT-/m);
    expect(node3Rules).not.toMatch(/-p tcp .*--dport (53|30053)\b/);
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
});
