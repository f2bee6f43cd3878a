import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { KubeConfigOptions } from '../kube-client';
import type { KubeResourceName } from '../kube-resources';

/*
 * A stand-in for kube-apiserver's list and watch endpoints of the collections natlens reads, speaking the
 * real wire format over real HTTP so the real @kubernetes/client-node informers run against it unmodified:
 * - GET <collection> → a typed list (`NodeList`, …) with metadata.resourceVersion; items without kind/apiVersion.
 * - GET <collection>?watch=true&resourceVersion=N → a chunked stream of `{"type","object"}` lines: every change
 *   after N from the history, then live changes. N older than the retained history → an ERROR event with a 410
 *   Expired Status and the end of the stream (or a plain HTTP 410, `goneAs: 'status'`), as etcd compaction causes.
 * Tests change objects, break streams, expire history and inject failures; every request is recorded.
 */

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface KubeApiObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; [field: string]: unknown };
  [field: string]: unknown;
}

export interface KubeApiList {
  kind: string;
  apiVersion: string;
  metadata: { resourceVersion: string };
  items: KubeApiObject[];
}

export interface RecordedRequest {
  readonly resource: KubeResourceName;
  readonly watch: boolean;
  readonly resourceVersion?: string;
}

const COLLECTIONS: Readonly<Record<KubeResourceName, { path: string; kind: string; apiVersion: string }>> = {
  nodes: { path: '/api/v1/nodes', kind: 'Node', apiVersion: 'v1' },
  pods: { path: '/api/v1/pods', kind: 'Pod', apiVersion: 'v1' },
  services: { path: '/api/v1/services', kind: 'Service', apiVersion: 'v1' },
  endpointslices: { path: '/apis/discovery.k8s.io/v1/endpointslices', kind: 'EndpointSlice', apiVersion: 'discovery.k8s.io/v1' },
  replicasets: { path: '/apis/apps/v1/replicasets', kind: 'ReplicaSet', apiVersion: 'apps/v1' },
  deployments: { path: '/apis/apps/v1/deployments', kind: 'Deployment', apiVersion: 'apps/v1' },
  statefulsets: { path: '/apis/apps/v1/statefulsets', kind: 'StatefulSet', apiVersion: 'apps/v1' },
  daemonsets: { path: '/apis/apps/v1/daemonsets', kind: 'DaemonSet', apiVersion: 'apps/v1' },
};
const RESOURCE_NAMES = Object.keys(COLLECTIONS) as KubeResourceName[];

/** The seeds lab as the API server lists it (src/fixtures/api-server, see the README there). */
export function recordedLabLists(): Record<KubeResourceName, KubeApiList> {
  const load = (name: KubeResourceName): KubeApiList => JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'api-server', `${name}.json`), 'utf8')) as KubeApiList;
  return Object.fromEntries(RESOURCE_NAMES.map((name) => [name, load(name)])) as Record<KubeResourceName, KubeApiList>;
}

function objectKey(object: KubeApiObject): string {
  return `${object.metadata.namespace ?? ''}/${object.metadata.name}`;
}

