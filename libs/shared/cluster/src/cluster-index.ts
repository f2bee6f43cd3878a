import type { KubeEndpointSlice, KubeNode, KubeObject, KubePod, KubeService, KubeWorkload } from '@natlens/shared-model';
import {
  type ClientIdentity,
  type LookupProtocol,
  objectKey,
  type PodRef,
  type ServiceEndpoint,
  type ServiceFrontend,
  type ServiceInfo,
  type ServicePortInfo,
  type ServiceRef,
} from './cluster-types';
import { type EndpointCatalog, indexEndpoints } from './endpoint-catalog';
import { addressKey, ipKey, parseIp } from './ip-address';
import { lookupSocketKey, serviceProtocol } from './lookup-keys';
import { indexNodeAddresses, type LocalNodeAddresses, type NodeAddressBook, withLocalNodeAddresses } from './node-addresses';
import { indexPodAddresses } from './pod-addresses';
import { indexServices, type ServiceCatalog } from './service-catalog';
import { indexWorkloads, type PodOwner, type WorkloadCatalog } from './workload-owners';

/** kube-proxy answers `/healthz` here (`--healthz-bind-address` 0.0.0.0:10256 by default); load balancers of Cluster-policy Services check it. */
export const KUBE_PROXY_HEALTHZ_PORT = 10256;

/** The objects an index is built from, by kind. */
export interface ClusterObjects {
  readonly nodes: readonly KubeNode[];
  readonly pods: readonly KubePod[];
  readonly services: readonly KubeService[];
  readonly endpointSlices: readonly KubeEndpointSlice[];
  /** ReplicaSets, Deployments, StatefulSets and DaemonSets: the owners of pods (absent: none known). */
  readonly workloads?: readonly KubeWorkload[];
}

const NO_OBJECTS: ClusterObjects = { nodes: [], pods: [], services: [], endpointSlices: [], workloads: [] };

/** Splits a mixed list (a `kubectl get … -o json` List) by kind. */
export function groupByKind(objects: Iterable<KubeObject>): ClusterObjects {
  const grouped = { nodes: [] as KubeNode[], pods: [] as KubePod[], services: [] as KubeService[], endpointSlices: [] as KubeEndpointSlice[], workloads: [] as KubeWorkload[] };
  for (const object of objects) {
    if (object.kind === 'Node') grouped.nodes.push(object);
    else if (object.kind === 'Pod') grouped.pods.push(object);
    else if (object.kind === 'Service') grouped.services.push(object);
    else if (object.kind === 'EndpointSlice') grouped.endpointSlices.push(object);
    else grouped.workloads.push(object);
  }
  return grouped;
}

/**
 * An immutable snapshot of the cluster's addressing: which Service, pod or node an address (and port) is. Built
 * once per change of the inputs; every exact-address lookup is a hash-map probe, pod-CIDR membership one probe per
 * CIDR size. IPv4 and IPv6 alike; addresses may be written in any valid form.
 */
export class ClusterIndex {
  private constructor(
    readonly objects: ClusterObjects,
    private readonly podByAddress: ReadonlyMap<string, PodRef>,
    private readonly nodeAddresses: NodeAddressBook,
    private readonly serviceCatalog: ServiceCatalog,
    private readonly endpointCatalog: EndpointCatalog,
    private readonly workloadCatalog: WorkloadCatalog,
  ) {}

  static empty(): ClusterIndex {
    return ClusterIndex.build(NO_OBJECTS);
  }

  static fromObjects(objects: Iterable<KubeObject>): ClusterIndex {
    return ClusterIndex.build(groupByKind(objects));
  }

  static build(objects: ClusterObjects): ClusterIndex {
    const podByAddress = indexPodAddresses(objects.pods);
    const nodeAddresses = indexNodeAddresses(objects.nodes);
    const serviceCatalog = indexServices(objects.services);
    const endpointCatalog = indexEndpoints(objects.endpointSlices, serviceCatalog.services, podByAddress);
    const workloadCatalog = indexWorkloads(objects.workloads ?? [], objects.pods);
    return new ClusterIndex(objects, podByAddress, nodeAddresses, serviceCatalog, endpointCatalog, workloadCatalog);
  }

  /**
   * The same cluster as one node sees it: the addresses on its own interfaces are its own (a bridge, tunnel or
   * loopback address no Node object lists), and node ports are accepted on those kube-proxy's `nodePortAddresses`
   * admits (127.0.0.1 included by default). The agent classifies its connections with this view.
   */
  withLocalNode(local: LocalNodeAddresses): ClusterIndex {
    return new ClusterIndex(this.objects, this.podByAddress, withLocalNodeAddresses(this.nodeAddresses, local), this.serviceCatalog, this.endpointCatalog, this.workloadCatalog);
  }

  /**
   * The Service port a destination reaches: a ClusterIP, external IP or load-balancer IP with the Service port, or
   * a node address that accepts node ports with a NodePort. Undefined when the destination is no Service.
   */
  serviceFrontend(ip: string, port: number, protocol: LookupProtocol): ServiceFrontend | undefined {
    const key = lookupSocketKey(ip, port, protocol);
    if (key === undefined) return undefined;
    const byAddress = this.serviceCatalog.addressFrontends.get(key);
    if (byAddress !== undefined) return byAddress;
    const addressKey = ipKey(ip);
    if (addressKey === undefined || !this.nodeAddresses.nodePortAddresses.has(addressKey)) return undefined;
    return this.serviceCatalog.nodePortFrontends.get(`${port}|${serviceProtocol(protocol) ?? ''}`);
  }

