import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import type { KubeObject } from '@natlens/shared-model';
import type { KubeClientModule, KubeConfig } from './kube-client';

/** The four collections the index is built from, named as the API server's paths name them. */
export type KubeResourceName = 'nodes' | 'pods' | 'services' | 'endpointslices';

export interface KubeResource {
  readonly name: KubeResourceName;
  /** The kind of the items (a list response leaves it out of each item). */
  readonly kind: KubeObject['kind'];
  readonly apiVersion: string;
  /** The cluster-wide collection: list and watch across all namespaces. */
  readonly path: string;
  /** Lists the collection through the typed API client. */
  readonly list: (client: KubeClientModule, config: KubeConfig) => Promise<KubernetesListObject<KubernetesObject>>;
}

export const KUBE_RESOURCES: readonly KubeResource[] = [
  {
    name: 'nodes',
    kind: 'Node',
    apiVersion: 'v1',
    path: '/api/v1/nodes',
    list: (client, config) => config.makeApiClient(client.CoreV1Api).listNode(),
  },
  {
    name: 'pods',
    kind: 'Pod',
    apiVersion: 'v1',
    path: '/api/v1/pods',
    list: (client, config) => config.makeApiClient(client.CoreV1Api).listPodForAllNamespaces(),
  },
  {
    name: 'services',
    kind: 'Service',
    apiVersion: 'v1',
    path: '/api/v1/services',
    list: (client, config) => config.makeApiClient(client.CoreV1Api).listServiceForAllNamespaces(),
  },
  {
    name: 'endpointslices',
    kind: 'EndpointSlice',
    apiVersion: 'discovery.k8s.io/v1',
    path: '/apis/discovery.k8s.io/v1/endpointslices',
    list: (client, config) => config.makeApiClient(client.DiscoveryV1Api).listEndpointSliceForAllNamespaces(),
  },
];
