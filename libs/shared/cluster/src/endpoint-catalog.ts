import { type KubeEndpointSlice, SERVICE_NAME_LABEL } from '@natlens/shared-model';
import { objectKey, type PodRef, type ServiceEndpoint, type ServicePortInfo, type ServiceRef } from './cluster-types';
import { ipKey } from './ip-address';
import { socketKey } from './lookup-keys';
import { sortByKey } from './object-order';
import type { ServiceDescription } from './service-catalog';

export interface EndpointCatalog {
  /** Socket key (address|port|protocol) → the Service endpoints there; several when Services share pods. */
  readonly endpointsBySocket: ReadonlyMap<string, readonly ServiceEndpoint[]>;
  /** `namespace/name` of a Service → node → number of ready endpoints (distinct pods) on that node. */
  readonly readyEndpointsByNode: ReadonlyMap<string, ReadonlyMap<string, number>>;
}

type SlicePort = NonNullable<KubeEndpointSlice['ports']>[number];

/**
 * The EndpointSlice controller names each slice port after the Service port it serves (an unnamed Service port
 * gives an unnamed slice port), so the name, with the protocol, ties an endpoint back to its Service port.
 */
function servicePortFor(slicePort: SlicePort, service: ServiceDescription | undefined): ServicePortInfo | undefined {
  const name = slicePort.name ?? '';
  return service?.ports.find((port) => (port.name ?? '') === name && port.protocol === slicePort.protocol);
}

/**
 * Indexes the endpoints of every EndpointSlice that names its Service (label kubernetes.io/service-name); slices
 * without it are managed by someone else for something else. FQDN slices carry names, not addresses.
 */
export function indexEndpoints(
  slices: readonly KubeEndpointSlice[],
  services: ReadonlyMap<string, ServiceDescription>,
  podByAddress: ReadonlyMap<string, PodRef>,
): EndpointCatalog {
  const endpointsBySocket = new Map<string, ServiceEndpoint[]>();
  // Service → node → pods: a dual-stack pod is listed once in the IPv4 slice and once in the IPv6 slice.
  const readyPodsByNode = new Map<string, Map<string, Set<string>>>();
  for (const slice of sortByKey(slices)) {
    const serviceName = slice.metadata.labels?.[SERVICE_NAME_LABEL];
    if (serviceName === undefined || slice.addressType === 'FQDN') continue;
    const service: ServiceRef = { namespace: slice.metadata.namespace ?? 'default', name: serviceName };
    const description = services.get(objectKey(service));
    for (const endpoint of slice.endpoints ?? []) {
      const firstAddress = endpoint.addresses[0] ?? '';
      const pod = endpoint.targetRef?.kind === 'Pod' ? { namespace: endpoint.targetRef.namespace ?? service.namespace, name: endpoint.targetRef.name } : undefined;
      const node = endpoint.nodeName ?? podByAddress.get(ipKey(firstAddress) ?? '')?.node;
      const ready = endpoint.conditions.ready ?? true;
      if (ready && node !== undefined) {
        const byNode = readyPodsByNode.get(objectKey(service)) ?? new Map<string, Set<string>>();
        readyPodsByNode.set(objectKey(service), byNode);
        const pods = byNode.get(node) ?? new Set<string>();
        byNode.set(node, pods);
        pods.add(pod === undefined ? `address:${ipKey(firstAddress) ?? firstAddress}` : objectKey(pod));
      }
      for (const address of endpoint.addresses) {
        const addressKey = ipKey(address);
        if (addressKey === undefined) continue;
        for (const slicePort of slice.ports ?? []) {
          const servicePort = servicePortFor(slicePort, description);
          const entry: ServiceEndpoint = {
            service,
            ...(servicePort === undefined ? {} : { servicePort }),
            ip: address,
            port: slicePort.port,
            protocol: slicePort.protocol,
            ...(pod === undefined ? {} : { pod }),
            ...(node === undefined ? {} : { node }),
            ready,
          };
          const key = socketKey(addressKey, slicePort.port, slicePort.protocol);
          const list = endpointsBySocket.get(key);
          if (list === undefined) endpointsBySocket.set(key, [entry]);
          else list.push(entry);
        }
      }
    }
  }
  const readyEndpointsByNode = new Map<string, Map<string, number>>();
  for (const [service, byNode] of readyPodsByNode) {
    readyEndpointsByNode.set(service, new Map([...byNode].map(([node, pods]) => [node, pods.size])));
  }
  return { endpointsBySocket, readyEndpointsByNode };
}
