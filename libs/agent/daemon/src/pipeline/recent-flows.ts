import type { FlowRecord, Verdict } from '@natlens/shared-model';

export interface FlowFilter {
  service?: string;
  node?: string;
  client?: string;
  verdict?: Verdict;
  limit?: number;
}

/** The last N exported records, newest last, for the agent's local API (troubleshooting without a hub). */
export class RecentFlows {
  private readonly ring: (FlowRecord | undefined)[];
  private next = 0;
  private filled = 0;

  constructor(readonly capacity: number) {
    this.ring = new Array(capacity);
  }

  add(records: FlowRecord[]): void {
    if (this.capacity === 0) return;
    for (const record of records) {
      this.ring[this.next] = record;
      this.next = (this.next + 1) % this.capacity;
      this.filled = Math.min(this.filled + 1, this.capacity);
    }
  }

  query(filter: FlowFilter): FlowRecord[] {
    const out: FlowRecord[] = [];
    const limit = filter.limit ?? 100;
    for (let i = 1; i <= this.filled && out.length < limit; i++) {
      const record = this.ring[(this.next - i + this.capacity) % this.capacity];
      if (record && matches(record, filter)) out.push(record);
    }
    return out;
  }
}

export function matches(record: FlowRecord, filter: FlowFilter): boolean {
  if (filter.service && (!record.service || `${record.service.namespace}/${record.service.name}` !== filter.service)) return false;
  if (filter.node && record.node !== filter.node) return false;
  if (filter.client && record.original.src !== filter.client && record.client.ip !== filter.client) return false;
  if (filter.verdict && record.verdict !== filter.verdict) return false;
  return true;
}
