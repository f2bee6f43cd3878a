import { request } from 'node:http';

/*
 * The lab's traffic generator: N real TCP connections, each carrying one HTTP request with `Connection: close`
 * (a fresh 5-tuple, hence a fresh conntrack entry, every time), at most C at once. A connection that gets no
 * answer within the timeout (a SYN dropped by a node without local endpoints) counts as failed.
 */
export interface TrafficConfig {
  host: string;
  port: number;
  connections: number;
  concurrency: number;
  timeoutMs: number;
}

export interface TrafficResult {
  made: number;
  succeeded: number;
  failed: number;
  /** Which pod answered, from the echo server's Hostname line. */
  servedBy: Record<string, number>;
  /** The client address each answer reported. */
  seen: Record<string, number>;
  errors: Record<string, number>;
}

function once(config: TrafficConfig): Promise<{ pod: string; client: string } | { error: string }> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (value: { pod: string; client: string } | { error: string }) => {
      if (!settled) {
        settled = true;
        resolve(value);
      }
    };
    const req = request(
      { host: config.host, port: config.port, path: '/', agent: false, headers: { Connection: 'close' }, timeout: config.timeoutMs },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          const pod = /^Hostname: (.*)$/m.exec(body)?.[1];
          const client = /client_address=(.*)$/m.exec(body)?.[1];
          if (res.statusCode === 200 && pod && client) finish({ pod, client });
          else finish({ error: `HTTP ${res.statusCode}` });
        });
        res.on('error', (err) => finish({ error: err.message }));
      },
    );
    req.on('timeout', () => {
      finish({ error: 'timeout' });
      req.destroy();
    });
    req.on('error', (err: NodeJS.ErrnoException) => finish({ error: err.code ?? err.message }));
    req.end();
  });
}

export async function runTraffic(config: TrafficConfig): Promise<TrafficResult> {
  const result: TrafficResult = { made: 0, succeeded: 0, failed: 0, servedBy: {}, seen: {}, errors: {} };
  let next = 0;
  const worker = async () => {
    while (next < config.connections) {
      next++;
      result.made++;
      const outcome = await once(config);
      if ('error' in outcome) {
        result.failed++;
        result.errors[outcome.error] = (result.errors[outcome.error] ?? 0) + 1;
      } else {
        result.succeeded++;
        result.servedBy[outcome.pod] = (result.servedBy[outcome.pod] ?? 0) + 1;
        result.seen[outcome.client] = (result.seen[outcome.client] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(config.concurrency, config.connections)) }, worker));
  return result;
}
