import { DynamicModule, Module } from '@nestjs/common';
import { ConntrackReader } from '@natlens/agent-conntrack';
import { openEbpf, probeCapabilities } from '@natlens/agent-ebpf';
import { ClusterMetadataSource, InventoryFileSource, KubeApiWatcher } from '@natlens/shared-cluster';
import { join } from 'node:path';
import { agentInboxPrefix } from '@natlens/shared-auth';
import type { Logger } from 'pino';
import { FlowsController } from './api/flows.controller';
import { FlowsGateway } from './api/flows.gateway';
import { HealthController } from './api/health.controller';
import { MetricsController } from './api/metrics.controller';
import { ReadAccess, ReadTokenGuard } from './api/read-access';
import type { AgentConfig } from './config/agent-config';
import { DiskSpool } from './export/disk-spool';
import { HubExporter } from './export/hub-exporter';
import { NatsHubClient } from './export/nats-hub-client';
import { KernelSettingsRepository } from './kernel/kernel-settings.repository';
import { AgentMetrics } from './metrics/agent-metrics';
import { PipelineService } from './pipeline/pipeline.service';
import { RecentFlows } from './pipeline/recent-flows';
import { ConntrackSource } from './sources/conntrack.source';
import { CaptureSource } from './sources/capture.source';
import { EbpfSource } from './sources/ebpf.source';
import { selectSources, withSelectionNote } from './sources/ebpf-selection';
import { findTcpdump, spawnTcpdump } from './sources/tcpdump-process';
import type { ConnectionSource } from './sources/connection-source';
import { AGENT_CONFIG, CLUSTER_SOURCE, CONNECTION_SOURCES, CONNTRACK_HEALTH_PORT, CONNTRACK_STATS_READER, HUB_EXPORTER, HUB_TRANSPORT, LOGGER } from './tokens';
import type { ConntrackHealthPort } from './conntrack-health/conntrack-health.repository';
import { NatFailureEstimateService, type ConntrackStatsReader } from './pipeline/nat-failure-estimator';
import { HttpHubClient, type HubTransport } from '@natlens/agent-records';
import { NodeReportExporter } from './export/node-report.exporter';
import { ConntrackHealthRepository } from './conntrack-health/conntrack-health.repository';
import { ConntrackHealthSampler } from './conntrack-health/conntrack-health.sampler';
import { HealthCheckProber } from './health-checks/health-check-prober';
import { HttpProbeRepository } from './health-checks/http-probe.repository';
import { readInterfaceAddresses } from './node/interface-addresses';
import { NodeViewSource } from './node/node-view.source';

export interface AgentOverrides {
  readonly sources?: ConnectionSource[];
  /** Replaces the node's conntrack statistics, table dump and NAT rules (tests of the API). */
  readonly conntrackHealth?: ConntrackHealthPort;
  /** The node's conntrack statistics, for the NAT failure estimate of the conntrack source. */
  readonly conntrackStats?: ConntrackStatsReader;
}

/** The kernel wakes the agent once 64 KiB of events wait (~580 events); its timer collects the rest every 50 ms. */
const EBPF_WAKEUP_BYTES = 64 << 10;
const EBPF_POLL_INTERVAL_MS = 50;
/*
 * The conntrack event socket is read at most this often (ConntrackReader `coalesceMs`), the eBPF ring's cadence:
 * each wake has a fixed cost (the thread sleeps and wakes, a call into JavaScript, a pipeline pass, ≈0.2 ms on a
 * 2-core VM), which at the reader's 10 ms was about a third of the agent's CPU at 1,000-2,000 connections a second
 * (bench/conntrack-events). Records are flushed every second or more, so 50 ms of delay changes nothing downstream;
 * the 32 MiB receive buffer holds that long at any rate the lab reaches, and a wake that finds the addon's maximum
 * waiting reads on at once.
 */
const CONNTRACK_COALESCE_MS = 50;

/** Where the cluster's metadata comes from: an inventory file, a kubeconfig, or the pod's service account. */
function clusterSource(config: AgentConfig, log: Logger): ClusterMetadataSource {
  if (config.inventory) return new InventoryFileSource({ file: config.inventory, logger: log });
  if (config.kubeconfig) return new KubeApiWatcher({ kubeConfig: { kind: 'file', path: config.kubeconfig }, logger: log });
  return new KubeApiWatcher({ kubeConfig: { kind: 'in-cluster' }, logger: log });
}

/** The interfaces are read again this often (a bridge appears with the node's first pod; addresses move). */
const INTERFACE_REFRESH_MS = 5000;

