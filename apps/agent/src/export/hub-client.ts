import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** Where the hub is: http(s)://host:port, or unix:/path/to/hub.sock (lab agents reach the hub without any route). */
export interface HubEndpoint {
  url: string;
  token?: string;
}

export interface HubResponse {
  status: number;
  body: string;
}

const REQUEST_TIMEOUT_MS = 15_000;

export function postJson(endpoint: HubEndpoint, path: string, body: string): Promise<HubResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) };
    if (endpoint.token) headers['Authorization'] = `Bearer ${endpoint.token}`;
    let req;
    if (endpoint.url.startsWith('unix:')) {
      req = httpRequest({ socketPath: endpoint.url.slice('unix:'.length), path, method: 'POST', headers, timeout: REQUEST_TIMEOUT_MS });
    } else {
      const url = new URL(path, endpoint.url);
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      req = send(url, { method: 'POST', headers, timeout: REQUEST_TIMEOUT_MS });
    }
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk.length + text.length > 65_536 ? '' : chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from the hub within ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}
