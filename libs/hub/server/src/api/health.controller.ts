import { Controller, Get, Inject } from '@nestjs/common';
import { BUS_STATUS } from '../bus/bus.tokens';
import type { FlowBusConsumer } from '../bus/flow-bus.consumer';
import { ClusterTopologyRepository } from '../cluster/cluster-topology.repository';
import type { FlowRepository } from '../storage/flow-repository';
import { FLOW_REPOSITORY } from '../tokens';

@Controller()
export class HealthController {
  constructor(
    @Inject(FLOW_REPOSITORY) private readonly repository: FlowRepository,
    @Inject(ClusterTopologyRepository) private readonly cluster: ClusterTopologyRepository,
    @Inject(BUS_STATUS) private readonly bus: FlowBusConsumer | null,
  ) {}

  /** 200 while the store answers; `cluster` says whether metadata is configured and fresh; `bus` the NATS consumer's state. */
  @Get('healthz')
  async health() {
    const flows = await this.repository.countFlows();
    return { status: 'ok', flows, cluster: this.cluster.configured ? this.cluster.status() : 'none (evidence derived from records)', bus: this.bus ? this.bus.status() : 'none (HTTP ingest only)' };
  }
}
