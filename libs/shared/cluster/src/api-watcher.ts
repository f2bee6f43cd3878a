import type { Logger } from 'pino';
import { type BackoffPolicy, DEFAULT_BACKOFF } from './backoff';
import { ClusterIndex } from './cluster-index';
import type { ClusterIndexListener, ClusterMetadataSource, ClusterMetadataStatus } from './cluster-metadata-source';
import { IndexListeners } from './index-listeners';
import { type KubeConfig, type KubeConfigSource, loadKubeClient, loadKubeConfig } from './kube-client';
import { KUBE_RESOURCES, WORKLOAD_RESOURCES } from './kube-resources';
import { ResourceInformer, type ResourceInformerStatus } from './resource-informer';
import { silentLogger } from './silent-logger';

export interface KubeApiWatcherOptions {
  /** Where to find the API server: a source to load, or a KubeConfig already loaded. */
  readonly kubeConfig: KubeConfigSource | KubeConfig;
  readonly logger?: Logger;
  /** Quiet time after a change before the index is rebuilt, so a rollout's burst of events costs one build (ms). Default 100. */
  readonly debounceMs?: number;
  /** Retry delays after a lost connection or a failed list. Default 1 s doubling to 30 s. */
  readonly backoff?: BackoffPolicy;
  /** How long `start` waits for the first list of every collection before it gives up (ms). Default 60 000. */
  readonly syncTimeoutMs?: number;
  /**
   * Also watch the apps/v1 workloads (replicasets, deployments, statefulsets, daemonsets) that own pods: the hub's
   * remedies name them. Needs list and watch on them. Default false (the agents map addresses only).
   */
  readonly workloads?: boolean;
}

function isKubeConfigSource(value: KubeConfigSource | KubeConfig): value is KubeConfigSource {
  return typeof (value as { kind?: unknown }).kind === 'string';
}

/**
 * Cluster metadata from the API server: one informer per collection (nodes, pods, services, endpointslices, and with
 * `workloads` replicasets, deployments, statefulsets, daemonsets; all namespaces), each keeping its valid objects; after the first full sync, any change rebuilds the index after a
 * short quiet time and swaps it in whole.
 */
export class KubeApiWatcher implements ClusterMetadataSource {
  private readonly logger: Logger;
  private readonly listeners: IndexListeners;
  private informers: ResourceInformer[] = [];
  private index = ClusterIndex.empty();
  private updatedAt?: number;
  private ready = false;
  private rebuildTimer?: NodeJS.Timeout;

  constructor(private readonly options: KubeApiWatcherOptions) {
    this.logger = (options.logger ?? silentLogger).child({ component: 'kube-api-watcher' });
    this.listeners = new IndexListeners(this.logger);
  }

  async start(): Promise<void> {
    if (this.informers.length > 0) throw new Error('KubeApiWatcher is already started; stop it first');
    const client = await loadKubeClient();
    const { kubeConfig } = this.options;
    const config = isKubeConfigSource(kubeConfig) ? await loadKubeConfig(kubeConfig) : kubeConfig;
    const server = config.getCurrentCluster()?.server ?? '(no cluster in the kubeconfig)';
    this.informers = [...KUBE_RESOURCES, ...(this.options.workloads ? WORKLOAD_RESOURCES : [])].map(
      (resource) =>
        new ResourceInformer(resource, client, config, {
          logger: this.logger,
          backoff: this.options.backoff ?? DEFAULT_BACKOFF,
          onChange: () => this.scheduleRebuild(),
        }),
    );
    const timeoutMs = this.options.syncTimeoutMs ?? 60_000;
    let timeout: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timeout = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const outcome = await Promise.race([Promise.all(this.informers.map((informer) => informer.start())), timedOut]);
    clearTimeout(timeout);
    if (outcome === 'timeout') {
      const missing = this.informers.map((informer) => informer.status()).filter((status) => !status.synced);
      await this.stop();
      const reasons = missing.map((status) => `${status.resource} (${status.lastError ?? 'no answer'})`).join(', ');
      throw new Error(`Kubernetes API ${server}: no first list within ${timeoutMs} ms of ${reasons}; check the address, credentials and RBAC`);
    }
    this.ready = true;
    this.rebuild();
    this.logger.info({ server, ...this.counts() }, 'cluster metadata synced from the API server');
  }

  current(): ClusterIndex {
    return this.index;
  }

  onChange(listener: ClusterIndexListener): () => void {
    return this.listeners.add(listener);
  }

  status(): ClusterMetadataStatus {
    const resources = this.resourceStatus();
    const lastError = resources.map((status) => status.lastError).find((error) => error !== undefined);
    return {
      ready: this.ready,
      ...(this.updatedAt === undefined ? {} : { updatedAt: this.updatedAt }),
      ...(lastError === undefined ? {} : { lastError }),
      invalidObjects: resources.reduce((sum, status) => sum + status.invalidObjects, 0),
    };
  }

  /** Per collection: sync state, object and error counts, lists, watches and restarts. */
  resourceStatus(): ResourceInformerStatus[] {
    return this.informers.map((informer) => informer.status());
  }

  async stop(): Promise<void> {
    this.ready = false;
    clearTimeout(this.rebuildTimer);
    this.rebuildTimer = undefined;
    const informers = this.informers;
    this.informers = [];
    await Promise.all(informers.map((informer) => informer.stop()));
  }

  private scheduleRebuild(): void {
    // Before the first sync, start() builds once when every collection is in.
    if (!this.ready || this.rebuildTimer !== undefined) return;
    this.rebuildTimer = setTimeout(() => {
      this.rebuildTimer = undefined;
      if (this.ready) this.rebuild();
    }, this.options.debounceMs ?? 100);
  }

  private rebuild(): void {
    this.index = ClusterIndex.fromObjects(this.informers.flatMap((informer) => informer.current()));
    this.updatedAt = Date.now();
    this.listeners.notify(this.index);
  }

  private counts(): Record<string, number> {
    return Object.fromEntries(this.resourceStatus().map((status) => [status.resource, status.objects]));
  }
}
