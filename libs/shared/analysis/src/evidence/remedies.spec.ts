import type { ServiceEvidence } from './evidence-types';
import { remedyFor } from './remedies';

// A cluster that shares nothing with the lab: the workloads and addresses of fixtures/cloud-cluster-inventory.json.
const service: ServiceEvidence['service'] = { namespace: 'shop', name: 'checkout', type: 'LoadBalancer', externalTrafficPolicy: 'Local', healthCheckNodePort: 31990 };
const context = (over: Partial<ServiceEvidence['context']> = {}): ServiceEvidence['context'] => ({ podCIDRs: [], workloads: [], unknownOwners: [], proxyAddresses: [], ...over });
const input = (over: Partial<ServiceEvidence['context']> = {}, model?: ServiceEvidence['imbalance']['model']) => ({
  service,
  context: context(over),
  imbalance: { maxOverMean: 2, maxShare: 0.5, minShare: 0, predicted: [], ...(model ? { model } : {}) },
});
const statefulSet = { kind: 'StatefulSet' as const, namespace: 'shop', name: 'checkout', selector: { matchLabels: { app: 'checkout', release: 'true' } }, pods: ['shop/checkout-0', 'shop/checkout-1'] };
const daemonSet = { kind: 'DaemonSet' as const, namespace: 'shop', name: 'edge-agent', selector: { matchExpressions: [{ key: 'k8s-app', operator: 'In', values: ['edge-agent'] }] }, pods: ['shop/edge-agent-x2b8d'] };

describe('remedyFor', () => {
  it('spreads a StatefulSet by its selector, quoting label values YAML would read as booleans', () => {
    const remedy = remedyFor('local-policy-imbalance', input({ workloads: [statefulSet] }));
    expect(remedy?.yaml).toMatch(/^apiVersion: apps\/v1\nkind: StatefulSet\nmetadata:\n {2}name: checkout\n {2}namespace: shop\n/);
    expect(remedy?.yaml).toContain('matchLabels:\n              app: "checkout"\n              release: "true"');
    expect(remedy?.command).toMatch(/^kubectl -n shop patch statefulset checkout --type merge -p '/);
  });

  it('writes matchExpressions as they are, and says a DaemonSet needs no spreading', () => {
    const remedy = remedyFor('local-policy-imbalance', input({ workloads: [statefulSet, daemonSet] }));
    expect(remedy?.yaml).not.toContain('edge-agent');
    expect(remedy?.unknown).toBe('DaemonSet shop/edge-agent already runs one pod per node: spreading it changes nothing.');
    const onlyDaemonSet = remedyFor('local-policy-imbalance', input({ workloads: [{ ...daemonSet, kind: 'Deployment' }] }));
    expect(onlyDaemonSet?.yaml).toContain('matchExpressions:\n              - key: k8s-app\n                operator: In\n                values: ["edge-agent"]');
  });

  it.each([
    ['no cluster metadata', context(), /no cluster metadata lists the endpoint pods' owners/],
    ['an owner natlens does not read', context({ unknownOwners: [{ pod: 'shop/report-7x', reason: 'pod shop/report-7x is owned by Job nightly, which natlens does not read', owner: { kind: 'Job', name: 'nightly' } }] }), /owned by Job nightly, which natlens does not read\); add the same constraint to whatever creates them/],
  ])('invents no workload when %s', (_name, ctx, unknown) => {
    const remedy = remedyFor('local-policy-imbalance', { ...input(), context: ctx });
    expect(remedy?.yaml).toBeUndefined();
    expect(remedy?.unknown).toMatch(unknown);
  });

  it('under a single-node load balancer, moves the spreading to the load balancer or kube-proxy, not the pods', () => {
    const remedy = remedyFor('local-policy-imbalance', input({ workloads: [statefulSet] }, { distribution: 'single-node', source: 'inferred', entryNode: 'ip-10-20-1-12' }));
    expect(remedy?.yaml).toContain('externalTrafficPolicy: Cluster');
    expect(remedy?.yaml).not.toContain('topologySpreadConstraints');
    expect(remedy?.unknown).toMatch(/BGP mode/);
  });

  it('under a per-pod load balancer, offers no change that could not help', () => {
    expect(remedyFor('local-policy-imbalance', input({ workloads: [statefulSet] }, { distribution: 'per-pod', source: 'annotation' }))).toEqual({
      title: "Check the load balancer's targets: it addresses the pods directly",
      unknown: 'The policy predicts an even split here; no change to the Service or its pods would remove this imbalance.',
    });
  });

  it.each([
    ['the pod CIDRs the Nodes list', context({ podCIDRs: ['10.88.0.0/24', 'fd00:88::/64'] }), 'nonMasqueradeCIDRs: [10.88.0.0/24, fd00:88::/64]', undefined],
    ['none listed: an empty list and a note', context(), 'nonMasqueradeCIDRs: []', /No Node lists a pod CIDR/],
  ])('snat-unexpected leaves %s unmasqueraded', (_name, ctx, line, unknown) => {
    const remedy = remedyFor('snat-unexpected', { ...input(), context: ctx });
    expect(remedy?.yaml).toContain(line);
    if (unknown) expect(remedy?.unknown).toMatch(unknown);
    else expect(remedy?.unknown).toBeUndefined();
  });

  it.each([
    ['the proxies observed, IPv4 and IPv6', ['10.20.200.7', 'fd00:20::7'], ['set_real_ip_from 10.20.200.7/32;', 'set_real_ip_from fd00:20::7/128;']],
    ['none observed: a placeholder, said so', [], []],
  ])('proxied-clients trusts %s', (_name, proxyAddresses, lines) => {
    const remedy = remedyFor('proxied-clients', input({ proxyAddresses }));
    expect(remedy?.yaml?.match(/^set_real_ip_from [^;]+;$/gm) ?? []).toEqual(lines);
    expect(remedy?.unknown === undefined).toBe(lines.length > 0);
  });

  it('the Service edits name the Service itself', () => {
    expect(remedyFor('client-ip-lost', { ...input(), service: { ...service, externalTrafficPolicy: 'Cluster' } })?.yaml).toBe(
      'apiVersion: v1\nkind: Service\nmetadata:\n  name: checkout\n  namespace: shop\nspec:\n  type: LoadBalancer\n  externalTrafficPolicy: Local   # was: Cluster',
    );
    expect(remedyFor('dropped-no-local-endpoint', input())?.yaml).toContain('healthCheckNodePort: 31990');
    expect(remedyFor('hairpin-snat', input())).toBeUndefined();
    expect(remedyFor('no-traffic', input())).toBeUndefined();
  });
});
