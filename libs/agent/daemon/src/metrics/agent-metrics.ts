import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Every number the agent exposes on /metrics, in one registry (no global default registry: tests build many). */
export class AgentMetrics {
  readonly registry = new Registry();
  readonly netlinkDatagrams = new Counter({ name: 'natlens_agent_netlink_datagrams_total', help: 'Netlink datagrams received, by purpose', labelNames: ['purpose'], registers: [this.registry] });
  readonly netlinkEnobufs = new Counter({ name: 'natlens_agent_netlink_enobufs_total', help: 'Times the kernel reported lost conntrack events (ENOBUFS); each triggers a resynchronising dump', registers: [this.registry] });
  readonly conntrackEvents = new Counter({ name: 'natlens_agent_conntrack_events_total', help: 'Conntrack messages decoded, by kind (new, update, destroy, dump)', labelNames: ['kind'], registers: [this.registry] });
  readonly resyncs = new Counter({ name: 'natlens_agent_conntrack_resyncs_total', help: 'Full conntrack dumps, by reason', labelNames: ['reason'], registers: [this.registry] });
  readonly records = new Counter({ name: 'natlens_agent_records_total', help: 'Flow records produced, by verdict', labelNames: ['verdict'], registers: [this.registry] });
  readonly dropped = new Counter({ name: 'natlens_agent_dropped_total', help: 'Items a pipeline stage dropped, by stage and reason', labelNames: ['stage', 'reason'], registers: [this.registry] });
  readonly queueDepth = new Gauge({ name: 'natlens_agent_queue_depth', help: 'Items waiting between pipeline stages', labelNames: ['queue'], registers: [this.registry] });
  readonly activeFlows = new Gauge({ name: 'natlens_agent_active_flows', help: 'Connections tracked by the aggregate stage', registers: [this.registry] });
  readonly exported = new Counter({ name: 'natlens_agent_exported_records_total', help: 'Records the hub accepted', registers: [this.registry] });
  readonly exportFailures = new Counter({ name: 'natlens_agent_export_failures_total', help: 'Failed export attempts, by reason', labelNames: ['reason'], registers: [this.registry] });
  readonly spoolBytes = new Gauge({ name: 'natlens_agent_spool_bytes', help: 'Bytes of record batches waiting for the hub: on disk, and held in memory (at most 8 MiB, for at most a second while the hub keeps up)', registers: [this.registry] });
  readonly spoolMaxBytes = new Gauge({ name: 'natlens_agent_spool_max_bytes', help: 'The spool\'s limit (--spool-max-bytes): past it new batches are lost', registers: [this.registry] });
  readonly lostRecords = new Counter({ name: 'natlens_agent_lost_records_total', help: 'Records lost for good, by reason (spool-full, spool-write-failed: the disk refused the batch, rejected: the receiver refused it for good and it is in dead-letter/). Records of a spool file that could not be read are not known: see natlens_agent_lost_batches_total{reason="unreadable"}', labelNames: ['reason'], registers: [this.registry] });
  readonly lostBatches = new Counter({ name: 'natlens_agent_lost_batches_total', help: 'Record batches lost for good, by reason (as natlens_agent_lost_records_total, plus unreadable: a spool file that could not be read or is no batch, moved to quarantine/)', labelNames: ['reason'], registers: [this.registry] });
  readonly batchSplits = new Counter({ name: 'natlens_agent_batch_splits_total', help: 'Batches the receiver refused as too large (HTTP 413) and the agent split in halves to send again', registers: [this.registry] });
  readonly spoolRetainedBytes = new Gauge({ name: 'natlens_agent_spool_retained_bytes', help: 'Bytes kept for inspection beside the spool, by directory (quarantine, dead-letter); each is bounded to a quarter of the spool limit', labelNames: ['dir'], registers: [this.registry] });
  readonly unexpectedErrors = new Counter({ name: 'natlens_agent_unexpected_errors_total', help: 'Errors no stage handled (a bug), by where they surfaced (export-loop, unhandled-rejection, uncaught-exception); the agent logs each and keeps running', labelNames: ['where'], registers: [this.registry] });
  readonly kernelSetting = new Gauge({ name: 'natlens_agent_kernel_setting', help: 'Conntrack sysctls the agent depends on (1 = on)', labelNames: ['setting'], registers: [this.registry] });
  // eBPF source (libs/agent/ebpf)
  readonly ebpfEvents = new Counter({ name: 'natlens_agent_ebpf_events_total', help: 'Ring-buffer events decoded, by kind (new, end, drop, nat-failure)', labelNames: ['kind'], registers: [this.registry] });
  readonly ebpfBatches = new Counter({ name: 'natlens_agent_ebpf_batches_total', help: 'Ring-buffer batches handed over by the loader', registers: [this.registry] });
  readonly ebpfRingBufferDrops = new Counter({ name: 'natlens_agent_ebpf_ringbuf_drops_total', help: 'Events the BPF program could not queue because the ring buffer was full (counted in the kernel)', registers: [this.registry] });
  readonly ebpfKernelTotals = new Gauge({ name: 'natlens_agent_ebpf_kernel_totals', help: 'Per-namespace totals counted by the BPF program since it was loaded (connections, ends, drops, ringbuf_full)', labelNames: ['netns', 'counter'], registers: [this.registry] });

