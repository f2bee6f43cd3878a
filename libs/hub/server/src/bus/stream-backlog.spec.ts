import { streamBacklog } from './stream-backlog';

const GiB = 1024 ** 3;
const stream = (bytes: number, messages: number) => ({ state: { bytes, messages }, config: { max_bytes: GiB, max_age: 24 * 3600 * 1e9 } }) as unknown as Parameters<typeof streamBacklog>[0];

describe('the flow stream against its limits', () => {
  it.each([
    // [stream bytes, stream messages, consumer pending, ack pending, backlog messages, backlog bytes, why]
    [GiB, 1000, 0, 0, 0, 0, 'a full stream of stored batches has no backlog'],
    [GiB, 1000, 100, 20, 120, Math.round(GiB * 0.12), 'pending and ack-pending both wait, at the mean batch size'],
    [GiB, 1000, 1000, 0, 1000, GiB, 'nothing stored yet: all of it'],
    [0, 0, 0, 0, 0, 0, 'an empty stream'],
    [1000, 10, 15, 0, 15, 1000, 'never more bytes than the stream holds (counts read at different moments)'],
  ])('%d bytes in %d messages, %d pending + %d ack-pending → %d messages, %d bytes (%s)', (bytes, messages, pending, ackPending, backlogMessages, backlogBytes) => {
    expect(streamBacklog(stream(bytes, messages), { num_pending: pending, num_ack_pending: ackPending })).toEqual({
      streamBytes: bytes,
      streamMessages: messages,
      maxBytes: GiB,
      maxAgeSeconds: 86_400,
      messages: backlogMessages,
      bytes: backlogBytes,
    });
  });
});
