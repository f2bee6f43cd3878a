// jstat ships no types: the declaration beside this file must reach every compilation that reaches this module (the
// workspace's and the dashboard's, whose tsconfigs include different folders), which only a reference does.
// eslint-disable-next-line @typescript-eslint/triple-slash-reference
/// <reference path="./jstat.d.ts" />
import { LB_DISTRIBUTION_ANNOTATION } from '@natlens/shared-model';
import { jStat } from 'jstat';

/*
 * How a load balancer spreads new connections over a Local-policy Service's nodes, which decides each pod's share
 * (kube-proxy on a node picks only among that node's pods):
 *
 * - per-node: an even split over the nodes that pass the health check (ECMP routes, MetalLB in BGP mode, most
 *   network load balancers in instance mode, the lab's `forward` LB): a pod gets 1/K ÷ the pods on its node.
 * - single-node: every connection to one node, the one that announces the address (MetalLB in L2 mode, keepalived
 *   VIPs): only that node's pods serve, 1/(its pods) each; the others get nothing until it fails over.
 * - per-pod: the load balancer targets the pods themselves (cloud LBs in IP mode, container-native NEGs): 1/N each,
 *   as with Cluster policy, and a node's share follows its pod count.
 *
 * The model is stated by the Service annotation `natlens.io/lb-distribution`, or inferred from the observed split of
 * the load balancer's connections over entry nodes, or else assumed (per-node, the common case). Pure.
 */

export const LB_DISTRIBUTIONS = ['per-node', 'single-node', 'per-pod'] as const;
export type LbDistribution = (typeof LB_DISTRIBUTIONS)[number];
export { LB_DISTRIBUTION_ANNOTATION };

/** Where the model used for predictions comes from. */
export type LbModelSource = 'annotation' | 'inferred' | 'default';

/**
 * Significance of the goodness-of-fit tests: a model is rejected when a split at least as far from it as the
 * observed one would happen with probability below this under the model. With three candidate models, a correct one
 * is rejected by chance with probability below 0.1%, per window.
 */
export const LB_FIT_ALPHA = 0.001;

/**
 * Cochran's rule for the chi-square approximation of a multinomial: at least this many connections expected on
 * every node under the model tested. It sets the minimum sample: 5·K connections for per-node over K nodes, 5·N/n
 * for per-pod where the emptiest node holds n of the N pods.
 */
const MIN_EXPECTED_PER_NODE = 5;

export interface EntryNodeCount {
  readonly node: string;
  /** Ready endpoints on the node (from the cluster's EndpointSlices). */
  readonly localEndpoints: number;
  /** Load-balancer connections that entered the node in the window (observed). */
  readonly connections: number;
}

export type LbInferenceOutcome =
  /** Exactly one model fits the observed split (the others are rejected at LB_FIT_ALPHA). */
  | 'inferred'
  /** Fewer than two nodes have endpoints: every model predicts the same. */
  | 'one-node'
  /** Fewer connections than `minConnections`: the tests would not be valid. */
  | 'too-few-connections'
  /** More than one model that predicts different shares fits: more connections would tell them apart. */
  | 'ambiguous'
  /** Every model is rejected (a weighted load balancer, or a failover inside the window). */
  | 'no-model-fits';

export interface LbInference {
  readonly outcome: LbInferenceOutcome;
  /** The model that fits, when `outcome` is `inferred`. */
  readonly distribution?: LbDistribution;
  /** Load-balancer connections over the nodes with endpoints, in the window. */
  readonly connections: number;
  /** Connections this topology needs before anything is inferred (Cochran's rule for every model tested). */
  readonly minConnections: number;
  readonly alpha: number;
  /** The observed split: one entry per node with endpoints, in name order. */
  readonly nodes: readonly EntryNodeCount[];
  /** Per model, the probability under it of a split at least as far from it as the one observed (absent: not tested). */
  readonly pValues: Partial<Record<LbDistribution, number>>;
}

export interface LbModel {
  readonly distribution: LbDistribution;
  readonly source: LbModelSource;
  /** single-node: the node that received the load balancer's connections (most of them), when any did. */
  readonly entryNode?: string;
  /** The annotation's value when it is not one of LB_DISTRIBUTIONS (ignored). */
  readonly invalidAnnotation?: string;
  /** What the observed split says, whatever the source (a stated model can then be checked against it). */
  readonly inference?: LbInference;
}

export function parseLbDistribution(value: string | undefined): LbDistribution | undefined {
  const trimmed = value?.trim();
  return (LB_DISTRIBUTIONS as readonly string[]).includes(trimmed ?? '') ? (trimmed as LbDistribution) : undefined;
}

