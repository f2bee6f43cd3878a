import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import { buildServiceEvidence, natFailureEvidence, type ServiceEvidence, type TimeWindow, topologyFromRecords } from '@natlens/shared-analysis';
import type { ServiceHeadline } from '@natlens/shared-api';
import { ClusterTopologyRepository } from '../cluster/cluster-topology.repository';
import { HubMetrics } from '../metrics/hub-metrics';
import { NodeReportService } from '../nodes/node-report.service';
import type { FlowRepository, ServiceKey } from '../storage/flow-repository';
import { FLOW_REPOSITORY } from '../tokens';

@Injectable()
export class EvidenceService {
  constructor(
    @Inject(FLOW_REPOSITORY) private readonly repository: FlowRepository,
    @Inject(ClusterTopologyRepository) private readonly cluster: ClusterTopologyRepository,
    @Inject(HubMetrics) private readonly metrics: HubMetrics,
    @Inject(NodeReportService) private readonly nodeReports: NodeReportService,
  ) {}

  async evidence(ref: ServiceKey, window: TimeWindow): Promise<ServiceEvidence> {
    const stopTimer = this.metrics.evidenceSeconds.startTimer();
    const fromCluster = this.cluster.topology(ref);
    const stored = fromCluster ? undefined : await this.repository.service(ref);
    const [rolled, proxyAddresses] = await Promise.all([this.repository.evidenceCounts(ref, window), this.repository.proxyAddresses(ref, window)]);
    // Their reasons are in the raw records only: read them when the rollups counted any.
    const failedRows = rolled.rows.some((row) => row.verdict === 'dropped-nat-failure') ? await this.repository.natFailures(window, ref) : [];
    const counts = { ...rolled, proxyAddresses };
    const topology = fromCluster ?? (stored ? topologyFromRecords({ ...ref, type: stored.type, externalTrafficPolicy: stored.externalTrafficPolicy, expectClientIP: stored.expectClientIP }, counts) : undefined);
    if (!topology) {
      throw new NotFoundException({
        code: 'service-unknown',
        message: `no Service ${ref.namespace}/${ref.name} in the cluster metadata or in any record; check the namespace and name (GET /api/services lists them)`,
      });
    }
    // Observed by the agents: each node's health-check answer in force at the window's end.
    const healthChecks = topology.healthCheckNodePort !== undefined ? await this.nodeReports.healthChecks(ref, window) : undefined;
    // Observed (eBPF) or estimated (conntrack counters): the connections conntrack or NAT dropped, with their reasons.
    const natFailures = natFailureEvidence(failedRows);
    const evidence = buildServiceEvidence(topology, window, counts, { natFailures, ...(healthChecks ? { healthChecks } : {}) });
    stopTimer();
    return evidence;
  }

  /** Every Service the cluster or the records know, with its headline numbers over the window. */
  async services(window: TimeWindow): Promise<ServiceHeadline[]> {
    const [stored, counts] = await Promise.all([this.repository.services(), this.repository.serviceCounts(window)]);
    const headlines = new Map<string, ServiceHeadline>();
    const key = (ref: ServiceKey) => `${ref.namespace}/${ref.name}`;
    const zero = { connections: 0, external: 0, snatted: 0, snatRatio: 0, byVerdict: {} };
    for (const service of stored) headlines.set(key(service), { namespace: service.namespace, name: service.name, type: service.type, externalTrafficPolicy: service.externalTrafficPolicy, ...zero, lastSeen: service.lastSeen });
    for (const topology of this.cluster.services()) {
      const known = headlines.get(key(topology));
      headlines.set(key(topology), { ...(known ?? zero), namespace: topology.namespace, name: topology.name, type: topology.type, externalTrafficPolicy: topology.externalTrafficPolicy });
    }
    for (const count of counts) {
      const known = headlines.get(key(count));
      if (!known) continue;
      headlines.set(key(count), { ...known, connections: count.connections, external: count.external, snatted: count.snatted, snatRatio: count.external > 0 ? count.snatted / count.external : 0, byVerdict: count.byVerdict });
    }
    return [...headlines.values()].sort((a, b) => key(a).localeCompare(key(b)));
  }
}
