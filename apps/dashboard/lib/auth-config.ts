import { parseTrustedProxies, type TrustedProxies } from './trusted-proxies';

/*
 * Who may use the dashboard, read once from the environment (this module and hub-config.ts are the only readers):
 *
 *   NATLENS_DASHBOARD_SESSION_SECRET    ≥ 32 characters; seals session cookies (AES-GCM). Every replica needs the
 *                                       same one. server/serve.mjs makes a random one per process when it is unset
 *                                       (sessions then end with the process).
 *   NATLENS_DASHBOARD_SESSION_HOURS     how long a sign-in lasts (default 12)
 *   NATLENS_DASHBOARD_MAX_STREAMS       live streams open at once per session (default 4)
 *   NATLENS_DASHBOARD_PROXY_USER_HEADER the header an authenticating proxy puts the user in (oauth2-proxy:
 *                                       X-Forwarded-User or X-Auth-Request-User); trusted only together with
 *   NATLENS_DASHBOARD_TRUSTED_PROXIES   the proxies' addresses (IPs or CIDRs, comma-separated): the header is
 *                                       believed only on connections from them (server/serve.mjs tells the peer)
 *   NATLENS_DASHBOARD_PROXY_SIGNOUT_URL where "Sign out" sends a proxy-authenticated user (e.g. /oauth2/sign_out)
 *   NATLENS_DASHBOARD_ORIGINS           extra origins state-changing requests may come from (the dashboard's public
 *                                       URL behind a proxy that rewrites Host), comma-separated
 *   NATLENS_DASHBOARD_COOKIE_SECURE     true: Secure cookies even over plain HTTP (TLS ends at a proxy); default:
 *                                       Secure when the connection to the dashboard is TLS
 *   NATLENS_DASHBOARD_PEER_KEY          set by server/serve.mjs: proves that the peer-address header is its own
 */
export interface AuthConfig {
  readonly sessionSecret: string | undefined;
  readonly sessionMs: number;
  readonly maxStreamsPerSession: number;
  readonly proxyUserHeader: string | undefined;
  readonly trustedProxies: TrustedProxies;
  readonly proxySignOutUrl: string | undefined;
  readonly extraOrigins: readonly string[];
  readonly cookieSecure: boolean | undefined;
  readonly peerKey: string | undefined;
  /** Settings that make no sense; the sign-in page and the logs show them. */
  readonly problems: readonly string[];
}

export const MIN_SESSION_SECRET_LENGTH = 32;

export function authConfigFrom(env: Record<string, string | undefined>): AuthConfig {
  const problems: string[] = [];
  const number = (name: string, fallback: number, min: number): number => {
    const text = env[name];
    if (text === undefined || text === '') return fallback;
    const value = Number(text);
    if (!Number.isFinite(value) || value < min) {
      problems.push(`${name}="${text}" is not a number ≥ ${min}; using ${fallback}`);
      return fallback;
    }
    return value;
  };
  const secret = env['NATLENS_DASHBOARD_SESSION_SECRET'] || undefined;
  if (secret !== undefined && secret.length < MIN_SESSION_SECRET_LENGTH) problems.push(`NATLENS_DASHBOARD_SESSION_SECRET is shorter than ${MIN_SESSION_SECRET_LENGTH} characters: nobody can sign in until it is longer`);
  const proxies = parseTrustedProxies(env['NATLENS_DASHBOARD_TRUSTED_PROXIES'] ?? '');
  problems.push(...proxies.problems.map((p) => `NATLENS_DASHBOARD_TRUSTED_PROXIES: ${p}`));
  const header = env['NATLENS_DASHBOARD_PROXY_USER_HEADER']?.trim().toLowerCase() || undefined;
  if (header !== undefined && !/^[a-z0-9-]+$/.test(header)) problems.push(`NATLENS_DASHBOARD_PROXY_USER_HEADER="${header}" is not a header name`);
  if (header !== undefined && proxies.trusted.isEmpty) problems.push('NATLENS_DASHBOARD_PROXY_USER_HEADER is set without NATLENS_DASHBOARD_TRUSTED_PROXIES: the header is ignored (anyone could send it)');
  const origins = (env['NATLENS_DASHBOARD_ORIGINS'] ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter((o) => o !== '');
  for (const origin of origins) if (!/^https?:\/\/[^/\s]+$/.test(origin)) problems.push(`NATLENS_DASHBOARD_ORIGINS: "${origin}" is not scheme://host[:port]`);
  const secure = env['NATLENS_DASHBOARD_COOKIE_SECURE'];
  return {
    sessionSecret: secret !== undefined && secret.length >= MIN_SESSION_SECRET_LENGTH ? secret : undefined,
    sessionMs: number('NATLENS_DASHBOARD_SESSION_HOURS', 12, 0.01) * 3600_000,
    maxStreamsPerSession: Math.floor(number('NATLENS_DASHBOARD_MAX_STREAMS', 4, 1)),
    proxyUserHeader: header !== undefined && /^[a-z0-9-]+$/.test(header) && !proxies.trusted.isEmpty ? header : undefined,
    trustedProxies: proxies.trusted,
    proxySignOutUrl: env['NATLENS_DASHBOARD_PROXY_SIGNOUT_URL'] || undefined,
    extraOrigins: origins.filter((o) => /^https?:\/\/[^/\s]+$/.test(o)).map((o) => o.toLowerCase()),
    cookieSecure: secure === undefined || secure === '' ? undefined : secure === 'true' || secure === '1',
    peerKey: env['NATLENS_DASHBOARD_PEER_KEY'] || undefined,
    problems,
  };
}

let cached: AuthConfig | undefined;

export function authConfig(): AuthConfig {
  cached ??= authConfigFrom(process.env);
  return cached;
}