/** Each node's expected share of the load balancer's connections under a model (single-node: on `entryNode`). */
export function nodeShares(distribution: LbDistribution, nodes: readonly Pick<EntryNodeCount, 'node' | 'localEndpoints'>[], entryNode?: string): number[] {
  const serving = nodes.filter((n) => n.localEndpoints > 0);
  const pods = serving.reduce((sum, n) => sum + n.localEndpoints, 0);
  return nodes.map((n) => {
    if (n.localEndpoints === 0) return 0;
    if (distribution === 'per-node') return 1 / serving.length;
    if (distribution === 'per-pod') return n.localEndpoints / pods;
    return n.node === entryNode ? 1 : 0;
  });
}

/** P(X ≥ statistic) for a chi-square distribution with `dof` degrees of freedom. */
function chiSquareSurvival(statistic: number, dof: number): number {
  return Math.max(0, 1 - jStat.chisquare.cdf(statistic, dof));
}

/** Pearson's goodness-of-fit test of observed counts against expected shares (all positive). */
function chiSquareTest(counts: readonly number[], shares: readonly number[]): number {
  const n = counts.reduce((sum, c) => sum + c, 0);
  const statistic = counts.reduce((sum, c, i) => {
    const expected = n * (shares[i] ?? 0);
    return sum + (c - expected) ** 2 / expected;
  }, 0);
  return chiSquareSurvival(statistic, counts.length - 1);
}

const sameShares = (a: readonly number[], b: readonly number[]): boolean => a.every((x, i) => Math.abs(x - (b[i] ?? 0)) < 1e-12);

/**
 * Which model the observed split of load-balancer connections over the nodes with endpoints fits. per-node and
 * per-pod are tested with Pearson's chi-square (K−1 degrees of freedom); single-node fits only when every connection
 * entered one node (it predicts nothing anywhere else). When per-node and per-pod predict the same split (as many pods
 * on every node), they are one model, reported as per-node.
 */
export function inferLbDistribution(observed: readonly EntryNodeCount[], alpha = LB_FIT_ALPHA): LbInference {
  const nodes = observed.filter((n) => n.localEndpoints > 0).sort((a, b) => a.node.localeCompare(b.node));
  const counts = nodes.map((n) => n.connections);
  const connections = counts.reduce((sum, c) => sum + c, 0);
  const perNode = nodeShares('per-node', nodes);
  const perPod = nodeShares('per-pod', nodes);
  const minConnections = nodes.length < 2 ? 0 : Math.ceil(MIN_EXPECTED_PER_NODE / Math.min(...perNode, ...perPod));
  const base = { connections, minConnections, alpha, nodes };
  if (nodes.length < 2) return { ...base, outcome: 'one-node', pValues: {} };
  if (connections < minConnections) return { ...base, outcome: 'too-few-connections', pValues: {} };

  const pValues: Partial<Record<LbDistribution, number>> = {
    'per-node': chiSquareTest(counts, perNode),
    'per-pod': chiSquareTest(counts, perPod),
    'single-node': counts.filter((c) => c > 0).length === 1 ? 1 : 0,
  };
  const candidates: LbDistribution[] = sameShares(perNode, perPod) ? ['per-node', 'single-node'] : ['per-node', 'per-pod', 'single-node'];
  const fitting = candidates.filter((model) => (pValues[model] ?? 0) >= alpha);
  if (fitting.length === 1) return { ...base, outcome: 'inferred', distribution: fitting[0] as LbDistribution, pValues };
  return { ...base, outcome: fitting.length === 0 ? 'no-model-fits' : 'ambiguous', pValues };
}

/**
 * The model predictions use: the annotation when it names one, else the inferred one, else per-node. `observed` is
 * undefined when nothing can be observed about the split (not a load-balanced Local-policy Service).
 */
export function lbModel(annotation: string | undefined, observed: readonly EntryNodeCount[] | undefined): LbModel {
  const stated = parseLbDistribution(annotation);
  const inference = observed === undefined ? undefined : inferLbDistribution(observed);
  const distribution: LbDistribution = stated ?? inference?.distribution ?? 'per-node';
  const source: LbModelSource = stated ? 'annotation' : inference?.distribution ? 'inferred' : 'default';
  const busiest = [...(observed ?? [])].filter((n) => n.localEndpoints > 0 && n.connections > 0).sort((a, b) => b.connections - a.connections || a.node.localeCompare(b.node))[0];
  return {
    distribution,
    source,
    ...(distribution === 'single-node' && busiest ? { entryNode: busiest.node } : {}),
    ...(annotation !== undefined && stated === undefined ? { invalidAnnotation: annotation } : {}),
    ...(inference ? { inference } : {}),
  };
}