/** The cluster as this node sees it: the metadata plus the addresses on its own interfaces (node/node-view.source.ts). */
function nodeView(config: AgentConfig, log: Logger): NodeViewSource {
  return new NodeViewSource(clusterSource(config, log), readInterfaceAddresses, { node: config.node, nodePortAddresses: config.nodePortAddresses, refreshIntervalMs: INTERFACE_REFRESH_MS }, log);
}

/**
 * How batches and node reports reach the hub: NATS JetStream with --bus (as this node's NATS user, replies on its own
 * inbox prefix: libs/shared/auth nats-permissions), else HTTP (with the hub's CA for an https hub); none without a hub.
 */
function hubTransport(config: AgentConfig): HubTransport | null {
  if (config.bus) return new NatsHubClient({ url: config.bus, name: `natlens-agent ${config.node}`, auth: { ...config.busAuth, inboxPrefix: agentInboxPrefix(config.node) } });
  if (config.hub) return new HttpHubClient({ url: config.hub, ...(config.hubToken ? { token: config.hubToken } : {}), ...(config.hubCa ? { ca: config.hubCa } : {}) });
  return null;
}

/** The sources asked for (or the best available), eBPF replaced by conntrack where the kernel refuses it. */
function kernelSources(config: AgentConfig, cluster: ClusterMetadataSource, metrics: AgentMetrics, log: Logger): ConnectionSource[] {
  const selection = selectSources(
    config.sources,
    () => {
      const caps = probeCapabilities();
      return openEbpf(caps, { ringBufferBytes: config.ebpfRingBufferBytes, wakeupBytes: EBPF_WAKEUP_BYTES, pollIntervalMs: EBPF_POLL_INTERVAL_MS }).program;
    },
    log,
  );
  return selection.names.map((name) => {
    if (name === 'pcap') {
      return new CaptureSource(spawnTcpdump(findTcpdump()), cluster, metrics, log, { interfaces: config.captureInterfaces, ...(config.captureFilter ? { filter: config.captureFilter } : {}) });
    }
    if (name === 'ebpf' && selection.ebpf) return new EbpfSource(selection.ebpf, cluster, metrics, log);
    const conntrack = new ConntrackSource(() => new ConntrackReader({ receiveBufferBytes: config.receiveBufferBytes, coalesceMs: CONNTRACK_COALESCE_MS }), metrics, log, config.resyncIntervalMs);
    return selection.fallback ? withSelectionNote(conntrack, `in place of eBPF: ${selection.fallback}`) : conntrack;
  });
}

@Module({})
export class AgentModule {
  /** `sources` replaces the kernel sources (tests of the API drive the pipeline with scripted observations). */
  static forRoot(config: AgentConfig, log: Logger, overrides: AgentOverrides = {}): DynamicModule {
    const metrics = new AgentMetrics();
    return {
      module: AgentModule,
      controllers: [HealthController, MetricsController, FlowsController],
      providers: [
        { provide: AGENT_CONFIG, useValue: config },
        { provide: LOGGER, useValue: log },
        { provide: AgentMetrics, useValue: metrics },
        { provide: RecentFlows, useValue: new RecentFlows(config.recentRecords) },
        KernelSettingsRepository,
        { provide: CLUSTER_SOURCE, useFactory: () => nodeView(config, log) },
        { provide: HUB_TRANSPORT, useFactory: () => hubTransport(config) },
        {
          provide: CONNECTION_SOURCES,
          useFactory: (cluster: ClusterMetadataSource) => overrides.sources ?? kernelSources(config, cluster, metrics, log),
          inject: [CLUSTER_SOURCE],
        },
        {
          provide: HUB_EXPORTER,
          useFactory: (transport: HubTransport | null) =>
            transport ? new HubExporter(transport, new DiskSpool(config.spoolDir ?? join('/var/lib/natlens/spool', config.node), config.spoolMaxBytes), metrics, log) : null,
          inject: [HUB_TRANSPORT],
        },
        { provide: CONNTRACK_HEALTH_PORT, useFactory: () => overrides.conntrackHealth ?? new ConntrackHealthRepository() },
        ConntrackHealthSampler,
        HttpProbeRepository,
        HealthCheckProber,
        NodeReportExporter,
        PipelineService,
        {
          // the NAT failure estimate (conntrack source) reads the health sampler's latest ctnetlink statistics
          provide: CONNTRACK_STATS_READER,
          useFactory: (sampler: ConntrackHealthSampler): ConntrackStatsReader =>
            overrides.conntrackStats ?? { latest: () => sampler.latest(), snatPorts: () => sampler.latestSnatPorts() ?? [] },
          inject: [ConntrackHealthSampler],
        },
        NatFailureEstimateService,
        ReadAccess,
        ReadTokenGuard,
        FlowsGateway,
      ],
    };
  }
}
