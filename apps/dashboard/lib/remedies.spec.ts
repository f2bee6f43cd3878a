import type { FindingCode } from './api-types';
import { remedyFor } from './remedies';

const service = { namespace: 'shop', name: 'web', type: 'LoadBalancer' as const, externalTrafficPolicy: 'Cluster' as const };

describe('remedyFor', () => {
  it('client-ip-lost: the Service YAML with externalTrafficPolicy: Local, and its cost', () => {
    const remedy = remedyFor('client-ip-lost', service);
    expect(remedy?.yaml).toContain('name: web\n  namespace: shop');
    expect(remedy?.yaml).toContain('externalTrafficPolicy: Local   # was: Cluster');
    expect(remedy?.cost).toMatch(/per node/);
  });

  it('local-policy-imbalance: a topology spread constraint on the workload', () => {
    expect(remedyFor('local-policy-imbalance', service)?.yaml).toMatch(/topologySpreadConstraints:[\s\S]*topologyKey: kubernetes.io\/hostname/);
  });

  it.each<FindingCode>(['hairpin-snat', 'no-traffic'])('%s needs no change', (code) => {
    expect(remedyFor(code, service)).toBeUndefined();
  });
});
