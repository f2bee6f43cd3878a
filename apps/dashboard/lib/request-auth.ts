import type { AuthConfig } from './auth-config';
import { openTokenSession, type Session } from './session';

/*
 * What a request proves about its sender, decided the same way by the proxy (proxy.ts, every request) and by the
 * route handlers and pages (lib/session-server.ts). Pure but for Web Crypto.
 *
 * Facts about the connection come from server/serve.mjs, which sets these headers on every request (after deleting
 * any the client sent) together with a per-process key; a header without that key is ignored, so running the app
 * without serve.mjs never trusts a proxy.
 */
export const PEER_HEADER = 'x-natlens-peer';
export const PEER_KEY_HEADER = 'x-natlens-peer-key';
export const TLS_HEADER = 'x-natlens-tls';

export interface HeaderSource {
  get(name: string): string | null;
}

function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** The connection facts serve.mjs vouched for, if it did. */
export function connectionFacts(headers: HeaderSource, config: Pick<AuthConfig, 'peerKey'>): { peer: string; tls: boolean } | undefined {
  const key = headers.get(PEER_KEY_HEADER);
  const peer = headers.get(PEER_HEADER);
  if (!config.peerKey || !key || !peer || !constantTimeEqual(key, config.peerKey)) return undefined;
  return { peer, tls: headers.get(TLS_HEADER) === '1' };
}

function hasControlCharacter(text: string): boolean {
  return [...text].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
}

/** A user name as a proxy sends it: printable, bounded. */
function proxyUser(value: string | null): string | undefined {
  if (value === null) return undefined;
  const user = value.trim();
  if (user === '' || user.length > 256 || hasControlCharacter(user)) return undefined;
  return user;
}

/**
 * The request's session: a user the configured proxy vouched for (on a connection from a trusted proxy address),
 * else the session cookie's, unless it was signed out. Undefined: anonymous.
 */
export async function resolveSession(
  headers: HeaderSource,
  cookie: string | undefined,
  config: AuthConfig,
  key: CryptoKey | undefined,
  isRevoked: (sid: string) => boolean,
  now: number,
): Promise<Session | undefined> {
  if (config.proxyUserHeader) {
    const facts = connectionFacts(headers, config);
    const user = proxyUser(headers.get(config.proxyUserHeader));
    if (facts && user && config.trustedProxies.includes(facts.peer)) return { sid: `proxy:${user}`, kind: 'proxy', user, exp: now + config.sessionMs };
  }
  if (!key) return undefined;
  const session = await openTokenSession(key, cookie, now);
  return session && !isRevoked(session.sid) ? session : undefined;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Why a state-changing request must be refused as cross-site, or undefined. Browsers send Origin (and
 * Sec-Fetch-Site) on every POST: it must be this dashboard's own origin (its Host header) or one configured in
 * NATLENS_DASHBOARD_ORIGINS. A request with neither header comes from no browser page (curl), and still needs a
 * session: SameSite=Strict keeps the cookie off other sites' requests.
 */
export function crossSiteProblem(method: string, headers: HeaderSource, extraOrigins: readonly string[]): string | undefined {
  if (SAFE_METHODS.has(method.toUpperCase())) return undefined;
  const site = headers.get('sec-fetch-site');
  if (site !== null && site !== 'same-origin' && site !== 'none') return `a ${site} request may not change anything here (Sec-Fetch-Site: ${site})`;
  const origin = headers.get('origin');
  if (origin === null) return undefined;
  let host: string;
  try {
    host = new URL(origin).host.toLowerCase();
  } catch {
    return `the request's Origin "${origin.slice(0, 100)}" is not this dashboard`;
  }
  if (host === (headers.get('host') ?? '').toLowerCase() || extraOrigins.includes(origin.toLowerCase())) return undefined;
  return `a request from ${origin.slice(0, 100)} may not change anything here; only pages of this dashboard may (add its public URL to NATLENS_DASHBOARD_ORIGINS if a proxy rewrites the Host)`;
}

/** Where to go after signing in: a path of this dashboard, never another site. */
export function safeNext(next: string | null | undefined): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\') || hasControlCharacter(next)) return '/services';
  return next;
}

/** Whether the session cookie must be Secure: configured, else when the connection to the dashboard is TLS. */
export function cookieSecure(headers: HeaderSource, config: AuthConfig): boolean {
  return config.cookieSecure ?? connectionFacts(headers, config)?.tls ?? false;
}