  // Health checks probed on this node (health-checks/), and the node reports that carry them to the hub
  readonly healthCheckProbes = new Counter({ name: 'natlens_agent_healthcheck_probes_total', help: 'Health-check probes sent on this node, by target (service: a healthCheckNodePort; proxy: kube-proxy /healthz) and outcome (healthy = 200, unhealthy = another status, no-answer, malformed = an answer whose body was not kube-proxy\'s)', labelNames: ['target', 'outcome'], registers: [this.registry] });
  readonly healthCheckLatency = new Histogram({ name: 'natlens_agent_healthcheck_latency_seconds', help: 'Time to a health-check answer (or to giving up), by target', labelNames: ['target'], buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [this.registry] });
  readonly healthCheckStatus = new Gauge({ name: 'natlens_agent_healthcheck_http_status', help: 'The last HTTP status of each Service\'s healthCheckNodePort on this node (0: no answer)', labelNames: ['namespace', 'service'], registers: [this.registry] });
  readonly healthCheckLocalEndpoints = new Gauge({ name: 'natlens_agent_healthcheck_local_endpoints', help: 'localEndpoints in the last answer of each Service\'s healthCheckNodePort on this node (absent when the answer had none)', labelNames: ['namespace', 'service'], registers: [this.registry] });
  readonly nodeReports = new Counter({ name: 'natlens_agent_node_reports_total', help: 'Node reports (addresses, health checks) sent to the hub, by outcome (sent, rejected, failed)', labelNames: ['outcome'], registers: [this.registry] });

  // Conntrack health (conntrack-health/): ctnetlink statistics, the table's size and limit, SNAT port usage
  readonly conntrackStat = new Counter({ name: 'natlens_agent_conntrack_stat_total', help: 'The kernel\'s conntrack statistics for this node\'s network namespace, summed over CPUs (IPCTNL_MSG_CT_GET_STATS_CPU), by counter as conntrack -S names them: insert_failed (a new entry could not be inserted: a clash the kernel could not resolve, or no free NAT tuple; the packet was dropped), drop (packets conntrack dropped: the table was full, or the entry could not be inserted), early_drop (an unassured entry evicted to make room), clash_resolve (a clash the kernel resolved, the packet kept), error, invalid, found, insert, search_restart, chaintoolong', labelNames: ['counter'], registers: [this.registry] });
  readonly conntrackEntries = new Gauge({ name: 'natlens_agent_conntrack_entries', help: 'Entries in this node\'s conntrack table (CTA_STATS_GLOBAL_ENTRIES)', registers: [this.registry] });
  readonly conntrackMax = new Gauge({ name: 'natlens_agent_conntrack_max', help: 'nf_conntrack_max: past it new connections are dropped (counter drop) after early_drop found nothing to evict', registers: [this.registry] });
  readonly conntrackBuckets = new Gauge({ name: 'natlens_agent_conntrack_buckets', help: 'nf_conntrack_buckets: the conntrack hash table\'s size', registers: [this.registry] });
  readonly conntrackSnatPortsInUse = new Gauge({ name: 'natlens_agent_conntrack_snat_ports_in_use', help: 'Translated source ports in use per SNAT address, destination, destination port and protocol, for the busiest pairs only (at most 50; not with --no-snat-pair-metrics)', labelNames: ['snat_address', 'destination', 'destination_port', 'protocol'], registers: [this.registry] });
  readonly conntrackSnatPortRange = new Gauge({ name: 'natlens_agent_conntrack_snat_port_range', help: 'Ports the SNAT rule can choose from for the same pairs (basis nat-rule: the rule\'s --to-ports; kernel-default: 1024-65535)', labelNames: ['snat_address', 'destination', 'destination_port', 'protocol', 'basis'], registers: [this.registry] });
  readonly conntrackSnatBusiestShare = new Gauge({ name: 'natlens_agent_conntrack_snat_busiest_share', help: 'The share (0-1) of its range the busiest SNAT pair uses: ports in use / ports the rule can choose from; 0 without SNAT', registers: [this.registry] });
  readonly conntrackSnatPairs = new Gauge({ name: 'natlens_agent_conntrack_snat_pairs', help: 'SNAT pairs in the conntrack table at the last dump (the top 50 are reported)', registers: [this.registry] });
  readonly conntrackSampleFailures = new Counter({ name: 'natlens_agent_conntrack_sample_failures_total', help: 'Conntrack health samples that failed, by part (stats, snat, rules)', labelNames: ['part'], registers: [this.registry] });

  constructor() {
    // The event-loop lag histogram samples every 100 ms, not prom-client's default 10 ms: that timer woke the idle
    // process 100 times a second, about 0.7 % of a core on every node for nothing (lags that matter are longer).
    collectDefaultMetrics({ register: this.registry, prefix: 'natlens_agent_', eventLoopMonitoringPrecision: 100 });
  }
}
