import { createHash } from 'node:crypto';
import { KubeDeployment, KubeEndpointSlice, KubeList, KubeNode, KubePod, KubeReplicaSet, KubeService, SERVICE_NAME_LABEL } from '@natlens/shared-model';
import { ResolvedLab, ResolvedPod, ResolvedService } from '../topology/addressing';

/*
 * The lab's cluster as the Kubernetes API would list it: `kubectl get
 * nodes,pods,services,endpointslices,replicasets,deployments -A -o json`. kube-proxy's rules are rendered from these
 * objects (not from the topology) so the rules and the inventory the agents read cannot disagree. The pods of one
 * `app` label (per namespace) belong to one Deployment through its ReplicaSet, with ownerReferences, as the
 * Deployment controller makes them; a pod without an `app` label is a bare pod with no owner.
 */
export function buildInventory(lab: ResolvedLab): KubeList {
  const nodes: KubeNode[] = lab.nodes.map((n) => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: n.name, labels: { 'kubernetes.io/hostname': n.name, 'natlens.io/lab': lab.name } },
    spec: { podCIDR: n.podCidr, podCIDRs: [n.podCidr] },
    status: {
      addresses: [
        { type: 'InternalIP', address: n.address },
        { type: 'Hostname', address: n.name },
      ],
    },
  }));
  const nodeAddress = new Map(lab.nodes.map((n) => [n.name, n.address]));
  const apps = deploymentsOf(lab.pods);
  const pods: KubePod[] = lab.pods.map((p) => {
    const key = appKey(p);
    const app = key === undefined ? undefined : apps.get(key);
    const hash: Record<string, string> = app ? { 'pod-template-hash': app.hash } : {};
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: p.name,
        namespace: p.namespace,
        uid: uid('pod', p.namespace, p.name),
        labels: { ...p.labels, ...hash },
        ...(app ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: app.replicaSet.metadata.name, uid: app.replicaSet.metadata.uid as string, controller: true }] } : {}),
      },
      spec: { nodeName: p.node },
      status: { phase: 'Running', podIP: p.address, podIPs: [{ ip: p.address }], hostIP: nodeAddress.get(p.node) },
    };
  });
  const services = lab.services.map(toService);
  const slices = lab.services.map(toEndpointSlice);
  const workloads = [...apps.values()].flatMap((app) => [app.deployment, app.replicaSet]);
  return { apiVersion: 'v1', kind: 'List', items: [...nodes, ...pods, ...services, ...slices, ...workloads] };
}

const APP_LABEL = 'app';
const appKey = (pod: ResolvedPod): string | undefined => (pod.labels[APP_LABEL] === undefined ? undefined : `${pod.namespace}/${pod.labels[APP_LABEL]}`);

/** A stable uid per object, so the inventory of a topology is the same on every run. */
function uid(...parts: string[]): string {
  const hex = createHash('sha256').update(parts.join('/')).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The Deployment controller's pod-template-hash alphabet (no vowels, no look-alikes). */
const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
function templateHash(...parts: string[]): string {
  const digest = createHash('sha256').update(parts.join('/')).digest();
  return [...digest.subarray(0, 10)].map((byte) => SAFE_ALPHABET[byte % SAFE_ALPHABET.length]).join('');
}

interface LabApp {
  hash: string;
  deployment: KubeDeployment;
  replicaSet: KubeReplicaSet;
}

/** One Deployment (named after the `app` label) and its ReplicaSet per app label and namespace. */
function deploymentsOf(pods: readonly ResolvedPod[]): Map<string, LabApp> {
  const apps = new Map<string, LabApp>();
  for (const pod of pods) {
    const key = appKey(pod);
    if (key === undefined || apps.has(key)) continue;
    const name = pod.labels[APP_LABEL] as string;
    const replicas = pods.filter((p) => appKey(p) === key).length;
    const hash = templateHash(key);
    const selector = { matchLabels: { [APP_LABEL]: name } };
    const deploymentUid = uid('deployment', pod.namespace, name);
    const deployment: KubeDeployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: pod.namespace, uid: deploymentUid, labels: { [APP_LABEL]: name } },
      spec: { selector, replicas },
    };
    const replicaSet: KubeReplicaSet = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${name}-${hash}`,
        namespace: pod.namespace,
        uid: uid('replicaset', pod.namespace, name, hash),
        labels: { [APP_LABEL]: name, 'pod-template-hash': hash },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name, uid: deploymentUid, controller: true }],
      },
      spec: { selector: { matchLabels: { [APP_LABEL]: name, 'pod-template-hash': hash } }, replicas },
    };
    apps.set(key, { hash, deployment, replicaSet });
  }
  return apps;
}

function toService(svc: ResolvedService): KubeService {
  const external = svc.type !== 'ClusterIP';
  const annotations = { ...svc.annotations };
  if (svc.loadBalancerMode) annotations['natlens.io/lab-load-balancer-mode'] = svc.loadBalancerMode;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: svc.name, namespace: svc.namespace, annotations },
    spec: {
      type: svc.type,
      selector: svc.selector,
      clusterIP: svc.clusterIP,
      clusterIPs: [svc.clusterIP],
      ...(svc.externalIPs ? { externalIPs: svc.externalIPs } : {}),
      ports: svc.ports.map((p) => ({
        ...(p.name ? { name: p.name } : {}),
        protocol: p.protocol,
        port: p.port,
        targetPort: p.targetPort,
        ...(p.nodePort !== undefined ? { nodePort: p.nodePort } : {}),
      })),
      ...(external ? { externalTrafficPolicy: svc.externalTrafficPolicy } : {}),
      ...(svc.healthCheckNodePort !== undefined ? { healthCheckNodePort: svc.healthCheckNodePort } : {}),
    },
    status: svc.loadBalancerIP ? { loadBalancer: { ingress: [{ ip: svc.loadBalancerIP }] } } : {},
  };
}

function toEndpointSlice(svc: ResolvedService): KubeEndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${svc.name}-lab`, namespace: svc.namespace, labels: { [SERVICE_NAME_LABEL]: svc.name } },
    addressType: 'IPv4',
    endpoints: svc.endpoints.map((pod) => ({
      addresses: [pod.address],
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: pod.node,
      targetRef: { kind: 'Pod', name: pod.name, namespace: pod.namespace },
    })),
    ports: svc.ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), protocol: p.protocol, port: p.targetPort })),
  };
}
