import type { FlowsResponse, HubErrorBody, NodesResponse, ServiceEvidence, ServicesResponse } from './api-types';
import { type HubConfig, hubConfigFor, HubConfigError } from './hub-config';
import { currentSession } from './session-server';

/*
 * Server-side reads from the hub (server components and the /api/hub proxy), with the token of the request's
 * session (or an explicit one: the live relay). Errors are HubError, never swallowed.
 */

export class HubError extends Error {
  constructor(readonly body: HubErrorBody) {
    super(body.message);
  }
}

const TIMEOUT_MS = 15_000;

/** GET a hub path (with its query string); the hub's answer as-is, or a HubError with the hub's own code. */
export async function hubGet<T>(pathAndQuery: string, auth?: HubConfig): Promise<T> {
  const res = await hubFetch(pathAndQuery, auth);
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new HubError({ status: 502, code: 'hub-bad-response', message: `the hub answered ${res.status} with something that is not JSON: ${text.slice(0, 200)}` });
  }
  if (!res.ok) {
    const err = body as Partial<HubErrorBody>;
    throw new HubError({ status: res.status, code: err.code ?? 'hub-error', message: err.message ?? `the hub answered ${res.status}` });
  }
  return body as T;
}

/** The hub address and token for the request being served: its session's (401 HubError without one). */
export async function sessionHubConfig(): Promise<HubConfig> {
  const session = await currentSession();
  if (!session) throw new HubError({ status: 401, code: 'sign-in-required', message: 'sign in to the dashboard first (/signin, with a natlens read token)' });
  try {
    return hubConfigFor(session);
  } catch (err) {
    if (err instanceof HubConfigError) throw new HubError({ status: 500, code: 'dashboard-config', message: err.message });
    throw err;
  }
}

/** The raw response, for the proxy route; connection problems become a HubError saying where the hub was looked for. */
export async function hubFetch(pathAndQuery: string, auth?: HubConfig): Promise<Response> {
  const config = auth ?? (await sessionHubConfig());
  try {
    return await fetch(`${config.url}${pathAndQuery}`, {
      headers: { Authorization: `Bearer ${config.token}`, Accept: 'application/json' },
      cache: 'no-store',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (err) {
    const reason = (err as Error & { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new HubError({ status: 502, code: 'hub-unreachable', message: `cannot reach the hub at ${config.url} (${reason}); is it running? Set NATLENS_HUB_URL on the dashboard server` });
  }
}

export function windowQuery(window: { from: number; to: number }): string {
  return `from=${Math.round(window.from)}&to=${Math.round(window.to)}`;
}

export const hub = {
  services: (window: { from: number; to: number }) => hubGet<ServicesResponse>(`/api/services?${windowQuery(window)}`),
  evidence: (namespace: string, name: string, window: { from: number; to: number }) =>
    hubGet<ServiceEvidence>(`/api/services/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}/evidence?${windowQuery(window)}`),
  flows: (query: Record<string, string>) => hubGet<FlowsResponse>(`/api/flows?${new URLSearchParams(query).toString()}`),
  nodes: () => hubGet<NodesResponse>('/api/nodes'),
};

export function asHubError(err: unknown): HubErrorBody {
  if (err instanceof HubError) return err.body;
  return { status: 500, code: 'dashboard-error', message: (err as Error)?.message ?? String(err) };
}
