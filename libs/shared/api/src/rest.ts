import type { FlowRecord, FlowService, Verdict } from '@natlens/shared-model';
import type { AlertName, AlertRule, AlertSeverity, AlertState, AlertTransition } from './alerts';

/*
 * What the hub's REST API answers (DESIGN.md "Per-Service evidence"): the hub's controllers return these types and
 * the dashboard and the CLI read them, so a change of shape breaks the type check on both sides. The evidence body
 * itself is `ServiceEvidence` (@natlens/shared-analysis, which computes it).
 */

/** A closed time range in ms since the epoch. */
export interface ApiWindow {
  readonly from: number;
  readonly to: number;
}

/** One row of `GET /api/services`. */
export interface ServiceHeadline {
  readonly namespace: string;
  readonly name: string;
  readonly type: FlowService['type'];
  readonly externalTrafficPolicy: FlowService['externalTrafficPolicy'];
  readonly connections: number;
  readonly external: number;
  readonly snatted: number;
  readonly snatRatio: number;
  readonly byVerdict: Partial<Record<Verdict, number>>;
  /** Last record seen for the Service (absent when only the cluster knows it). */
  readonly lastSeen?: number;
}

/** `GET /api/services`. */
export interface ServicesResponse {
  readonly window: ApiWindow;
  readonly services: ServiceHeadline[];
}

/** `GET /api/flows` (and the agent's): raw records, newest first; pass `cursor=nextCursor` for the next page. */
export interface FlowsResponse {
  readonly flows: FlowRecord[];
  readonly nextCursor?: string;
}

/** One transition of one alert, as stored. */
export interface AlertHistoryEntry {
  readonly id: number;
  readonly rule: AlertName;
  readonly service: { readonly namespace: string; readonly name: string };
  readonly transition: AlertTransition;
  readonly severity: AlertSeverity;
  readonly value: number;
  readonly summary: string;
  readonly at: number;
}

/** `GET /api/alerts`: every alert's latest state, its history newest first (page with `before`), the rules in force. */
export interface AlertsResponse {
  readonly alerts: (AlertState & { readonly key: string })[];
  readonly history: AlertHistoryEntry[];
  readonly nextBefore?: number;
  readonly rules: Record<AlertName, AlertRule & { readonly for: string }>;
}
