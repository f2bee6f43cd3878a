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

  /** One series per pending or firing alert, value 1 (Prometheus' own ALERTS{alertstate} convention); removed when it stops. */
  readonly alerts = new Gauge({ name: 'natlens_alerts', help: 'Alerts that are pending or firing (1), by rule, Service, severity and state', labelNames: ['alertname', 'namespace', 'service', 'severity', 'alertstate'], registers: [this.registry] });
  readonly alertEvaluationSeconds = new Histogram({ name: 'natlens_hub_alert_evaluation_seconds', help: 'Time to evaluate every Service\'s alerts once', buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5], registers: [this.registry] });
  readonly alertNotifications = new Counter({ name: 'natlens_hub_alert_notifications_total', help: 'Alert notifications, by receiver kind and outcome (delivered, retried, dropped)', labelNames: ['receiver', 'outcome'], registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'natlens_hub_' });
  }
}
