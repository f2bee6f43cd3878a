import type { FlowRecord } from '@natlens/shared-model';

/*
 * One record per connection: updates of a flow (NEW, then DESTROY with counters; or a dump that sees it again) are
 * merged into the latest state and exported once per flush while they changed. A flow is forgotten after the flush
 * that exported its end. Pure state; the timer that calls flush() lives in the pipeline.
 *
 * The flows changed since the last flush are kept apart (`dirty`, in the order they changed), so a flush visits
 * those rather than every flow held, and a held flow costs its record and nothing more.
 *
 * A flow not yet exported may be held back until it is `holdNewMs` old: most connections end within milliseconds, and
 * a flush that fell between a connection's start and its end (at a high rate an ending flow triggers one every
 * quarter second) would otherwise send it twice, once open and once ended. Held, it goes out once, ended.
 */
export class FlowAggregator {
  private readonly flows = new Map<string, FlowRecord>();
  private readonly dirty = new Set<string>();
  /** Flows never exported, with when they were first held (Date.now() of their first upsert). */
  private readonly unexported = new Map<string, number>();
  private held = 0;

  /** @param holdNewMs how long a new, open flow may wait for its end before it is exported (0: not at all). */
  constructor(private readonly holdNewMs = 0) {}

  get size(): number {
    return this.flows.size;
  }

  /** The record held for a flow (read-only: change it through upsert or touch). */
  get(flowId: string): Readonly<FlowRecord> | undefined {
    return this.flows.get(flowId);
  }

  /** Returns true when the record ends its flow (the pipeline flushes soon after, not at the next interval). */
  upsert(record: FlowRecord): boolean {
    const before = this.flows.get(record.flowId);
    this.dirty.add(record.flowId);
    if (!before) {
      this.flows.set(record.flowId, record);
      if (this.holdNewMs > 0) this.unexported.set(record.flowId, Date.now());
      return record.ended === true;
    }
    // Records carry every key (enrich.ts), absent ones as undefined: what the newer one lacks, the older one keeps.
    const merged: FlowRecord = {
      ...before,
      ...record,
      firstSeen: Math.min(before.firstSeen, record.firstSeen),
      lastSeen: Math.max(before.lastSeen, record.lastSeen),
      counters: record.counters ?? before.counters,
      state: record.state ?? before.state,
      service: record.service ?? before.service,
      endpoint: record.endpoint ?? before.endpoint,
      realClient: record.realClient ?? before.realClient,
      entryNode: record.entryNode ?? before.entryNode,
      ended: before.ended === true || record.ended === true,
    };
    this.flows.set(record.flowId, merged);
    return merged.ended === true && before.ended !== true;
  }

  /**
   * A later observation of a flow already known: only what changes over a connection's life is updated, in place
   * (no re-enrichment: the Service, pod and verdict were settled by its first observation). Returns undefined when
   * the flow is unknown, true when this observation ends it. `lastSeen` undefined: the observation says nothing of the
   * connection's activity (lastActivityOf). Arguments rather than one change object: this runs for every event of
   * every known flow.
   */
  touch(flowId: string, lastSeen: number | undefined, firstSeen?: number, state?: string, counters?: FlowRecord['counters'], ended?: boolean): boolean | undefined {
    const record = this.flows.get(flowId);
    if (!record) return undefined;
    const wasEnded = record.ended === true;
    if (firstSeen !== undefined && firstSeen < record.firstSeen) record.firstSeen = firstSeen;
    if (lastSeen !== undefined && lastSeen > record.lastSeen) record.lastSeen = lastSeen;
    if (state !== undefined) record.state = state;
    if (counters !== undefined) record.counters = counters;
    if (ended) record.ended = true;
    this.dirty.add(flowId);
    return record.ended === true && !wasEnded;
  }

  /**
   * After a full dump that started at `dumpStartedAt`: flows last seen before it and absent from it have ended
   * without a DESTROY event reaching us (lost to ENOBUFS, or created before we subscribed). With `source`, only that
   * source's flows are considered (a conntrack dump says nothing about a flow only the capture saw).
   */
  reconcile(liveFlowIds: Set<string>, dumpStartedAt: number, source?: FlowRecord['source']): number {
    let ended = 0;
    for (const [flowId, record] of this.flows) {
      if (record.ended || liveFlowIds.has(flowId) || record.lastSeen >= dumpStartedAt) continue;
      if (source !== undefined && record.source !== source) continue;
      this.flows.set(flowId, { ...record, ended: true });
      this.dirty.add(flowId);
      ended++;
    }
    return ended;
  }

  /** Open flows held back from the last flush because they were younger than holdNewMs: the next flush sends them. */
  get holding(): number {
    return this.held;
  }

  /**
   * The records that changed since the last flush. A flow still held is exported as a copy (later touches must not
   * change what was exported); an ended flow is forgotten here, so its record itself goes out: one record object
   * fewer per connection, and these live long enough (in the recent ring) for the garbage collector to copy them.
   * `now` decides which new flows are still young enough to hold; `all` exports them too (shutdown).
   */
  flush(now = Date.now(), all = false): FlowRecord[] {
    const out: FlowRecord[] = [];
    const keep: string[] = [];
    for (const flowId of this.dirty) {
      const record = this.flows.get(flowId);
      if (!record) continue;
      const heldSince = this.unexported.get(flowId);
      if (record.ended) {
        out.push(record);
        this.flows.delete(flowId);
        if (heldSince !== undefined) this.unexported.delete(flowId);
      } else if (heldSince !== undefined && !all && now - heldSince < this.holdNewMs) {
        keep.push(flowId);
      } else {
        out.push({ ...record });
        if (heldSince !== undefined) this.unexported.delete(flowId);
      }
    }
    this.dirty.clear();
    for (const flowId of keep) this.dirty.add(flowId);
    this.held = keep.length;
    return out;
  }
}
