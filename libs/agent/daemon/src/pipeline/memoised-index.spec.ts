import { indexFromInventoryFile, LAB_SEEDS_INVENTORY } from '@natlens/shared-cluster/testing';
import { memoisedIndex } from './memoised-index';

// The seeds lab (examples/seeds.yaml), as in enrich.spec.ts: default/web (ClusterIP 198.18.255.10, LB 203.0.113.10,
// nodePort 30080) on web-1/web-2 (node1) and web-3 (node2); default/api (198.18.255.11, nodePort 30090).
const index = indexFromInventoryFile(LAB_SEEDS_INVENTORY);

describe('memoisedIndex', () => {
  const sut = memoisedIndex(index);
  const addresses = ['198.51.100.79', '198.18.0.11', '198.18.0.12', '198.18.255.10', '198.18.255.11', '203.0.113.10', '198.19.1.11', '198.19.1.13', '198.19.2.11', '198.19.1.1', '10.0.0.1', '2001:db8::1'];
  const ports = [80, 8080, 9090, 30080, 30090, 53];
  const protocols = ['tcp', 'udp', 'TCP', 'icmp'] as const;

  it('answers every lookup as the index does, asked once or again', () => {
    for (let round = 0; round < 2; round++) {
      for (const ip of addresses) {
        expect(sut.classifyClient(ip)).toEqual(index.classifyClient(ip));
        expect(sut.nodeOf(ip)).toEqual(index.nodeOf(ip));
        for (const port of ports) {
          for (const protocol of protocols) {
            const frontend = index.serviceFrontend(ip, port, protocol);
            expect(sut.serviceFrontend(ip, port, protocol)).toBe(frontend);
            expect(sut.endpoint(ip, port, protocol)).toBe(index.endpoint(ip, port, protocol));
            for (const service of [frontend, { namespace: 'default', name: 'api' }, { namespace: 'default', name: 'web' }]) {
              if (service) expect(sut.endpoint(ip, port, protocol, service)).toBe(index.endpoint(ip, port, protocol, service));
            }
          }
        }
      }
    }
  });

  it('gives the same answer object back for a repeated lookup (records share it)', () => {
    expect(sut.classifyClient('198.51.100.79')).toBe(sut.classifyClient('198.51.100.79'));
    const frontend = sut.serviceFrontend('198.18.0.11', 30080, 'tcp');
    expect(frontend).toMatchObject({ namespace: 'default', name: 'web', entry: 'nodePort' });
    expect(sut.endpoint('198.19.1.11', 8080, 'tcp', frontend)).toBe(sut.endpoint('198.19.1.11', 8080, 'tcp', frontend));
  });

  it('leaves the other lookups to the index', () => {
    expect(sut.service({ namespace: 'default', name: 'web' })).toEqual(index.service({ namespace: 'default', name: 'web' }));
  });
});
