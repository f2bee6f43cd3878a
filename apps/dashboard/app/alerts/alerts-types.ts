import type { AlertHistoryEntry, AlertSeverity, AlertState, AlertsResponse } from '@natlens/shared-api';

/** What the hub's GET /api/alerts answers (@natlens/shared-api). */
export type { AlertsResponse };
export type AlertHistoryEntryShape = AlertHistoryEntry;

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
