import type * as KubeClient from '@kubernetes/client-node';

/*
 * @kubernetes/client-node 1.x is an ES module. It is loaded on first use, not when this library is imported, so
 * code and tests that only need the index or the inventory (and run where ES modules cannot be required, like
 * jest without a transform for it) never load it.
 */

export type KubeClientModule = typeof KubeClient;
export type KubeConfig = KubeClient.KubeConfig;
/** What `KubeConfig.loadFromOptions` takes: clusters, users, contexts and the current context. */
export type KubeConfigOptions = Parameters<KubeConfig['loadFromOptions']>[0];

/** Where the API server's address and credentials come from. */
export type KubeConfigSource =
  /** The pod's service account (KUBERNETES_SERVICE_HOST and the mounted token): the DaemonSet case. */
  | { readonly kind: 'in-cluster' }
  | { readonly kind: 'file'; readonly path: string }
  /** $KUBECONFIG, ~/.kube/config, or in-cluster, as kubectl would pick. */
  | { readonly kind: 'default' }
  | { readonly kind: 'options'; readonly options: KubeConfigOptions };

let clientModule: Promise<KubeClientModule> | undefined;

export function loadKubeClient(): Promise<KubeClientModule> {
  clientModule ??= import('@kubernetes/client-node');
  return clientModule;
}

export async function loadKubeConfig(source: KubeConfigSource): Promise<KubeConfig> {
  const { KubeConfig } = await loadKubeClient();
  const config = new KubeConfig();
  if (source.kind === 'in-cluster') config.loadFromCluster();
  else if (source.kind === 'file') config.loadFromFile(source.path);
  else if (source.kind === 'default') config.loadFromDefault();
  else config.loadFromOptions(source.options);
  return config;
}
