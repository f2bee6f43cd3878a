import { authConfig } from '../../../../lib/auth-config';
import { hubUrl } from '../../../../lib/hub-config';
import { cookieSecure, crossSiteProblem, safeNext } from '../../../../lib/request-auth';
import { newSessionId, SESSION_COOKIE, sealTokenSession, tokenUser } from '../../../../lib/session';
import { currentSessionKey } from '../../../../lib/session-resolve';

/*
 * POST /api/auth/signin (the sign-in form: token, next): the hub is asked what the token is (GET /api/auth/whoami);
 * a read-capable token gets a session cookie (sealed, HttpOnly, SameSite=Strict, Secure over TLS) holding it, and the
 * browser goes on to `next`. Anything else goes back to the form with the reason.
 */
export const dynamic = 'force-dynamic';

const TIMEOUT_MS = 10_000;

/*
 * Locations are relative (RFC 9110 allows it): behind a proxy, or with Next's own idea of the host (it builds
 * request.url from its configured hostname), an absolute URL could send the browser to another origin than the one
 * holding the cookie.
 */
function back(error: string, next: string): Response {
  const query = new URLSearchParams({ error, next });
  return new Response(null, { status: 303, headers: { Location: `/signin?${query.toString()}`, 'Cache-Control': 'no-store' } });
}

export async function POST(request: Request): Promise<Response> {
  const config = authConfig();
  const crossSite = crossSiteProblem('POST', request.headers, config.extraOrigins);
  if (crossSite) return Response.json({ status: 403, code: 'cross-site', message: crossSite }, { status: 403 });
  let form: FormData;
  try {
    form = await request.formData();
  } catch {
    return Response.json({ status: 400, code: 'bad-form', message: 'send the sign-in form (token, next) as application/x-www-form-urlencoded' }, { status: 400 });
  }
  const next = safeNext(form.get('next')?.toString());
  const token = (form.get('token')?.toString() ?? '').trim();
  const key = currentSessionKey();
  if (!key) return back('no-secret', next);
  if (token.length < 16 || token.length > 1024 || /\s/.test(token)) return back('refused', next);
  let url: string;
  try {
    url = hubUrl();
  } catch {
    return back('hub-unreachable', next);
  }
  let answer: { status: number; read?: boolean };
  try {
    const res = await fetch(`${url}/api/auth/whoami`, { headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' }, cache: 'no-store', signal: AbortSignal.timeout(TIMEOUT_MS) });
    const body = (await res.json().catch(() => ({}))) as { read?: unknown };
    answer = { status: res.status, ...(typeof body.read === 'boolean' ? { read: body.read } : {}) };
  } catch {
    return back('hub-unreachable', next);
  }
  if (answer.status === 401 || answer.status === 403 || (answer.status === 200 && answer.read !== true)) return back('refused', next);
  if (answer.status !== 200) return back('hub-unreachable', next);
  const exp = Date.now() + config.sessionMs;
  const cookie = await sealTokenSession(await key, { sid: newSessionId(), user: tokenUser(token), token, exp });
  const attributes = ['Path=/', 'HttpOnly', 'SameSite=Strict', ...(cookieSecure(request.headers, config) ? ['Secure'] : [])];
  return new Response(null, { status: 303, headers: { Location: next, 'Set-Cookie': `${SESSION_COOKIE}=${cookie}; ${attributes.join('; ')}`, 'Cache-Control': 'no-store' } });
}
