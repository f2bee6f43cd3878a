import type { Provider } from '@nestjs/common';
import type { HubConfig } from '../config/hub-config';
import { HubMetrics } from '../metrics/hub-metrics';
import { BusMetrics } from './bus-metrics';
import { BUS_STATUS } from './bus.tokens';
import { FlowBusConsumer } from './flow-bus.consumer';

/** With NATLENS_BUS: the consumer and what it needs. Without: only a null BUS_STATUS (/healthz says "none"). */
export function busProviders(config: HubConfig): Provider[] {
  if (!config.bus) return [{ provide: BUS_STATUS, useValue: null }];
  return [
    { provide: BusMetrics, useFactory: (hub: HubMetrics) => new BusMetrics(hub.registry), inject: [HubMetrics] },
    FlowBusConsumer,
    { provide: BUS_STATUS, useExisting: FlowBusConsumer },
  ];
}
