/*
 * The dashboard's sessions: a cookie sealed with AES-256-GCM under a key derived (HKDF-SHA-256) from the server's
 * session secret, so it can be neither read nor forged in the browser, and any replica with the same secret opens
 * it. A token session carries the hub read token its user signed in with (the dashboard reads the hub with it, so
 * revoking the token at the hub ends the session); it expires after the configured hours. Web Crypto only: the same
 * code runs in the proxy and in route handlers.
 */
export const SESSION_COOKIE = 'natlens_session';

export interface Session {
  /** Random id: stream caps and sign-out are per session. */
  readonly sid: string;
  /** `token`: signed in with a natlens read token; `proxy`: a user an authenticating proxy vouched for. */
  readonly kind: 'token' | 'proxy';
  /** Who, for display: the proxy's user, or "read token …<last 4>". */
  readonly user: string;
  /** The hub token to read with (token sessions: the user's own). */
  readonly hubToken?: string;
  readonly exp: number;
}

interface SealedSession {
  v: 1;
  sid: string;
  user: string;
  token: string;
  exp: number;
}

const AAD = new TextEncoder().encode(SESSION_COOKIE);

export async function sessionKey(secret: string): Promise<CryptoKey> {
  const material = await crypto.subtle.importKey('raw', new TextEncoder().encode(secret), 'HKDF', false, ['deriveKey']);
  return crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: new TextEncoder().encode('natlens dashboard session v1') },
    material,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}

function toBase64Url(bytes: Uint8Array): string {
  let text = '';
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return undefined;
  try {
    const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

export function newSessionId(): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(16)));
}

/** The cookie value of a token session. */
export async function sealTokenSession(key: CryptoKey, session: { sid: string; user: string; token: string; exp: number }): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const plain = new TextEncoder().encode(JSON.stringify({ v: 1, ...session } satisfies SealedSession));
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: AAD }, key, plain));
  const out = new Uint8Array(iv.length + sealed.length);
  out.set(iv);
  out.set(sealed, iv.length);
  return toBase64Url(out);
}

/** The session a cookie value holds, or undefined when it is forged, damaged, from another secret or expired. */
export async function openTokenSession(key: CryptoKey, cookie: string | undefined, now: number): Promise<Session | undefined> {
  if (!cookie || cookie.length > 4096) return undefined;
  const bytes = fromBase64Url(cookie);
  if (!bytes || bytes.length < 12 + 16) return undefined;
  let plain: ArrayBuffer;
  try {
    plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: bytes.slice(0, 12), additionalData: AAD }, key, bytes.slice(12));
  } catch {
    return undefined;
  }
  let value: Partial<SealedSession>;
  try {
    value = JSON.parse(new TextDecoder().decode(plain)) as Partial<SealedSession>;
  } catch {
    return undefined;
  }
  if (value.v !== 1 || typeof value.sid !== 'string' || typeof value.token !== 'string' || typeof value.user !== 'string' || typeof value.exp !== 'number') return undefined;
  if (value.exp <= now) return undefined;
  return { sid: value.sid, kind: 'token', user: value.user, hubToken: value.token, exp: value.exp };
}

/** How a read token is shown: never whole. */
export function tokenUser(token: string): string {
  return `read token …${token.slice(-4)}`;
}
