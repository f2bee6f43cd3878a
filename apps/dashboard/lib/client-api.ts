import type { HubErrorBody } from './api-types';

/* Browser-side reads through the dashboard's own proxy (/api/hub/*): the hub token never reaches the browser. */

export class ClientHubError extends Error {
  constructor(readonly body: HubErrorBody) {
    super(body.message);
  }
}

export async function fetchHub<T>(pathAndQuery: string, signal?: AbortSignal): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`/api/hub${pathAndQuery}`, { cache: 'no-store', ...(signal ? { signal } : {}) });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ClientHubError({ status: 0, code: 'dashboard-unreachable', message: `the dashboard server did not answer (${(err as Error).message})` });
  }
  const body = (await res.json().catch(() => ({ status: res.status, code: 'bad-response', message: `HTTP ${res.status} without a JSON body` }))) as T | HubErrorBody;
  if (!res.ok) throw new ClientHubError(body as HubErrorBody);
  return body as T;
}

/** Runs `task` over `items` with at most `limit` in flight (the hub computes evidence per request). */
export async function mapLimit<I, O>(items: readonly I[], limit: number, task: (item: I) => Promise<O>): Promise<O[]> {
  const out: O[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await task(items[i] as I);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
