export * from './evidence-types';
export { buildServiceEvidence, topologyFromRecords } from './service-evidence';
export { serviceFindings, IMBALANCE_MAX_OVER_MEAN } from './findings';
export { predictedShares, podKey } from './predicted-shares';
export { healthCheckDisagreement } from './health-check-agreement';
