import { natFailureEvidence } from './nat-failures';

describe('natFailureEvidence', () => {
  it('keeps observed and estimated failures apart, grouped by node and reason, most first', () => {
    const sut = natFailureEvidence([
      { node: 'node2', natFailure: { reason: 'nat-port-exhausted', kernelReason: 'NETFILTER_DROP', observed: true }, connections: 1 },
      { node: 'node2', natFailure: { reason: 'nat-port-exhausted', kernelReason: 'NETFILTER_DROP', observed: true }, connections: 1 },
      { node: 'node1', natFailure: { reason: 'insert-failed', observed: false }, connections: 1 },
      { node: 'node1', connections: 1 },
    ]);
    expect(sut).toEqual({
      observed: 2,
      estimated: 2,
      byReason: [
        { node: 'node2', reason: 'nat-port-exhausted', kernelReason: 'NETFILTER_DROP', observed: true, connections: 2 },
        { node: 'node1', reason: 'insert-failed', observed: false, connections: 1 },
        { node: 'node1', reason: 'netfilter-drop', observed: false, connections: 1 },
      ],
    });
  });

  it('is empty without failures', () => {
    expect(natFailureEvidence([])).toEqual({ observed: 0, estimated: 0, byReason: [] });
  });
});