  /**
   * A destination a load balancer's health check goes to: a node address with a Service's healthCheckNodePort or
   * kube-proxy's own health port (KUBE_PROXY_HEALTHZ_PORT, its `--healthz-bind-address` default). TCP only.
   */
  isHealthCheckPort(ip: string, port: number, protocol: LookupProtocol): boolean {
    if (serviceProtocol(protocol) !== 'TCP' || this.node(ip) === undefined) return false;
    return port === KUBE_PROXY_HEALTHZ_PORT || this.serviceCatalog.healthCheckNodePorts.has(port);
  }

  /**
   * The Service endpoint at a backend address:port. When several Services select the same pod port, pass the
   * Service the connection was addressed to (from `serviceFrontend`); otherwise the first in namespace/name order.
   */
  endpoint(ip: string, port: number, protocol: LookupProtocol, service?: ServiceRef): ServiceEndpoint | undefined {
    const candidates = this.endpoints(ip, port, protocol);
    if (service === undefined) return candidates[0];
    return candidates.find((candidate) => candidate.service.namespace === service.namespace && candidate.service.name === service.name);
  }

  /** Every Service endpoint at a backend address:port. */
  endpoints(ip: string, port: number, protocol: LookupProtocol): readonly ServiceEndpoint[] {
    const key = lookupSocketKey(ip, port, protocol);
    return (key === undefined ? undefined : this.endpointCatalog.endpointsBySocket.get(key)) ?? [];
  }

  /** The pod that holds an address (host-network pods excluded: their address is their node's). */
  pod(ip: string): PodRef | undefined {
    const key = ipKey(ip);
    return key === undefined ? undefined : this.podByAddress.get(key);
  }

  /** The node an address belongs to: an address its Node object lists, or (in a node's own view) one of its interfaces. */
  node(ip: string): string | undefined {
    const key = ipKey(ip);
    return key === undefined ? undefined : this.nodeAddresses.nodeByAddress.get(key);
  }

  /**
   * The node that owns an address: the node itself for a node address, the pod's node for a pod address, or the
   * node whose pod CIDR contains it. Finds the entry node of a forwarded leg from its SNAT source.
   */
  nodeOf(ip: string): string | undefined {
    const address = parseIp(ip);
    if (address === undefined) return undefined;
    const key = addressKey(address);
    return this.nodeAddresses.nodeByAddress.get(key) ?? this.podByAddress.get(key)?.node ?? this.nodeAddresses.podNetworks.lookup(address);
  }

  /**
   * What a client address is: a node (an address its Node object lists; in a node's own view also its interface
   * addresses, such as the bridge address that is the source of hairpin and local masquerade), a pod (a known pod
   * address, or any address inside a node's pod CIDR), or external to the cluster.
   */
  classifyClient(ip: string): ClientIdentity {
    const address = parseIp(ip);
    if (address === undefined) return { kind: 'external' };
    const key = addressKey(address);
    const node = this.nodeAddresses.nodeByAddress.get(key);
    if (node !== undefined) return { kind: 'node', node };
    const pod = this.podByAddress.get(key);
    if (pod !== undefined) return pod.node === undefined ? { kind: 'pod', pod } : { kind: 'pod', pod, node: pod.node };
    const podNetworkNode = this.nodeAddresses.podNetworks.lookup(address);
    return podNetworkNode === undefined ? { kind: 'external' } : { kind: 'pod', node: podNetworkNode };
  }

  /** A Service by name, with its ports. */
  service(ref: ServiceRef): (ServiceInfo & { readonly ports: readonly ServicePortInfo[] }) | undefined {
    const description = this.serviceCatalog.services.get(objectKey(ref));
    return description === undefined ? undefined : { ...description.info, ports: description.ports };
  }

  /** Every Service, in namespace/name order. */
  services(): ServiceInfo[] {
    return [...this.serviceCatalog.services.values()].map((description) => description.info);
  }

  /**
   * Ready endpoints (distinct pods) of a Service per node: what kube-proxy's Local policy and its health check
   * count. Nodes without one are absent.
   */
  readyEndpointsByNode(service: ServiceRef): ReadonlyMap<string, number> {
    return this.endpointCatalog.readyEndpointsByNode.get(objectKey(service)) ?? new Map();
  }

  /** Ready endpoints of a Service on one node (0 when none). */
  localEndpoints(service: ServiceRef, node: string): number {
    return this.readyEndpointsByNode(service).get(node) ?? 0;
  }

  /** The workload that runs a pod (Deployment, StatefulSet, DaemonSet, or a ReplicaSet of none), or why it is not known. */
  ownerOf(pod: ServiceRef): PodOwner {
    return this.workloadCatalog.ownerOf(pod);
  }

  /** The nodes' pod CIDRs (spec.podCIDRs, or spec.podCIDR), in node-name order. */
  podCIDRs(): string[] {
    const cidrs: string[] = [];
    for (const node of [...this.objects.nodes].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
      for (const cidr of [...(node.spec.podCIDR === undefined ? [] : [node.spec.podCIDR]), ...(node.spec.podCIDRs ?? [])]) if (!cidrs.includes(cidr)) cidrs.push(cidr);
    }
    return cidrs;
  }

  /** The addresses a node's Node object lists (`status.addresses`, every type), in its order. */
  nodeAddressesOf(node: string): readonly { readonly type: string; readonly address: string }[] {
    return this.objects.nodes.find((candidate) => candidate.metadata.name === node)?.status.addresses ?? [];
  }

  /** Node names, sorted. */
  nodeNames(): string[] {
    return this.objects.nodes.map((node) => node.metadata.name).sort();
  }
}
