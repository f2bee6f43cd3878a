import { authConfig } from './auth-config';
import { type HeaderSource, resolveSession } from './request-auth';
import { type Session, sessionKey } from './session';
import { isRevoked } from './session-registry';

/* A request's session from its headers and cookie: shared by the proxy (proxy.ts) and the server code. */

let key: { secret: string; key: Promise<CryptoKey> } | undefined;

/** The key sealing session cookies, or undefined when no session secret is configured. */
export function currentSessionKey(): Promise<CryptoKey> | undefined {
  const secret = authConfig().sessionSecret;
  if (!secret) return undefined;
  if (key?.secret !== secret) key = { secret, key: sessionKey(secret) };
  return key.key;
}

/** The session of a request given its headers and session cookie. */
export async function sessionFor(requestHeaders: HeaderSource, cookie: string | undefined): Promise<Session | undefined> {
  return resolveSession(requestHeaders, cookie, authConfig(), await currentSessionKey(), (sid) => isRevoked(sid), Date.now());
}
