import { LB_DISTRIBUTION_ANNOTATION, type KubeService, type ServiceEntry } from '@natlens/shared-model';
import {
  EXPECT_CLIENT_IP_ANNOTATION,
  objectKey,
  type ServiceFrontend,
  type ServiceInfo,
  type ServicePortInfo,
} from './cluster-types';
import { ipKey } from './ip-address';
import { socketKey } from './lookup-keys';
import { sortByKey } from './object-order';

export interface ServiceDescription {
  readonly info: ServiceInfo;
  readonly ports: readonly ServicePortInfo[];
}

export interface ServiceCatalog {
  /** `namespace/name` → Service. */
  readonly services: ReadonlyMap<string, ServiceDescription>;
  /** Socket key (address|port|protocol) → the Service port behind a ClusterIP, external IP or load-balancer IP. */
  readonly addressFrontends: ReadonlyMap<string, ServiceFrontend>;
  /**
   * `nodePort|protocol` → Service port. kube-proxy opens a NodePort on every node address, so we keep one entry per
   * port and test the address against the node address book at lookup, rather than storing nodes × ports entries.
   */
  readonly nodePortFrontends: ReadonlyMap<string, ServiceFrontend>;
  /** Every Service's healthCheckNodePort (TCP, on every node address). */
  readonly healthCheckNodePorts: ReadonlySet<number>;
}

/** A headless Service's clusterIP is the literal "None": no virtual address, no kube-proxy rules. */
const HEADLESS = 'None';

function describeService(service: KubeService): ServiceDescription {
  const { metadata, spec } = service;
  const info: ServiceInfo = {
    namespace: metadata.namespace ?? 'default',
    name: metadata.name,
    type: spec.type,
    externalTrafficPolicy: spec.externalTrafficPolicy ?? 'Cluster',
    ...(spec.healthCheckNodePort === undefined ? {} : { healthCheckNodePort: spec.healthCheckNodePort }),
    expectClientIP: metadata.annotations?.[EXPECT_CLIENT_IP_ANNOTATION] === 'true',
    ...(metadata.annotations?.[LB_DISTRIBUTION_ANNOTATION] === undefined ? {} : { lbDistribution: metadata.annotations[LB_DISTRIBUTION_ANNOTATION] }),
    ...loadBalancerIngressOf(service),
  };
  const ports = spec.ports.map(
    ({ port, protocol, name, targetPort, nodePort }): ServicePortInfo => ({
      port,
      protocol,
      ...(name === undefined ? {} : { name }),
      ...(targetPort === undefined ? {} : { targetPort }),
      ...(nodePort === undefined ? {} : { nodePort }),
    }),
  );
  return { info, ports };
}

function loadBalancerIngressOf(service: KubeService): Pick<ServiceInfo, 'loadBalancerIngress'> {
  const ingress = service.spec.type === 'LoadBalancer' ? (service.status.loadBalancer?.ingress ?? []) : [];
  if (ingress.length === 0) return {};
  return { loadBalancerIngress: ingress.some((entry) => entry.ip !== undefined) ? 'address' : 'hostname-only' };
}

function virtualAddresses(service: KubeService): { address: string; entry: ServiceEntry }[] {
  const { spec, status } = service;
  const clusterIPs = new Set([...(spec.clusterIPs ?? []), ...(spec.clusterIP === undefined ? [] : [spec.clusterIP])]);
  clusterIPs.delete(HEADLESS);
  const addresses = [...clusterIPs].map((address): { address: string; entry: ServiceEntry } => ({ address, entry: 'clusterIP' }));
  for (const address of spec.externalIPs ?? []) addresses.push({ address, entry: 'externalIP' });
  if (spec.type === 'LoadBalancer') {
    // Ingress entries with only a hostname (AWS ELB) have no address we can match a packet against.
    for (const { ip } of status.loadBalancer?.ingress ?? []) if (ip !== undefined) addresses.push({ address: ip, entry: 'loadBalancer' });
  }
  return addresses;
}

/**
 * Indexes Services by every door kube-proxy opens for them. Services are taken in namespace/name order and the
 * first claim of an address:port wins, so a conflicting pair resolves the same way on every node and every run.
 * ExternalName Services are DNS aliases: they get no rules and no frontends.
 */
export function indexServices(services: readonly KubeService[]): ServiceCatalog {
  const byName = new Map<string, ServiceDescription>();
  const addressFrontends = new Map<string, ServiceFrontend>();
  const nodePortFrontends = new Map<string, ServiceFrontend>();
  const healthCheckNodePorts = new Set<number>();
  const claim = (map: Map<string, ServiceFrontend>, key: string, frontend: ServiceFrontend): void => {
    if (!map.has(key)) map.set(key, frontend);
  };
  for (const service of sortByKey(services)) {
    const description = describeService(service);
    const key = objectKey(description.info);
    if (byName.has(key)) continue;
    byName.set(key, description);
    if (service.spec.type === 'ExternalName') continue;
    if (service.spec.healthCheckNodePort !== undefined) healthCheckNodePorts.add(service.spec.healthCheckNodePort);
    for (const { address, entry } of virtualAddresses(service)) {
      const addressKey = ipKey(address);
      if (addressKey === undefined) continue;
      for (const port of description.ports) {
        claim(addressFrontends, socketKey(addressKey, port.port, port.protocol), { ...description.info, port, entry });
      }
    }
    if (service.spec.type === 'NodePort' || service.spec.type === 'LoadBalancer') {
      for (const port of description.ports) {
        if (port.nodePort !== undefined) claim(nodePortFrontends, `${port.nodePort}|${port.protocol}`, { ...description.info, port, entry: 'nodePort' });
      }
    }
  }
  return { services: byName, addressFrontends, nodePortFrontends, healthCheckNodePorts };
}
