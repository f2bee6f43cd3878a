import type { FlowRecord, LiveRow } from './api-types';
import { matchesLiveFilter, prependRows, toLiveRow } from './live-buffer';

const record: FlowRecord = {
  node: 'node2', source: 'conntrack', flowId: 'f1', firstSeen: 1, lastSeen: 2, zone: 0,
  original: { src: '198.51.100.79', sport: 7294, dst: '198.18.0.12', dport: 30080, proto: 'tcp' },
  translated: { src: '198.18.0.12', sport: 54396, dst: '198.19.1.11', dport: 8080, proto: 'tcp' },
  snat: true, dnat: true, portRemap: false, leg: 'entry',
  service: { namespace: 'default', name: 'api', port: 80, type: 'NodePort', externalTrafficPolicy: 'Cluster', entry: 'nodePort' },
  endpoint: { namespace: 'default', pod: 'api-1', node: 'node1', ip: '198.19.1.11', port: 8080 },
  client: { ip: '198.51.100.79', kind: 'external' }, verdict: 'snat-expected',
};

describe('live rows', () => {
  it('shows the DESIGN.md example as original → translated', () => {
    expect(toLiveRow(record)).toMatchObject({ original: '198.51.100.79:7294 → 198.18.0.12:30080', translated: '198.18.0.12:54396 → 198.19.1.11:8080', pod: 'default/api-1', service: 'default/api' });
  });

  it.each([
    [{}, true],
    [{ service: 'default/api', node: 'node2', client: '198.51.100.79', verdict: 'snat-expected' }, true],
    [{ service: 'default/web' }, false],
    [{ node: 'node1' }, false],
    [{ client: '198.51.100.80' }, false],
    [{ verdict: 'preserved' }, false],
  ])('filter %j matches: %s', (filter, expected) => {
    expect(matchesLiveFilter(record, filter)).toBe(expected);
  });

  it('keeps the newest rows on top and never more than the cap', () => {
    const row = (i: number) => ({ id: String(i) }) as LiveRow;
    const current = [3, 2, 1].map(row);
    expect(prependRows(current, [4, 5].map(row), 4).map((r) => r.id)).toEqual(['5', '4', '3', '2']);
    expect(prependRows(current, Array.from({ length: 10 }, (_, i) => row(i)), 4).map((r) => r.id)).toEqual(['9', '8', '7', '6']);
  });
});
