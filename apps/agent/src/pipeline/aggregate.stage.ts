import type { FlowRecord } from '@natlens/shared-model';

/*
 * One record per connection: updates of a flow (NEW, then DESTROY with counters; or a dump that sees it again) are
 * merged into the latest state and exported once per flush while they changed. A flow is forgotten after the flush
 * that exported its end. Pure state; the timer that calls flush() lives in the pipeline.
 */
export class FlowAggregator {
  private readonly flows = new Map<string, { record: FlowRecord; dirty: boolean }>();

  get size(): number {
    return this.flows.size;
  }

  /** Returns true when the record ends its flow (the pipeline flushes soon after, not at the next interval). */
  upsert(record: FlowRecord): boolean {
    const known = this.flows.get(record.flowId);
    if (!known) {
      this.flows.set(record.flowId, { record, dirty: true });
      return record.ended === true;
    }
    const before = known.record;
    known.record = {
      ...before,
      ...record,
      firstSeen: Math.min(before.firstSeen, record.firstSeen),
      lastSeen: Math.max(before.lastSeen, record.lastSeen),
      counters: record.counters ?? before.counters,
      state: record.state ?? before.state,
      ended: before.ended === true || record.ended === true,
    };
    known.dirty = true;
    return known.record.ended === true && before.ended !== true;
  }

  /**
   * A later observation of a flow already known: only what changes over a connection's life is updated, in place
   * (no re-enrichment: the Service, pod and verdict were settled by its first observation). Returns undefined when
   * the flow is unknown, true when this observation ends it.
   */
  touch(flowId: string, change: { lastSeen: number; firstSeen?: number; state?: string; counters?: FlowRecord['counters']; ended?: boolean }): boolean | undefined {
    const known = this.flows.get(flowId);
    if (!known) return undefined;
    const record = known.record;
    const wasEnded = record.ended === true;
    if (change.firstSeen !== undefined && change.firstSeen < record.firstSeen) record.firstSeen = change.firstSeen;
    if (change.lastSeen > record.lastSeen) record.lastSeen = change.lastSeen;
    if (change.state !== undefined) record.state = change.state;
    if (change.counters !== undefined) record.counters = change.counters;
    if (change.ended) record.ended = true;
    known.dirty = true;
    return record.ended === true && !wasEnded;
  }

  /**
   * After a full dump that started at `dumpStartedAt`: flows last seen before it and absent from it have ended
   * without a DESTROY event reaching us (lost to ENOBUFS, or created before we subscribed).
   */
  reconcile(liveFlowIds: Set<string>, dumpStartedAt: number): number {
    let ended = 0;
    for (const [flowId, entry] of this.flows) {
      if (entry.record.ended || liveFlowIds.has(flowId) || entry.record.lastSeen >= dumpStartedAt) continue;
      entry.record = { ...entry.record, ended: true };
      entry.dirty = true;
      ended++;
    }
    return ended;
  }

  /** The records that changed since the last flush (copies: later touches must not change what was exported). */
  flush(): FlowRecord[] {
    const out: FlowRecord[] = [];
    for (const [flowId, entry] of this.flows) {
      if (!entry.dirty) continue;
      out.push({ ...entry.record });
      entry.dirty = false;
      if (entry.record.ended) this.flows.delete(flowId);
    }
    return out;
  }
}
