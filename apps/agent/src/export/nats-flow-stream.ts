import { DiscardPolicy, type JetStreamManager, nanos, RetentionPolicy, StorageType, type StreamConfig } from 'nats';
import type { FlowBatch } from '@natlens/shared-model';

/*
 * The JetStream stream the agents publish record batches to. The hub declares the same stream
 * (apps/hub/src/bus/flow-stream.ts) and owns its limits: an agent only creates it when it is missing, so that agents
 * and hubs starting in any order never fight over the settings.
 */
export const FLOW_STREAM = 'NATLENS_FLOWS';
export const FLOW_SUBJECT_PREFIX = 'natlens.flows';
/** Node reports travel in the same stream under their own subjects; the hub consumes them with a consumer of their own. */
export const NODE_REPORT_SUBJECT_PREFIX = 'natlens.nodes';

export const DEFAULT_FLOW_STREAM_LIMITS = {
  maxAgeMs: 24 * 3600_000,
  maxBytes: 1024 ** 3,
  /** Batches re-published within this window with the same Nats-Msg-Id are stored once. */
  duplicateWindowMs: 5 * 60_000,
};

/**
 * `natlens.flows.<node>`, the node name made one subject token: Kubernetes node names may contain dots (a token
 * separator) and nothing here may contain the wildcards `*`/`>` or whitespace. The node itself travels in the batch.
 */
export function flowSubject(node: string): string {
  return `${FLOW_SUBJECT_PREFIX}.${subjectToken(node)}`;
}

/** `natlens.nodes.<node>`, the node made one subject token as in `flowSubject`. */
export function nodeReportSubject(node: string): string {
  return `${NODE_REPORT_SUBJECT_PREFIX}.${subjectToken(node)}`;
}

function subjectToken(node: string): string {
  return node.replace(/[^A-Za-z0-9_-]/g, '_') || '_';
}

/** The stream's settings: limits-based retention, oldest batches discarded when full, on disk. */
export function flowStreamConfig(limits = DEFAULT_FLOW_STREAM_LIMITS): Partial<StreamConfig> & { name: string } {
  return {
    name: FLOW_STREAM,
    subjects: [`${FLOW_SUBJECT_PREFIX}.>`, `${NODE_REPORT_SUBJECT_PREFIX}.>`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: nanos(limits.maxAgeMs),
    max_bytes: limits.maxBytes,
    duplicate_window: nanos(limits.duplicateWindowMs),
  };
}

/** Creates the stream when it does not exist yet (two agents racing both end with the one stream). */
export async function ensureFlowStreamExists(jsm: JetStreamManager): Promise<void> {
  try {
    await jsm.streams.info(FLOW_STREAM);
    return;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  try {
    await jsm.streams.add(flowStreamConfig());
  } catch (err) {
    // Someone else created it in between: fine, it exists now.
    if (!/already in use|already exists/i.test((err as Error).message)) throw err;
  }
}

export function isNotFound(err: unknown): boolean {
  const e = err as { code?: string; api_error?: { err_code?: number }; message?: string };
  return e.code === '404' || e.api_error?.err_code === 10059 || /not found/i.test(e.message ?? '');
}

/**
 * Splits a batch whose JSON exceeds `maxBytes` (the server's max_payload) into halves, recursively, each with the
 * node and sentAt of the whole. A single record larger than the limit stays alone (the server will refuse it).
 * Pure.
 */
export function splitBatch(batch: FlowBatch, maxBytes: number): string[] {
  const body = JSON.stringify(batch);
  if (Buffer.byteLength(body) <= maxBytes || batch.records.length <= 1) return [body];
  const half = Math.ceil(batch.records.length / 2);
  return [...splitBatch({ ...batch, records: batch.records.slice(0, half) }, maxBytes), ...splitBatch({ ...batch, records: batch.records.slice(half) }, maxBytes)];
}
