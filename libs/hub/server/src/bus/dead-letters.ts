import { DEAD_LETTER_HEADERS, deadLetterSubjectOf } from '@natlens/shared-api';
import { headers as natsHeaders, type JetStreamClient, type MsgHdrs } from 'nats';

/*
 * Dead letters: a batch the hub gave up on, published unchanged to natlens-deadletter.<node> (stream
 * NATLENS_DEADLETTER) with where it came from and why in headers. Two ways in: the replica whose last delivery of the
 * batch failed (flow-bus.consumer.ts), and the server's max-deliveries advisory, for a last delivery that ended
 * without an answer (the replica died, or the dead-letter stream refused it then). Both publish with the same message
 * id, the batch's flow-stream sequence, so the dead-letter stream keeps one copy.
 */
export interface DeadLetter {
  /** The flow-stream subject the batch came on (natlens.flows.<node token>). */
  readonly subject: string;
  /** Its sequence in the flow stream. */
  readonly streamSequence: number;
  readonly data: Uint8Array;
  /** The agent's Nats-Msg-Id, when it had one. */
  readonly messageId?: string;
  readonly deliveries: number;
  readonly problem: string;
}

/** A header value carries no line break (NATS headers are lines) and stays short. */
export function headerValue(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').slice(0, 500);
}

export function deadLetterHeaders(letter: DeadLetter): MsgHdrs {
  const headers = natsHeaders();
  headers.set(DEAD_LETTER_HEADERS.subject, letter.subject);
  headers.set(DEAD_LETTER_HEADERS.streamSequence, String(letter.streamSequence));
  headers.set(DEAD_LETTER_HEADERS.deliveries, String(letter.deliveries));
  headers.set(DEAD_LETTER_HEADERS.problem, headerValue(letter.problem));
  if (letter.messageId) headers.set(DEAD_LETTER_HEADERS.messageId, headerValue(letter.messageId));
  return headers;
}

/** The dead letter's message id: one per flow-stream message, whichever way it is published. */
export function deadLetterMessageId(flowStream: string, streamSequence: number): string {
  return `${flowStream}:${streamSequence}`;
}

/**
 * Publishes and waits for the dead-letter stream's acknowledgement (throws when it does not take it). `duplicate`:
 * it already held this batch's dead letter.
 */
export async function publishDeadLetter(js: JetStreamClient, flowStream: string, letter: DeadLetter): Promise<{ subject: string; duplicate: boolean }> {
  const subject = deadLetterSubjectOf(letter.subject);
  const ack = await js.publish(subject, letter.data, { headers: deadLetterHeaders(letter), msgID: deadLetterMessageId(flowStream, letter.streamSequence) });
  return { subject, duplicate: ack.duplicate };
}

/** The server's advisory when a consumer's message reached max_deliver without an acknowledgement. */
export function maxDeliveriesAdvisorySubject(stream: string, durable: string): string {
  return `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${stream}.${durable}`;
}

/** The advisory's stream sequence and delivery count, or undefined when it is not one (pure). */
export function parseMaxDeliveriesAdvisory(data: Uint8Array): { streamSequence: number; deliveries: number } | undefined {
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(data));
  } catch {
    return undefined;
  }
  if (typeof body !== 'object' || body === null) return undefined;
  const { stream_seq: streamSequence, deliveries } = body as { stream_seq?: unknown; deliveries?: unknown };
  if (typeof streamSequence !== 'number' || !Number.isSafeInteger(streamSequence) || streamSequence < 1) return undefined;
  return { streamSequence, deliveries: typeof deliveries === 'number' && Number.isSafeInteger(deliveries) && deliveries > 0 ? deliveries : 0 };
}