function status(code: number, reason: string, message: string): object {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

interface OpenWatch {
  readonly resource: KubeResourceName;
  readonly response: ServerResponse;
}

export class KubeApiReplayServer {
  /** Requests in arrival order. */
  readonly requests: RecordedRequest[] = [];
  /** How a watch from an expired resourceVersion is refused: as the API server does (an ERROR event), or HTTP 410. */
  goneAs: 'event' | 'status' = 'event';
  private readonly objects = new Map<KubeResourceName, Map<string, KubeApiObject>>();
  private readonly history: { resourceVersion: number; resource: KubeResourceName; type: WatchEventType; object: KubeApiObject }[] = [];
  private readonly watches = new Set<OpenWatch>();
  private readonly failures: { resource: KubeResourceName; watch: boolean; status: number }[] = [];
  private resourceVersion = 0;
  /** Watches from a resourceVersion below this are answered 410 Gone. */
  private oldestResourceVersion = 0;

  private readonly server: Server;
  private address = '';

  private constructor(lists: Partial<Record<KubeResourceName, KubeApiList>>) {
    this.server = createServer((request, response) => this.handle(request, response));
    for (const resource of RESOURCE_NAMES) {
      const stored = new Map<string, KubeApiObject>();
      for (const item of lists[resource]?.items ?? []) {
        const object = { ...structuredClone(item), apiVersion: COLLECTIONS[resource].apiVersion, kind: COLLECTIONS[resource].kind };
        stored.set(objectKey(object), object);
        this.resourceVersion = Math.max(this.resourceVersion, Number(item.metadata.resourceVersion ?? 0));
      }
      this.resourceVersion = Math.max(this.resourceVersion, Number(lists[resource]?.metadata.resourceVersion ?? 0));
      this.objects.set(resource, stored);
    }
    this.oldestResourceVersion = this.resourceVersion;
  }

  /** Listens on 127.0.0.1 on a free port, serving the given lists (default: the recorded seeds lab). */
  static async start(lists: Partial<Record<KubeResourceName, KubeApiList>> = recordedLabLists()): Promise<KubeApiReplayServer> {
    const replay = new KubeApiReplayServer(lists);
    await new Promise<void>((resolve) => replay.server.listen(0, '127.0.0.1', resolve));
    replay.address = `http://127.0.0.1:${(replay.server.address() as AddressInfo).port}`;
    return replay;
  }

  /** `http://127.0.0.1:PORT` */
  get url(): string {
    return this.address;
  }

  /** A kubeconfig for this server, for `KubeConfig.loadFromOptions` or `{ kind: 'options', options }`. */
  kubeConfigOptions(): KubeConfigOptions {
    return {
      clusters: [{ name: 'replay', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'replay', token: 'replay-token' }],
      contexts: [{ name: 'replay', cluster: 'replay', user: 'replay' }],
      currentContext: 'replay',
    };
  }

  /** Applies a change and streams it to the open watches of the collection; returns the new resourceVersion. */
  change(resource: KubeResourceName, type: WatchEventType, object: KubeApiObject): string {
    this.resourceVersion += 1;
    const { kind, apiVersion } = COLLECTIONS[resource];
    const stored: KubeApiObject = { ...structuredClone(object), apiVersion, kind };
    stored.metadata.resourceVersion = String(this.resourceVersion);
    const collection = this.objects.get(resource) ?? new Map<string, KubeApiObject>();
    if (type === 'DELETED') collection.delete(objectKey(stored));
    else collection.set(objectKey(stored), stored);
    this.history.push({ resourceVersion: this.resourceVersion, resource, type, object: stored });
    this.broadcast(resource, JSON.stringify({ type, object: stored }));
    return String(this.resourceVersion);
  }

  /** A stored object (a copy), to change and send back. */
  get(resource: KubeResourceName, namespace: string | undefined, name: string): KubeApiObject {
    const object = this.objects.get(resource)?.get(`${namespace ?? ''}/${name}`);
    if (object === undefined) throw new Error(`the replay server holds no ${resource} ${namespace ?? ''}/${name}`);
    return structuredClone(object);
  }

  /** Writes a raw line to the open watches of a collection (malformed events); it is not stored or replayed. */
  sendRaw(resource: KubeResourceName, line: string): void {
    this.broadcast(resource, line);
  }

  /**
   * Breaks the open watch streams: `end` closes them cleanly (as the API server does at its watch timeout),
   * `destroy` drops the connection mid-stream (a network failure). Returns how many were broken.
   */
  breakWatches(how: 'end' | 'destroy', resource?: KubeResourceName): number {
    let broken = 0;
    for (const watch of [...this.watches]) {
      if (resource !== undefined && watch.resource !== resource) continue;
      this.watches.delete(watch);
      if (how === 'end') watch.response.end();
      else watch.response.socket?.destroy();
      broken += 1;
    }
    return broken;
  }

  /**
   * Forgets the history, as etcd compaction does: a watch from any resourceVersion handed out so far gets 410 Gone.
   * The store moves on one version (as the unrelated writes behind a compaction would), so a fresh list can watch.
   */
  expireHistory(): void {
    this.history.length = 0;
    this.resourceVersion += 1;
    this.oldestResourceVersion = this.resourceVersion;
  }

  /** Answers the next list (or watch) request of a collection with an HTTP error Status. */
  failNext(resource: KubeResourceName, request: 'list' | 'watch', httpStatus: number): void {
    this.failures.push({ resource, watch: request === 'watch', status: httpStatus });
  }

  openWatches(resource?: KubeResourceName): number {
    return [...this.watches].filter((watch) => resource === undefined || watch.resource === resource).length;
  }

  currentResourceVersion(): string {
    return String(this.resourceVersion);
  }

  async stop(): Promise<void> {
    for (const watch of this.watches) watch.response.end();
    this.watches.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', this.url);
    const resource = RESOURCE_NAMES.find((name) => COLLECTIONS[name].path === url.pathname);
    if (request.method !== 'GET' || resource === undefined) {
      this.reply(response, 404, status(404, 'NotFound', `the replay server does not serve ${request.method} ${url.pathname}`));
      return;
    }
    const watch = url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1';
    const resourceVersion = url.searchParams.get('resourceVersion') ?? undefined;
    this.requests.push({ resource, watch, ...(resourceVersion === undefined ? {} : { resourceVersion }) });
    const failure = this.failures.findIndex((f) => f.resource === resource && f.watch === watch);
    if (failure >= 0) {
      const [{ status: code } = { status: 500 }] = this.failures.splice(failure, 1);
      this.reply(response, code, status(code, 'InternalError', 'injected by the replay server'));
    } else if (watch) {
      this.serveWatch(resource, resourceVersion, response);
    } else {
      this.serveList(resource, response);
    }
  }

  private serveList(resource: KubeResourceName, response: ServerResponse): void {
    const { kind, apiVersion } = COLLECTIONS[resource];
    const items = [...(this.objects.get(resource)?.values() ?? [])]
      .sort((a, b) => (objectKey(a) < objectKey(b) ? -1 : 1))
      .map(({ kind: _kind, apiVersion: _apiVersion, ...item }) => item);
    this.reply(response, 200, { kind: `${kind}List`, apiVersion, metadata: { resourceVersion: String(this.resourceVersion) }, items });
  }

  private serveWatch(resource: KubeResourceName, from: string | undefined, response: ServerResponse): void {
    const since = Number(from ?? this.resourceVersion);
    const expired = from !== undefined && from !== '' && from !== '0' && since < this.oldestResourceVersion;
    const gone = status(410, 'Expired', `too old resource version: ${from ?? ''} (${this.oldestResourceVersion})`);
    if (expired && this.goneAs === 'status') {
      this.reply(response, 410, gone);
      return;
    }
    response.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    response.flushHeaders();
    if (expired) {
      response.end(`${JSON.stringify({ type: 'ERROR', object: gone })}\n`);
      return;
    }
    for (const event of this.history) {
      if (event.resource === resource && event.resourceVersion > since) response.write(`${JSON.stringify({ type: event.type, object: event.object })}\n`);
    }
    const open = { resource, response };
    this.watches.add(open);
    response.on('close', () => this.watches.delete(open));
  }

  private broadcast(resource: KubeResourceName, line: string): void {
    for (const watch of this.watches) if (watch.resource === resource) watch.response.write(`${line}\n`);
  }

  private reply(response: ServerResponse, code: number, body: object): void {
    response.writeHead(code, { 'Content-Type': 'application/json' });
    response.end(JSON.stringify(body));
  }
}
