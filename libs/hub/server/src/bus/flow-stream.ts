import {
  DEAD_LETTER_STREAM,
  DEAD_LETTER_SUBJECTS,
  DEFAULT_DEAD_LETTER_STREAM_LIMITS,
  FLOW_DUPLICATE_WINDOW_MS,
  FLOW_STREAM,
  FLOW_SUBJECTS,
  NODE_REPORT_SUBJECTS,
  nodeReportConsumerName,
  type FlowStreamLimits,
} from '@natlens/shared-api';
import { AckPolicy, DeliverPolicy, DiscardPolicy, type JetStreamManager, nanos, RetentionPolicy, StorageType, type StreamConfig } from 'nats';

/*
 * The hub's side of the JetStream contract (@natlens/shared-api: stream, subjects, message ids): the stream, whose
 * limits the hub owns and brings up to date when they differ (agents only create it when it is missing, so settings
 * never flip between writers), and the durable consumer every hub replica shares.
 */
export { FLOW_STREAM, FLOW_SUBJECTS, NODE_REPORT_SUBJECTS, nodeReportConsumerName, type FlowStreamLimits };

export interface FlowConsumerSettings {
  readonly durable: string;
  readonly ackWaitMs: number;
  readonly maxAckPending: number;
  /** Deliveries before the server gives up on a message (the hub dead-letters a batch at its last delivery). */
  readonly maxDeliver: number;
}

export function flowStreamConfig(limits: FlowStreamLimits): Partial<StreamConfig> & { name: string } {
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

function isNotFound(err: unknown): boolean {
  const e = err as { code?: string; api_error?: { err_code?: number }; message?: string };
  return e.code === '404' || e.api_error?.err_code === 10059 || e.api_error?.err_code === 10014 || /not found/i.test(e.message ?? '');
}

/** Creates the stream, or updates its limits when they differ from ours. Idempotent; safe for replicas racing. */
export async function ensureFlowStream(jsm: JetStreamManager, limits: FlowStreamLimits): Promise<'created' | 'updated' | 'unchanged'> {
  const wanted = flowStreamConfig(limits);
  let current: StreamConfig | undefined;
  try {
    current = (await jsm.streams.info(FLOW_STREAM)).config;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  if (!current) {
    try {
      await jsm.streams.add(wanted);
      return 'created';
    } catch (err) {
      if (!/already in use|already exists/i.test((err as Error).message)) throw err;
      current = (await jsm.streams.info(FLOW_STREAM)).config;
    }
  }
  const differs =
    current.max_age !== wanted.max_age ||
    current.max_bytes !== wanted.max_bytes ||
    current.duplicate_window !== wanted.duplicate_window ||
    current.discard !== wanted.discard ||
    !current.subjects?.includes(FLOW_SUBJECTS) ||
    !current.subjects.includes(NODE_REPORT_SUBJECTS);
  if (!differs) return 'unchanged';
  // A stream made before node reports gains their subject here; agents' reports are refused until then.
  await jsm.streams.update(FLOW_STREAM, { ...current, ...wanted, subjects: [...new Set([...(current.subjects ?? []), FLOW_SUBJECTS, NODE_REPORT_SUBJECTS])] });
  return 'updated';
}

/**
 * The dead-letter stream (natlens-deadletter.>): batches the hub gave up on, kept for inspection and replay. Its own
 * limits, longer than the flow stream's (someone has to look), and de-duplication by message id, so a dead letter
 * published twice (the hub retried after a lost acknowledgement) is kept once. Created, or updated when it differs.
 */
export async function ensureDeadLetterStream(jsm: JetStreamManager, limits: FlowStreamLimits = DEFAULT_DEAD_LETTER_STREAM_LIMITS): Promise<void> {
  const wanted: Partial<StreamConfig> & { name: string } = {
    name: DEAD_LETTER_STREAM,
    subjects: [DEAD_LETTER_SUBJECTS],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: nanos(limits.maxAgeMs),
    max_bytes: limits.maxBytes,
    duplicate_window: nanos(FLOW_DUPLICATE_WINDOW_MS),
  };
  let current: StreamConfig | undefined;
  try {
    current = (await jsm.streams.info(DEAD_LETTER_STREAM)).config;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  if (!current) {
    try {
      await jsm.streams.add(wanted);
      return;
    } catch (err) {
      if (!/already in use|already exists/i.test((err as Error).message)) throw err;
      current = (await jsm.streams.info(DEAD_LETTER_STREAM)).config;
    }
  }
  if (current.max_age !== wanted.max_age || current.max_bytes !== wanted.max_bytes || !current.subjects?.includes(DEAD_LETTER_SUBJECTS)) {
    await jsm.streams.update(DEAD_LETTER_STREAM, { ...current, ...wanted });
  }
}

/**
 * The shared durable pull consumer: explicit acks, every batch from the start of the stream, at most `maxDeliver`
 * deliveries of a message (without it a batch that always fails would be redelivered until the stream discards it).
 */
export async function ensureFlowConsumer(jsm: JetStreamManager, settings: FlowConsumerSettings, filterSubject = FLOW_SUBJECTS): Promise<void> {
  const wanted = { ack_wait: nanos(settings.ackWaitMs), max_ack_pending: settings.maxAckPending, max_deliver: settings.maxDeliver };
  try {
    const current = (await jsm.consumers.info(FLOW_STREAM, settings.durable)).config;
    if (current.ack_wait !== wanted.ack_wait || current.max_ack_pending !== wanted.max_ack_pending || current.max_deliver !== wanted.max_deliver) {
      await jsm.consumers.update(FLOW_STREAM, settings.durable, wanted);
    }
    return;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  try {
    await jsm.consumers.add(FLOW_STREAM, { durable_name: settings.durable, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, filter_subject: filterSubject, ...wanted });
  } catch (err) {
    // Another replica created it in between with other settings: use it as it is.
    if (!/already (in use|exists)/i.test((err as Error).message)) throw err;
  }
}
