// The node agent (NestJS): started by `natlens agent`. A library so that the CLI reaches it through an import the
// module-boundary lint sees; the CLI loads it lazily (`natlens --help` never loads NestJS).
export * from './agent-daemon';
// The export stage on its own, for the hub-replica tests that publish batches as agents do.
export { NatsHubClient } from './export/nats-hub-client';
export { HubExporter } from './export/hub-exporter';
export { DiskSpool } from './export/disk-spool';
export { AgentMetrics } from './metrics/agent-metrics';
