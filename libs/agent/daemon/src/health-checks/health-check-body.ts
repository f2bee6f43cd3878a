/*
 * The bodies kube-proxy answers its health checks with (pkg/proxy/healthcheck), read without trusting them: a probe
 * may reach something else on that port (a stray server, a proxy's error page), and a body that is not kube-proxy's
 * must say so rather than throw or pass for one. Pure.
 *
 * On a Service's healthCheckNodePort (200 when localEndpoints > 0, else 503):
 *   {"service": {"namespace": "default", "name": "web"}, "localEndpoints": 2, "serviceProxyHealthy": true}
 * On the proxy's own /healthz (port 10256; 200 healthy, 503 not):
 *   {"lastUpdated": "2024-05-01T10:00:00Z", "currentTime": "2024-05-01T10:00:01Z", "nodeEligible": true}
 */

/** Bodies longer than this are not kube-proxy's (its are under 200 bytes). */
export const MAX_HEALTH_BODY_BYTES = 16 * 1024;

export type BodyReading<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problem: string };

export interface ServiceHealthBody {
  readonly localEndpoints: number;
  readonly service?: { readonly namespace: string; readonly name: string };
  readonly serviceProxyHealthy?: boolean;
}

export interface ProxyHealthBody {
  readonly lastUpdated?: string;
  readonly currentTime?: string;
  readonly nodeEligible?: boolean;
}

function parseObject(text: string): BodyReading<Record<string, unknown>> {
  if (text.length > MAX_HEALTH_BODY_BYTES) return { ok: false, problem: `the body is ${text.length} bytes, not kube-proxy's short JSON` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    const start = text.slice(0, 40).replace(/\s+/g, ' ');
    return { ok: false, problem: `the body is not JSON (starts with ${JSON.stringify(start)})` };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { ok: false, problem: 'the body is JSON but not an object' };
  return { ok: true, value: parsed as Record<string, unknown> };
}

const shortString = (value: unknown): string | undefined => (typeof value === 'string' && value.length <= 64 ? value : undefined);

/** The answer on a healthCheckNodePort: `localEndpoints` must be a whole number ≥ 0; the rest is kept when well-formed. */
export function parseServiceHealthBody(text: string): BodyReading<ServiceHealthBody> {
  const object = parseObject(text);
  if (!object.ok) return object;
  const { localEndpoints, service, serviceProxyHealthy } = object.value;
  if (typeof localEndpoints !== 'number' || !Number.isSafeInteger(localEndpoints) || localEndpoints < 0) {
    return { ok: false, problem: `"localEndpoints" is ${localEndpoints === undefined ? 'missing' : `not a count (${JSON.stringify(localEndpoints)?.slice(0, 20)})`}` };
  }
  const ref = typeof service === 'object' && service !== null ? (service as Record<string, unknown>) : undefined;
  const namespace = shortString(ref?.['namespace']);
  const name = shortString(ref?.['name']);
  return {
    ok: true,
    value: {
      localEndpoints,
      ...(namespace !== undefined && name !== undefined ? { service: { namespace, name } } : {}),
      ...(typeof serviceProxyHealthy === 'boolean' ? { serviceProxyHealthy } : {}),
    },
  };
}

/** The answer on kube-proxy's /healthz: every field is optional (older releases send fewer), but it must be an object. */
export function parseProxyHealthBody(text: string): BodyReading<ProxyHealthBody> {
  const object = parseObject(text);
  if (!object.ok) return object;
  const lastUpdated = shortString(object.value['lastUpdated']);
  const currentTime = shortString(object.value['currentTime']);
  const nodeEligible = object.value['nodeEligible'];
  return {
    ok: true,
    value: {
      ...(lastUpdated !== undefined ? { lastUpdated } : {}),
      ...(currentTime !== undefined ? { currentTime } : {}),
      ...(typeof nodeEligible === 'boolean' ? { nodeEligible } : {}),
    },
  };
}
