import { NODE_REPORT_VERSION, nodeReportSchema } from './node-report';

const probe = { at: 1_700_000_000_000, httpStatus: 200, latencyMs: 1.5, address: '192.0.2.10', port: 32122 };
const report = {
  version: NODE_REPORT_VERSION,
  node: 'worker-1',
  at: 1_700_000_000_100,
  intervalMs: 5000,
  addresses: [{ address: '192.0.2.10', interface: 'eth0' }, { address: '2001:db8::10' }],
  healthChecks: [{ ...probe, service: { namespace: 'default', name: 'web' }, localEndpoints: 2 }],
  proxyHealth: { ...probe, port: 10256, nodeEligible: true, lastUpdated: '2024-01-01T00:00:00Z' },
};

describe('nodeReportSchema', () => {
  it('reads a report as this agent sends it', () => {
    expect(nodeReportSchema.parse(report)).toEqual(report);
  });

  it('reads an unreachable health check: httpStatus null with the error', () => {
    const unreachable = { ...probe, httpStatus: null, error: 'connect ECONNREFUSED 192.0.2.10:32122', service: { namespace: 'default', name: 'web' }, localEndpoints: null };
    expect(nodeReportSchema.parse({ ...report, healthChecks: [unreachable] }).healthChecks).toEqual([unreachable]);
  });

  it('takes an older agent\'s report without the sections it did not know', () => {
    expect(nodeReportSchema.parse({ version: 1, node: 'worker-1', at: 5 })).toEqual({ version: 1, node: 'worker-1', at: 5, addresses: [], healthChecks: [] });
  });

  it('drops what a newer agent added and this release does not know', () => {
    const newer = { ...report, tcpMetrics: { retransmits: 10 }, healthChecks: [{ ...report.healthChecks[0], weight: 3 }] };
    expect(nodeReportSchema.parse(newer)).toEqual(report);
  });

  it.each<[string, object]>([
    ['no node', { ...report, node: '' }],
    ['a negative time', { ...report, at: -1 }],
    ['an interface address that is no address', { ...report, addresses: [{ address: 'eth0' }] }],
    ['an HTTP status out of range', { ...report, healthChecks: [{ ...report.healthChecks[0], httpStatus: 42 }] }],
    ['negative local endpoints', { ...report, healthChecks: [{ ...report.healthChecks[0], localEndpoints: -1 }] }],
    ['a port 0', { ...report, proxyHealth: { ...report.proxyHealth, port: 0 } }],
    ['version 0', { ...report, version: 0 }],
  ])('refuses %s', (_case, body) => {
    expect(nodeReportSchema.safeParse(body).success).toBe(false);
  });
});
