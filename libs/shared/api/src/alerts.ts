/*
 * Alerts of DESIGN.md "Alerts": a rule per cause, evaluated per Service over a window of evidence, with states
 * pending → firing → resolved (Prometheus' alerting model, so the Alertmanager shape maps onto it directly).
 */

export const ALERT_NAMES = ['UnexpectedSNAT', 'LoadImbalance', 'TrafficToNodeWithoutEndpoints', 'HealthCheckMismatch', 'NATInsertFailures'] as const;
export type AlertName = (typeof ALERT_NAMES)[number];

export const ALERT_SEVERITIES = ['info', 'warning', 'critical'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

export interface AlertRule {
  /** The rule is active when its signal is strictly above this. */
  readonly threshold: number;
  /** How long the signal must stay above the threshold before the alert fires (0: at once). */
  readonly forMs: number;
  readonly severity: AlertSeverity;
  readonly enabled: boolean;
  /** Connections the window must hold before the signal counts (a share over 3 connections is noise). */
  readonly minConnections: number;
}

export type AlertRules = Readonly<Record<AlertName, AlertRule>>;

/** `pending`: above the threshold for less than `for`; `firing`; `resolved`: fired, then the cause went away. */
export type AlertStateName = 'pending' | 'firing' | 'resolved';

export interface AlertServiceRef {
  readonly namespace: string;
  readonly name: string;
}

/** One alert: one rule on one Service. Its latest state is stored; every transition is kept as history. */
export interface AlertState {
  readonly rule: AlertName;
  readonly service: AlertServiceRef;
  readonly state: AlertStateName;
  readonly severity: AlertSeverity;
  /** The signal at the last evaluation that changed or confirmed the state. */
  readonly value: number;
  readonly threshold: number;
  readonly summary: string;
  /** When the signal went above the threshold (the start of the pending period). */
  readonly activeSince: number;
  readonly firedAt?: number;
  readonly resolvedAt?: number;
  readonly updatedAt: number;
}

/** What a transition means for the outside world: notifications go out for `firing` and `resolved` only. */
export type AlertTransition = 'pending' | 'firing' | 'resolved' | 'cancelled';

export interface AlertSignal {
  readonly value: number;
  /** Plain language: what was measured, where, and why it matters. */
  readonly summary: string;
}
