import type { AlertName, AlertRule, AlertSeverity, AlertState, AlertTransition } from '@natlens/shared-analysis';

/** What the hub's GET /api/alerts answers (apps/hub/src/alerts/alerts.controller.ts). */
export interface AlertsResponse {
  alerts: (AlertState & { key: string })[];
  history: AlertHistoryEntryShape[];
  nextBefore?: number;
  rules: Record<AlertName, AlertRule & { for: string }>;
}

export interface AlertHistoryEntryShape {
  id: number;
  rule: AlertName;
  service: { namespace: string; name: string };
  transition: AlertTransition;
  severity: AlertSeverity;
  value: number;
  summary: string;
  at: number;
}

/** Firing and pending alerts per Service (`namespace/name`), for the Services page's badges. */
export function alertBadges(alerts: readonly AlertState[]): Record<string, { firing: number; pending: number; worst?: AlertSeverity }> {
  const order: Record<AlertSeverity, number> = { critical: 0, warning: 1, info: 2 };
  const out: Record<string, { firing: number; pending: number; worst?: AlertSeverity }> = {};
  for (const alert of alerts) {
    if (alert.state === 'resolved') continue;
    const key = `${alert.service.namespace}/${alert.service.name}`;
    const entry = (out[key] ??= { firing: 0, pending: 0 });
    if (alert.state === 'firing') {
      entry.firing++;
      if (!entry.worst || order[alert.severity] < order[entry.worst]) entry.worst = alert.severity;
    } else entry.pending++;
  }
  return out;
}
