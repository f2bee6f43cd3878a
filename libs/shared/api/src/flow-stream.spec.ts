import fc from 'fast-check';
import { DEAD_LETTER_SUBJECTS, deadLetterSubject, deadLetterSubjectOf, FLOW_SUBJECTS, flowMessageId, flowSubject } from './flow-stream';

describe('the NATS flow stream contract', () => {
  it.each([
    // [node name, subject, why]
    ['node1', 'natlens.flows.node1', 'a plain name is one token'],
    ['ip-10-0-1-5.eu-west-1.compute.internal', 'natlens.flows.ip-10-0-1-5_eu-west-1_compute_internal', 'dots would split the token'],
    ['a*b>c d', 'natlens.flows.a_b_c_d', 'wildcards and whitespace are not allowed in a subject'],
    ['', 'natlens.flows._', 'an empty name still makes a token'],
  ])('%j → %s (%s)', (node, subject) => {
    expect(flowSubject(node)).toBe(subject);
    expect(subject.startsWith(FLOW_SUBJECTS.slice(0, -1))).toBe(true);
  });

  it.each([
    [undefined, 'node1:000042'],
    [{ index: 0, of: 1 }, 'node1:000042'],
    [{ index: 0, of: 3 }, 'node1:000042:1/3'],
    [{ index: 2, of: 3 }, 'node1:000042:3/3'],
  ])('message id of part %j: %s', (part, id) => {
    expect(flowMessageId('node1', '000042', part)).toBe(id);
  });

  it('puts a dead letter outside the flow stream, under the same node token as its batch', () => {
    expect(deadLetterSubject('ip-10-0-1-5.eu-west-1.compute.internal')).toBe('natlens-deadletter.ip-10-0-1-5_eu-west-1_compute_internal');
    // `natlens.>` (the stream's subjects, the hub's publish deny) must not match it: its first token differs
    expect(DEAD_LETTER_SUBJECTS.split('.')[0]).not.toBe(FLOW_SUBJECTS.split('.')[0]);
    fc.assert(fc.property(fc.string(), (node) => deadLetterSubjectOf(flowSubject(node)) === deadLetterSubject(node)));
  });
});
