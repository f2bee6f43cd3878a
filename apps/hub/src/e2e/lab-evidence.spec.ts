import type { PodTruth, TrafficOptions } from '@natlens/lab';
import { readState } from '@natlens/lab/testing';
import { settledEvidence, useLabHub } from './lab-hub-suite';

/*
 * The whole path on the real kernel: lab → one `natlens agent` per node (its default source: eBPF here) → the hub over its Unix socket
 * (SQLite) → GET /api/services/default/web/evidence, compared with what the pods saw (the lab's ground truth):
 * connections per pod, SNAT'd external connections, distinct clients as sent and as seen by pods, per-node received
 * and forwarded, and the findings that name the cause.
 */
interface Scenario {
  example: string;
  traffic: Omit<TrafficOptions, 'service'>[];
  /** Source addresses the entry nodes see (the client, a pod, or a proxying LB). */
  originals: string[];
  /** Whether those sources are outside the cluster, and whether kube-proxy SNATs them. */
  external: boolean;
  snatted: boolean;
  findings: string[];
}

const lb = (connections: number): Omit<TrafficOptions, 'service'> => ({ via: { kind: 'lb' }, client: 'alice', connections });
const viaNode = (node: string, connections: number): Omit<TrafficOptions, 'service'> => ({ via: { kind: 'node', node }, client: 'alice', connections });
const fromPod = (name: string, connections: number): Omit<TrafficOptions, 'service'> => ({ via: { kind: 'pod', namespace: 'default', name }, connections });
const ALICE = '198.51.100.79';

const scenarios: Scenario[] = [
  { example: 'clusterip-from-pod.yaml', traffic: [fromPod('tester', 60), fromPod('web-1', 40)], originals: ['198.19.3.11', '198.19.1.11'], external: false, snatted: false, findings: ['hairpin-snat'] },
  { example: 'nodeport-cluster.yaml', traffic: [viaNode('node3', 60), viaNode('node1', 40)], originals: [ALICE], external: true, snatted: true, findings: ['client-ip-lost'] },
  { example: 'nodeport-local.yaml', traffic: [viaNode('node1', 50), viaNode('node2', 50)], originals: [ALICE], external: true, snatted: false, findings: [] },
  { example: 'lb-cluster.yaml', traffic: [lb(120)], originals: [ALICE], external: true, snatted: true, findings: ['client-ip-lost'] },
  { example: 'lb-local.yaml', traffic: [lb(120)], originals: [ALICE], external: true, snatted: false, findings: [] },
  { example: 'lb-local-imbalance.yaml', traffic: [lb(600)], originals: [ALICE], external: true, snatted: false, findings: ['local-policy-imbalance'] },
  { example: 'lb-proxy.yaml', traffic: [lb(60)], originals: ['198.18.0.254'], external: true, snatted: false, findings: [] },
  // conntrack alone cannot read the X-Forwarded-For header: the LB is the client here (lab-capture.spec.ts reads it)
  { example: 'lb-proxy-xff.yaml', traffic: [lb(60)], originals: ['198.18.0.254'], external: true, snatted: false, findings: [] },
  // conntrack alone sees the LB's own connection here too; the PROXY header's client needs the capture source
  // (lab-capture.spec.ts runs it with --source conntrack,pcap: alice as the client as sent, every connection proxied)
  { example: 'lb-proxy-protocol.yaml', traffic: [lb(60)], originals: ['198.18.0.254'], external: true, snatted: false, findings: [] },
];

describe.each(scenarios)('evidence for lab $example (real kernel → agents → hub)', ({ example, traffic, originals, external, snatted, findings }) => {
  const { lab, hub: testHub } = useLabHub(example);

  it('computes the evidence the ground truth predicts', async () => {
    const since = Date.now() - 1000;
    for (const step of traffic) expect((await lab.traffic({ service: 'default/web', ...step })).failed).toBe(0);
    const truth: PodTruth[] = lab.truth(since);
    const total = traffic.reduce((sum, t) => sum + t.connections, 0);

    const e = await settledEvidence(testHub(), 'default/web', since, total);

    expect(e.connections).toBe(total);
    const perPod = Object.fromEntries(truth.map((p) => [p.pod, Object.values(p.seen).reduce((a, b) => a + b, 0)]));
    expect(Object.fromEntries(e.endpoints.map((ep) => [ep.pod, ep.connections]))).toEqual(perPod);
    expect(e.clients.distinctSeenByPods).toBe(new Set(truth.flatMap((p) => Object.keys(p.seen))).size);
    expect(e.clients.distinctOriginal).toBe(originals.length);
    expect(e.snat.external).toBe(external ? total : 0);
    expect(e.snat.snatted).toBe(snatted ? total : 0);

    // per node: where connections entered (the node whose address the pod saw, or the calling pod's node, or the
    // pod's own node when the client address was kept), and how many of those went on to another node
    const state = readState(lab.name);
    const nodeOf = (address: string) =>
      state.lab.nodes.find((n) => n.address === address || n.podGateway === address)?.name ?? state.lab.pods.find((p) => p.address === address)?.node;
    const received: Record<string, number> = {};
    const forwarded: Record<string, number> = {};
    for (const pod of truth) {
      for (const [seen, n] of Object.entries(pod.seen)) {
        const entry = nodeOf(seen) ?? pod.node;
        received[entry] = (received[entry] ?? 0) + n;
        if (entry !== pod.node) forwarded[entry] = (forwarded[entry] ?? 0) + n;
      }
    }
    for (const node of e.nodes) {
      expect([node.node, node.received, node.forwarded]).toEqual([node.node, received[node.node] ?? 0, forwarded[node.node] ?? 0]);
    }
    const codes = e.findings.map((f) => f.code);
    for (const code of findings) expect(codes).toContain(code);
    if (!snatted) expect(codes).not.toContain('client-ip-lost');
  });
});
