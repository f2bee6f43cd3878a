import { request } from 'node:http';
import { isIPv6 } from 'node:net';
import { MAX_HEALTH_BODY_BYTES } from './health-check-body';

/** What one HTTP GET came to: an answer (any status), or no answer and why. */
export type ProbeResponse =
  | { readonly kind: 'answer'; readonly status: number; readonly body: string; readonly latencyMs: number }
  | { readonly kind: 'no-answer'; readonly error: string; readonly latencyMs: number };

/**
 * The health checks' only I/O: an HTTP GET to address:port/path with a deadline, as a load balancer sends it. A fresh
 * connection per probe (no keep-alive: a load balancer's check must prove the port still accepts connections), a
 * bounded body, and every failure (refused, reset, timeout) an answer of its own rather than an exception.
 */
export class HttpProbeRepository {
  get(address: string, port: number, path: string, timeoutMs: number): Promise<ProbeResponse> {
    const started = process.hrtime.bigint();
    const elapsed = () => Number(process.hrtime.bigint() - started) / 1e6;
    return new Promise((resolve) => {
      let settled = false;
      const settle = (response: ProbeResponse) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(response);
      };
      const req = request({ host: address, family: isIPv6(address) ? 6 : 4, port, path, method: 'GET', agent: false, headers: { 'User-Agent': 'natlens-agent health check', Connection: 'close' } }, (res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes <= MAX_HEALTH_BODY_BYTES + 1) chunks.push(chunk);
        });
        res.on('end', () => settle({ kind: 'answer', status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), latencyMs: elapsed() }));
        res.on('error', (err) => settle({ kind: 'no-answer', error: `the answer broke off: ${err.message}`, latencyMs: elapsed() }));
      });
      const timer = setTimeout(() => {
        settle({ kind: 'no-answer', error: `no answer within ${timeoutMs} ms`, latencyMs: elapsed() });
        req.destroy();
      }, timeoutMs);
      req.on('error', (err) => settle({ kind: 'no-answer', error: err.message, latencyMs: elapsed() }));
      req.end();
    });
  }
}
