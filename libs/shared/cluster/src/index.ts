export { ClusterIndex, groupByKind, KUBE_PROXY_HEALTHZ_PORT, type ClusterObjects } from './cluster-index';
export {
  EXPECT_CLIENT_IP_ANNOTATION,
  type ClientIdentity,
  type LookupProtocol,
  type PodRef,
  type ServiceEndpoint,
  type ServiceFrontend,
  type ServiceInfo,
  type ServicePortInfo,
  type ServiceProtocol,
  type ServiceRef,
  type ServiceType,
  type TrafficPolicy,
} from './cluster-types';
export type { LocalNodeAddresses } from './node-addresses';
export type { ClusterIndexListener, ClusterMetadataSource, ClusterMetadataStatus } from './cluster-metadata-source';
export { InventoryError, parseInventory, type ParsedInventory } from './inventory-parse';
export { InventoryFileSource, type InventoryFileSourceOptions } from './inventory-source';
export { KubeApiWatcher, type KubeApiWatcherOptions } from './api-watcher';
export type { ResourceInformerStatus } from './resource-informer';
export type { KubeResourceName } from './kube-resources';
export { loadKubeConfig, type KubeConfigOptions, type KubeConfigSource } from './kube-client';
export type { BackoffPolicy } from './backoff';
export type { PodOwner, WorkloadKind, WorkloadRef } from './workload-owners';
