import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Every number the hub exposes on /metrics, in its own registry (tests start many hubs in one process). */
export class HubMetrics {
  readonly registry = new Registry();
  readonly ingestBatches = new Counter({ name: 'natlens_hub_ingest_batches_total', help: 'Ingest requests, by outcome (stored, invalid, unauthorized, too-large, failed)', labelNames: ['outcome'], registers: [this.registry] });
  readonly unknownFields = new Counter({
    name: 'natlens_hub_unknown_fields_total',
    help: 'Keys in stored batches that this hub does not know (sent by a newer agent), dropped, by the object that held them (records[].service, ...)',
    labelNames: ['object'],
    registers: [this.registry],
  });
  readonly ingestedRecords = new Counter({ name: 'natlens_hub_ingested_records_total', help: 'Records stored, by whether they were new or replaced a stored one', labelNames: ['kind'], registers: [this.registry] });
  readonly ingestSeconds = new Histogram({ name: 'natlens_hub_ingest_seconds', help: 'Time to validate and store one batch', buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5], registers: [this.registry] });
  readonly authRefusals = new Counter({ name: 'natlens_hub_auth_refusals_total', help: 'Requests refused for their token, by reason (token-missing, token-rejected, scope)', labelNames: ['reason'], registers: [this.registry] });
  readonly nodeBindingRefusals = new Counter({
    name: 'natlens_hub_node_binding_refusals_total',
    help: 'Batches and node reports refused because of their node, by reason (node-not-allowed: the token is bound to another node; record-node-mismatch; subject-node-mismatch) and path (http, bus, import)',
    labelNames: ['reason', 'via'],
    registers: [this.registry],
  });
  readonly evidenceSeconds = new Histogram({ name: 'natlens_hub_evidence_seconds', help: 'Time to build one Service evidence', buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5], registers: [this.registry] });
  readonly liveClients = new Gauge({ name: 'natlens_hub_live_clients', help: 'socket.io clients connected to /live', registers: [this.registry] });
  readonly liveDropped = new Counter({ name: 'natlens_hub_live_dropped_total', help: 'Live subscriptions dropped, by reason', labelNames: ['reason'], registers: [this.registry] });
  readonly retentionDeleted = new Counter({ name: 'natlens_hub_retention_deleted_total', help: 'Rows deleted by the retention jobs, by kind (raw, rollup, service, alert-history, node-report, health-check-history)', labelNames: ['kind'], registers: [this.registry] });
  readonly nodeReports = new Counter({ name: 'natlens_hub_node_reports_total', help: 'Node reports from agents, by outcome (stored, outdated: a newer one was stored already, invalid, forbidden: a node token of another node, failed)', labelNames: ['outcome'], registers: [this.registry] });

  // Issue 20: each node's conntrack health as its agent reported it (observed over ctnetlink), for the rules in
  // deploy/prometheus. The kernel's counters re-exported as counters: each stored report adds the increase since the
  // node's previous report seen by this hub (replicas of one hub share reports over NATS: sum them by node).
  readonly conntrackEntries = new Gauge({ name: 'natlens_hub_node_conntrack_entries', help: 'Conntrack entries on the node, from its agent\'s latest report', labelNames: ['node'], registers: [this.registry] });
  readonly conntrackMax = new Gauge({ name: 'natlens_hub_node_conntrack_max', help: 'nf_conntrack_max of the node, from its agent\'s latest report (absent when the agent could not read it)', labelNames: ['node'], registers: [this.registry] });
  readonly conntrackInsertFailed = new Counter({ name: 'natlens_hub_node_conntrack_insert_failed_total', help: 'Increase of the node\'s conntrack insert_failed counter (entries that could not be confirmed: clashes, table full), as reported', labelNames: ['node'], registers: [this.registry] });
  readonly conntrackDrop = new Counter({ name: 'natlens_hub_node_conntrack_drop_total', help: 'Increase of the node\'s conntrack drop counter (packets dropped because no entry could be made), as reported', labelNames: ['node'], registers: [this.registry] });
  readonly conntrackEarlyDrop = new Counter({ name: 'natlens_hub_node_conntrack_early_drop_total', help: 'Increase of the node\'s conntrack early_drop counter (entries evicted to make room in a full table), as reported', labelNames: ['node'], registers: [this.registry] });
  readonly conntrackClashResolve = new Counter({ name: 'natlens_hub_node_conntrack_clash_resolve_total', help: 'Increase of the node\'s conntrack clash_resolve counter (insert races the kernel resolved without a drop), as reported', labelNames: ['node'], registers: [this.registry] });
  readonly snatPortsInUse = new Gauge({ name: 'natlens_hub_snat_ports_in_use', help: 'Translated source ports in use for one SNAT pair (the agent reports its busiest pairs only)', labelNames: ['node', 'snat_address', 'destination', 'destination_port', 'protocol'], registers: [this.registry] });
  readonly snatPortRange = new Gauge({ name: 'natlens_hub_snat_port_range_size', help: 'Source ports masquerade can choose from for one SNAT pair (its rule\'s --to-ports, else the kernel default), by basis', labelNames: ['node', 'snat_address', 'destination', 'destination_port', 'protocol', 'basis'], registers: [this.registry] });
  readonly serviceNatFailures = new Gauge({
    name: 'natlens_hub_service_nat_failures',
    help: 'Connections to a Service dropped by conntrack or NAT in the last 5 minutes (verdict dropped-nat-failure), by node, reason and basis (observed: seen per connection; estimated: correlated with the node\'s counters)',
    labelNames: ['namespace', 'service', 'node', 'reason', 'basis'],
    registers: [this.registry],
  });

  /** One series per pending or firing alert, value 1 (Prometheus' own ALERTS{alertstate} convention); removed when it stops. */
  readonly alerts = new Gauge({ name: 'natlens_alerts', help: 'Alerts that are pending or firing (1), by rule, Service, severity and state', labelNames: ['alertname', 'namespace', 'service', 'severity', 'alertstate'], registers: [this.registry] });
  readonly alertEvaluationSeconds = new Histogram({ name: 'natlens_hub_alert_evaluation_seconds', help: 'Time to evaluate every Service\'s alerts once', buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5], registers: [this.registry] });
  readonly alertNotifications = new Counter({ name: 'natlens_hub_alert_notifications_total', help: 'Alert notifications, by receiver kind and outcome (delivered, retried, dropped)', labelNames: ['receiver', 'outcome'], registers: [this.registry] });

  constructor() {
    // The event-loop lag histogram samples every 100 ms, not prom-client's default 10 ms: that timer woke the idle
    // process 100 times a second, about 0.7 % of a core on every node for nothing (lags that matter are longer).
    collectDefaultMetrics({ register: this.registry, prefix: 'natlens_hub_', eventLoopMonitoringPrecision: 100 });
  }
}
