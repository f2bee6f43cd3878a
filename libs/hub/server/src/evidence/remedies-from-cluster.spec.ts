import { remedyFor, type ServiceEvidence } from '@natlens/shared-analysis';
import { CLOUD_CLUSTER_INVENTORY } from '@natlens/shared-cluster/testing';
import type { FlowRecord } from '@natlens/shared-model';
import { flowRecord, startTestHub, type TestHub } from '../testing';

/*
 * Remedies built from a cluster that shares no address, name or shape with the lab (shared-cluster's
 * fixtures/cloud-cluster-inventory.json): the real hub with that inventory, records ingested over HTTP into SQLite,
 * the evidence API, and the remedies of its findings. Every object and address a remedy names must come from that
 * cluster or from the records; none of the lab's.
 *
 * shop/storefront: LoadBalancer + Local, pods of Deployment web-frontend (2 on ip-10-20-1-11, 1 on ip-10-20-1-12),
 * selector app.kubernetes.io/name=storefront + app.kubernetes.io/component=web; an NLB proxy at 10.20.200.7 names
 * clients in PROXY headers. shop/checkout: StatefulSet pods; shop/debug: a bare pod.
 */
const T0 = Date.now() - 60_000;
const storefront = { namespace: 'shop', name: 'storefront', type: 'LoadBalancer' as const, policy: 'Local' as const, entry: 'loadBalancer' as const };
const pods = {
  a: { namespace: 'shop', pod: 'web-frontend-6b7c9d8f5-2kx9q', node: 'ip-10-20-1-11', ip: '10.88.0.21' },
  b: { namespace: 'shop', pod: 'web-frontend-6b7c9d8f5-h7mzn', node: 'ip-10-20-1-11', ip: '10.88.0.22' },
  c: { namespace: 'shop', pod: 'web-frontend-6b7c9d8f5-p4wqs', node: 'ip-10-20-1-12', ip: '10.88.1.31' },
};
const PROXY = '10.20.200.7';
// the lab's address ranges, node names, and the Deployment-named-after-the-Service / `app: <service>` guesses
const LAB_LITERALS = /198\.1[89]\.|198\.51\.100\.|203\.0\.113\.|\bnode[0-9]\b|\bapp: |^\s*name: storefront$/m;

function proxied(endpoint: (typeof pods)['a'], i: number): FlowRecord {
  return { ...flowRecord({ node: endpoint.node, firstSeen: T0 + i, client: PROXY, service: storefront, endpoint, dst: '10.20.1.11', dport: 31443, verdict: 'proxied' }), realClient: { ip: '192.0.2.99' } };
}

