import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { rootCertificates } from 'node:tls';

/** Where the hub is: http(s)://host:port, or unix:/path/to/hub.sock (lab agents reach the hub without any route). */
export interface HubEndpoint {
  url: string;
  token?: string;
  /** PEM CA bundle to verify an https:// hub with (besides Node's default roots). */
  ca?: string;
}

export interface HubResponse {
  status: number;
  body: string;
}

const REQUEST_TIMEOUT_MS = 15_000;

/** `body`: JSON text, or its UTF-8 bytes (a spooled batch: encoded once, for the disk and the socket alike). */
export function postJson(endpoint: HubEndpoint, path: string, body: string | Buffer): Promise<HubResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { 'Content-Type': 'application/json', 'Content-Length': typeof body === 'string' ? Buffer.byteLength(body) : body.length };
    if (endpoint.token) headers['Authorization'] = `Bearer ${endpoint.token}`;
    let req;
    if (endpoint.url.startsWith('unix:')) {
      req = httpRequest({ socketPath: endpoint.url.slice('unix:'.length), path, method: 'POST', headers, timeout: REQUEST_TIMEOUT_MS });
    } else {
      const url = new URL(path, endpoint.url);
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      req = url.protocol === 'https:' && endpoint.ca ? httpsRequest(url, { method: 'POST', headers, timeout: REQUEST_TIMEOUT_MS, ca: [...rootCertificates, endpoint.ca] }) : send(url, { method: 'POST', headers, timeout: REQUEST_TIMEOUT_MS });
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

/** What one delivery attempt of a spooled batch came to. */
export type DeliveryOutcome =
  | { kind: 'sent' }
  /** The receiver will never accept this batch: it is dropped and its records counted as lost. */
  | { kind: 'rejected'; detail: string }
  /** The receiver refused the batch for its size (HTTP 413): smaller batches of the same records may pass. */
  | { kind: 'too-large'; detail: string }
  /** Try again later; `reason` labels the failure metric, `hint` says what the operator can do. */
  | { kind: 'retry'; reason: string; detail: string; hint?: string };

/** A spooled batch on its way: `id` is stable across retries and restarts, so the receiver can de-duplicate. */
export interface SpooledBatch {
  readonly id: string;
  readonly node: string;
  /** The batch as JSON, in UTF-8 bytes (or text). */
  readonly body: string | Buffer;
}

/** How batches and node reports leave the agent: HTTP to the hub, or NATS JetStream (nats-hub-client.ts). */
export interface HubTransport {
  /** Where batches go, for logs and /healthz (no credentials). */
  readonly target: string;
  deliver(batch: SpooledBatch): Promise<DeliveryOutcome>;
  /**
   * Sends one node report (a NodeReport as JSON). Reports are not spooled: each replaces the last, so a failed one is
   * simply superseded by the next; `rejected` means the receiver will not take reports of this shape.
   */
  sendNodeReport(node: string, at: number, body: string): Promise<DeliveryOutcome>;
  close(): Promise<void>;
}

/** The hub answers with a status; only some mean "this batch will never be accepted" (413: not at this size). */
function isPermanentRejection(status: number): boolean {
  return status === 400 || status === 413 || status === 422;
}

/** `POST /api/ingest` (record batches) and `POST /api/nodes/report` (node reports) with the bearer token. */
export class HttpHubClient implements HubTransport {
  static readonly INGEST_PATH = '/api/ingest';
  static readonly NODE_REPORT_PATH = '/api/nodes/report';

  constructor(private readonly endpoint: HubEndpoint) {}

  get target(): string {
    return this.endpoint.url;
  }

  async deliver(batch: SpooledBatch): Promise<DeliveryOutcome> {
    let res: HubResponse;
    try {
      res = await postJson(this.endpoint, HttpHubClient.INGEST_PATH, batch.body);
    } catch (err) {
      return { kind: 'retry', reason: 'network', detail: (err as Error).message };
    }
    if (res.status >= 200 && res.status < 300) return { kind: 'sent' };
    const detail = `HTTP ${res.status}: ${res.body.slice(0, 300)}`;
    if (res.status === 413) return { kind: 'too-large', detail };
    if (isPermanentRejection(res.status)) return { kind: 'rejected', detail };
    const hint = res.status === 401 || res.status === 403 ? "the hub refused our token: set NATLENS_HUB_TOKEN or --hub-token-file to the hub's ingest token" : undefined;
    return { kind: 'retry', reason: `http-${res.status}`, detail, ...(hint ? { hint } : {}) };
  }

  async sendNodeReport(_node: string, _at: number, body: string): Promise<DeliveryOutcome> {
    let res: HubResponse;
    try {
      res = await postJson(this.endpoint, HttpHubClient.NODE_REPORT_PATH, body);
    } catch (err) {
      return { kind: 'retry', reason: 'network', detail: (err as Error).message };
    }
    if (res.status >= 200 && res.status < 300) return { kind: 'sent' };
    const detail = `HTTP ${res.status}: ${res.body.slice(0, 300)}`;
    // A hub older than node reports has no such route: its records still arrive, only the reports cannot.
    if (res.status === 404) return { kind: 'rejected', detail: `${detail} (the hub is older than this agent and takes no node reports; upgrade it to see observed health checks and node addresses)` };
    if (isPermanentRejection(res.status)) return { kind: 'rejected', detail };
    const hint = res.status === 401 || res.status === 403 ? "the hub refused our token: set NATLENS_HUB_TOKEN or --hub-token-file to the hub's ingest token" : undefined;
    return { kind: 'retry', reason: `http-${res.status}`, detail, ...(hint ? { hint } : {}) };
  }

  async close(): Promise<void> {
    // one request per delivery: nothing stays open
  }
}
