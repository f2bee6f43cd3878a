import { asHubError, hubFetch } from '../../../../lib/hub';
import { hubConfigFor } from '../../../../lib/hub-config';
import { currentSession, unauthenticated } from '../../../../lib/session-server';

/*
 * Read-only proxy to the hub for the browser: only the read routes the pages use, for a signed-in session, with its
 * token (lib/hub-config.ts). The hub's status and error body pass through unchanged.
 */
export const dynamic = 'force-dynamic';

const ALLOWED = [/^services$/, /^services\/[^/]+\/[^/]+\/evidence$/, /^flows$/, /^nodes\/conntrack$/];

export async function GET(request: Request, context: { params: Promise<{ path: string[] }> }): Promise<Response> {
  const session = await currentSession();
  if (!session) return unauthenticated();
  const { path } = await context.params;
  const joined = path.map((p) => encodeURIComponent(p)).join('/');
  if (!ALLOWED.some((re) => re.test(joined))) {
    return Response.json({ status: 404, code: 'not-proxied', message: `the dashboard proxies only services, services/<ns>/<name>/evidence, flows and nodes/conntrack, not "${joined}"` }, { status: 404 });
  }
  const search = new URL(request.url).search;
  try {
    const res = await hubFetch(`/api/${joined}${search}`, hubConfigFor(session));
    return new Response(res.body, { status: res.status, headers: { 'Content-Type': res.headers.get('content-type') ?? 'application/json', 'Cache-Control': 'no-store' } });
  } catch (err) {
    const body = asHubError(err);
    return Response.json(body, { status: body.status });
  }
}
