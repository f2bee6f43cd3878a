// The alert types are the hub's API contract (@natlens/shared-api); re-exported for the rules that compute them.
export { ALERT_NAMES, ALERT_SEVERITIES, type AlertName, type AlertSeverity, type AlertRule, type AlertRules, type AlertStateName, type AlertServiceRef, type AlertState, type AlertTransition, type AlertSignal } from '@natlens/shared-api';
export * from './alert-rules';
export * from './alert-signals';
export * from './alert-state-machine';
export * from './duration';
