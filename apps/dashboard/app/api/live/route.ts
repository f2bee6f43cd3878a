import { authConfig } from '../../../lib/auth-config';
import { hubConfigFor, HubConfigError } from '../../../lib/hub-config';
import { type LiveEvent, startLiveRelay } from '../../../lib/live-relay';
import { openStream } from '../../../lib/session-registry';
import { currentSession, unauthenticated } from '../../../lib/session-server';

/*
 * GET /api/live?service=ns/name&node=&client=&verdict= — Server-Sent Events: `flows` (batches of rows), `status`,
 * `hub-error`. The browser's EventSource reconnects by itself; the relay to the hub ends when the browser leaves.
 * A session may hold NATLENS_DASHBOARD_MAX_STREAMS streams at once (each is a socket.io connection to the hub);
 * one more gets 429.
 */
export const dynamic = 'force-dynamic';
export const runtime = 'nodejs';

export async function GET(request: Request): Promise<Response> {
  const session = await currentSession();
  if (!session) return unauthenticated();
  const max = authConfig().maxStreamsPerSession;
  const release = openStream(session.sid, max);
  if (!release) {
    return Response.json(
      { status: 429, code: 'too-many-streams', message: `this session already has ${max} live streams open (NATLENS_DASHBOARD_MAX_STREAMS); close a Live tab and try again` },
      { status: 429, headers: { 'Retry-After': '5' } },
    );
  }
  const params = new URL(request.url).searchParams;
  const filter = {
    ...(params.get('service') ? { service: params.get('service') as string } : {}),
    ...(params.get('node') ? { node: params.get('node') as string } : {}),
    ...(params.get('client') ? { client: params.get('client') as string } : {}),
    ...(params.get('verdict') ? { verdict: params.get('verdict') as string } : {}),
  };
  const encoder = new TextEncoder();
  let stop: (() => void) | undefined;
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      const send = (event: LiveEvent) => {
        try {
          controller.enqueue(encoder.encode(`event: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`));
        } catch {
          cleanup();
        }
      };
      const cleanup = () => {
        stop?.();
        release();
        if (heartbeat) clearInterval(heartbeat);
      };
      request.signal.addEventListener('abort', cleanup);
      // a comment line every 15 s keeps proxies from closing an idle stream
      heartbeat = setInterval(() => {
        try {
          controller.enqueue(encoder.encode(': keep-alive\n\n'));
        } catch {
          cleanup();
        }
      }, 15_000);
      try {
        stop = startLiveRelay(hubConfigFor(session), filter, send);
      } catch (err) {
        const message = err instanceof HubConfigError ? err.message : (err as Error).message;
        send({ type: 'hub-error', data: { message } });
      }
    },
    cancel() {
      stop?.();
      release();
      if (heartbeat) clearInterval(heartbeat);
    },
  });
  return new Response(stream, { headers: { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache, no-transform', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' } });
}
