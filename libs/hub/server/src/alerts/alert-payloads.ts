import type { AlertState } from '@natlens/shared-analysis';
import type { AlertNotification } from './alert-repository';

/*
 * The bodies receivers get. Pure. `generic`: one JSON object per notification. `alertmanager`: Alertmanager's API v2
 * `POST /api/v2/alerts` body (an array of postable alerts), so an existing Alertmanager routes, groups and silences
 * natlens alerts like any Prometheus alert.
 */

export type ReceiverKind = 'generic' | 'alertmanager';

export interface Receiver {
  /** `generic:<url>` or `alertmanager:<url>`: how a queued notification names its receiver. */
  readonly id: string;
  readonly kind: ReceiverKind;
  /** Where to POST (for Alertmanager, <base>/api/v2/alerts). */
  readonly url: string;
}

export function receiversFrom(webhooks: readonly string[], alertmanagers: readonly string[]): Receiver[] {
  return [
    ...webhooks.map((url) => ({ id: `generic:${url}`, kind: 'generic' as const, url })),
    ...alertmanagers.map((base) => ({ id: `alertmanager:${base}`, kind: 'alertmanager' as const, url: `${base.replace(/\/+$/, '')}/api/v2/alerts` })),
  ];
}

export function alertLabels(alert: AlertState): Record<string, string> {
  return { alertname: alert.rule, namespace: alert.service.namespace, service: alert.service.name, severity: alert.severity };
}

/** Link to the Service on the dashboard, when its URL is configured. */
export function serviceLink(alert: AlertState, dashboardUrl: string | undefined): string | undefined {
  if (!dashboardUrl) return undefined;
  return `${dashboardUrl.replace(/\/+$/, '')}/services/${encodeURIComponent(alert.service.namespace)}/${encodeURIComponent(alert.service.name)}`;
}

export interface GenericNotificationBody {
  readonly version: 'natlens.alert.v1';
  readonly status: 'firing' | 'resolved';
  readonly alert: AlertState;
  readonly labels: Record<string, string>;
  readonly link?: string;
}

export function genericBody(notification: AlertNotification, dashboardUrl?: string): GenericNotificationBody {
  const link = serviceLink(notification.alert, dashboardUrl);
  return { version: 'natlens.alert.v1', status: notification.transition, alert: notification.alert, labels: alertLabels(notification.alert), ...(link ? { link } : {}) };
}

export interface PostableAlert {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly startsAt: string;
  readonly endsAt?: string;
  readonly generatorURL?: string;
}

/**
 * A firing alert's `endsAt` lies `holdMs` ahead (as Prometheus does: 4 × its re-send delay), so Alertmanager keeps
 * it firing between re-sends and resolves it by itself if the hub goes away; a resolved alert ends when it resolved.
 */
export function alertmanagerBody(alerts: readonly AlertState[], sentAt: number, holdMs: number, dashboardUrl?: string): PostableAlert[] {
  return alerts.map((alert) => {
    const link = serviceLink(alert, dashboardUrl);
    const endsAt = alert.state === 'resolved' ? (alert.resolvedAt ?? sentAt) : sentAt + holdMs;
    return {
      labels: alertLabels(alert),
      annotations: { summary: alert.summary, value: String(alert.value), threshold: String(alert.threshold) },
      startsAt: new Date(alert.firedAt ?? alert.activeSince).toISOString(),
      endsAt: new Date(endsAt).toISOString(),
      ...(link ? { generatorURL: link } : {}),
    };
  });
}

/** HTTP statuses worth retrying: the receiver may accept the same body later. Other 4xx mean the body is wrong. */
export function retryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

/** Exponential backoff with ±20% jitter, from 1 s to 5 min. `random` in [0, 1). */
export function retryDelayMs(attempts: number, random: number): number {
  const base = Math.min(1000 * 2 ** Math.min(attempts, 20), 300_000);
  return Math.round(base * (0.8 + 0.4 * random));
}
