import { Inject, Injectable } from '@nestjs/common';
import type { AlertState } from '@natlens/shared-analysis';
import type { Logger } from 'pino';
import type { HubConfig } from '../config/hub-config';
import { HubMetrics } from '../metrics/hub-metrics';
import { type Clock, CLOCK, HUB_CONFIG, LOGGER } from '../tokens';
import type { AlertRepository, OutboxEntry } from './alert-repository';
import { alertmanagerBody, genericBody, type Receiver, receiversFrom, retryableStatus, retryDelayMs } from './alert-payloads';
import { ALERT_REPOSITORY } from './alert-tokens';

/** A notification still undelivered after this long is dropped (with an error log): it no longer describes the present. */
const GIVE_UP_AFTER_MS = 24 * 3600_000;
const REQUEST_TIMEOUT_MS = 5000;
const POLL_MS = 500;

/**
 * Sends queued notifications (the outbox the evaluator fills in the same transaction as each transition) to the
 * configured webhooks and Alertmanagers, oldest first, with exponential backoff on failures. A notification leaves
 * the outbox only once a receiver accepted it, so a hub restart delivers what was queued before it stopped.
 */
@Injectable()
export class AlertDeliveryService {
  readonly receivers: readonly Receiver[];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(
    @Inject(ALERT_REPOSITORY) private readonly repository: AlertRepository,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
    @Inject(HubMetrics) private readonly metrics: HubMetrics,
    @Inject(CLOCK) private readonly now: Clock,
    @Inject(LOGGER) private readonly log: Logger,
  ) {
    this.receivers = receiversFrom(config.alertWebhooks, config.alertmanagers);
  }

  start(): void {
    if (this.receivers.length === 0 || this.timer) return;
    this.timer = setInterval(() => this.wake(), POLL_MS);
    this.timer.unref();
    this.wake();
  }

  /** Waits for the delivery in flight, then stops. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }

  /** Deliver what is due now (after the evaluator queued something); coalesces with a run in progress. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.deliverDue()
      .catch((err: unknown) => this.log.error({ err }, 'alert delivery failed; retrying at the next tick'))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  /** Each receiver's queue head, again and again while heads leave the queue (delivered or dropped). */
  private async deliverDue(): Promise<void> {
    for (;;) {
      const due = await this.repository.dueNotifications(this.now(), 100);
      let removed = 0;
      for (const entry of due) {
        if (this.stopped) return;
        if (await this.deliver(entry)) removed++;
      }
      if (removed === 0) return;
    }
  }

  /** True when the entry left the queue (delivered or dropped); false when it waits for a retry. */
  private async deliver(entry: OutboxEntry): Promise<boolean> {
    const receiver = this.receivers.find((r) => r.id === entry.receiver);
    const about = { receiver: entry.receiver, alert: entry.notification.alert.rule, service: `${entry.notification.alert.service.namespace}/${entry.notification.alert.service.name}`, status: entry.notification.transition };
    if (!receiver) {
      this.log.warn(about, 'alert notification for a receiver no longer configured: dropped');
      await this.repository.removeNotification(entry.id);
      return true;
    }
    const body = receiver.kind === 'generic' ? genericBody(entry.notification, this.config.dashboardUrl) : alertmanagerBody([entry.notification.alert], this.now(), 4 * this.config.alertResendMs, this.config.dashboardUrl);
    const outcome = await this.post(receiver, body);
    if (outcome.ok) {
      this.metrics.alertNotifications.inc({ receiver: receiver.kind, outcome: 'delivered' });
      this.log.info(about, 'alert notification delivered');
      await this.repository.removeNotification(entry.id);
      return true;
    }
    const age = this.now() - entry.createdAt;
    if (!outcome.retry || age > GIVE_UP_AFTER_MS) {
      this.metrics.alertNotifications.inc({ receiver: receiver.kind, outcome: 'dropped' });
      this.log.error({ ...about, error: outcome.error, attempts: entry.attempts + 1 }, outcome.retry ? 'alert notification undelivered for 24 h: dropped' : 'receiver rejected the alert notification: dropped; check the receiver URL and what it accepts');
      await this.repository.removeNotification(entry.id);
      return true;
    }
    const delay = retryDelayMs(entry.attempts, Math.random());
    this.metrics.alertNotifications.inc({ receiver: receiver.kind, outcome: 'retried' });
    this.log.warn({ ...about, error: outcome.error, retryInMs: delay }, 'alert notification not delivered; will retry');
    await this.repository.retryNotification(entry.id, this.now() + delay, outcome.error);
    return false;
  }

  /**
   * Alertmanager forgets a firing alert it stops hearing about (its resolve_timeout): re-send every firing alert.
   * Best effort: a failed re-send is simply repeated at the next interval.
   */
  async resendFiring(firing: readonly AlertState[]): Promise<void> {
    if (firing.length === 0) return;
    for (const receiver of this.receivers.filter((r) => r.kind === 'alertmanager')) {
      const outcome = await this.post(receiver, alertmanagerBody(firing, this.now(), 4 * this.config.alertResendMs, this.config.dashboardUrl));
      if (!outcome.ok) this.log.warn({ receiver: receiver.id, error: outcome.error }, 're-sending firing alerts to Alertmanager failed; will try again');
    }
  }

  private async post(receiver: Receiver, body: unknown): Promise<{ ok: true } | { ok: false; retry: boolean; error: string }> {
    try {
      const res = await fetch(receiver.url, { method: 'POST', headers: { 'Content-Type': 'application/json', 'User-Agent': 'natlens-hub' }, body: JSON.stringify(body), signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return { ok: true };
      return { ok: false, retry: retryableStatus(res.status), error: `HTTP ${res.status}` };
    } catch (err) {
      return { ok: false, retry: true, error: (err as Error).cause instanceof Error ? `${(err as Error).message}: ${((err as Error).cause as Error).message}` : (err as Error).message };
    }
  }
}
