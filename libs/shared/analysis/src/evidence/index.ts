export * from './evidence-types';
export { buildServiceEvidence, topologyFromRecords } from './service-evidence';
export { serviceFindings, IMBALANCE_MAX_OVER_MEAN } from './findings';
export { predictedShares, podKey } from './predicted-shares';
export {
  inferLbDistribution,
  lbModel,
  nodeShares,
  parseLbDistribution,
  LB_DISTRIBUTIONS,
  LB_DISTRIBUTION_ANNOTATION,
  LB_FIT_ALPHA,
  type EntryNodeCount,
  type LbDistribution,
  type LbInference,
  type LbInferenceOutcome,
  type LbModel,
  type LbModelSource,
} from './lb-distribution';
export { remedyFor, type Remedy } from './remedies';
export { healthCheckDisagreement } from './health-check-agreement';
