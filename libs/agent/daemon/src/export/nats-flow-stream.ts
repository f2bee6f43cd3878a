import { DiscardPolicy, type JetStreamManager, nanos, RetentionPolicy, StorageType, type StreamConfig } from 'nats';
import { DEFAULT_FLOW_STREAM_LIMITS, FLOW_DUPLICATE_WINDOW_MS, FLOW_STREAM, FLOW_SUBJECTS, NODE_REPORT_SUBJECTS } from '@natlens/shared-api';
import type { FlowBatch } from '@natlens/shared-model';

/*
 * The agent's side of the JetStream contract (@natlens/shared-api: stream, subjects, message ids). The hub owns the
 * stream's limits: an agent only creates it, with the defaults, when it is missing, so that agents and hubs starting
 * in any order never fight over the settings.
 */
export { FLOW_STREAM, flowSubject, nodeReportSubject } from '@natlens/shared-api';

/** The stream's settings: limits-based retention, oldest batches discarded when full, on disk. */
export function flowStreamConfig(limits = DEFAULT_FLOW_STREAM_LIMITS): Partial<StreamConfig> & { name: string } {
  return {
    name: FLOW_STREAM,
    subjects: [FLOW_SUBJECTS, NODE_REPORT_SUBJECTS],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: nanos(limits.maxAgeMs),
    max_bytes: limits.maxBytes,
    duplicate_window: nanos(FLOW_DUPLICATE_WINDOW_MS),
  };
}

/**
 * Creates the stream when it does not exist yet (two agents racing both end with the one stream). With NATS users
 * (libs/shared/auth nats-permissions) an agent may not touch the JetStream API at all: the hub manages the stream,
 * and a refusal here means just that ('managed-elsewhere'); publishing then tells whether the stream is there.
 */
export async function ensureFlowStreamExists(jsm: JetStreamManager): Promise<'exists' | 'created' | 'managed-elsewhere'> {
  try {
    await jsm.streams.info(FLOW_STREAM);
    return 'exists';
  } catch (err) {
    if (isPermissionError(err)) return 'managed-elsewhere';
    if (!isNotFound(err)) throw err;
  }
  try {
    await jsm.streams.add(flowStreamConfig());
    return 'created';
  } catch (err) {
    if (isPermissionError(err)) return 'managed-elsewhere';
    // Someone else created it in between: fine, it exists now.
    if (!/already in use|already exists/i.test((err as Error).message)) throw err;
    return 'exists';
  }
}

/** NATS refused an operation for this user's permissions (nats.js PERMISSIONS_VIOLATION). */
export function isPermissionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e.code === 'PERMISSIONS_VIOLATION' || /permissions violation/i.test(e.message ?? '');
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
