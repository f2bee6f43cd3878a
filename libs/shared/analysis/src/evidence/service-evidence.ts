import type { ServiceEntry, Verdict } from '@natlens/shared-model';
import type {
  EndpointEvidence,
  EndpointRef,
  EvidenceCounts,
  FigureSource,
  EvidenceObservations,
  NodeEvidence,
  ServiceEvidence,
  ServiceTopology,
  TimeWindow,
} from './evidence-types';
import { serviceFindings } from './findings';
import { type EntryNodeCount, lbModel, type LbModel } from './lb-distribution';
import { podKey, predictedShares } from './predicted-shares';

const ENTRIES: readonly ServiceEntry[] = ['clusterIP', 'nodePort', 'loadBalancer', 'externalIP'];

function add<K>(map: Map<K, number>, key: K, n: number): void {
  map.set(key, (map.get(key) ?? 0) + n);
}

/**
 * The evidence for one Service over one window: counts grouped by storage, the topology from cluster metadata.
 * Pure; every finding is derived from the numbers it sits beside.
 */
export function buildServiceEvidence(topology: ServiceTopology, window: TimeWindow, counts: EvidenceCounts, observations: EvidenceObservations = {}): ServiceEvidence {
  const byEntry = Object.fromEntries(ENTRIES.map((entry) => [entry, 0])) as Record<ServiceEntry, number>;
  const byVerdict: Partial<Record<Verdict, number>> = {};
  const byPod = new Map<string, number>();
  const received = new Map<string, number>();
  const forwarded = new Map<string, number>();
  const dropped = new Map<string, number>();
  const snatByNode = new Map<string, { node: string; snatAddress: string; connections: number }>();
  const podNodeSeen = new Map<string, EndpointRef>();
  const loadBalanced = new Map<string, number>();
  let connections = 0;
  let external = 0;
  let snatted = 0;
  let carried = 0;

  for (const row of counts.rows) {
    connections += row.connections;
    byEntry[row.entry] += row.connections;
    byVerdict[row.verdict] = (byVerdict[row.verdict] ?? 0) + row.connections;
    if (row.verdict === 'dropped-no-local-endpoint') {
      add(dropped, row.node, row.connections);
      continue;
    }
    // Dropped by conntrack or NAT before any pod: counted by verdict and in natFailures, not as received traffic.
    if (row.verdict === 'dropped-nat-failure') continue;
    add(received, row.node, row.connections);
    if (row.entry === 'loadBalancer') add(loadBalanced, row.node, row.connections);
    if (row.endpoint) {
      add(byPod, podKey(row.endpoint), row.connections);
      if (!podNodeSeen.has(podKey(row.endpoint))) podNodeSeen.set(podKey(row.endpoint), row.endpoint);
      if (row.endpoint.node !== undefined && row.endpoint.node !== row.node) add(forwarded, row.node, row.connections);
    }
    if (row.clientKind === 'external') {
      external += row.connections;
      if (row.snat) {
        snatted += row.connections;
        if (row.verdict === 'proxied') carried += row.connections;
        const address = row.snatAddress ?? '';
        const key = `${row.node}|${address}`;
        const group = snatByNode.get(key) ?? { node: row.node, snatAddress: address, connections: 0 };
        group.connections += row.connections;
        snatByNode.set(key, group);
      }
    }
  }

  // Endpoints the cluster lists, plus any pod the records name that it does not (an endpoint since removed).
  const endpointRefs: EndpointRef[] = [...topology.endpoints];
  const listed = new Set(endpointRefs.map(podKey));
  for (const [key, ref] of podNodeSeen) if (!listed.has(key)) endpointRefs.push(ref);
  endpointRefs.sort((a, b) => podKey(a).localeCompare(podKey(b)));

  const servedTotal = [...byPod.values()].reduce((sum, n) => sum + n, 0);
  const expectedShare = topology.endpoints.length > 0 ? 1 / topology.endpoints.length : endpointRefs.length > 0 ? 1 / endpointRefs.length : 0;
  const endpoints: EndpointEvidence[] = endpointRefs.map((ref) => {
    const served = byPod.get(podKey(ref)) ?? 0;
    return { namespace: ref.namespace, pod: ref.pod, node: ref.node ?? '', connections: served, share: servedTotal > 0 ? served / servedTotal : 0, expectedShare };
  });

  const localEndpoints = new Map<string, number>();
  for (const ref of topology.endpoints) if (ref.node !== undefined) add(localEndpoints, ref.node, 1);
  const nodeNames = [...new Set([...topology.nodes, ...localEndpoints.keys(), ...received.keys(), ...dropped.keys()])].sort();
  const nodes: NodeEvidence[] = nodeNames.map((node) => {
    const local = localEndpoints.get(node) ?? 0;
    const observed = observations.healthChecks?.get(node);
    return {
      node,
      localEndpoints: local,
      received: received.get(node) ?? 0,
      forwarded: forwarded.get(node) ?? 0,
      dropped: dropped.get(node) ?? 0,
      ...(topology.healthCheckNodePort !== undefined ? { healthCheck: { localEndpoints: local, healthy: local > 0, ...(observed ? { observed } : {}) } } : {}),
    };
  });

  const model = loadBalancerModel(topology, localEndpoints, loadBalanced);
  const shares = endpoints.map((endpoint) => endpoint.share);
  const mean = endpoints.length > 0 ? servedTotal / endpoints.length : 0;
  const maxServed = Math.max(0, ...endpoints.map((endpoint) => endpoint.connections));
  const imbalance = {
    maxOverMean: mean > 0 ? maxServed / mean : 0,
    maxShare: shares.length > 0 ? Math.max(...shares) : 0,
    minShare: shares.length > 0 ? Math.min(...shares) : 0,
    predicted: predictedShares(topology.externalTrafficPolicy, topology.endpoints.length > 0 ? topology.endpoints : endpointRefs, model),
    ...(model ? { model } : {}),
  };

  const evidenceWithoutFindings = {
    service: {
      namespace: topology.namespace,
      name: topology.name,
      type: topology.type,
      externalTrafficPolicy: topology.externalTrafficPolicy,
      ...(topology.healthCheckNodePort !== undefined ? { healthCheckNodePort: topology.healthCheckNodePort } : {}),
    },
    window: { from: window.from, to: window.to },
    connections,
    byEntry,
    byVerdict,
    clients: { distinctOriginal: counts.distinctOriginal, distinctSeenByPods: counts.distinctSeenByPods, viaProxy: byVerdict.proxied ?? 0 },
    snat: {
      external,
      snatted,
      ratio: external > 0 ? snatted / external : 0,
      carried,
      byNode: [...snatByNode.values()].sort((a, b) => a.node.localeCompare(b.node) || a.snatAddress.localeCompare(b.snatAddress)),
    },
    endpoints,
    nodes,
    imbalance,
    context: {
      podCIDRs: [...(topology.podCIDRs ?? [])],
      workloads: [...(topology.workloads ?? [])],
      unknownOwners: [...(topology.unknownOwners ?? [])],
      proxyAddresses: [...(counts.proxyAddresses ?? [])].sort(),
    },
    provenance: provenanceOf(topology, model),
    ...(observations.natFailures ? { natFailures: observations.natFailures } : {}),
  };
  return { ...evidenceWithoutFindings, findings: serviceFindings(evidenceWithoutFindings, topology) };
}

