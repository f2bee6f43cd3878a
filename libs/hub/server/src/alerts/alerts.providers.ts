import type { Provider } from '@nestjs/common';
import type { HubConfig } from '../config/hub-config';
import { AlertDeliveryService } from './alert-delivery.service';
import { AlertEvaluationService } from './alert-evaluation.service';
import { ALERT_REPOSITORY } from './alert-tokens';
import { AlertsController } from './alerts.controller';
import { openAlertRepository } from './open-alert-repository';

/** Alerting, wired into HubModule: store (same database as the flows) → evaluation → delivery, and GET /api/alerts. */
export const ALERT_CONTROLLERS = [AlertsController];

export function alertProviders(config: HubConfig): Provider[] {
  return [{ provide: ALERT_REPOSITORY, useFactory: () => openAlertRepository(config.store, { statementTimeoutMs: config.storeStatementTimeoutMs }) }, AlertDeliveryService, AlertEvaluationService];
}
