import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import type { EndpointRef, ServiceTopology, UnknownOwnerEvidence, WorkloadEvidence } from '@natlens/shared-analysis';
import type { ClusterIndex, ClusterMetadataSource } from '@natlens/shared-cluster';
import { SERVICE_NAME_LABEL } from '@natlens/shared-model';
import type { ServiceKey } from '../storage/flow-repository';
import { CLUSTER_SOURCE } from '../tokens';

/**
 * Cluster metadata for evidence: a Service's type, policy, health-check port, ready endpoint pods and the nodes.
 * Backed by an inventory file or the API server; absent when the hub runs without either, and then evidence is
 * derived from the records alone.
 */
@Injectable()
export class ClusterTopologyRepository implements OnModuleDestroy {
  constructor(@Inject(CLUSTER_SOURCE) private readonly source: ClusterMetadataSource | null) {}

  get configured(): boolean {
    return this.source !== null;
  }

  topology(ref: ServiceKey): ServiceTopology | undefined {
    if (!this.source) return undefined;
    const index = this.source.current();
    const service = index.service(ref);
    if (!service) return undefined;
    const endpoints = readyEndpointPods(index, ref);
    return {
      namespace: service.namespace,
      name: service.name,
      type: service.type,
      externalTrafficPolicy: service.externalTrafficPolicy,
      ...(service.healthCheckNodePort !== undefined ? { healthCheckNodePort: service.healthCheckNodePort } : {}),
      expectClientIP: service.expectClientIP,
      ...(service.lbDistribution !== undefined ? { lbDistribution: service.lbDistribution } : {}),
      endpoints,
      nodes: index.nodeNames(),
      source: 'cluster',
      podCIDRs: index.podCIDRs(),
      ...endpointOwners(index, endpoints),
    };
  }

  services(): ServiceTopology[] {
    if (!this.source) return [];
    return this.source
      .current()
      .services()
      .map((service) => this.topology(service))
      .filter((topology): topology is ServiceTopology => topology !== undefined);
  }

  status() {
    return this.source?.status();
  }

  async onModuleDestroy(): Promise<void> {
    await this.source?.stop();
  }
}

/**
 * The ready pods behind a Service, one per pod (a dual-stack pod appears in an IPv4 and an IPv6 slice).
 * ClusterIndex counts them per node but does not list them, so the slices are read here.
 */
export function readyEndpointPods(index: ClusterIndex, ref: ServiceKey): EndpointRef[] {
  const pods = new Map<string, EndpointRef>();
  for (const slice of index.objects.endpointSlices) {
    if ((slice.metadata.namespace ?? 'default') !== ref.namespace || slice.metadata.labels?.[SERVICE_NAME_LABEL] !== ref.name) continue;
    for (const endpoint of slice.endpoints ?? []) {
      if (endpoint.conditions.ready === false || endpoint.targetRef?.kind !== 'Pod') continue;
      const namespace = endpoint.targetRef.namespace ?? ref.namespace;
      const node = endpoint.nodeName ?? index.pod(endpoint.addresses[0] ?? '')?.node;
      pods.set(`${namespace}/${endpoint.targetRef.name}`, { namespace, pod: endpoint.targetRef.name, ...(node !== undefined ? { node } : {}) });
    }
  }
  return [...pods.values()].sort((a, b) => `${a.namespace}/${a.pod}`.localeCompare(`${b.namespace}/${b.pod}`));
}

/** The workloads that run a Service's endpoint pods (by ownerReferences), and the pods whose owner is not known. */
export function endpointOwners(index: ClusterIndex, endpoints: readonly EndpointRef[]): { workloads: WorkloadEvidence[]; unknownOwners: UnknownOwnerEvidence[] } {
  const workloads = new Map<string, { kind: WorkloadEvidence['kind']; namespace: string; name: string; selector?: WorkloadEvidence['selector']; pods: string[] }>();
  const unknownOwners: UnknownOwnerEvidence[] = [];
  for (const endpoint of endpoints) {
    const pod = `${endpoint.namespace}/${endpoint.pod}`;
    const owner = index.ownerOf({ namespace: endpoint.namespace, name: endpoint.pod });
    if (!owner.known) {
      unknownOwners.push({ pod, reason: owner.reason, ...(owner.owner ? { owner: owner.owner } : {}) });
      continue;
    }
    const { kind, namespace, name, selector } = owner.workload;
    const key = `${kind}|${namespace}|${name}`;
    const known = workloads.get(key) ?? { kind, namespace, name, ...(selector ? { selector } : {}), pods: [] };
    known.pods.push(pod);
    workloads.set(key, known);
  }
  return { workloads: [...workloads.values()], unknownOwners };
}
