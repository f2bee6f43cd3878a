import { DynamicModule, Module } from '@nestjs/common';
import type { ClusterMetadataSource } from '@natlens/shared-cluster';
import type { Logger } from 'pino';
import { ALERT_CONTROLLERS, alertProviders } from './alerts/alerts.providers';
import { FlowsController } from './api/flows.controller';
import { HealthController } from './api/health.controller';
import { IngestController } from './api/ingest.controller';
import { MetricsController } from './api/metrics.controller';
import { ServicesController } from './api/services.controller';
import { AuthController } from './auth/auth.controller';
import { IngestTokenGuard, ReadTokenGuard } from './auth/bearer.guard';
import { HubAuthService } from './auth/hub-auth.service';
import { busProviders } from './bus/bus.providers';
import { TokenVerifier } from './auth/token-verifier';
import { ClusterTopologyRepository } from './cluster/cluster-topology.repository';
import type { HubConfig } from './config/hub-config';
import { EvidenceService } from './evidence/evidence.service';
import { ingestProviders } from './ingest/ingest.providers';
import { LiveFeed } from './live/live-feed';
import { LiveGateway } from './live/live.gateway';
import { IMPORT_CONTROLLERS, IMPORT_PROVIDERS } from './import/import.providers';
import { NODE_CONTROLLERS, nodeProviders } from './nodes/nodes.providers';
import { HubMetrics } from './metrics/hub-metrics';
import { RetentionService } from './retention/retention.service';
import type { FlowRepository } from './storage/flow-repository';
import { type Clock, CLOCK, CLUSTER_SOURCE, FLOW_REPOSITORY, HUB_CONFIG, LOGGER } from './tokens';

export interface HubInfrastructure {
  readonly repository: FlowRepository;
  readonly cluster: ClusterMetadataSource | null;
  readonly clock: Clock;
  readonly metrics: HubMetrics;
}

/**
 * The wiring, in one place: ingest (HTTP, or the NATS bus) → store → evidence, store → live, and store → alerts →
 * webhooks; node reports (HTTP, or the bus) → node-report store → evidence (observed health checks) and alerts.
 */
@Module({})
export class HubModule {
  static forRoot(config: HubConfig, log: Logger, infrastructure: HubInfrastructure): DynamicModule {
    return {
      module: HubModule,
      controllers: [AuthController, HealthController, MetricsController, IngestController, ServicesController, FlowsController, ...ALERT_CONTROLLERS, ...IMPORT_CONTROLLERS, ...NODE_CONTROLLERS],
      providers: [
        { provide: HUB_CONFIG, useValue: config },
        { provide: LOGGER, useValue: log },
        { provide: CLOCK, useValue: infrastructure.clock },
        { provide: FLOW_REPOSITORY, useValue: infrastructure.repository },
        { provide: CLUSTER_SOURCE, useValue: infrastructure.cluster },
        { provide: HubMetrics, useValue: infrastructure.metrics },
        {
          provide: TokenVerifier,
          useValue: new TokenVerifier({ ingest: config.ingestTokens, read: config.readTokens, nodeTokens: config.nodeTokens, ...(config.nodeTokenSecret ? { nodeTokenSecret: config.nodeTokenSecret } : {}) }),
        },
        HubAuthService,
        IngestTokenGuard,
        ReadTokenGuard,
        LiveFeed,
        ClusterTopologyRepository,
        ...ingestProviders(config),
        EvidenceService,
        RetentionService,
        LiveGateway,
        ...nodeProviders(config),
        ...alertProviders(config),
        ...IMPORT_PROVIDERS,
        ...busProviders(config),
      ],
    };
  }
}
