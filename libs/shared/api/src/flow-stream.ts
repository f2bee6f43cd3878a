/*
 * The NATS JetStream contract between agents and hubs: agents publish each record batch (a FlowBatch as JSON) to
 * `natlens.flows.<node>` in the stream NATLENS_FLOWS with a Nats-Msg-Id header; every hub replica pulls from one
 * shared durable consumer. The hub owns the stream's limits and brings them up to date; an agent creates the stream
 * with the defaults only when it is missing, so agents and hubs starting in any order never fight over settings.
 */
export const FLOW_STREAM = 'NATLENS_FLOWS';
export const FLOW_SUBJECT_PREFIX = 'natlens.flows';
export const FLOW_SUBJECTS = `${FLOW_SUBJECT_PREFIX}.>`;
/** Node reports (an agent's addresses and health-check answers) share the stream; the hub reads them with a consumer of their own. */
export const NODE_REPORT_SUBJECT_PREFIX = 'natlens.nodes';
export const NODE_REPORT_SUBJECTS = `${NODE_REPORT_SUBJECT_PREFIX}.>`;
/** The header JetStream de-duplicates on: `<node>:<spool batch id>[:<part>/<parts>]`. */
export const FLOW_MESSAGE_ID_HEADER = 'Nats-Msg-Id';

export interface FlowStreamLimits {
  readonly maxAgeMs: number;
  readonly maxBytes: number;
}

export const DEFAULT_FLOW_STREAM_LIMITS: FlowStreamLimits = { maxAgeMs: 24 * 3600_000, maxBytes: 1024 ** 3 };

/** Batches re-published within this window with the same Nats-Msg-Id are stored once. */
export const FLOW_DUPLICATE_WINDOW_MS = 5 * 60_000;

/**
 * A batch the hub could not store in `maxDeliver` deliveries (a store error, not a validation error: those are
 * terminated at once) is published to `natlens-deadletter.<node>` and then terminated in the flow stream. The prefix is
 * outside `natlens.>`: the flow stream never takes a dead letter back, agents (allowed only natlens.*.<node>) cannot
 * publish one, and the hub (denied natlens.>) may. The hub keeps them in their own stream for inspection and replay.
 */
export const DEAD_LETTER_STREAM = 'NATLENS_DEADLETTER';
export const DEAD_LETTER_SUBJECT_PREFIX = 'natlens-deadletter';
export const DEAD_LETTER_SUBJECTS = `${DEAD_LETTER_SUBJECT_PREFIX}.>`;
export const DEFAULT_DEAD_LETTER_STREAM_LIMITS: FlowStreamLimits = { maxAgeMs: 14 * 24 * 3600_000, maxBytes: 256 * 1024 ** 2 };
/** Headers a dead letter carries beside the batch, unchanged, as its body. */
export const DEAD_LETTER_HEADERS = {
  subject: 'Natlens-Original-Subject',
  streamSequence: 'Natlens-Stream-Sequence',
  messageId: 'Natlens-Original-Msg-Id',
  deliveries: 'Natlens-Deliveries',
  problem: 'Natlens-Problem',
} as const;

/**
 * `natlens.flows.<node>`, the node name made one subject token: Kubernetes node names may contain dots (a token
 * separator) and nothing here may contain the wildcards `*`/`>` or whitespace. The node itself travels in the batch.
 */
export function flowSubject(node: string): string {
  return `${FLOW_SUBJECT_PREFIX}.${natsNodeToken(node)}`;
}

/** `natlens-deadletter.<node>`, the node made one subject token as in `flowSubject`. */
export function deadLetterSubject(node: string): string {
  return `${DEAD_LETTER_SUBJECT_PREFIX}.${natsNodeToken(node)}`;
}

/** The dead-letter subject of a batch taken from `natlens.flows.<node token>`: the same node token. */
export function deadLetterSubjectOf(flowSubject: string): string {
  return `${DEAD_LETTER_SUBJECT_PREFIX}.${flowSubject.slice(flowSubject.lastIndexOf('.') + 1)}`;
}

/** `natlens.nodes.<node>`, the node made one subject token as in `flowSubject`. */
export function nodeReportSubject(node: string): string {
  return `${NODE_REPORT_SUBJECT_PREFIX}.${natsNodeToken(node)}`;
}

/**
 * A node name as one NATS subject token: '.' (a separator) and anything else outside [A-Za-z0-9_-] become '_', which a
 * Kubernetes node name never contains, so no two nodes share a token. Every per-node subject (and the NATS users'
 * permissions in @natlens/shared-auth) uses it.
 */
export function natsNodeToken(node: string): string {
  return node.replace(/[^A-Za-z0-9_-]/g, '_') || '_';
}

/**
 * The hub's durable consumer of node reports: `<consumer>-nodes`, filtered on natlens.nodes.>, shared by every
 * replica (beside `<consumer>`, the record batches'). The hub's NATS user is allowed exactly these two.
 */
export function nodeReportConsumerName(durable: string): string {
  return `${durable}-nodes`;
}

/** The Nats-Msg-Id of one batch, or of one part of a batch split to fit the server's max_payload. */
export function flowMessageId(node: string, batchId: string, part?: { index: number; of: number }): string {
  return part && part.of > 1 ? `${node}:${batchId}:${part.index + 1}/${part.of}` : `${node}:${batchId}`;
}
