/*
 * The agent's local API over its Unix socket, for the benchmarks: GET, /metrics parsed into a map, sums and deltas.
 */
import * as http from 'node:http';

export function apiGet(socketPath: string, urlPath: string, timeoutMs = 30_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, path: urlPath, method: 'GET', timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${urlPath}: timeout`)));
    req.on('error', reject);
    req.end();
  });
}

export type Metrics = Map<string, number>;

export async function readMetrics(socket: string): Promise<Metrics> {
  const res = await apiGet(socket, '/metrics');
  if (res.status !== 200) throw new Error(`GET /metrics: HTTP ${res.status}`);
  const out: Metrics = new Map();
  for (const line of res.body.split('\n')) {
    if (!line.startsWith('natlens_agent_')) continue;
    const m = /^(\S+?)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (m) out.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return out;
}

/** Sum of a metric over every label set whose labels include `labels` (e.g. 'kind="new"'). */
export function metric(m: Metrics, name: string, labels?: string): number {
  let sum = 0;
  for (const [key, value] of m) {
    const brace = key.indexOf('{');
    const keyName = brace < 0 ? key : key.slice(0, brace);
    if (keyName !== name) continue;
    if (labels && !key.includes(labels)) continue;
    sum += value;
  }
  return sum;
}

export async function healthz<T>(socket: string): Promise<T> {
  const res = await apiGet(socket, '/healthz', 5000);
  return JSON.parse(res.body) as T;
}
