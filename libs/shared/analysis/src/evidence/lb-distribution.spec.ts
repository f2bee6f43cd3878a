import { inferLbDistribution, lbModel, nodeShares, parseLbDistribution, type EntryNodeCount } from './lb-distribution';
import { predictedShares } from './predicted-shares';

// Node names and counts only: the models know nothing of addresses.
const split = (...nodes: [string, number, number][]): EntryNodeCount[] => nodes.map(([node, localEndpoints, connections]) => ({ node, localEndpoints, connections }));

describe('inferLbDistribution', () => {
  it.each([
    // name, observed split (node, pods there, LB connections), outcome, model
    ['an even split over 3+1 pods: per-node', split(['a', 3, 610], ['b', 1, 590]), 'inferred', 'per-node'],
    ['a split following the pods (3:1): per-pod', split(['a', 3, 905], ['b', 1, 295]), 'inferred', 'per-pod'],
    ['everything on one of three nodes: single-node', split(['a', 2, 120], ['b', 1, 0], ['c', 1, 0]), 'inferred', 'single-node'],
    ['as many pods on every node: per-node and per-pod are one model', split(['a', 2, 52], ['b', 2, 48]), 'inferred', 'per-node'],
    ['a node without endpoints is no candidate (its traffic is another finding)', split(['a', 1, 50], ['b', 1, 48], ['c', 0, 7]), 'inferred', 'per-node'],
    ['one node with endpoints: every model predicts the same', split(['a', 2, 500], ['b', 0, 0]), 'one-node', undefined],
    ['below Cochran\'s rule (20 needed for 3:1 pods)', split(['a', 3, 19], ['b', 1, 0]), 'too-few-connections', undefined],
    ['20 connections fitting per-node and per-pod alike', split(['a', 3, 12], ['b', 1, 8]), 'ambiguous', undefined],
    ['a 90/10 split over equal nodes fits nothing', split(['a', 1, 900], ['b', 1, 100]), 'no-model-fits', undefined],
    ['a failover inside the window (two blocks on two nodes) fits nothing', split(['a', 1, 300], ['b', 1, 100], ['c', 1, 0]), 'no-model-fits', undefined],
  ])('%s', (_name, observed, outcome, distribution) => {
    const sut = inferLbDistribution(observed);
    expect(sut.outcome).toBe(outcome);
    expect(sut.distribution).toBe(distribution);
  });

  it('needs enough connections to expect 5 on every node under every model, and says how many', () => {
    expect(inferLbDistribution(split(['a', 3, 0], ['b', 1, 0])).minConnections).toBe(20); // per-pod: 1/4 on b
    expect(inferLbDistribution(split(['a', 1, 0], ['b', 1, 0], ['c', 1, 0])).minConnections).toBe(15); // 1/3 each
    expect(inferLbDistribution(split(['a', 1, 0])).minConnections).toBe(0);
  });

  it('reports the p-value of each model: the chance of a split this far from it under it', () => {
    const sut = inferLbDistribution(split(['a', 3, 600], ['b', 1, 600]));
    expect(sut.pValues['per-node']).toBe(1);
    expect(sut.pValues['per-pod']).toBeLessThan(1e-10);
    expect(sut.pValues['single-node']).toBe(0);
    expect(sut.nodes.map((n) => n.node)).toEqual(['a', 'b']);
  });

  it('single-node is told from per-node once all on one node would be unlikely under per-node', () => {
    // 2 nodes, 1 pod each: per-node puts all n on one node with probability 2^(1-n); n = 10 is not enough at 0.001
    expect(inferLbDistribution(split(['a', 1, 10], ['b', 1, 0])).outcome).toBe('ambiguous');
    expect(inferLbDistribution(split(['a', 1, 12], ['b', 1, 0])).outcome).toBe('inferred');
  });
});

describe('lbModel', () => {
  const singleNodeSplit = split(['node-x', 2, 200], ['node-y', 1, 0]);
  it.each([
    ['the annotation wins over the inference, which is kept', 'per-pod', singleNodeSplit, { distribution: 'per-pod', source: 'annotation' }, 'single-node'],
    ['inferred without an annotation; single-node names its node', undefined, singleNodeSplit, { distribution: 'single-node', source: 'inferred', entryNode: 'node-x' }, 'single-node'],
    ['stated single-node names the busiest node (the split itself fits per-node)', ' single-node ', split(['node-x', 1, 3], ['node-y', 1, 9]), { distribution: 'single-node', source: 'annotation', entryNode: 'node-y' }, 'per-node'],
    ['an unknown value is ignored and reported', 'round-robin', singleNodeSplit, { distribution: 'single-node', source: 'inferred', invalidAnnotation: 'round-robin' }, 'single-node'],
    ['nothing observed and nothing stated: per-node by default', undefined, undefined, { distribution: 'per-node', source: 'default' }, undefined],
  ])('%s', (_name, annotation, observed, expected, inferred) => {
    const sut = lbModel(annotation, observed);
    expect(sut).toMatchObject(expected);
    expect(sut.inference?.distribution).toBe(inferred);
  });

  it('parses only the three names', () => {
    expect(['per-node', 'single-node', 'per-pod', 'PER-NODE', '', undefined].map(parseLbDistribution)).toEqual(['per-node', 'single-node', 'per-pod', undefined, undefined, undefined]);
  });
});

describe('nodeShares and predictedShares under each model', () => {
  const nodes = split(['n1', 3, 0], ['n2', 1, 0], ['n3', 0, 0]);
  const endpoints = [
    { namespace: 'shop', pod: 'cart-a', node: 'n1' },
    { namespace: 'shop', pod: 'cart-b', node: 'n1' },
    { namespace: 'shop', pod: 'cart-c', node: 'n1' },
    { namespace: 'shop', pod: 'cart-d', node: 'n2' },
  ];
  it.each([
    ['per-node', undefined, [0.5, 0.5, 0], [1 / 6, 1 / 6, 1 / 6, 1 / 2]],
    ['per-pod', undefined, [0.75, 0.25, 0], [0.25, 0.25, 0.25, 0.25]],
    ['single-node', 'n1', [1, 0, 0], [1 / 3, 1 / 3, 1 / 3, 0]],
    ['single-node', 'n2', [0, 1, 0], [0, 0, 0, 1]],
  ] as const)('%s (entry node %s)', (distribution, entryNode, expectedNodes, expectedPods) => {
    expect(nodeShares(distribution, nodes, entryNode)).toEqual(expectedNodes.map((x) => expect.closeTo(x, 10)));
    expect(predictedShares('Local', endpoints, { distribution, entryNode }).map((p) => p.share)).toEqual(expectedPods.map((x) => expect.closeTo(x, 10)));
    // Cluster policy: every node spreads over every pod, whatever the load balancer does
    expect(predictedShares('Cluster', endpoints, { distribution, entryNode }).map((p) => p.share)).toEqual([0.25, 0.25, 0.25, 0.25]);
  });

  it('single-node without a known entry node predicts nothing rather than guessing the node', () => {
    expect(predictedShares('Local', endpoints, { distribution: 'single-node' })).toEqual([]);
  });
});
