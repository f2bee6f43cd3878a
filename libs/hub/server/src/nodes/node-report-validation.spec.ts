import { validateNodeReport } from './node-report-validation';

const good = { version: 1, node: 'node1', at: 1000, addresses: [], healthChecks: [{ service: { namespace: 'default', name: 'web' }, address: '192.0.2.11', port: 32122, at: 999, httpStatus: 200, localEndpoints: 1 }] };

/** The hub's clock plus its tolerated skew. */
const NOT_AFTER = 2000;

describe('validateNodeReport', () => {
  it('takes a report, dropping what a newer agent added', () => {
    expect(validateNodeReport({ ...good, kernelModules: ['nf_conntrack'] }, NOT_AFTER)).toEqual({ ok: true, report: good });
  });

  it.each<[string, unknown, RegExp]>([
    ['not an object', [good], /must be a JSON object/],
    ['a newer version', { ...good, version: 2 }, /node report version 2 is newer than this hub reads \(up to 1\); upgrade the hub/],
    ['a bad health-check status', { ...good, healthChecks: [{ ...good.healthChecks[0], httpStatus: 'ok' }] }, /^field healthChecks\[0\]\.httpStatus: /],
    ['no node', { ...good, node: undefined }, /^field node: /],
    // kept newest by `at`: a report from the future would hide every later one of its node
    ['a report from the future', { ...good, at: Number.MAX_SAFE_INTEGER }, /^field at: 9007199254740991 is after the hub's clock.*NATLENS_HUB_MAX_CLOCK_SKEW/],
    ['a health check from the future', { ...good, healthChecks: [{ ...good.healthChecks[0], at: NOT_AFTER + 1 }] }, /^field healthChecks\[0\]\.at: .* after the hub's clock/],
  ])('refuses %s, saying what to fix', (_case, body, message) => {
    const sut = validateNodeReport(body, NOT_AFTER);
    expect(sut.ok).toBe(false);
    if (!sut.ok) expect(sut.message).toMatch(message);
  });
});
