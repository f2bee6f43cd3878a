import type { EndpointRef, Finding, ServiceEvidence, ServiceTopology } from './evidence-types';
import type { LbInference, LbModel } from './lb-distribution';
import { podKey, predictedShares } from './predicted-shares';

type EvidenceNumbers = Omit<ServiceEvidence, 'findings'>;

/** Observed max/mean above which uneven load is worth a finding (the common Prometheus LoadImbalance threshold). */
export const IMBALANCE_MAX_OVER_MEAN = 2;
/** Predicted shares further apart than this ratio mean the topology itself makes the load uneven. */
const PREDICTED_SPREAD_RATIO = 1.5;

export const percent = (x: number): string => `${(x * 100).toFixed(x > 0 && x < 0.1 ? 1 : 0)}%`;

const SPREAD_FIX =
  'spread the pods evenly over nodes with topologySpreadConstraints (maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule) or podAntiAffinity, or run one pod per node as a DaemonSet (cost: scheduling can block when nodes are short, and a DaemonSet scales with nodes rather than load)';

/**
 * `local-policy-imbalance`: the load of a Local-policy Service is (or is predicted to be) uneven, explained by the
 * load balancer's distribution model, which decides both the cause and the fix.
 */
export function localPolicyImbalance(evidence: EvidenceNumbers, topology: ServiceTopology): Finding | undefined {
  if (evidence.service.externalTrafficPolicy !== 'Local') return undefined;
  const predicted = evidence.imbalance.predicted.map((p) => p.share);
  const positive = predicted.filter((share) => share > 0);
  const spread = positive.length === 0 ? 1 : Math.max(...positive) / Math.min(...positive);
  const idlePredicted = positive.length > 0 && positive.length < predicted.length;
  const observedUneven = evidence.imbalance.maxOverMean > IMBALANCE_MAX_OVER_MEAN;
  if (!(spread > PREDICTED_SPREAD_RATIO || observedUneven || idlePredicted)) return undefined;

  const ref = `${evidence.service.namespace}/${evidence.service.name}`;
  const model = evidence.imbalance.model;
  const crowded = evidence.nodes.filter((node) => node.localEndpoints > 0).map((node) => `${node.node}: ${node.localEndpoints} pod(s)`).join(', ');
  const observed = `observed max/mean ${evidence.imbalance.maxOverMean.toFixed(2)} (max share ${percent(evidence.imbalance.maxShare)}, min ${percent(evidence.imbalance.minShare)})`;
  const shares = `Predicted shares: ${describePredicted(topology, model)}; ${observed}.`;
  const basis = model ? ` ${describeModelSource(model)}` : '';

  if (model?.distribution === 'single-node') {
    const node = model.entryNode ?? 'one node';
    const served = evidence.nodes.find((n) => n.node === model.entryNode)?.localEndpoints;
    const elsewhere = evidence.nodes.filter((n) => n.node !== model.entryNode).reduce((sum, n) => sum + n.localEndpoints, 0);
    return {
      severity: 'warning',
      code: 'local-policy-imbalance',
      message:
        `Load on ${ref} is uneven because the load balancer sends every connection to one node (${node}), as MetalLB in L2 mode does with the node that announces the address, and externalTrafficPolicy: Local keeps each connection on the node it entered: ` +
        `only ${node}'s ${served ?? '?'} pod(s) serve, and the ${elsewhere} pod(s) on other nodes get none until the address moves.${basis} ${shares} ` +
        `Fix: a load balancer that spreads over the nodes (MetalLB in BGP mode, a cloud network load balancer), or externalTrafficPolicy: Cluster (${node} then spreads over every pod, at the price of the client IP, SNAT'd to ${node}'s address); spreading the pods over nodes does not help while one node receives everything.`,
    };
  }
  if (model?.distribution === 'per-pod') {
    return {
      severity: 'warning',
      code: 'local-policy-imbalance',
      message:
        `Load on ${ref} is uneven although the load balancer targets the pods themselves (per-pod), which should give each pod the same share whatever node it runs on.${basis} ${shares} ` +
        `The policy does not explain it: check the load balancer's target weights and health, and long-lived connections (shares count new connections).`,
    };
  }
  return {
    severity: 'warning',
    code: 'local-policy-imbalance',
    message:
      `Load on ${ref} is uneven because externalTrafficPolicy: Local splits traffic per node, then per pod on that node (${crowded}).${basis} ${shares} ` +
      `Fix: ${SPREAD_FIX}; or switch to externalTrafficPolicy: Cluster for an even per-pod split at the price of the client IP.`,
  };
}

/** Where the model came from, in a sentence. */
export function describeModelSource(model: LbModel): string {
  const inference = model.inference;
  const stated = `The load balancer's split (${model.distribution}) is stated by the Service's natlens.io/lb-distribution annotation`;
  if (model.source === 'annotation') {
    const disagrees = inference?.outcome === 'inferred' && inference.distribution !== model.distribution;
    return disagrees ? `${stated}, although the observed split fits ${inference.distribution} (${describeFit(inference)}).` : `${stated}.`;
  }
  if (model.source === 'inferred' && inference) return `The load balancer's split (${model.distribution}) is inferred from the observed split over entry nodes (${describeFit(inference)}).`;
  const invalid = model.invalidAnnotation === undefined ? '' : ` (the annotation's value "${model.invalidAnnotation}" is none of per-node, single-node, per-pod)`;
  return `The load balancer's split is assumed to be per-node: no natlens.io/lb-distribution annotation states it${invalid} and ${whyNotInferred(inference)}.`;
}

function describeFit(inference: LbInference): string {
  const split = inference.nodes.map((n) => `${n.node} ${n.connections}`).join(', ');
  const p = Object.entries(inference.pValues).map(([model, value]) => `${model} p=${value < 1e-4 ? value.toExponential(1) : value.toFixed(4)}`).join(', ');
  return `${inference.connections} connections: ${split}; ${p}; a model is rejected below p=${inference.alpha}`;
}

function whyNotInferred(inference: LbInference | undefined): string {
  if (!inference) return 'it is only inferred for Local-policy LoadBalancers';
  switch (inference.outcome) {
    case 'one-node':
      return 'with endpoints on one node every split predicts the same';
    case 'too-few-connections':
      return `${inference.connections} load-balancer connections are too few to infer it (${inference.minConnections} needed here)`;
    case 'ambiguous':
      return `the observed split fits more than one model (${describeFit(inference)})`;
    case 'no-model-fits':
      return `the observed split fits none of the models (${describeFit(inference)}): a weighted load balancer, or a failover inside the window`;
    case 'inferred':
      return 'the inference was overruled';
  }
}

/** Predicted shares in words, under Local policy and the model (the predictions of switching to Local, too). */
export function describePredicted(topology: ServiceTopology, model: LbModel | undefined): string {
  if (topology.endpoints.length === 0) return 'no endpoints known';
  const shares = new Map(predictedShares('Local', topology.endpoints, model).map((p) => [p.pod, p.share]));
  if (shares.size === 0) return `all connections to the pods of the one node that receives them (not known yet)`;
  const groups = new Map<string, EndpointRef[]>();
  for (const endpoint of topology.endpoints) {
    const key = endpoint.node ?? '?';
    groups.set(key, [...(groups.get(key) ?? []), endpoint]);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([node, pods]) => `${pods.length} pod(s) on ${node} get ${percent(shares.get(podKey(pods[0] as EndpointRef)) ?? 0)} each`)
    .join(', ');
}
