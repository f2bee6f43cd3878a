import { validateNodeReport } from './node-report-validation';

const good = { version: 1, node: 'node1', at: 1000, addresses: [], healthChecks: [{ service: { namespace: 'default', name: 'web' }, address: '192.0.2.11', port: 32122, at: 999, httpStatus: 200, localEndpoints: 1 }] };

describe('validateNodeReport', () => {
  it('takes a report, dropping what a newer agent added', () => {
    expect(validateNodeReport({ ...good, conntrack: { entries: 3 } })).toEqual({ ok: true, report: good });
  });

  it.each<[string, unknown, RegExp]>([
    ['not an object', [good], /must be a JSON object/],
    ['a newer version', { ...good, version: 2 }, /node report version 2 is newer than this hub reads \(up to 1\); upgrade the hub/],
    ['a bad health-check status', { ...good, healthChecks: [{ ...good.healthChecks[0], httpStatus: 'ok' }] }, /^field healthChecks\[0\]\.httpStatus: /],
    ['no node', { ...good, node: undefined }, /^field node: /],
  ])('refuses %s, saying what to fix', (_case, body, message) => {
    const sut = validateNodeReport(body);
    expect(sut.ok).toBe(false);
    if (!sut.ok) expect(sut.message).toMatch(message);
  });
});
