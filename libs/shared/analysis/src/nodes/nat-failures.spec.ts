import { natFailureEvidence, natFailureFinding } from './nat-failures';

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

describe('natFailureFinding', () => {
  it('says how many, which were observed and which estimated, where, and the remedy for each reason', () => {
    const sut = natFailureFinding('default/web', natFailureEvidence([
      { node: 'node2', natFailure: { reason: 'nat-port-exhausted', kernelReason: 'NETFILTER_DROP', observed: true }, connections: 3 },
      { node: 'node1', natFailure: { reason: 'insert-failed', observed: false }, connections: 1 },
    ]));
    expect(sut).toEqual({ severity: 'critical', code: 'nat-failures', message: expect.stringContaining('4 connection(s) to default/web were dropped by conntrack or NAT before reaching a pod: 3 observed') });
    expect(sut?.message).toContain('1 estimated');
    expect(sut?.message).toContain('3 nat-port-exhausted (NETFILTER_DROP) on node2, 1 insert-failed on node1 (estimated)');
    expect(sut?.message).toMatch(/--random-fully.*NodeLocal DNSCache|NodeLocal DNSCache[\s\S]*--random-fully/);
  });

  it('says nothing without failures', () => {
    expect(natFailureFinding('default/web', natFailureEvidence([]))).toBeUndefined();
  });
});
