import { createHash } from 'node:crypto';
import { type FSWatcher, watch } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import { ClusterIndex } from './cluster-index';
import type { ClusterIndexListener, ClusterMetadataSource, ClusterMetadataStatus } from './cluster-metadata-source';
import { IndexListeners } from './index-listeners';
import { InventoryError, parseInventory } from './inventory-parse';
import { silentLogger } from './silent-logger';

export interface InventoryFileSourceOptions {
  readonly file: string;
  readonly logger?: Logger;
  /** How often to stat the file besides fs.watch events (ms); 0 turns polling off. Default 2000. */
  readonly pollIntervalMs?: number;
  /** Use fs.watch events (default true); polling alone suits filesystems whose events are unreliable. */
  readonly watchEvents?: boolean;
  /** Quiet time after a change event before the file is read, so a burst of writes is read once (ms). Default 100. */
  readonly debounceMs?: number;
}

/** What identifies one version of the file without reading it. */
function fileSignature(stats: { ino: number; size: number; mtimeMs: number; ctimeMs: number }): string {
  return `${stats.ino}:${stats.size}:${stats.mtimeMs}:${stats.ctimeMs}`;
}

/**
 * Cluster metadata from an inventory file (`kubectl get nodes,pods,services,endpointslices -A -o json` or the
 * lab's), reloaded when the file changes.
 *
 * We watch the directory, not the file: writers replace files by renaming a new one over them (kubectl > tmp &&
 * mv, editors, the lab), and Kubernetes ConfigMap volumes swap a `..data` symlink, and a watch on the old inode
 * would never fire again. Any event in the directory triggers a cheap stat; the file is read only when its inode,
 * size or times changed, and parsed only when its content hash changed. Polling backs fs.watch up on filesystems
 * that do not deliver events (NFS, some container mounts).
 */
export class InventoryFileSource implements ClusterMetadataSource {
  private readonly file: string;
  private readonly logger: Logger;
  private readonly listeners: IndexListeners;
  private index = ClusterIndex.empty();
  private state: { ready: boolean; updatedAt?: number; lastError?: string; invalidObjects: number } = { ready: false, invalidObjects: 0 };
  private seenSignature?: string;
  private seenContentHash?: string;
  private watcher?: FSWatcher;
  private pollTimer?: NodeJS.Timeout;
  private debounceTimer?: NodeJS.Timeout;
  private checking?: Promise<void>;
  private checkAgain = false;
  private stopped = false;

  constructor(private readonly options: InventoryFileSourceOptions) {
    this.file = resolve(options.file);
    this.logger = (options.logger ?? silentLogger).child({ component: 'inventory', file: this.file });
    this.listeners = new IndexListeners(this.logger);
  }

  async start(): Promise<void> {
    if (this.watcher !== undefined || this.pollTimer !== undefined) throw new Error(`inventory ${this.file}: already started; stop it first`);
    this.stopped = false;
    await this.load();
    if (this.options.watchEvents !== false) this.watchDirectory();
    const pollIntervalMs = this.options.pollIntervalMs ?? 2000;
    if (pollIntervalMs > 0) {
      this.pollTimer = setInterval(() => this.requestCheck(), pollIntervalMs);
      this.pollTimer.unref();
    }
  }

  current(): ClusterIndex {
    return this.index;
  }

  onChange(listener: ClusterIndexListener): () => void {
    return this.listeners.add(listener);
  }

  status(): ClusterMetadataStatus {
    return { ...this.state };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.watcher?.close();
    this.watcher = undefined;
    clearInterval(this.pollTimer);
    this.pollTimer = undefined;
    clearTimeout(this.debounceTimer);
    await this.checking;
  }

  /** Reads, validates and swaps in the file; throws (keeping the current index) when it cannot be used. */
  private async load(): Promise<void> {
    let text: string;
    let signature: string;
    try {
      signature = fileSignature(await stat(this.file));
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      throw new InventoryError(this.file, '(top level)', `cannot read the file (${reason}); check the path and permissions`);
    }
    const contentHash = createHash('sha256').update(text).digest('hex');
    const unchanged = contentHash === this.seenContentHash;
    this.seenSignature = signature;
    this.seenContentHash = contentHash;
    // Same bytes under a new inode or mtime (touch, a rewrite of equal content): nothing to rebuild or retry.
    if (unchanged) return;
    const { objects, ignoredKinds } = parseInventory(text, this.file);
    if (Object.keys(ignoredKinds).length > 0) this.logger.info({ ignoredKinds }, 'inventory items of kinds natlens does not read were skipped');
    this.index = ClusterIndex.fromObjects(objects);
    this.state = { ready: true, updatedAt: Date.now(), invalidObjects: this.state.invalidObjects };
    this.logger.info({ objects: objects.length }, 'inventory loaded');
    this.listeners.notify(this.index);
  }

  private watchDirectory(): void {
    try {
      // Every event counts, whatever file it names: a ConfigMap update renames `..data`, not our file, and the
      // check behind it is a debounced stat.
      this.watcher = watch(dirname(this.file), { persistent: false }, () => this.requestCheck());
      this.watcher.on('error', (error) => {
        this.logger.warn({ err: error }, 'watching the inventory directory failed; falling back to polling');
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch (error) {
      this.logger.warn({ err: error }, 'cannot watch the inventory directory; relying on polling');
    }
  }

  private requestCheck(): void {
    if (this.stopped) return;
    clearTimeout(this.debounceTimer);
    this.debounceTimer = setTimeout(() => void this.check(), this.options.debounceMs ?? 100);
    this.debounceTimer.unref();
  }

  /** One check at a time; a change that arrives during one is checked right after it. */
  private async check(): Promise<void> {
    if (this.checking !== undefined) {
      this.checkAgain = true;
      return this.checking;
    }
    this.checking = this.checkOnce().finally(() => {
      this.checking = undefined;
      if (this.checkAgain && !this.stopped) {
        this.checkAgain = false;
        void this.check();
      }
    });
    return this.checking;
  }

  private async checkOnce(): Promise<void> {
    try {
      const signature = await stat(this.file).then(fileSignature, () => undefined);
      if (signature !== undefined && signature === this.seenSignature) return;
      await this.load();
    } catch (error) {
      // A replace in progress (the file briefly missing or half written) lands here too; the event that
      // completes it triggers the next check, and until then the previous index stays in use.
      const message = (error as Error).message;
      if (message !== this.state.lastError) this.logger.warn({ err: error }, 'inventory reload failed; keeping the previous index');
      this.state = { ...this.state, lastError: message };
    }
  }
}
