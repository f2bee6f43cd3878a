import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The bus consumer's numbers, on the hub's /metrics (registered in the hub's registry). */
export class BusMetrics {
  readonly consumed: Counter;
  readonly acked: Counter;
  readonly redelivered: Counter;
  readonly terminated: Counter;
  readonly failed: Counter;
  readonly pending: Gauge;
  readonly ackPending: Gauge;
  readonly connected: Gauge;
  readonly lagSeconds: Histogram;

  constructor(registry: Registry) {
    const registers = [registry];
    this.consumed = new Counter({ name: 'natlens_hub_bus_consumed_batches_total', help: 'Batches this replica took from the NATS stream', registers });
    this.acked = new Counter({ name: 'natlens_hub_bus_acked_batches_total', help: 'Batches stored and acknowledged', registers });
    this.redelivered = new Counter({ name: 'natlens_hub_bus_redelivered_batches_total', help: 'Batches delivered again (a replica died or was slow before acknowledging)', registers });
    this.terminated = new Counter({ name: 'natlens_hub_bus_terminated_batches_total', help: 'Batches that failed validation and were terminated (never redelivered)', registers });
    this.failed = new Counter({ name: 'natlens_hub_bus_failed_batches_total', help: 'Batches whose storing failed; handed back for redelivery', registers });
    this.pending = new Gauge({ name: 'natlens_hub_bus_consumer_pending_messages', help: 'Batches in the stream not yet delivered to any replica (consumer num_pending)', registers });
    this.ackPending = new Gauge({ name: 'natlens_hub_bus_consumer_ack_pending_messages', help: 'Batches delivered and not yet acknowledged, all replicas (consumer num_ack_pending)', registers });
    this.connected = new Gauge({ name: 'natlens_hub_bus_connected', help: '1 while this replica is connected to NATS and consuming', registers });
    this.lagSeconds = new Histogram({
      name: 'natlens_hub_bus_lag_seconds',
      help: 'From a batch being stored in the stream (publish acknowledged) to its records being committed in the store',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
  }
}
