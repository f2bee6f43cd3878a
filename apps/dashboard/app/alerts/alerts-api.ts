import { hubGet } from '../../lib/hub';
import type { AlertsResponse } from './alerts-types';

/* Server-side read of the hub's GET /api/alerts (DESIGN.md "Alerts"). */
export function fetchAlerts(query: { service?: string; limit?: number; before?: number } = {}): Promise<AlertsResponse> {
  const params = new URLSearchParams();
  if (query.service) params.set('service', query.service);
  params.set('limit', String(query.limit ?? 100));
  if (query.before !== undefined) params.set('before', String(query.before));
  return hubGet<AlertsResponse>(`/api/alerts?${params.toString()}`);
}