describe('remedies built from the cluster (cloud fixture, real hub and SQLite)', () => {
  let hub: TestHub;
  let evidence: ServiceEvidence;

  beforeAll(async () => {
    hub = await startTestHub({ inventory: CLOUD_CLUSTER_INVENTORY });
    const records = [
      ...Array.from({ length: 20 }, (_, i) => proxied([pods.a, pods.b, pods.c][i % 3] as (typeof pods)['a'], i)),
      flowRecord({ node: 'ip-10-20-1-12', firstSeen: T0 + 100, client: '192.0.2.50', seenAs: '10.88.1.1', service: storefront, endpoint: pods.c, dst: '10.20.1.12', dport: 31443, verdict: 'snat-unexpected' }),
    ];
    for (const node of ['ip-10-20-1-11', 'ip-10-20-1-12']) expect((await hub.ingest(records.filter((r) => r.node === node), node)).status).toBe(200);
    const res = await hub.request('GET', `/api/services/shop/storefront/evidence?from=${T0 - 1000}&to=${Date.now() + 1000}`);
    expect(res.status).toBe(200);
    evidence = res.body as ServiceEvidence;
  });
  afterAll(async () => hub.close());

  it('carries the context the remedies need: pod CIDRs and workloads derived from the cluster, proxies observed', () => {
    expect(evidence.context).toEqual({
      podCIDRs: ['10.88.0.0/24', '10.88.1.0/24', '10.88.2.0/24'],
      workloads: [
        {
          kind: 'Deployment',
          namespace: 'shop',
          name: 'web-frontend',
          selector: { matchLabels: { 'app.kubernetes.io/name': 'storefront', 'app.kubernetes.io/component': 'web' } },
          pods: Object.values(pods).map((p) => `shop/${p.pod}`),
        },
      ],
      unknownOwners: [],
      proxyAddresses: [PROXY],
    });
    expect(evidence.findings.map((f) => f.code)).toEqual(['snat-unexpected', 'local-policy-imbalance', 'proxied-clients']);
  });

  it('spreads the Deployment that owns the pods, by its real name and selector', () => {
    const remedy = remedyFor('local-policy-imbalance', evidence);
    expect(remedy?.yaml).toContain('kind: Deployment\nmetadata:\n  name: web-frontend\n  namespace: shop');
    expect(remedy?.yaml).toContain('labelSelector:\n            matchLabels:\n              app.kubernetes.io/name: "storefront"\n              app.kubernetes.io/component: "web"');
    expect(remedy?.command).toBe(
      `kubectl -n shop patch deployment web-frontend --type merge -p '{"spec":{"template":{"spec":{"topologySpreadConstraints":[{"maxSkew":1,"topologyKey":"kubernetes.io/hostname","whenUnsatisfiable":"DoNotSchedule","labelSelector":{"matchLabels":{"app.kubernetes.io/name":"storefront","app.kubernetes.io/component":"web"}}}]}}}}'`,
    );
    expect(remedy?.unknown).toBeUndefined();
  });

  it('leaves the cluster\'s own pod CIDRs unmasqueraded', () => {
    expect(remedyFor('snat-unexpected', evidence)?.yaml).toContain('nonMasqueradeCIDRs: [10.88.0.0/24, 10.88.1.0/24, 10.88.2.0/24]');
  });

  it('trusts the proxy address the pods actually saw', () => {
    const yaml = remedyFor('proxied-clients', evidence)?.yaml ?? '';
    expect(yaml.match(/set_real_ip_from [^;]+;/g)).toEqual([`set_real_ip_from ${PROXY}/32;`]);
  });

  it('names nothing of the lab in any remedy', () => {
    for (const code of evidence.findings.map((f) => f.code)) {
      const remedy = remedyFor(code, evidence);
      expect(remedy).toBeDefined();
      expect(Object.values(remedy ?? {}).join('\n')).not.toMatch(LAB_LITERALS);
    }
  });

  it('says the owner is unknown rather than inventing one, for a bare pod', async () => {
    const debug = { namespace: 'shop', name: 'debug', type: 'ClusterIP' as const, policy: 'Cluster' as const, entry: 'clusterIP' as const };
    const record = flowRecord({ node: 'ip-10-20-1-13', firstSeen: T0 + 200, client: '10.88.0.50', clientKind: 'pod', service: debug, endpoint: { namespace: 'shop', pod: 'debug-shell', node: 'ip-10-20-1-13', ip: '10.88.2.60' }, dst: '10.100.12.4', dport: 22 });
    expect((await hub.ingest([record], 'ip-10-20-1-13')).status).toBe(200);
    const res = await hub.request('GET', `/api/services/shop/debug/evidence?from=${T0 - 1000}&to=${Date.now() + 1000}`);
    const debugEvidence = res.body as ServiceEvidence;
    expect(debugEvidence.context.unknownOwners).toEqual([{ pod: 'shop/debug-shell', reason: 'pod shop/debug-shell has no owner (no ownerReferences: a bare pod)' }]);
    // asked for a spread anyway (e.g. the finding fired on another window), it writes no YAML and says why
    const remedy = remedyFor('local-policy-imbalance', debugEvidence);
    expect(remedy?.yaml).toBeUndefined();
    expect(remedy?.unknown).toMatch(/^the workload of some pods is not known, so no change is written for them \(shop\/debug-shell: pod shop\/debug-shell has no owner/);
  });
});
