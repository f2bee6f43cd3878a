import { KubeEndpointSlice, KubeList, KubeNode, KubePod, KubeService, SERVICE_NAME_LABEL } from '@natlens/shared-model';
import { ResolvedLab, ResolvedService } from '../topology/addressing';

/*
 * The lab's cluster as the Kubernetes API would list it: `kubectl get nodes,pods,services,endpointslices -A -o json`.
 * kube-proxy's rules are rendered from these objects (not from the topology) so the rules and the inventory the
 * agents read cannot disagree.
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
  const pods: KubePod[] = lab.pods.map((p) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: p.name, namespace: p.namespace, labels: p.labels },
    spec: { nodeName: p.node },
    status: { phase: 'Running', podIP: p.address, podIPs: [{ ip: p.address }], hostIP: nodeAddress.get(p.node) },
  }));
  const services = lab.services.map(toService);
  const slices = lab.services.map(toEndpointSlice);
  return { apiVersion: 'v1', kind: 'List', items: [...nodes, ...pods, ...services, ...slices] };
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
