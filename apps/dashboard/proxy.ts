import { type NextRequest, NextResponse } from 'next/server';
import { authConfig } from './lib/auth-config';
import { crossSiteProblem } from './lib/request-auth';
import { SESSION_COOKIE } from './lib/session';
import { sessionFor } from './lib/session-resolve';

/*
 * Every request but static assets passes here first: a state-changing request from another site is refused (403),
 * an anonymous one is sent to sign in (pages: a redirect to /signin; /api/*: 401). The route handlers and pages
 * check the session again themselves (lib/session-server.ts), so a path this matcher missed is still closed.
 */
const OPEN = [/^\/signin$/, /^\/api\/auth\/(signin|signout)$/, /^\/api\/healthz$/];

export async function proxy(request: NextRequest): Promise<Response> {
  const { pathname, search } = request.nextUrl;
  const crossSite = crossSiteProblem(request.method, request.headers, authConfig().extraOrigins);
  if (crossSite) return Response.json({ status: 403, code: 'cross-site', message: crossSite }, { status: 403 });
  if (OPEN.some((re) => re.test(pathname))) return NextResponse.next();
  const session = await sessionFor(request.headers, request.cookies.get(SESSION_COOKIE)?.value);
  if (session) return NextResponse.next();
  // APIs, and anything but a page view (the import upload's POST), answer 401; a page view goes to the sign-in page
  if (pathname.startsWith('/api/') || (request.method !== 'GET' && request.method !== 'HEAD')) {
    return Response.json({ status: 401, code: 'sign-in-required', message: 'sign in to the dashboard first (/signin, with a natlens read token)' }, { status: 401 });
  }
  // nextUrl is the URL as the browser sent it (its Host): the redirect stays on that origin
  const signin = request.nextUrl.clone();
  signin.pathname = '/signin';
  signin.search = new URLSearchParams({ next: `${pathname}${search}` }).toString();
  return NextResponse.redirect(signin, 303);
}

export const config = {
  matcher: ['/((?!_next/static|_next/image|favicon.ico).*)'],
};
