import type { FlowRecord } from '@natlens/shared-model';

export type LiveListener = (records: readonly FlowRecord[]) => void;

/** Stored records, handed to whoever listens (the /live gateway) once their batch is committed. */
export class LiveFeed {
  private readonly listeners = new Set<LiveListener>();

  subscribe(listener: LiveListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  publish(records: readonly FlowRecord[]): void {
    for (const listener of this.listeners) listener(records);
  }
}