const MODEL_SOURCE: Record<LbModel['source'], FigureSource> = { annotation: 'annotation', inferred: 'inferred', default: 'assumed' };

/** Where each figure group comes from: the records, or the cluster's objects (or the records' fields without them). */
function provenanceOf(topology: ServiceTopology, model: LbModel | undefined): ServiceEvidence['provenance'] {
  const derived: FigureSource = topology.source === 'cluster' ? 'cluster' : 'records';
  return {
    connections: 'observed',
    byEntry: 'observed',
    byVerdict: 'observed',
    clients: 'observed',
    snat: 'observed',
    'endpoints.connections': 'observed',
    'endpoints.share': 'observed',
    'endpoints.expectedShare': derived,
    'nodes.localEndpoints': derived,
    'nodes.traffic': 'observed',
    'nodes.healthCheck': derived,
    ...(topology.healthCheckNodePort !== undefined ? { 'nodes.healthCheck.observed': 'observed' as const } : {}),
    'imbalance.observed': 'observed',
    'imbalance.predicted': derived,
    ...(model ? { 'imbalance.model': MODEL_SOURCE[model.source] } : {}),
    'context.podCIDRs': derived,
    'context.workloads': derived,
    'context.proxyAddresses': 'observed',
  };
}

/**
 * The load balancer's distribution model, for LoadBalancer Services (and any Service the annotation names one for).
 * Only a Local-policy Service's split over entry nodes says anything about it: under Cluster policy every node
 * spreads over every pod, so the split neither changes the shares nor is inferred from.
 */
function loadBalancerModel(topology: ServiceTopology, localEndpoints: ReadonlyMap<string, number>, loadBalanced: ReadonlyMap<string, number>): LbModel | undefined {
  if (topology.type !== 'LoadBalancer' && topology.lbDistribution === undefined) return undefined;
  const observed: EntryNodeCount[] | undefined =
    topology.type === 'LoadBalancer' && topology.externalTrafficPolicy === 'Local'
      ? [...localEndpoints].map(([node, local]) => ({ node, localEndpoints: local, connections: loadBalanced.get(node) ?? 0 }))
      : undefined;
  return lbModel(topology.lbDistribution, observed);
}

/**
 * A topology when no cluster metadata is configured: the Service's type and policy from its latest record, its
 * endpoints and nodes from the window's rows. Idle pods and idle nodes are invisible this way, so shares are over
 * the pods that served.
 */
export function topologyFromRecords(
  service: { namespace: string; name: string; type: ServiceTopology['type']; externalTrafficPolicy: ServiceTopology['externalTrafficPolicy']; expectClientIP?: boolean },
  counts: EvidenceCounts,
): ServiceTopology {
  const endpoints = new Map<string, EndpointRef>();
  const nodes = new Set<string>();
  for (const row of counts.rows) {
    nodes.add(row.node);
    if (row.endpoint) {
      endpoints.set(podKey(row.endpoint), row.endpoint);
      if (row.endpoint.node !== undefined) nodes.add(row.endpoint.node);
    }
  }
  return {
    namespace: service.namespace,
    name: service.name,
    type: service.type,
    externalTrafficPolicy: service.externalTrafficPolicy,
    ...(service.expectClientIP !== undefined ? { expectClientIP: service.expectClientIP } : {}),
    endpoints: [...endpoints.values()].sort((a, b) => podKey(a).localeCompare(podKey(b))),
    nodes: [...nodes].sort(),
    source: 'records',
  };
}
