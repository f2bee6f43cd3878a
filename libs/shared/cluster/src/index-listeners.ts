import type { Logger } from 'pino';
import type { ClusterIndex } from './cluster-index';
import type { ClusterIndexListener } from './cluster-metadata-source';

/** The listeners of a metadata source; one that throws is logged and does not stop the others. */
export class IndexListeners {
  private readonly listeners = new Set<ClusterIndexListener>();

  constructor(private readonly logger: Logger) {}

  add(listener: ClusterIndexListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  notify(index: ClusterIndex): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(index);
      } catch (error) {
        this.logger.error({ err: error }, 'a cluster index listener failed');
      }
    }
  }
}
