import { hubConfig, HubConfigError } from '../../../lib/hub-config';
import { type LiveEvent, startLiveRelay } from '../../../lib/live-relay';

/*
 * GET /api/live?service=ns/name&node=&client=&verdict= — Server-Sent Events: `flows` (batches of rows), `status`,
 * `hub-error`. The browser's EventSource reconnects by itself; the relay to the hub ends when the browser leaves.
 */
export const dynamic = 'force-dynamic';
export const runtime = 'nodejs';

export function GET(request: Request): Response {
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
        stop = startLiveRelay(hubConfig(), filter, send);
      } catch (err) {
        const message = err instanceof HubConfigError ? err.message : (err as Error).message;
        send({ type: 'hub-error', data: { message } });
      }
    },
    cancel() {
      stop?.();
      if (heartbeat) clearInterval(heartbeat);
    },
  });
  return new Response(stream, { headers: { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache, no-transform', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' } });
}
