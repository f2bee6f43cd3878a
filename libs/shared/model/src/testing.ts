import type { FlowRecord } from './flow-record';

/**
 * A valid flow record for tests: an external client reaching default/web's load-balancer IP, DNAT'd to web-1 on
 * node1 with its address kept. Override what the test is about.
 */
export function aFlowRecord(overrides: Partial<FlowRecord> = {}): FlowRecord {
  const sport = overrides.original?.sport ?? 40000;
  return {
    node: 'node1',
    source: 'conntrack',
    flowId: `conntrack:1:tcp:198.51.100.79:${sport}>203.0.113.10:80`,
    firstSeen: 1000,
    lastSeen: 1000,
    original: { src: '198.51.100.79', sport, dst: '203.0.113.10', dport: 80, proto: 'tcp' },
    translated: { src: '198.51.100.79', sport, dst: '198.19.1.11', dport: 8080, proto: 'tcp' },
    snat: false,
    dnat: true,
    portRemap: false,
    leg: 'entry',
    client: { ip: '198.51.100.79', kind: 'external' },
    verdict: 'preserved',
    zone: 0,
    ...overrides,
  };
}
