import type { FlowRecord } from '@natlens/shared-model';
import type { PodTruth, TrafficOptions } from '@natlens/lab';
import { settledEvidence, useLabHub } from './lab-hub-suite';

/*
 * lab-evidence.spec.ts for UDP Services (examples/udp-dns.yaml): lab → one `natlens agent` per node (its default
 * source, eBPF here) → the hub (SQLite) → each Service's evidence, compared with the pods' ground truth. A UDP query
 * counts as a connection exactly as a TCP connection does; node3's records keep its CNI's conntrack zone (7) through
 * the hub.
 */
interface Step {
  service: string;
  traffic: Omit<TrafficOptions, 'service'>;
  /** Where the datagrams entered, how they were counted, and what the evidence must say. */
  entryNode: string;
  entry: 'clusterIP' | 'nodePort';
  verdict: 'preserved' | 'snat-expected';
  snatted: boolean;
  findings: string[];
}

const steps: Step[] = [
  {
    service: 'default/dns',
    traffic: { via: { kind: 'pod', namespace: 'default', name: 'tester' }, connections: 60 },
    entryNode: 'node3',
    entry: 'clusterIP',
    verdict: 'preserved',
    snatted: false,
    findings: [],
  },
  {
    service: 'default/dns-nodeport',
    traffic: { via: { kind: 'node', node: 'node3' }, client: 'alice', connections: 40 },
    entryNode: 'node3',
    entry: 'nodePort',
    verdict: 'snat-expected',
    snatted: true,
    findings: ['client-ip-lost'],
  },
];

describe('evidence for lab udp-dns.yaml, UDP Services (real kernel → agents → hub)', () => {
  const { lab, hub } = useLabHub('udp-dns.yaml');

  it.each(steps)('$service: the evidence the ground truth predicts, every query once, in node3\'s zone 7', async (step) => {
    const since = Date.now() - 1000;
    expect((await lab.traffic({ service: step.service, ...step.traffic })).failed).toBe(0);
    const truth: PodTruth[] = lab.truth(since + 1000);
    const total = step.traffic.connections;
    const e = await settledEvidence(hub(), step.service, since, total);

    expect(e.connections).toBe(total);
    expect(e.byEntry[step.entry]).toBe(total);
    expect(e.byVerdict).toEqual({ [step.verdict]: total });
    const perPod = Object.fromEntries(truth.map((p) => [p.pod, Object.values(p.seen).reduce((a, b) => a + b, 0)]));
    expect(Object.fromEntries(e.endpoints.map((ep) => [ep.pod, ep.connections]))).toEqual(perPod);
    expect(e.clients.distinctOriginal).toBe(1);
    expect(e.clients.distinctSeenByPods).toBe(new Set(truth.flatMap((p) => Object.keys(p.seen))).size);
    expect(e.snat.snatted).toBe(step.snatted ? total : 0);
    expect(e.nodes.find((n) => n.node === step.entryNode)).toMatchObject({ received: total, forwarded: total }); // node3 has no dns pod
    const codes = e.findings.map((f) => f.code);
    for (const code of step.findings) expect(codes).toContain(code);

    const res = await hub().request('GET', `/api/flows?service=${encodeURIComponent(step.service)}&from=${since}&limit=1000`);
    expect(res.status).toBe(200);
    const flows = (res.body as { flows: FlowRecord[] }).flows.filter((r) => r.leg === 'entry');
    expect(flows).toHaveLength(total);
    for (const r of flows) expect(r).toMatchObject({ node: 'node3', zone: 7, original: { proto: 'udp' } });
  });
});
