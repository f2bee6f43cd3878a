import type { Provider } from '@nestjs/common';
import type { HubConfig } from '../config/hub-config';
import { HubMetrics } from '../metrics/hub-metrics';
import { parseStoreUrl } from '../storage/open-flow-repository';
import { BusMetrics } from './bus-metrics';
import { BUS_STATUS, NODE_LOCK } from './bus.tokens';
import { FlowBusConsumer } from './flow-bus.consumer';
import { InProcessNodeLock, PostgresNodeLock } from './node-lock';

/** With NATLENS_BUS: the consumer and what it needs. Without: only a null BUS_STATUS (/healthz says "none"). */
export function busProviders(config: HubConfig): Provider[] {
  if (!config.bus) return [{ provide: BUS_STATUS, useValue: null }];
  const store = parseStoreUrl(config.store);
  return [
    { provide: BusMetrics, useFactory: (hub: HubMetrics) => new BusMetrics(hub.registry), inject: [HubMetrics] },
    // Replicas share a PostgreSQL store: lock there. A SQLite store has one process: lock in memory.
    { provide: NODE_LOCK, useFactory: () => (store?.kind === 'postgres' ? new PostgresNodeLock(store.url, config.busConcurrency) : new InProcessNodeLock()) },
    FlowBusConsumer,
    { provide: BUS_STATUS, useExisting: FlowBusConsumer },
  ];
}
