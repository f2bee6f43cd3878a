import { classifyVerdict, VerdictInput } from './verdict';

const cluster = { externalTrafficPolicy: 'Cluster' as const };
const local = { externalTrafficPolicy: 'Local' as const };
const external = { kind: 'external' as const };
const pod = { kind: 'pod' as const };

describe('classifyVerdict (DESIGN.md verdict table)', () => {
  it.each<[string, VerdictInput, string]>([
    ['external client, no SNAT', { service: local, client: external, snat: false, hairpin: false }, 'preserved'],
    ['external client, SNAT, policy Cluster', { service: cluster, client: external, snat: true, hairpin: false }, 'snat-expected'],
    ['external client, SNAT, policy Local', { service: local, client: external, snat: true, hairpin: false }, 'snat-unexpected'],
    [
      'external client, SNAT, Cluster policy annotated natlens.io/expect-client-ip',
      { service: { ...cluster, expectClientIP: true }, client: external, snat: true, hairpin: false },
      'snat-unexpected',
    ],
    ['pod client to ClusterIP, no SNAT', { service: cluster, client: pod, snat: false, hairpin: false }, 'preserved'],
    ['pod reaching itself through its Service, SNAT', { service: cluster, client: pod, snat: true, hairpin: true }, 'hairpin-snat'],
    ['node-local client masqueraded', { service: local, client: { kind: 'node' }, snat: true, hairpin: false }, 'snat-expected'],
    ['destination is no Service', { client: external, snat: true, hairpin: false }, 'not-service'],
    ['dropped on a Local node without endpoints', { service: local, client: external, snat: false, hairpin: false, droppedNoLocalEndpoint: true }, 'dropped-no-local-endpoint'],
    ['conntrack could not insert the entry after SNAT', { service: cluster, client: external, snat: true, hairpin: false, natFailure: true }, 'dropped-nat-failure'],
    ['a proxying load balancer named the real client', { service: local, client: external, snat: false, hairpin: false, realClient: true }, 'proxied'],
  ])('%s -> %s', (_name, input, verdict) => {
    expect(classifyVerdict(input)).toBe(verdict);
  });
});
