/*
 * The joint between two pipeline stages: a FIFO with a fixed capacity. When the consumer falls behind, new items are
 * refused and counted (the caller names the reason in a metric), so memory stays bounded and the loss is visible.
 */
export class BoundedQueue<T> {
  private items: T[] = [];
  private head = 0;
  private waiting: (() => void) | undefined;
  dropped = 0;

  constructor(
    readonly name: string,
    readonly capacity: number,
  ) {}

  get depth(): number {
    return this.items.length - this.head;
  }

  /** false when the queue is full and the item was dropped. */
  push(item: T): boolean {
    if (this.depth >= this.capacity) {
      this.dropped++;
      return false;
    }
    this.items.push(item);
    this.wake();
    return true;
  }

  /** Takes up to `max` items, oldest first. */
  take(max: number): T[] {
    const end = Math.min(this.items.length, this.head + max);
    const out = this.items.slice(this.head, end);
    this.head = end;
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return out;
  }

  /** Releases a consumer waiting on an empty queue (used when stopping). */
  wake(): void {
    const wake = this.waiting;
    this.waiting = undefined;
    wake?.();
  }

  /** Resolves when at least one item is queued. */
  whenNotEmpty(): Promise<void> {
    if (this.depth > 0) return Promise.resolve();
    return new Promise((resolve) => (this.waiting = resolve));
  }
}

/**
 * Runs `handle` over batches of the queue's items until stopped, yielding to the event loop between batches so
 * timers and the HTTP API keep running under load. A throwing handler loses that batch (counted), never the loop.
 */
export function consume<T>(queue: BoundedQueue<T>, batchSize: number, handle: (items: T[]) => void | Promise<void>, onError: (err: Error, lost: number) => void): { stop(): void } {
  let running = true;
  void (async () => {
    while (running) {
      await queue.whenNotEmpty();
      if (!running) break;
      const batch = queue.take(batchSize);
      try {
        await handle(batch);
      } catch (err) {
        onError(err as Error, batch.length);
      }
      await new Promise((r) => setImmediate(r));
    }
  })();
  return {
    stop: () => {
      running = false;
      queue.wake();
    },
  };
}
