import fc from 'fast-check';
import { deadLetterHeaders, headerValue, maxDeliveriesAdvisorySubject, parseMaxDeliveriesAdvisory } from './dead-letters';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('dead letters', () => {
  it('carry where the batch came from and why, on one line each', () => {
    const sut = deadLetterHeaders({ subject: 'natlens.flows.node1', streamSequence: 42, data: bytes('{}'), messageId: 'node1:000042', deliveries: 5, problem: 'duplicate key\nvalue violates "flows_pkey"\r\n' });
    expect({
      subject: sut.get('Natlens-Original-Subject'),
      sequence: sut.get('Natlens-Stream-Sequence'),
      id: sut.get('Natlens-Original-Msg-Id'),
      deliveries: sut.get('Natlens-Deliveries'),
      problem: sut.get('Natlens-Problem'),
    }).toEqual({ subject: 'natlens.flows.node1', sequence: '42', id: 'node1:000042', deliveries: '5', problem: 'duplicate key value violates "flows_pkey"' });
    expect(deadLetterHeaders({ subject: 'natlens.flows.node1', streamSequence: 1, data: bytes('{}'), deliveries: 5, problem: 'x' }).has('Natlens-Original-Msg-Id')).toBe(false);
  });

  it('keep header values free of line breaks and short', () => {
    fc.assert(fc.property(fc.string({ maxLength: 2000 }), (text) => !/[\r\n]/.test(headerValue(text)) && headerValue(text).length <= 500));
  });

  it('listen to the max-deliveries advisory of the batches consumer only', () => {
    expect(maxDeliveriesAdvisorySubject('NATLENS_FLOWS', 'natlens-hub')).toBe('$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.NATLENS_FLOWS.natlens-hub');
  });

  it.each([
    // as nats-server 2.9 sends it (io.nats.jetstream.advisory.v1.max_deliver)
    ['an advisory', '{"type":"io.nats.jetstream.advisory.v1.max_deliver","id":"x","timestamp":"2026-12-05T07:00:00Z","stream":"NATLENS_FLOWS","consumer":"natlens-hub","stream_seq":17,"deliveries":3}', { streamSequence: 17, deliveries: 3 }],
    ['no delivery count', '{"stream_seq":17}', { streamSequence: 17, deliveries: 0 }],
    ['no sequence', '{"deliveries":3}', undefined],
    ['sequence 0', '{"stream_seq":0,"deliveries":3}', undefined],
    ['a sequence as text', '{"stream_seq":"17","deliveries":3}', undefined],
    ['not JSON', 'stream_seq=17', undefined],
    ['JSON null', 'null', undefined],
  ])('read %s', (_name, text, expected) => {
    expect(parseMaxDeliveriesAdvisory(bytes(text))).toEqual(expected);
  });

  it('read any bytes without throwing', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (data) => {
      const parsed = parseMaxDeliveriesAdvisory(data);
      return parsed === undefined || (Number.isSafeInteger(parsed.streamSequence) && parsed.streamSequence >= 1);
    }));
    fc.assert(fc.property(fc.jsonValue(), (value) => {
      const parsed = parseMaxDeliveriesAdvisory(bytes(JSON.stringify(value) ?? 'null'));
      return parsed === undefined || parsed.streamSequence >= 1;
    }));
  });
});
