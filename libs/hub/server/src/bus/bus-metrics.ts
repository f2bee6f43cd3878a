import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The bus consumer's numbers, on the hub's /metrics (registered in the hub's registry). */
export class BusMetrics {
  readonly consumed: Counter;
  readonly acked: Counter;
  readonly redelivered: Counter;
  readonly terminated: Counter;
  readonly failed: Counter;
  readonly deadLettered: Counter;
  readonly pending: Gauge;
  readonly ackPending: Gauge;
  readonly connected: Gauge;
  readonly lagSeconds: Histogram;
  readonly streamBytes: Gauge;
  readonly streamMessages: Gauge;
  readonly streamMaxBytes: Gauge;
  readonly streamMaxAgeSeconds: Gauge;
  readonly backlogMessages: Gauge;
  readonly backlogBytes: Gauge;
  readonly backlogOldestAgeSeconds: Gauge;

  constructor(registry: Registry) {
    const registers = [registry];
    this.consumed = new Counter({ name: 'natlens_hub_bus_consumed_batches_total', help: 'Batches this replica took from the NATS stream', registers });
    this.acked = new Counter({ name: 'natlens_hub_bus_acked_batches_total', help: 'Batches stored and acknowledged', registers });
    this.redelivered = new Counter({ name: 'natlens_hub_bus_redelivered_batches_total', help: 'Batches delivered again (a replica died or was slow before acknowledging)', registers });
    this.terminated = new Counter({ name: 'natlens_hub_bus_terminated_batches_total', help: 'Batches that failed validation and were terminated (never redelivered)', registers });
    this.failed = new Counter({ name: 'natlens_hub_bus_failed_batches_total', help: 'Batches whose storing failed; handed back for redelivery', registers });
    this.deadLettered = new Counter({
      name: 'natlens_hub_bus_dead_lettered_batches_total',
      help: 'Batches whose storing failed at every one of max_deliver deliveries, published to natlens-deadletter.<node> (stream NATLENS_DEADLETTER) and terminated',
      registers,
    });
    this.pending = new Gauge({ name: 'natlens_hub_bus_consumer_pending_messages', help: 'Batches in the stream not yet delivered to any replica (consumer num_pending)', registers });
    this.ackPending = new Gauge({ name: 'natlens_hub_bus_consumer_ack_pending_messages', help: 'Batches delivered and not yet acknowledged, all replicas (consumer num_ack_pending)', registers });
    this.connected = new Gauge({ name: 'natlens_hub_bus_connected', help: '1 while this replica is connected to NATS and consuming', registers });
    this.lagSeconds = new Histogram({
      name: 'natlens_hub_bus_lag_seconds',
      help: 'From a batch being stored in the stream (publish acknowledged) to its records being committed in the store',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    // Observed from the server (stream and consumer info, polled): the stream discards its oldest messages at either limit,
    // consumed or not, so what matters is the part not yet acknowledged (the backlog) against those limits.
    this.streamBytes = new Gauge({ name: 'natlens_hub_bus_stream_bytes', help: 'Bytes held by the flow stream (NATLENS_FLOWS), consumed or not', registers });
    this.streamMessages = new Gauge({ name: 'natlens_hub_bus_stream_messages', help: 'Messages held by the flow stream, consumed or not', registers });
    this.streamMaxBytes = new Gauge({ name: 'natlens_hub_bus_stream_max_bytes', help: 'The flow stream\'s max_bytes: beyond it the oldest messages are discarded', registers });
    this.streamMaxAgeSeconds = new Gauge({ name: 'natlens_hub_bus_stream_max_age_seconds', help: 'The flow stream\'s max_age: older messages are discarded', registers });
    this.backlogMessages = new Gauge({ name: 'natlens_hub_bus_backlog_messages', help: 'Batches in the flow stream not yet acknowledged by the hubs (consumer num_pending + num_ack_pending)', registers });
    this.backlogBytes = new Gauge({
      name: 'natlens_hub_bus_backlog_bytes',
      help: 'Estimated bytes of the unacknowledged batches: stream bytes × backlog messages / stream messages (the server reports no bytes per consumer)',
      registers,
    });
    this.backlogOldestAgeSeconds = new Gauge({
      name: 'natlens_hub_bus_backlog_oldest_age_seconds',
      help: 'Age of the oldest batch not yet acknowledged (the first record batch after the consumer\'s ack floor); 0 without backlog',
      registers,
    });
  }
}
