import { batchNodeProblem, natsNodeToken, type NodeScopedBatch, reportSubjectProblem, subjectNodeProblem } from './node-binding';
import type { Principal } from './token-verifier';

const batch = (node: string, recordNodes: string[]): NodeScopedBatch => ({ node, records: recordNodes.map((n) => ({ node: n })) });
const ingest: Principal = { kind: 'ingest', label: 'ingest-token' };
const node1: Principal = { kind: 'node', node: 'node1', label: 'node-token:node1' };
const read: Principal = { kind: 'read', label: 'read-token' };

describe('batchNodeProblem', () => {
  it.each<[string, Principal, NodeScopedBatch, string | undefined, RegExp | undefined]>([
    ['an ingest token writing any node', ingest, batch('node7', ['node7', 'node7']), undefined, undefined],
    ['a node token writing its node', node1, batch('node1', ['node1']), undefined, undefined],
    ['an empty batch of its node', node1, batch('node1', []), undefined, undefined],
    ['a node token writing another node', node1, batch('node2', ['node2']), 'node-not-allowed', /token bound to node "node1" may not write records of node "node2"/],
    ['a read token', read, batch('node1', ['node1']), 'node-not-allowed', /read-only token/],
    ['a record of another node (even with an ingest token)', ingest, batch('node1', ['node1', 'node2']), 'record-node-mismatch', /record 1 has node "node2" but the batch is node "node1"'s/],
    ['a node token hiding another node in its records', node1, batch('node1', ['node2']), 'record-node-mismatch', /record 0/],
  ])('%s', (_name, principal, b, code, message) => {
    const problem = batchNodeProblem(principal, b);
    expect(problem?.code).toBe(code);
    if (message) expect(problem?.message).toMatch(message);
  });
});

describe('subjectNodeProblem', () => {
  it.each<[string, string, NodeScopedBatch, string | undefined]>([
    ['subject, batch and records agree', 'natlens.flows.node1', batch('node1', ['node1']), undefined],
    ['a dotted node name', 'natlens.flows.ip-10-0-0-7_ec2_internal', batch('ip-10-0-0-7.ec2.internal', ['ip-10-0-0-7.ec2.internal']), undefined],
    ['another node on my subject', 'natlens.flows.node1', batch('node2', ['node2']), 'subject-node-mismatch'],
    ['a record of another node', 'natlens.flows.node1', batch('node1', ['node1', 'node3']), 'record-node-mismatch'],
  ])('%s', (_name, subject, b, code) => {
    expect(subjectNodeProblem(subject, b)?.code).toBe(code);
  });

  it('gives distinct Kubernetes node names distinct subject tokens', () => {
    expect(natsNodeToken('a.b')).toBe('a_b');
    expect(natsNodeToken('a-b')).toBe('a-b');
    expect(natsNodeToken('')).toBe('_');
  });
});

describe('reportSubjectProblem', () => {
  it.each<[string, string, string, string | undefined]>([
    ['its own node', 'natlens.nodes.node1', 'node1', undefined],
    ['a dotted node name', 'natlens.nodes.ip-10-0-0-7_ec2_internal', 'ip-10-0-0-7.ec2.internal', undefined],
    ['another node on my subject', 'natlens.nodes.node1', 'node2', 'subject-node-mismatch'],
  ])('%s', (_name, subject, node, code) => {
    const problem = reportSubjectProblem(subject, node);
    expect(problem?.code).toBe(code);
    if (problem) expect(problem.message).toMatch(/reports only its own node, on natlens\.nodes\.node2/);
  });
});
