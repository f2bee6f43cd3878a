import type { ConsumerInfo, JetStreamManager, StreamInfo } from 'nats';
import type { BusMetrics } from './bus-metrics';
import { FLOW_STREAM, FLOW_SUBJECTS } from './flow-stream';

/*
 * The flow stream against its limits. The stream keeps every batch, stored or not, until max_bytes or max_age
 * discards the oldest, so its fill alone is no alarm; the backlog (what no hub has acknowledged) is: at the limit it
 * is discarded unstored, and the agents deleted their copies when NATS acknowledged them.
 */
export interface StreamBacklog {
  readonly streamBytes: number;
  readonly streamMessages: number;
  readonly maxBytes: number;
  readonly maxAgeSeconds: number;
  /** Observed: the consumer's num_pending + num_ack_pending. */
  readonly messages: number;
  /** Derived: the stream's bytes per message × messages (NATS reports no bytes per consumer). */
  readonly bytes: number;
}

/** Pure: the figures from the stream's and the consumer's info. */
export function streamBacklog(stream: Pick<StreamInfo, 'state' | 'config'>, consumer: Pick<ConsumerInfo, 'num_pending' | 'num_ack_pending'>): StreamBacklog {
  const messages = consumer.num_pending + consumer.num_ack_pending;
  const { bytes: streamBytes, messages: streamMessages } = stream.state;
  return {
    streamBytes,
    streamMessages,
    maxBytes: stream.config.max_bytes,
    maxAgeSeconds: stream.config.max_age / 1e9,
    messages,
    bytes: streamMessages > 0 ? Math.round((streamBytes * Math.min(messages, streamMessages)) / streamMessages) : 0,
  };
}

/** Reads the stream, the backlog and the oldest waiting batch's age from the server into the gauges. */
export async function observeStreamBacklog(jsm: JetStreamManager, consumer: ConsumerInfo, metrics: BusMetrics): Promise<void> {
  const backlog = streamBacklog(await jsm.streams.info(FLOW_STREAM), consumer);
  metrics.streamBytes.set(backlog.streamBytes);
  metrics.streamMessages.set(backlog.streamMessages);
  metrics.streamMaxBytes.set(backlog.maxBytes);
  metrics.streamMaxAgeSeconds.set(backlog.maxAgeSeconds);
  metrics.backlogMessages.set(backlog.messages);
  metrics.backlogBytes.set(backlog.bytes);
  if (backlog.messages === 0) {
    metrics.backlogOldestAgeSeconds.set(0);
    return;
  }
  // The first record batch after the ack floor: everything before it is acknowledged (or discarded). next_by_subj
  // skips node reports and deleted sequences (nats-server 2.9+; the client's type lacks it).
  const oldest = await jsm.streams.getMessage(FLOW_STREAM, { seq: consumer.ack_floor.stream_seq + 1, next_by_subj: FLOW_SUBJECTS } as unknown as { seq: number });
  metrics.backlogOldestAgeSeconds.set(Math.max(0, Date.now() - oldest.time.getTime()) / 1000);
}
