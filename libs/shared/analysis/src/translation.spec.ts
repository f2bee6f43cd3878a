import type { Tuple } from '@natlens/shared-model';
import { isHairpin, translate } from './translation';

const t = (src: string, sport: number, dst: string, dport: number): Tuple => ({ src, sport, dst, dport, proto: 'tcp' });

describe('translate', () => {
  it.each([
    [
      // DESIGN.md's example from a lab run: node2, Cluster policy, endpoint on node1
      // ORIGINAL src=198.51.100.79 dst=198.18.0.12 sport=7294 dport=30080 / REPLY src=198.19.1.11 dst=198.18.0.12 sport=8080 dport=54396
      'NodePort, Cluster policy: DNAT + SNAT to the node',
      t('198.51.100.79', 7294, '198.18.0.12', 30080),
      t('198.19.1.11', 8080, '198.18.0.12', 54396),
      { translated: t('198.18.0.12', 54396, '198.19.1.11', 8080), dnat: true, snat: true, portRemap: false },
    ],
    [
      'LoadBalancer, Local policy: DNAT only',
      t('198.51.100.79', 40000, '203.0.113.10', 80),
      t('198.19.1.11', 8080, '198.51.100.79', 40000),
      { translated: t('198.51.100.79', 40000, '198.19.1.11', 8080), dnat: true, snat: false, portRemap: false },
    ],
    [
      'ClusterIP from a pod: DNAT only',
      t('198.19.3.11', 51000, '198.18.255.10', 80),
      t('198.19.2.11', 8080, '198.19.3.11', 51000),
      { translated: t('198.19.3.11', 51000, '198.19.2.11', 8080), dnat: true, snat: false, portRemap: false },
    ],
    [
      'source port rewritten only: a port remap, no lost address',
      t('198.19.3.11', 51000, '198.51.100.79', 443),
      t('198.51.100.79', 443, '198.19.3.11', 61000),
      { translated: t('198.19.3.11', 61000, '198.51.100.79', 443), dnat: false, snat: false, portRemap: true },
    ],
    [
      'plain forwarded leg: nothing rewritten',
      t('198.18.0.12', 54396, '198.19.1.11', 8080),
      t('198.19.1.11', 8080, '198.18.0.12', 54396),
      { translated: t('198.18.0.12', 54396, '198.19.1.11', 8080), dnat: false, snat: false, portRemap: false },
    ],
  ])('%s', (_name, original, reply, expected) => {
    expect(translate(original, reply)).toEqual({ original, ...expected });
  });

  it.each([
    ['a pod reaching itself through its Service', t('198.19.1.11', 40000, '198.18.255.10', 80), t('198.19.1.1', 40001, '198.19.1.11', 8080), true],
    ['a pod reaching another pod', t('198.19.1.11', 40000, '198.18.255.10', 80), t('198.19.1.11', 40000, '198.19.2.11', 8080), false],
  ])('isHairpin: %s', (_name, original, translated, expected) => {
    expect(isHairpin({ original, translated })).toBe(expected);
  });
});
