/*
 * Unit cases for deploy/prometheus/natlens-rules.yaml, in promtool's terms: input series (expanding notation,
 * `a+bxn`, one sample per minute), an evaluation time, and the alerts that must be firing then, with their labels
 * and their expanded summary and description. An empty `firing` means the rule must not fire. rules.spec.ts turns
 * each case into a `promtool test rules` file.
 */
export interface RuleCase {
  alert: string;
  name: string;
  series: Record<string, string>;
  evalTime: string;
  firing: { labels: Record<string, string>; summary: string; description: string }[];
}

const AGENT = { job: 'natlens-agent', instance: '198.18.0.11:9465' };
const HUB = { job: 'natlens-hub', instance: '198.19.1.20:8470' };
const agent = (metric: string, labels = '') => `${metric}{job="natlens-agent",instance="198.18.0.11:9465"${labels}}`;
const hub = (metric: string, labels = '', instance = HUB.instance) => `${metric}{job="natlens-hub",instance="${instance}"${labels}}`;

export const RULE_CASES: RuleCase[] = [
  {
    alert: 'NatlensAgentDown',
    name: 'an agent unreachable for 6 minutes',
    series: { [agent('up')]: '1 1 0x10', 'up{job="natlens-agent",instance="198.18.0.12:9465"}': '1x12' },
    evalTime: '8m',
    firing: [{ labels: { ...AGENT, severity: 'critical' }, summary: 'natlens agent 198.18.0.11:9465 is down', description: 'Prometheus has not scraped the natlens agent at 198.18.0.11:9465 for 5 minutes. While it is down, that node\'s connections are not recorded.' }],
  },
  { alert: 'NatlensAgentDown', name: 'an agent unreachable for 2 minutes (pending)', series: { [agent('up')]: '1 1 0x10' }, evalTime: '4m', firing: [] },
  {
    alert: 'NatlensAgentMetricsAbsent',
    name: 'only hubs are scraped',
    series: { [hub('up')]: '1x20' },
    evalTime: '16m',
    firing: [{ labels: { job: 'natlens-agent', severity: 'warning' }, summary: 'No natlens agent is being scraped', description: 'Prometheus has no target in the job natlens-agent, so every other agent rule is blind.' }],
  },
  { alert: 'NatlensAgentMetricsAbsent', name: 'an agent is scraped', series: { [agent('up')]: '1x20' }, evalTime: '16m', firing: [] },
  {
    alert: 'NatlensHubDown',
    name: 'a hub unreachable for 6 minutes',
    series: { [hub('up')]: '1 1 0x10', [hub('up', '', '198.19.1.21:8470')]: '1x12' },
    evalTime: '8m',
    firing: [{ labels: { ...HUB, severity: 'critical' }, summary: 'natlens hub 198.19.1.20:8470 is down', description: 'Prometheus has not scraped the natlens hub at 198.19.1.20:8470 for 5 minutes.' }],
  },
  { alert: 'NatlensHubDown', name: 'every hub up', series: { [hub('up')]: '1x12' }, evalTime: '8m', firing: [] },
  {
    alert: 'NatlensAgentLostRecords',
    name: '30 records lost to a full spool',
    series: { [agent('natlens_agent_lost_records_total', ',reason="spool-full"')]: '0 0 0 30x5' },
    evalTime: '5m',
    firing: [{ labels: { ...AGENT, reason: 'spool-full', severity: 'critical' }, summary: 'natlens agent 198.18.0.11:9465 lost records (spool-full)', description: 'The agent at 198.18.0.11:9465 lost 30 flow records for good in the last 10 minutes (reason spool-full); evidence for that node is incomplete.' }],
  },
  {
    alert: 'NatlensAgentLostRecords',
    name: 'records the disk refused',
    series: { [agent('natlens_agent_lost_records_total', ',reason="spool-write-failed"')]: '0 0 0 12x5' },
    evalTime: '5m',
    firing: [{ labels: { ...AGENT, reason: 'spool-write-failed', severity: 'critical' }, summary: 'natlens agent 198.18.0.11:9465 lost records (spool-write-failed)', description: 'The agent at 198.18.0.11:9465 lost 12 flow records for good in the last 10 minutes (reason spool-write-failed); evidence for that node is incomplete.' }],
  },
  {
    alert: 'NatlensAgentSpoolFileUnreadable',
    name: 'two spool files quarantined',
    series: { [agent('natlens_agent_lost_batches_total', ',reason="unreadable"')]: '0 0 1 2x5', [agent('natlens_agent_lost_batches_total', ',reason="spool-full"')]: '0 0 0 9x5' },
    evalTime: '5m',
    firing: [{ labels: { ...AGENT, severity: 'warning' }, summary: 'natlens agent 198.18.0.11:9465 moved unreadable spool files to quarantine', description: 'The agent at 198.18.0.11:9465 found 2 spool files in the last 10 minutes that it could not read or that were no record batch; their records are lost and the files are in the spool\'s quarantine/ directory.' }],
  },
  { alert: 'NatlensAgentSpoolFileUnreadable', name: 'only batches lost to a full spool', series: { [agent('natlens_agent_lost_batches_total', ',reason="spool-full"')]: '0 0 0 9x5' }, evalTime: '5m', firing: [] },
  { alert: 'NatlensAgentLostRecords', name: 'losses older than 10 minutes', series: { [agent('natlens_agent_lost_records_total', ',reason="spool-full"')]: '0 30x20' }, evalTime: '20m', firing: [] },
  {
    alert: 'NatlensAgentDroppingItems',
    name: 'a full collect queue for 15 minutes',
    series: { [agent('natlens_agent_dropped_total', ',stage="collect",reason="queue-full"')]: '0+60x20', [agent('natlens_agent_dropped_total', ',stage="decode",reason="malformed-netlink"')]: '3x20' },
    evalTime: '16m',
    firing: [{ labels: { ...AGENT, stage: 'collect', reason: 'queue-full', severity: 'warning' }, summary: 'natlens agent 198.18.0.11:9465 drops items at stage collect (queue-full)', description: 'For 10 minutes the agent at 198.18.0.11:9465 has dropped 1 items/s in its pipeline (stage collect, reason queue-full).' }],
  },
  { alert: 'NatlensAgentDroppingItems', name: 'drops that stopped', series: { [agent('natlens_agent_dropped_total', ',stage="collect",reason="queue-full"')]: '0+60x5 300x15' }, evalTime: '16m', firing: [] },
  {
    alert: 'NatlensAgentRingBufferFull',
    name: 'the ring buffer full twice a second',
    series: { [agent('natlens_agent_ebpf_ringbuf_drops_total')]: '0+120x15' },
    evalTime: '12m',
    firing: [{ labels: { ...AGENT, severity: 'warning' }, summary: 'natlens agent 198.18.0.11:9465 loses eBPF events (ring buffer full)', description: 'For 5 minutes the eBPF program on 198.18.0.11:9465 has found its ring buffer full 2 times/s; those connections are not recorded.' }],
  },
  { alert: 'NatlensAgentRingBufferFull', name: 'no ring-buffer drops', series: { [agent('natlens_agent_ebpf_ringbuf_drops_total')]: '5x15' }, evalTime: '12m', firing: [] },
  {
    alert: 'NatlensAgentConntrackEventStorm',
    name: '15 ENOBUFS per 5 minutes, for 15 minutes',
    series: { [agent('natlens_agent_netlink_enobufs_total')]: '0+3x30' },
    evalTime: '20m',
    firing: [{ labels: { ...AGENT, severity: 'warning' }, summary: 'natlens agent 198.18.0.11:9465 keeps losing conntrack events (ENOBUFS)', description: 'The kernel reported lost conntrack events to the agent at 198.18.0.11:9465 15 times in 5 minutes, for 10 minutes. Each loss costs a full conntrack dump; connections that start and end between two dumps are missed.' }],
  },
  { alert: 'NatlensAgentConntrackEventStorm', name: 'an occasional ENOBUFS', series: { [agent('natlens_agent_netlink_enobufs_total')]: '0+0.5x30' }, evalTime: '20m', firing: [] },
  {
    alert: 'NatlensAgentSpoolFilling',
    name: 'the spool 90% full',
    series: { [agent('natlens_agent_spool_bytes')]: '900x10', [agent('natlens_agent_spool_max_bytes')]: '1000x10' },
    evalTime: '6m',
    firing: [{ labels: { ...AGENT, severity: 'warning' }, summary: 'natlens agent 198.18.0.11:9465 spool is 90% full', description: 'Record batches are waiting on disk at 198.18.0.11:9465 because the hub (or NATS) does not take them; when the spool is full, new records are lost.' }],
  },
  { alert: 'NatlensAgentSpoolFilling', name: 'the spool half full', series: { [agent('natlens_agent_spool_bytes')]: '500x10', [agent('natlens_agent_spool_max_bytes')]: '1000x10' }, evalTime: '6m', firing: [] },
  {
    alert: 'NatlensHubIngestErrors',
    name: 'an agent with a wrong token',
    series: { [hub('natlens_hub_ingest_batches_total', ',outcome="unauthorized"')]: '0+60x20', [hub('natlens_hub_ingest_batches_total', ',outcome="stored"')]: '0+600x20' },
    evalTime: '16m',
    firing: [{ labels: { ...HUB, outcome: 'unauthorized', severity: 'warning' }, summary: 'natlens hub 198.19.1.20:8470 refuses ingest batches (unauthorized)', description: 'For 10 minutes the hub at 198.19.1.20:8470 has answered 1 ingest requests/s with outcome unauthorized.' }],
  },
  { alert: 'NatlensHubIngestErrors', name: 'every batch stored', series: { [hub('natlens_hub_ingest_batches_total', ',outcome="stored"')]: '0+600x20', [hub('natlens_hub_ingest_batches_total', ',outcome="invalid"')]: '2x20' }, evalTime: '16m', firing: [] },
  {
    alert: 'NatlensHubBusBatchesFailing',
    name: 'a store that fails and bad batches',
    series: { [hub('natlens_hub_bus_failed_batches_total')]: '0+30x20', [hub('natlens_hub_bus_terminated_batches_total')]: '0+30x20' },
    evalTime: '16m',
    firing: [{ labels: { ...HUB, severity: 'warning' }, summary: 'natlens hub 198.19.1.20:8470 cannot store batches from NATS', description: 'For 10 minutes the hub at 198.19.1.20:8470 has failed or refused 1 batches/s from the stream.' }],
  },
  { alert: 'NatlensHubBusBatchesFailing', name: 'no failures', series: { [hub('natlens_hub_bus_failed_batches_total')]: '4x20', [hub('natlens_hub_bus_terminated_batches_total')]: '0x20' }, evalTime: '16m', firing: [] },
  {
    alert: 'NatlensHubBusBacklog',
    name: '5000 batches waiting, seen by both replicas',
    series: { [hub('natlens_hub_bus_consumer_pending_messages')]: '5000x20', [hub('natlens_hub_bus_consumer_pending_messages', '', '198.19.1.21:8470')]: '4990x20' },
    evalTime: '16m',
    firing: [{ labels: { job: 'natlens-hub', severity: 'warning' }, summary: 'natlens hubs are 5k batches behind the NATS stream', description: 'For 15 minutes more than 1000 batches have waited in the stream for a hub replica. Evidence and alerts lag behind, and the stream discards its oldest batches at its limits (24 h, 1 GiB).' }],
  },
  { alert: 'NatlensHubBusBacklog', name: 'a backlog that drains', series: { [hub('natlens_hub_bus_consumer_pending_messages')]: '5000 2000 200x18' }, evalTime: '16m', firing: [] },
  {
    alert: 'NatlensHubBusLagHigh',
    name: 'records committed about two minutes late',
    series: { [hub('natlens_hub_bus_lag_seconds_bucket', ',le="60"')]: '0x20', [hub('natlens_hub_bus_lag_seconds_bucket', ',le="120"')]: '0+600x20', [hub('natlens_hub_bus_lag_seconds_bucket', ',le="+Inf"')]: '0+600x20' },
    evalTime: '16m',
    firing: [{ labels: { job: 'natlens-hub', severity: 'warning' }, summary: 'natlens records reach the store 1m 59s after they were published (p99)', description: 'For 15 minutes the 99th percentile of the delay from an agent\'s batch being stored in NATS to its records being committed has been above a minute.' }],
  },
  {
    alert: 'NatlensHubBusLagHigh',
    name: 'records committed within a second',
    series: { [hub('natlens_hub_bus_lag_seconds_bucket', ',le="1"')]: '0+600x20', [hub('natlens_hub_bus_lag_seconds_bucket', ',le="+Inf"')]: '0+600x20' },
    evalTime: '16m',
    firing: [],
  },
  {
    alert: 'NatlensHubBusBacklogNearStreamBytes',
    name: '900 MiB waiting in a 1 GiB stream, seen by both replicas',
    series: {
      [hub('natlens_hub_bus_backlog_bytes')]: '943718400x20',
      [hub('natlens_hub_bus_stream_max_bytes')]: '1073741824x20',
      [hub('natlens_hub_bus_backlog_bytes', '', '198.19.1.21:8470')]: '943718400x20',
      [hub('natlens_hub_bus_stream_max_bytes', '', '198.19.1.21:8470')]: '1073741824x20',
    },
    evalTime: '10m',
    firing: [
      {
        labels: { job: 'natlens-hub', severity: 'critical' },
        summary: "natlens batches no hub has stored fill 87.89% of the NATS stream's max_bytes",
        description: "For 5 minutes the batches waiting in NATLENS_FLOWS for a hub have taken more than 80% of the stream's byte limit. At the limit the stream discards its oldest batches, waiting ones included, and the agents deleted their copies when NATS acknowledged them.",
      },
    ],
  },
  {
    alert: 'NatlensHubBusBacklogNearStreamBytes',
    name: 'a full stream of stored batches and a small backlog',
    series: { [hub('natlens_hub_bus_stream_bytes')]: '1073741824x20', [hub('natlens_hub_bus_backlog_bytes')]: '1048576x20', [hub('natlens_hub_bus_stream_max_bytes')]: '1073741824x20' },
    evalTime: '10m',
    firing: [],
  },
  {
    alert: 'NatlensHubBusBacklogNearStreamAge',
    name: 'a batch waiting 20 hours in a 24-hour stream',
    series: { [hub('natlens_hub_bus_backlog_oldest_age_seconds')]: '72000+60x20', [hub('natlens_hub_bus_stream_max_age_seconds')]: '86400x20' },
    evalTime: '10m',
    firing: [
      {
        labels: { job: 'natlens-hub', severity: 'critical' },
        summary: "the oldest natlens batch no hub has stored is at 84.03% of the NATS stream's max_age",
        description: "For 5 minutes the oldest batch waiting in NATLENS_FLOWS for a hub has been older than 80% of the stream's age limit. At the limit the stream discards it unstored.",
      },
    ],
  },
  {
    alert: 'NatlensHubBusBacklogNearStreamAge',
    name: 'batches stored within seconds, and a stream without an age limit',
    series: { [hub('natlens_hub_bus_backlog_oldest_age_seconds')]: '3x20', [hub('natlens_hub_bus_stream_max_age_seconds')]: '86400x20', [hub('natlens_hub_bus_backlog_oldest_age_seconds', '', '198.19.1.21:8470')]: '3x20', [hub('natlens_hub_bus_stream_max_age_seconds', '', '198.19.1.21:8470')]: '0x20' },
    evalTime: '10m',
    firing: [],
  },
  {
    alert: 'NatlensHubBusDeadLetters',
    name: 'a batch dead-lettered 3 minutes ago',
    series: { [hub('natlens_hub_bus_dead_lettered_batches_total')]: '0 0 0 0 0 0 0 1 1 1 1' },
    evalTime: '10m',
    firing: [
      {
        labels: { ...HUB, severity: 'warning' },
        summary: 'natlens hub 198.19.1.20:8470 gave up on batches it could not store',
        description: 'In the last 15 minutes the hub at 198.19.1.20:8470 moved batches whose storing failed at every delivery to the dead-letter stream NATLENS_DEADLETTER. Their records are not in the store.',
      },
    ],
  },
  { alert: 'NatlensHubBusDeadLetters', name: 'dead letters from an hour ago only', series: { [hub('natlens_hub_bus_dead_lettered_batches_total')]: '2x80' }, evalTime: '75m', firing: [] },
  // Issue 20 (group natlens-nat): the nodes' conntrack and SNAT health, as the hub re-exports its agents' reports.
  // ConntrackTableNearlyFull cannot be reproduced in the lab (nf_conntrack_max is read-only inside a non-init network
  // namespace), so these cases are its test; the hub-side gauges are tested in libs/hub/server (conntrack-health.spec.ts).
  {
    alert: 'ConntrackTableNearlyFull',
    name: 'a table 95% full for 6 minutes, exported by two hub replicas',
    series: {
      [hub('natlens_hub_node_conntrack_entries', ',node="node2"')]: '950x10',
      [hub('natlens_hub_node_conntrack_max', ',node="node2"')]: '1000x10',
      [hub('natlens_hub_node_conntrack_entries', ',node="node2"', '198.19.1.21:8470')]: '950x10',
      [hub('natlens_hub_node_conntrack_max', ',node="node2"', '198.19.1.21:8470')]: '1000x10',
      [hub('natlens_hub_node_conntrack_entries', ',node="node1"')]: '100x10',
      [hub('natlens_hub_node_conntrack_max', ',node="node1"')]: '1000x10',
    },
    evalTime: '6m',
    firing: [{ labels: { node: 'node2', severity: 'warning' }, summary: 'Conntrack table on node2 is 95% full', description: 'For 5 minutes node node2 has held more than 90% of nf_conntrack_max in conntrack entries. When it is full the kernel drops the first packet of every new connection ("nf_conntrack table full, dropping packet"), whatever the Service.' }],
  },
  {
    alert: 'ConntrackTableNearlyFull',
    name: 'a table 95% full for 3 minutes only (pending), another 85% full',
    series: {
      [hub('natlens_hub_node_conntrack_entries', ',node="node2"')]: '100 100 100 950x7',
      [hub('natlens_hub_node_conntrack_max', ',node="node2"')]: '1000x10',
      [hub('natlens_hub_node_conntrack_entries', ',node="node1"')]: '850x10',
      [hub('natlens_hub_node_conntrack_max', ',node="node1"')]: '1000x10',
    },
    evalTime: '6m',
    firing: [],
  },
  {
    alert: 'NATInsertFailures',
    name: 'insert_failed rising on node2: the 3 Services with the most NAT failures there are named',
    series: {
      [hub('natlens_hub_node_conntrack_insert_failed_total', ',node="node2"')]: '0+60x20',
      [hub('natlens_hub_node_conntrack_insert_failed_total', ',node="node1"')]: '5x20',
      [hub('natlens_hub_service_nat_failures', ',namespace="kube-system",service="kube-dns",node="node2",reason="insert-failed",basis="estimated"')]: '12x20',
      [hub('natlens_hub_service_nat_failures', ',namespace="default",service="web",node="node2",reason="insert-failed",basis="observed"')]: '4x20',
      [hub('natlens_hub_service_nat_failures', ',namespace="default",service="api",node="node2",reason="insert-failed",basis="observed"')]: '2x20',
      [hub('natlens_hub_service_nat_failures', ',namespace="default",service="batch",node="node2",reason="insert-failed",basis="observed"')]: '1x20',
      [hub('natlens_hub_service_nat_failures', ',namespace="default",service="web",node="node1",reason="insert-failed",basis="observed"')]: '3x20',
    },
    evalTime: '16m',
    firing: [
      ['kube-system', 'kube-dns', '12'],
      ['default', 'web', '4'],
      ['default', 'api', '2'],
    ].map(([namespace, service, value]) => ({
      labels: { node: 'node2', namespace: namespace ?? '', service: service ?? '', severity: 'warning' },
      summary: `Conntrack insert failures on node2 hit ${namespace}/${service}`,
      description: `For 5 minutes conntrack on node node2 has failed to insert new entries (insert_failed rising). Service ${namespace}/${service} is among the 3 with the most connections dropped by conntrack or NAT on that node: ${value} in the last 5 minutes (its evidence says which were observed and which estimated).`,
    })),
  },
  {
    alert: 'NATInsertFailures',
    name: 'insert_failed rising with no Service attributed',
    series: { [hub('natlens_hub_node_conntrack_insert_failed_total', ',node="node3"')]: '0+6x20' },
    evalTime: '16m',
    firing: [{ labels: { node: 'node3', severity: 'warning' }, summary: 'Conntrack insert failures on node3', description: 'For 5 minutes conntrack on node node3 has failed to insert new entries (insert_failed rising). No Service\'s failed connections were attributed (the conntrack source attributes only when attempts failed in the same interval).' }],
  },
  {
    alert: 'NATInsertFailures',
    name: 'insert_failed steady (old failures still in the Service gauge)',
    series: { [hub('natlens_hub_node_conntrack_insert_failed_total', ',node="node2"')]: '0+60x5 300x15', [hub('natlens_hub_service_nat_failures', ',namespace="default",service="web",node="node2",reason="insert-failed",basis="observed"')]: '4x20' },
    evalTime: '16m',
    firing: [],
  },
  {
    alert: 'SNATPortExhaustion',
    name: '60 of 64 ports of a masquerade rule\'s range in use toward one pod',
    series: {
      [hub('natlens_hub_snat_ports_in_use', ',node="node2",snat_address="198.18.0.12",destination="198.19.1.11",destination_port="8080",protocol="tcp"')]: '60x10',
      [hub('natlens_hub_snat_port_range_size', ',node="node2",snat_address="198.18.0.12",destination="198.19.1.11",destination_port="8080",protocol="tcp",basis="nat-rule"')]: '64x10',
      [hub('natlens_hub_snat_ports_in_use', ',node="node2",snat_address="198.18.0.12",destination="198.19.2.11",destination_port="8080",protocol="tcp"')]: '10x10',
      [hub('natlens_hub_snat_port_range_size', ',node="node2",snat_address="198.18.0.12",destination="198.19.2.11",destination_port="8080",protocol="tcp",basis="nat-rule"')]: '64x10',
    },
    evalTime: '6m',
    firing: [
      {
        labels: { node: 'node2', snat_address: '198.18.0.12', destination: '198.19.1.11', destination_port: '8080', protocol: 'tcp', basis: 'nat-rule', severity: 'warning' },
        summary: 'SNAT from node2 to 198.19.1.11:8080 uses 93.75% of its ports',
        description: 'For 5 minutes node node2 has used more than 80% of the source ports masquerade can choose from (nat-rule) for tcp connections from 198.18.0.12 to 198.19.1.11:8080. When none is free, new connections to that destination are dropped.',
      },
    ],
  },
  {
    alert: 'SNATPortExhaustion',
    name: 'a pair that filled up for 2 minutes only',
    series: {
      [hub('natlens_hub_snat_ports_in_use', ',node="node2",snat_address="198.18.0.12",destination="198.19.1.11",destination_port="8080",protocol="tcp"')]: '10 10 10 10 60 60 10x4',
      [hub('natlens_hub_snat_port_range_size', ',node="node2",snat_address="198.18.0.12",destination="198.19.1.11",destination_port="8080",protocol="tcp",basis="nat-rule"')]: '64x10',
    },
    evalTime: '6m',
    firing: [],
  },
];
