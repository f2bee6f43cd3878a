import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import type { KubeObject } from '@natlens/shared-model';
import type { KubeClientModule, KubeConfig } from './kube-client';

/** The collections the index is built from, named as the API server's paths name them. */
export type KubeResourceName = 'nodes' | 'pods' | 'services' | 'endpointslices' | WorkloadResourceName;
/** The apps/v1 collections that own pods: only the hub reads them (remedies name the workload), so agents need no RBAC on them. */
export type WorkloadResourceName = 'replicasets' | 'deployments' | 'statefulsets' | 'daemonsets';

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

export const WORKLOAD_RESOURCES: readonly KubeResource[] = [
  {
    name: 'replicasets',
    kind: 'ReplicaSet',
    apiVersion: 'apps/v1',
    path: '/apis/apps/v1/replicasets',
    list: (client, config) => config.makeApiClient(client.AppsV1Api).listReplicaSetForAllNamespaces(),
  },
  {
    name: 'deployments',
    kind: 'Deployment',
    apiVersion: 'apps/v1',
    path: '/apis/apps/v1/deployments',
    list: (client, config) => config.makeApiClient(client.AppsV1Api).listDeploymentForAllNamespaces(),
  },
  {
    name: 'statefulsets',
    kind: 'StatefulSet',
    apiVersion: 'apps/v1',
    path: '/apis/apps/v1/statefulsets',
    list: (client, config) => config.makeApiClient(client.AppsV1Api).listStatefulSetForAllNamespaces(),
  },
  {
    name: 'daemonsets',
    kind: 'DaemonSet',
    apiVersion: 'apps/v1',
    path: '/apis/apps/v1/daemonsets',
    list: (client, config) => config.makeApiClient(client.AppsV1Api).listDaemonSetForAllNamespaces(),
  },
];
