import type { ClusterIndex } from './cluster-index';

export interface ClusterMetadataStatus {
  /** A complete read has built the current index (the inventory parsed; every informer listed once). */
  readonly ready: boolean;
  /** When the current index was built (ms since the epoch). */
  readonly updatedAt?: number;
  /** The last failure (an invalid inventory, a lost API connection); cleared by the next success. */
  readonly lastError?: string;
  /** Objects skipped because they did not validate, since start. */
  readonly invalidObjects: number;
}

export type ClusterIndexListener = (index: ClusterIndex) => void;

/**
 * Where cluster metadata comes from: an inventory file (`InventoryFileSource`) or the API server
 * (`KubeApiWatcher`). Consumers read `current()` per record and may listen for swaps; an index is immutable, so a
 * reader holding one sees a consistent cluster even while the next is built.
 */
export interface ClusterMetadataSource {
  /** Reads the cluster once; rejects (with a message that says what to fix) if that first read fails. */
  start(): Promise<void>;
  /** The latest good index (empty before `start` succeeds); a failed reload keeps the previous one. */
  current(): ClusterIndex;
  /** Calls the listener with every new index; returns the function that unsubscribes it. */
  onChange(listener: ClusterIndexListener): () => void;
  status(): ClusterMetadataStatus;
  stop(): Promise<void>;
}
