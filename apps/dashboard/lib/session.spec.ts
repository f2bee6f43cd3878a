import fc from 'fast-check';
import { newSessionId, openTokenSession, sealTokenSession, sessionKey, tokenUser } from './session';

const SECRET = 'dashboard-session-secret-0123456789abcdef';
const NOW = 1_700_000_000_000;

describe('sealed session cookies', () => {
  let key: CryptoKey;
  beforeAll(async () => {
    key = await sessionKey(SECRET);
  });
  const seal = (exp = NOW + 3600_000) => sealTokenSession(key, { sid: 'sid-1', user: tokenUser('read-token-0123456789abcd'), token: 'read-token-0123456789abcd', exp });

  it('opens what it sealed, with the token inside and unreadable outside', async () => {
    const cookie = await seal();
    expect(cookie).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(cookie).not.toContain('read-token');
    expect(Buffer.from(cookie, 'base64url').toString('latin1')).not.toContain('read-token');
    expect(await openTokenSession(key, cookie, NOW)).toEqual({ sid: 'sid-1', kind: 'token', user: 'read token …abcd', hubToken: 'read-token-0123456789abcd', exp: NOW + 3600_000 });
  });

  it.each<[string, (cookie: string) => string | undefined]>([
    ['a missing cookie', () => undefined],
    ['an empty cookie', () => ''],
    ['a flipped bit', (c) => `${c.slice(0, 20)}${c[20] === 'A' ? 'B' : 'A'}${c.slice(21)}`],
    ['a truncated cookie', (c) => c.slice(0, -4)],
    ['a cookie of other characters', (c) => `${c}!`],
  ])('refuses %s', async (_name, change) => {
    expect(await openTokenSession(key, change(await seal()), NOW)).toBeUndefined();
  });

  it('refuses a cookie sealed under another secret', async () => {
    const other = await sessionKey(`${SECRET}-other`);
    expect(await openTokenSession(other, await seal(), NOW)).toBeUndefined();
  });

  it('refuses an expired session', async () => {
    expect(await openTokenSession(key, await seal(NOW), NOW)).toBeUndefined();
    expect(await openTokenSession(key, await seal(NOW + 1), NOW)).toBeDefined();
  });

  it('never opens random text', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 300 }), async (text) => {
        expect(await openTokenSession(key, text, NOW)).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });

  it('makes distinct session ids', () => {
    const ids = new Set(Array.from({ length: 100 }, newSessionId));
    expect(ids.size).toBe(100);
  });
});
