import { Command, InvalidArgumentError } from 'commander';

const int = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number');
  return n;
};

export function agentCommand(): Command {
  return new Command('agent')
    .description('run the node agent in the current network namespace: conntrack → translation records → hub')
    .option('--node <name>', 'this node\'s name as the cluster knows it (default: NATLENS_NODE or the hostname)')
    .option('--inventory <file>', 'cluster metadata from a Kubernetes List file (kubectl get nodes,pods,services,endpointslices -A -o json)')
    .option('--kubeconfig <file>', 'cluster metadata from the API server through this kubeconfig (default in a pod: its service account)')
    .option('--hub <url>', 'where to send records: http(s)://host:port or unix:/path/to/hub.sock')
    .option('--hub-token-file <file>', 'bearer token for the hub (or NATLENS_HUB_TOKEN; or NATLENS_NODE_TOKEN_SECRET(_FILE) to derive this node\'s token)')
    .option('--hub-ca-file <file>', 'PEM CA bundle to verify an https:// hub with (or NATLENS_HUB_CA_FILE)')
    .option('--read-token-file <file>', 'read tokens for the local API\'s records, one per line (or NATLENS_AGENT_READ_TOKENS); without any, records are served only on --api-socket')
    .option('--bus <url>', 'publish records to NATS JetStream instead (nats://host:port; or NATLENS_BUS): for several hub replicas')
    .option('--source <list>', 'record sources, comma-separated: ebpf, conntrack, pcap (default: the best available, eBPF where the kernel allows it, else conntrack)')
    .option('--capture-interfaces <list>', 'pcap source: interfaces tcpdump captures on, comma-separated (default any)')
    .option('--capture-filter <bpf>', 'pcap source: capture filter (default: the Services\' ports)')
    .option('--ebpf-ring-buffer-bytes <n>', 'eBPF source: the kernel → agent ring buffer, a power of two (default 8 MiB; or NATLENS_EBPF_RING_BUFFER_BYTES); the agent maps it twice, so it counts twice in its RSS', int)
    .option('--enable-accounting', 'turn on nf_conntrack_acct, nf_conntrack_timestamp and nf_conntrack_events=1 in this namespace')
    .option('--port <n>', 'local API port (/healthz, /metrics, /api/flows, socket.io /flows)', int)
    .option('--host <address>', 'local API address')
    .option('--api-socket <path>', 'serve the local API on a Unix socket instead of a port')
    .option('--flush-interval-ms <ms>', 'export changed records this often', int)
    .option('--spool-dir <dir>', 'where batches wait while the hub is away (default /var/lib/natlens/spool/<node>)')
    .option('--spool-max-bytes <n>', 'spool size limit; beyond it records are dropped and counted', int)
    .option('--health-check-interval-ms <ms>', 'probe this node\'s health checks (each Local LoadBalancer\'s healthCheckNodePort, kube-proxy /healthz) this often; 0: never (default 5000)', int)
    .option('--health-check-timeout-ms <ms>', 'give a health check this long to answer (default 1000)', int)
    .option('--proxy-healthz-port <n>', 'kube-proxy\'s /healthz port to probe; 0: none (default 10256)', int)
    .option('--node-report-interval-ms <ms>', 'send the node report (addresses, health-check answers, conntrack statistics, SNAT port usage) to the hub this often (default 5000)', int)
    .option('--conntrack-sample-interval-ms <ms>', 'read conntrack statistics (ctnetlink) and SNAT port usage (a conntrack dump) this often, for /metrics and the node report; 0: never (default 5000)', int)
    .option('--no-snat-pair-metrics', 'leave the busiest SNAT pairs\' addresses off /metrics (it is open on the node\'s network); the unlabelled busiest share stays (or NATLENS_SNAT_PAIR_METRICS=false)')
    .option('--node-port-addresses <list>', 'kube-proxy\'s nodePortAddresses: CIDRs and/or primary whose local addresses accept node ports (default: every local address, 127.0.0.1 included)')
    .option('--log-level <level>', 'trace, debug, info, warn, error')
    .action(async (flags: Record<string, unknown>) => {
      // The agent (@natlens/agent-daemon) is loaded only now, so the commands that do not need NestJS do not pay for it.
      const agent = await import('@natlens/agent-daemon');
      // commander sets a --no- option's value to true when it is absent; only its presence may override NATLENS_SNAT_PAIR_METRICS.
      const { snatPairMetrics, ...rest } = flags;
      await agent.runAgentCommand({ ...rest, ...(snatPairMetrics === false ? { snatPairMetrics: false } : {}), hubTokenFile: flags['hubTokenFile'] as string | undefined });
    });
}
