import { authConfigFrom } from './auth-config';
import { parseTrustedProxies } from './trusted-proxies';
import { openStream } from './session-registry';

describe('authConfigFrom', () => {
  it('has safe defaults', () => {
    expect(authConfigFrom({})).toMatchObject({ sessionSecret: undefined, sessionMs: 12 * 3600_000, maxStreamsPerSession: 4, proxyUserHeader: undefined, problems: [] });
  });

  it.each([
    [{ NATLENS_DASHBOARD_SESSION_SECRET: 'short' }, /shorter than 32 characters/],
    [{ NATLENS_DASHBOARD_MAX_STREAMS: 'lots' }, /NATLENS_DASHBOARD_MAX_STREAMS="lots" is not a number/],
    [{ NATLENS_DASHBOARD_TRUSTED_PROXIES: '10.0.0.5, nope' }, /"nope" is not an IP address or CIDR range/],
    [{ NATLENS_DASHBOARD_ORIGINS: 'natlens.example.com' }, /is not scheme:\/\/host/],
  ])('lists a problem with %j', (env, problem) => {
    expect(authConfigFrom(env).problems).toEqual([expect.stringMatching(problem)]);
  });
});

describe('parseTrustedProxies', () => {
  it.each([
    ['10.0.0.0/8', '10.200.1.1', true],
    ['10.0.0.0/8', '11.0.0.1', false],
    ['10.0.0.5', '::ffff:10.0.0.5', true],
    ['::ffff:10.0.0.0/104', '10.1.2.3', true],
    ['fd00::/8', 'fd12::1', true],
    ['fd00::/8', '10.0.0.1', false],
    ['127.0.0.1', 'not an address', false],
  ])('%s includes %s: %s', (list, address, included) => {
    expect(parseTrustedProxies(list).trusted.includes(address)).toBe(included);
  });
});

describe('openStream', () => {
  it('allows at most max streams per session, and frees a slot on release', () => {
    const first = openStream('s-cap', 2);
    const second = openStream('s-cap', 2);
    expect(first && second).toBeTruthy();
    expect(openStream('s-cap', 2)).toBeUndefined();
    expect(openStream('s-other', 2)).toBeDefined();
    first?.();
    first?.(); // twice: still one slot
    const third = openStream('s-cap', 2);
    expect(third).toBeDefined();
    expect(openStream('s-cap', 2)).toBeUndefined();
  });
});
