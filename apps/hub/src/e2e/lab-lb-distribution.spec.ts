import type { ServiceEvidence } from '@natlens/shared-analysis';
import type { PodTruth } from '@natlens/lab';
import { useLabHub } from './lab-hub-suite';

/*
 * The load balancer's distribution model, inferred on the real kernel: lb-local-single-node's load balancer sends
 * every connection to node1 (as MetalLB L2 does), and the Service carries no natlens.io/lb-distribution annotation.
 * From the split of the connections over entry nodes alone the hub must infer single-node, predict per-pod shares
 * from it (node1's two pods half each, node2's pod nothing) and explain the imbalance by it; the pods' ground truth
 * must agree with those predictions.
 */
describe('load-balancer distribution inferred for lab lb-local-single-node (real kernel → agents → hub)', () => {
  const { lab, hub: testHub } = useLabHub('lb-local-single-node.yaml', []);

  it('infers single-node from the observed split, predicts the shares from it and explains the imbalance', async () => {
    const since = Date.now() - 1000;
    const connections = 80; // single-node is told from per-node and per-pod from 22 on (lb-distribution.spec.ts)
    expect((await lab.traffic({ service: 'default/web', via: { kind: 'lb' }, client: 'alice', connections })).failed).toBe(0);
    const truth: PodTruth[] = lab.truth(since);
    const perPod = Object.fromEntries(truth.map((p) => [p.pod, Object.values(p.seen).reduce((a, b) => a + b, 0)]));
    expect(perPod['web-3'] ?? 0).toBe(0);

    const evidence = async () => {
      const res = await testHub().request('GET', `/api/services/default/web/evidence?from=${since}&to=${Date.now() + 60_000}`);
      expect(res.status).toBe(200);
      return res.body as ServiceEvidence;
    };
    const deadline = Date.now() + 20_000;
    let e = await evidence();
    while (e.connections < connections && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      e = await evidence();
    }
    expect(e.connections).toBe(connections);
    expect(Object.fromEntries(e.endpoints.map((ep) => [ep.pod, ep.connections]))).toEqual({ 'web-1': perPod['web-1'], 'web-2': perPod['web-2'], 'web-3': 0 });

    expect(e.imbalance.model).toMatchObject({
      distribution: 'single-node',
      source: 'inferred',
      entryNode: 'node1',
      inference: { outcome: 'inferred', connections, nodes: [{ node: 'node1', localEndpoints: 2, connections }, { node: 'node2', localEndpoints: 1, connections: 0 }] },
    });
    expect(e.imbalance.model?.inference?.connections).toBeGreaterThanOrEqual(e.imbalance.model?.inference?.minConnections ?? Infinity);
    expect(e.imbalance.predicted).toEqual([
      { pod: 'default/web-1', share: 0.5 },
      { pod: 'default/web-2', share: 0.5 },
      { pod: 'default/web-3', share: 0 },
    ]);
    const finding = e.findings.find((f) => f.code === 'local-policy-imbalance');
    expect(finding?.message).toMatch(/sends every connection to one node \(node1\), as MetalLB in L2 mode does/);
    expect(finding?.message).toMatch(/inferred from the observed split over entry nodes/);
  });
});
