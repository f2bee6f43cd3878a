import { authConfig } from '../../../lib/auth-config';
import { crossSiteProblem } from '../../../lib/request-auth';
import { currentSession, unauthenticated } from '../../../lib/session-server';
import { importConfig } from '../import-config';

/*
 * The browser's upload → the hub's `POST /api/import`, streamed through (the file is never held here whole), with
 * the server's ingest token, for a signed-in session and from this dashboard's own pages only (a page on another
 * site cannot post records through it). The hub's status and body (the import summary, or {status, code,
 * message}) pass through unchanged.
 */
export const dynamic = 'force-dynamic';

const FORWARDED_PARAMS = ['node', 'format', 'name'];

export async function POST(request: Request): Promise<Response> {
  const crossSite = crossSiteProblem('POST', request.headers, authConfig().extraOrigins);
  if (crossSite) return Response.json({ status: 403, code: 'cross-site', message: crossSite }, { status: 403 });
  if (!(await currentSession())) return unauthenticated();
  const config = importConfig();
  if (!config.ok) return Response.json({ status: 503, code: 'import-disabled', message: config.message }, { status: 503 });
  if (!request.body) return Response.json({ status: 400, code: 'import-empty', message: 'the upload has no body: choose a file' }, { status: 400 });
  const incoming = new URL(request.url).searchParams;
  const query = new URLSearchParams();
  for (const name of FORWARDED_PARAMS) {
    const value = incoming.get(name);
    if (value !== null) query.set(name, value);
  }
  const length = request.headers.get('content-length');
  try {
    const res = await fetch(`${config.value.url}/api/import?${query.toString()}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${config.value.token}`, 'Content-Type': 'application/octet-stream', ...(length ? { 'Content-Length': length } : {}) },
      body: request.body,
      // a streamed request body (undici): sent as it arrives
      duplex: 'half',
      cache: 'no-store',
    } as RequestInit & { duplex: 'half' });
    return new Response(res.body, { status: res.status, headers: { 'Content-Type': res.headers.get('content-type') ?? 'application/json', 'Cache-Control': 'no-store' } });
  } catch (err) {
    const reason = (err as Error & { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    return Response.json({ status: 502, code: 'hub-unreachable', message: `cannot reach the hub at ${config.value.url} (${reason}); is it running? Set NATLENS_HUB_URL on the dashboard server` }, { status: 502 });
  }
}
