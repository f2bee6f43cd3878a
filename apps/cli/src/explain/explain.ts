import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';
import type { ServiceEvidence } from '@natlens/shared-analysis';
import { renderEvidence } from './render-evidence';

export interface ExplainFlags {
  hub?: string;
  tokenFile?: string;
  json?: boolean;
  from?: number;
  to?: number;
}

/** GET a hub path over http(s)://host:port or unix:/path/to/hub.sock. */
export function getJson(hub: string, path: string, token: string | undefined): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
    const req = hub.startsWith('unix:')
      ? httpRequest({ socketPath: hub.slice('unix:'.length), path, headers })
      : (new URL(hub).protocol === 'https:' ? httpsRequest : httpRequest)(new URL(path, hub), { headers });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
        } catch {
          reject(new Error(`the hub at ${hub} answered ${res.statusCode} with something that is not JSON`));
        }
      });
    });
    req.on('error', (err) => reject(new Error(`cannot reach the hub at ${hub}: ${err.message}; pass --hub URL`)));
    req.end();
  });
}

/** `natlens explain ns/name`: prints the Service's evidence and findings (or the JSON with --json). */
export async function runExplainCommand(service: string, flags: ExplainFlags, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const match = /^([^/\s]+)\/([^/\s]+)$/.exec(service);
  if (!match) throw new Error(`expected namespace/name, got "${service}"`);
  const hub = flags.hub ?? env['NATLENS_HUB'] ?? 'http://127.0.0.1:8470';
  const tokenFile = flags.tokenFile ?? env['NATLENS_HUB_TOKEN_FILE'];
  const token = tokenFile ? readFileSync(tokenFile, 'utf8').trim().split('\n')[0]?.trim() : env['NATLENS_HUB_TOKEN'];
  const query = new URLSearchParams();
  if (flags.from !== undefined) query.set('from', String(flags.from));
  if (flags.to !== undefined) query.set('to', String(flags.to));
  const path = `/api/services/${encodeURIComponent(match[1] ?? '')}/${encodeURIComponent(match[2] ?? '')}/evidence${query.size > 0 ? `?${query}` : ''}`;
  const res = await getJson(hub, path, token);
  if (res.status !== 200) {
    const error = res.body as { message?: string };
    throw new Error(`the hub answered ${res.status}: ${error.message ?? JSON.stringify(res.body)}`);
  }
  return flags.json ? `${JSON.stringify(res.body, null, 2)}\n` : renderEvidence(res.body as ServiceEvidence);
}
