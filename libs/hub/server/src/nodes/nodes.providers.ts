import type { Provider } from '@nestjs/common';
import type { HubConfig } from '../config/hub-config';
import { NatFailureMetricsService } from './nat-failure-metrics.service';
import { NodeReportService } from './node-report.service';
import { NODE_REPORT_REPOSITORY } from './node-tokens';
import { NodesController } from './nodes.controller';
import { openNodeReportRepository } from './open-node-report-repository';

/** Node reports, wired into HubModule: POST /api/nodes/report (and the NATS consumer) → store → evidence, alerts, GET /api/nodes. */
export const NODE_CONTROLLERS = [NodesController];

export function nodeProviders(config: HubConfig): Provider[] {
  return [{ provide: NODE_REPORT_REPOSITORY, useFactory: () => openNodeReportRepository(config.store, { statementTimeoutMs: config.storeStatementTimeoutMs }) }, NodeReportService, NatFailureMetricsService];
}
