import { authConfig } from '../../../../lib/auth-config';
import { cookieSecure, crossSiteProblem } from '../../../../lib/request-auth';
import { SESSION_COOKIE } from '../../../../lib/session';
import { revokeSession } from '../../../../lib/session-registry';
import { currentSession } from '../../../../lib/session-server';

/*
 * POST /api/auth/signout: the session ends here (its cookie is listed as signed out until it would have expired)
 * and the browser drops the cookie; then the sign-in page, or the proxy's own sign-out for proxy users.
 */
export const dynamic = 'force-dynamic';

export async function POST(request: Request): Promise<Response> {
  const config = authConfig();
  const crossSite = crossSiteProblem('POST', request.headers, config.extraOrigins);
  if (crossSite) return Response.json({ status: 403, code: 'cross-site', message: crossSite }, { status: 403 });
  const session = await currentSession();
  if (session?.kind === 'token') revokeSession(session.sid, session.exp);
  const target = session?.kind === 'proxy' && config.proxySignOutUrl ? config.proxySignOutUrl : '/signin';
  const attributes = ['Path=/', 'HttpOnly', 'SameSite=Strict', 'Max-Age=0', ...(cookieSecure(request.headers, config) ? ['Secure'] : [])];
  return new Response(null, { status: 303, headers: { Location: target, 'Set-Cookie': `${SESSION_COOKIE}=; ${attributes.join('; ')}`, 'Cache-Control': 'no-store' } });
}
