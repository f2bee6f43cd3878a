import fc from 'fast-check';
import { authConfigFrom } from './auth-config';
import { crossSiteProblem, PEER_HEADER, PEER_KEY_HEADER, resolveSession, safeNext, TLS_HEADER, cookieSecure } from './request-auth';
import { sealTokenSession, sessionKey } from './session';

const headers = (values: Record<string, string>) => new Headers(values);
const NOW = 1_700_000_000_000;

describe('crossSiteProblem', () => {
  it.each<[string, string, Record<string, string>, boolean]>([
    ['a GET from anywhere', 'GET', { origin: 'https://evil.example', host: 'dash:3000' }, false],
    ['a POST from its own page', 'POST', { origin: 'http://dash:3000', host: 'dash:3000', 'sec-fetch-site': 'same-origin' }, false],
    ['a POST without Origin (curl)', 'POST', { host: 'dash:3000' }, false],
    ['a POST from another site', 'POST', { origin: 'https://evil.example', host: 'dash:3000' }, true],
    ['a POST from another port', 'POST', { origin: 'http://dash:4000', host: 'dash:3000' }, true],
    ['a cross-site fetch without Origin', 'POST', { host: 'dash:3000', 'sec-fetch-site': 'cross-site' }, true],
    ['a same-site (other subdomain) POST', 'POST', { origin: 'https://a.example.com', host: 'dash.example.com', 'sec-fetch-site': 'same-site' }, true],
    ['an opaque origin', 'POST', { origin: 'null', host: 'dash:3000' }, true],
    ['a configured public origin', 'POST', { origin: 'https://natlens.example.com', host: 'natlens-dashboard:3000' }, false],
    ['a DELETE from another site', 'DELETE', { origin: 'https://evil.example', host: 'dash:3000' }, true],
  ])('%s → refused: %s', (_name, method, values, refused) => {
    expect(crossSiteProblem(method, headers(values), ['https://natlens.example.com']) !== undefined).toBe(refused);
  });
});

describe('safeNext', () => {
  it.each([
    ['/services/default/web?range=6h', '/services/default/web?range=6h'],
    ['https://evil.example/', '/services'],
    ['//evil.example/', '/services'],
    ['/\\evil.example', '/services'],
    ['', '/services'],
    [undefined, '/services'],
  ])('%j → %j', (next, expected) => {
    expect(safeNext(next)).toBe(expected);
  });

  it('always stays on this site', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        const next = safeNext(text);
        expect(new URL(next, 'http://dash:3000').host).toBe('dash:3000');
      }),
    );
  });
});

describe('resolveSession', () => {
  const PEER_KEY = 'per-process-peer-key-0123';
  const config = authConfigFrom({
    NATLENS_DASHBOARD_SESSION_SECRET: 'dashboard-session-secret-0123456789abcdef',
    NATLENS_DASHBOARD_PROXY_USER_HEADER: 'X-Forwarded-User',
    NATLENS_DASHBOARD_TRUSTED_PROXIES: '10.0.0.5, fd00::/64',
    NATLENS_DASHBOARD_PEER_KEY: PEER_KEY,
  });
  const fromPeer = (peer: string, extra: Record<string, string> = {}, key = PEER_KEY) => headers({ [PEER_HEADER]: peer, [PEER_KEY_HEADER]: key, 'x-forwarded-user': 'alice@example.com', ...extra });
  const resolve = async (h: Headers, cookie?: string, revoked = false) => resolveSession(h, cookie, config, await sessionKey(config.sessionSecret as string), () => revoked, NOW);

  it.each<[string, () => Headers, string | undefined]>([
    ['the user header from a trusted proxy', () => fromPeer('10.0.0.5'), 'alice@example.com'],
    ['from a trusted proxy over a dual-stack socket', () => fromPeer('::ffff:10.0.0.5'), 'alice@example.com'],
    ['from a trusted IPv6 range', () => fromPeer('fd00::17'), 'alice@example.com'],
    ['the user header from anyone else', () => fromPeer('10.0.0.6'), undefined],
    ['a peer header without the process key (next start, or a forged header)', () => fromPeer('10.0.0.5', {}, 'guessed-key-000000000000'), undefined],
    ['a trusted proxy without the user header', () => headers({ [PEER_HEADER]: '10.0.0.5', [PEER_KEY_HEADER]: PEER_KEY }), undefined],
    ['an empty user', () => fromPeer('10.0.0.5', { 'x-forwarded-user': '  ' }), undefined],
  ])('%s', async (_name, h, user) => {
    const session = await resolve(h());
    expect(session?.user).toBe(user);
    if (user) expect(session).toMatchObject({ kind: 'proxy', sid: `proxy:${user}` });
  });

  it('takes a sealed cookie, unless its session was signed out', async () => {
    const key = await sessionKey(config.sessionSecret as string);
    const cookie = await sealTokenSession(key, { sid: 's1', user: 'read token …abcd', token: 'read-token-0123456789abcd', exp: NOW + 1000 });
    expect(await resolve(headers({}), cookie)).toMatchObject({ kind: 'token', sid: 's1', hubToken: 'read-token-0123456789abcd' });
    expect(await resolve(headers({}), cookie, true)).toBeUndefined();
  });

  it('ignores the proxy header when no proxy is trusted', async () => {
    const open = authConfigFrom({ NATLENS_DASHBOARD_PROXY_USER_HEADER: 'X-Forwarded-User', NATLENS_DASHBOARD_PEER_KEY: PEER_KEY });
    expect(open.proxyUserHeader).toBeUndefined();
    expect(open.problems).toEqual([expect.stringMatching(/without NATLENS_DASHBOARD_TRUSTED_PROXIES/)]);
    expect(await resolveSession(fromPeer('10.0.0.5'), undefined, open, undefined, () => false, NOW)).toBeUndefined();
  });

  it('makes cookies Secure over TLS (as serve.mjs tells) or when configured', () => {
    expect(cookieSecure(headers({ [PEER_HEADER]: '10.0.0.9', [PEER_KEY_HEADER]: PEER_KEY, [TLS_HEADER]: '1' }), config)).toBe(true);
    expect(cookieSecure(headers({ [PEER_HEADER]: '10.0.0.9', [PEER_KEY_HEADER]: PEER_KEY, [TLS_HEADER]: '0' }), config)).toBe(false);
    expect(cookieSecure(headers({ [TLS_HEADER]: '1' }), config)).toBe(false);
    expect(cookieSecure(headers({}), { ...config, cookieSecure: true })).toBe(true);
  });
});
