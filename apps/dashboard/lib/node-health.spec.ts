import type { NodeSummary } from './api-types';
import { nodeProblems, ratePerSecond } from './node-health';

const node = (extra: Partial<NodeSummary> = {}): NodeSummary => ({ node: 'node1', at: 0, receivedAt: 0, stale: false, addresses: [], healthChecks: [], snatPorts: [], ...extra });
const conntrack = (fill: number | null, insertFailed: number | null, drop = 0): NodeSummary['conntrack'] => ({
  at: 0, entries: 0, max: fill === null ? null : 1000, fill, buckets: null, counters: {}, rates: { insertFailed, drop, earlyDrop: 0, clashResolve: 0, spanMs: 10_000 },
});
const pair = (usage: number) => ({ snatAddress: '198.18.0.12', destination: '198.19.1.11', destinationPort: 8080, protocol: 'tcp' as const, inUse: usage * 64, range: { min: 40000, max: 40063 }, rangeBasis: 'nat-rule' as const, rangeSize: 64, usage });

describe('ratePerSecond', () => {
  it.each<[number | null | undefined, string]>([
    [null, '–'],
    [undefined, '–'],
    [0, '0/s'],
    [0.001, '<0.01/s'],
    [1.256, '1.26/s'],
    [3, '3/s'],
  ])('%s → %s', (rate, text) => expect(ratePerSecond(rate)).toBe(text));
});

describe('nodeProblems', () => {
  it.each<[string, NodeSummary, string[]]>([
    ['a healthy node', node({ conntrack: conntrack(0.1, 0) }), []],
    ['a node without statistics', node(), []],
    ['fill above 0.9', node({ conntrack: conntrack(0.95, 0) }), ['conntrack table nearly full']],
    ['fill exactly 0.9 (the rule says above)', node({ conntrack: conntrack(0.9, 0) }), []],
    ['insert failures and drops', node({ conntrack: conntrack(0.1, 0.5, 1) }), ['insert failures', 'drops']],
    ['a SNAT pair above 0.8', node({ snatPorts: [pair(60 / 64)] }), ['SNAT ports nearly exhausted']],
    ['an overdue agent', node({ stale: true }), ['agent overdue']],
  ])('%s', (_case, summary, expected) => expect(nodeProblems(summary)).toEqual(expected));
});
