import { Command, InvalidArgumentError } from 'commander';

const int = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number');
  return n;
};

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function hubCommand(): Command {
  return new Command('hub')
    .description('run the hub: ingest from agents, store (SQLite or PostgreSQL), per-Service evidence, live stream')
    .option('--store <url>', 'sqlite:///path/to/natlens.db (default sqlite:///var/lib/natlens/natlens.db) or postgres://user@host:port/db (or NATLENS_STORE)')
    .option('--port <n>', 'HTTP and socket.io port (default 8470)', int)
    .option('--host <address>', 'listen address (default 0.0.0.0)')
    .option('--bus <url>', 'also consume record batches from NATS JetStream (nats://host:port; or NATLENS_BUS): every replica shares one durable consumer')
    .option('--socket <path>', 'also serve the API on this Unix socket (lab agents in network namespaces reach the hub this way)')
    .option('--inventory <file>', 'cluster metadata from a Kubernetes List file (kubectl get nodes,pods,services,endpointslices -A -o json)')
    .option('--kubeconfig <file>', 'cluster metadata from the API server through this kubeconfig')
    .option('--token-file <file>', 'ingest tokens, one per line (or NATLENS_HUB_TOKENS, comma-separated)')
    .option('--read-token-file <file>', 'read-only tokens for the API and /live, one per line (or NATLENS_HUB_READ_TOKENS)')
    .option('--node-token-file <file>', 'tokens bound to one node each, node=token per line (or NATLENS_HUB_NODE_TOKENS); derived ones: NATLENS_NODE_TOKEN_SECRET(_FILE)')
    .option('--tls-cert-file <file>', 'serve HTTPS (REST and socket.io) with this PEM certificate chain (or NATLENS_HUB_TLS_CERT_FILE)')
    .option('--tls-key-file <file>', 'the certificate\'s PEM key (or NATLENS_HUB_TLS_KEY_FILE)')
    .option('--max-body-bytes <n>', 'largest ingest body accepted (default 16 MiB)', int)
    .option('--raw-retention-hours <n>', 'keep raw flow records this long (default 24)', int)
    .option('--rollup-retention-days <n>', 'keep minute rollups this long (default 30)', int)
    .option('--alert-rules <file>', 'YAML overrides of the alert rules (threshold, for, severity, enabled, minConnections per rule); checked at start')
    .option('--alert-webhook <url>', 'POST each firing/resolved alert as JSON to this URL (repeatable; or NATLENS_ALERT_WEBHOOKS)', collect, [])
    .option('--alertmanager <url>', 'send alerts to this Alertmanager\'s /api/v2/alerts (repeatable; or NATLENS_ALERTMANAGERS)', collect, [])
    .option('--alert-interval <duration>', 'evaluate every Service\'s alerts this often (default 30s; also soon after each ingest)')
    .option('--alert-window <duration>', 'evidence window each evaluation looks at (default 5m)')
    .option('--alert-resend <duration>', 're-send firing alerts to Alertmanagers this often (default 1m)')
    .option('--dashboard-url <url>', 'dashboard base URL, for links in notifications')
    .option('--log-level <level>', 'trace, debug, info, warn, error')
    .action(async (flags: Record<string, unknown>) => {
      // The hub (@natlens/hub-server) is loaded only now: NestJS only when asked to.
      const hub = await import('@natlens/hub-server');
      await hub.runHubCommand(flags);
    });
}
