import { Controller, Get, Inject, ServiceUnavailableException } from '@nestjs/common';
import { BUS_STATUS } from '../bus/bus.tokens';
import type { FlowBusConsumer } from '../bus/flow-bus.consumer';
import { ClusterTopologyRepository } from '../cluster/cluster-topology.repository';
import type { FlowRepository } from '../storage/flow-repository';
import { FLOW_REPOSITORY } from '../tokens';

/** A store that has not answered `SELECT 1` in this long is not ready (a probe's own timeout is ~1 s by default). */
const READY_STORE_TIMEOUT_MS = 900;

@Controller()
export class HealthController {
  constructor(
    @Inject(FLOW_REPOSITORY) private readonly repository: FlowRepository,
    @Inject(ClusterTopologyRepository) private readonly cluster: ClusterTopologyRepository,
    @Inject(BUS_STATUS) private readonly bus: FlowBusConsumer | null,
  ) {}

  /**
   * Liveness: 200 while the process serves HTTP. It touches no store (issue 18: it used to count every flow on each
   * call), so a busy or unreachable database never gets the hub restarted. `cluster` says whether metadata is
   * configured and fresh; `bus` the NATS consumer's state (both held in memory).
   */
  @Get('healthz')
  health() {
    return { status: 'ok', cluster: this.cluster.configured ? this.cluster.status() : 'none (evidence derived from records)', bus: this.bus ? this.bus.status() : 'none (HTTP ingest only)' };
  }

  /** Readiness: 200 when the store answers a trivial query within READY_STORE_TIMEOUT_MS, else 503 saying why. */
  @Get('readyz')
  async ready() {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${READY_STORE_TIMEOUT_MS} ms`)), READY_STORE_TIMEOUT_MS);
    });
    try {
      await Promise.race([this.repository.ping(), timeout]);
    } catch (err) {
      throw new ServiceUnavailableException({ code: 'store-unavailable', message: `the store does not answer: ${(err as Error).message}; check the database the hub's --store / NATLENS_STORE names` });
    } finally {
      clearTimeout(timer);
    }
    return { status: 'ready', store: { latencyMs: Math.round((performance.now() - started) * 100) / 100 } };
  }
}
