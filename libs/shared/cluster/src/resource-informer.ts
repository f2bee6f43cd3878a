import type { KubernetesObject, ListWatch } from '@kubernetes/client-node';
import type { KubeObject } from '@natlens/shared-model';
import type { Logger } from 'pino';
import { backoffDelay, type BackoffPolicy } from './backoff';
import { guardWatch } from './guarded-watch';
import type { KubeClientModule, KubeConfig } from './kube-client';
import { toKubeObject } from './kube-object-convert';
import type { KubeResource, KubeResourceName } from './kube-resources';

export interface ResourceInformerStatus {
  readonly resource: KubeResourceName;
  /** The first list has been applied. */
  readonly synced: boolean;
  readonly objects: number;
  /** Objects (or events) skipped because they did not validate. */
  readonly invalidObjects: number;
  /** Full lists fetched: 1 at start, one more per resync (after 410 Gone or a lost resourceVersion). */
  readonly lists: number;
  /** Watches opened, initial one included. */
  readonly watches: number;
  /** Restarts after errors (each after a backoff delay). */
  readonly restarts: number;
  readonly lastError?: string;
}

export interface ResourceInformerOptions {
  readonly logger: Logger;
  readonly backoff: BackoffPolicy;
  /** Called after every change to the validated objects. */
  readonly onChange: () => void;
}

function cacheKey(object: { metadata?: { namespace?: string; name?: string } }): string {
  return `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
}

/** What went wrong talking to the API server, in words that say what to check. */
export function describeKubeError(error: unknown, resource: KubeResource): string {
  const { code, statusCode, message } = (error ?? {}) as { code?: unknown; statusCode?: unknown; message?: unknown };
  const status = typeof code === 'number' ? code : typeof statusCode === 'number' ? statusCode : undefined;
  if (status === 401) return `${resource.path}: HTTP 401 Unauthorized: the API server refused the credentials`;
  if (status === 403) return `${resource.path}: HTTP 403 Forbidden: grant the service account list and watch on ${resource.name}`;
  if (status !== undefined) return `${resource.path}: HTTP ${status}`;
  return `${resource.path}: ${typeof message === 'string' ? message : String(error)}`;
}

/**
 * One collection (nodes, pods, services or endpointslices) kept current by the client's ListWatch informer
 * (list, then watch from the list's resourceVersion; re-watch when the server closes the stream; re-list on
 * 410 Gone). What the informer leaves to us: validating each object (a bad one is skipped, counted and logged,
 * never fatal) and restarting after an error, which the informer only reports, with a growing delay.
 */
export class ResourceInformer {
  private readonly objects = new Map<string, KubeObject>();
  private readonly informer: ListWatch<KubernetesObject>;
  private readonly logger: Logger;
  private counters = { invalidObjects: 0, lists: 0, watches: 0, restarts: 0 };
  private synced = false;
  private stopped = false;
  private lastError?: string;
  private consecutiveFailures = 0;
  private restartTimer?: NodeJS.Timeout;
  private readonly syncWaiters: (() => void)[] = [];

  constructor(
    private readonly resource: KubeResource,
    client: KubeClientModule,
    config: KubeConfig,
    private readonly options: ResourceInformerOptions,
  ) {
    this.logger = options.logger.child({ resource: resource.name });
    const watch = guardWatch(new client.Watch(config), {
      isStopped: () => this.stopped,
      onWatchOpening: (resourceVersion) => this.watchOpening(resourceVersion),
      onEvent: () => this.succeeded(),
      onErrorStatus: (status) => this.logger.info({ status }, 'the API server ended the watch with an error status'),
      onMalformed: (reason) => this.skip(reason),
    });
    // makeInformer would build its own Watch; ListWatch is what it returns, built here around the guarded one.
    this.informer = new client.ListWatch(resource.path, watch, () => this.list(client, config), false);
    this.informer.on('add', (object) => this.apply(object));
    this.informer.on('update', (object) => this.apply(object));
    this.informer.on('delete', (object) => this.remove(object));
    this.informer.on('error', (error) => this.failed(error));
  }

  /** Starts listing and watching; resolves once the first list is applied. Errors are retried, not thrown. */
  start(): Promise<void> {
    this.stopped = false;
    const synced = this.whenSynced();
    this.informer.start().catch((error: unknown) => this.failed(error));
    return synced;
  }

  whenSynced(): Promise<void> {
    return this.synced ? Promise.resolve() : new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    await this.informer.stop();
  }

  /** The valid objects, in no particular order. */
  current(): KubeObject[] {
    return [...this.objects.values()];
  }

  status(): ResourceInformerStatus {
    return {
      resource: this.resource.name,
      synced: this.synced,
      objects: this.objects.size,
      ...this.counters,
      ...(this.lastError === undefined ? {} : { lastError: this.lastError }),
    };
  }

  private async list(client: KubeClientModule, config: KubeConfig): Promise<{ metadata?: { resourceVersion?: string }; items: KubernetesObject[] }> {
    const response = await this.resource.list(client, config);
    this.counters.lists += 1;
    this.succeeded();
    const items: KubernetesObject[] = [];
    for (const item of response.items ?? []) {
      // The informer files list items by metadata.name before any callback of ours runs; without one it throws.
      if (typeof item?.metadata?.name !== 'string') {
        this.skip(`${this.resource.kind} list item without metadata.name`);
        continue;
      }
      // List items come without kind and apiVersion (the API server leaves them out; the list has them).
      items.push(Object.assign(item, { kind: item.kind ?? this.resource.kind, apiVersion: item.apiVersion ?? this.resource.apiVersion }));
    }
    return { metadata: { resourceVersion: response.metadata?.resourceVersion ?? '' }, items };
  }

  private apply(raw: KubernetesObject): void {
    const result = toKubeObject(this.resource.kind, raw);
    const key = cacheKey(raw);
    if (result.ok) {
      this.objects.set(key, result.object);
      this.options.onChange();
      return;
    }
    this.skip(result.reason);
    // The previous version is no longer what the cluster holds; answering from it would be answering wrong.
    if (this.objects.delete(key)) this.options.onChange();
  }

  private remove(raw: KubernetesObject): void {
    if (this.objects.delete(cacheKey(raw))) this.options.onChange();
  }

  private skip(reason: string): void {
    this.counters.invalidObjects += 1;
    this.logger.warn({ reason }, `skipped an invalid ${this.resource.kind}`);
  }

  private watchOpening(resourceVersion: string | undefined): void {
    this.counters.watches += 1;
    this.logger.debug({ resourceVersion }, 'watching');
    if (this.synced) return;
    this.synced = true;
    for (const resolve of this.syncWaiters.splice(0)) resolve();
  }

  private succeeded(): void {
    this.consecutiveFailures = 0;
    this.lastError = undefined;
  }

  private failed(error: unknown): void {
    if (this.stopped) return;
    this.consecutiveFailures += 1;
    this.lastError = describeKubeError(error, this.resource);
    if (this.restartTimer !== undefined) return;
    const delay = backoffDelay(this.consecutiveFailures, this.options.backoff);
    this.logger.warn({ err: error, retryInMs: delay }, `lost ${this.resource.name}: ${this.lastError}`);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopped) return;
      this.counters.restarts += 1;
      // From the last resourceVersion if the informer still has one (a re-watch), else a fresh list.
      this.informer.start().catch((restartError: unknown) => this.failed(restartError));
    }, delay);
  }
}
