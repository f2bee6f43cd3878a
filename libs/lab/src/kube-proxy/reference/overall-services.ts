import { KubeEndpointSlice, KubeService, KubeServicePort, SERVICE_NAME_LABEL } from '@natlens/shared-model';
import { KubeProxyNode } from '../kube-proxy-node';

/*
 * The six Services and EndpointSlices of kube-proxy's TestOverallIPTablesRules / TestOverallNFTablesRules
 * (kubernetes/kubernetes pkg/proxy/{iptables,nftables}/proxier_test.go), written as our inventory holds them: the
 * same names, ports, addresses, node name, source ranges and affinity, in kube-proxy's test addressing (pods
 * 10.0.0.0/8, Services 172.30.0.0/16, the node 192.168.0.2). Fields the test leaves unset stay unset here too.
 */

export const TEST_NODE: KubeProxyNode = {
  nodeName: 'test-node',
  nodeIP: '192.168.0.2',
  // the fake network's interfaces: lo, and eth0 with the node IP, an alternative node IP and an external IP
  nodeAddresses: ['127.0.0.1', '192.168.0.2', '192.168.1.2', '192.168.99.11'],
  clusterCidr: '10.0.0.0/8',
};
export const TEST_SERVICE_CIDR = '172.30.0.0/16';

const p80 = (extra: Partial<KubeServicePort> = {}): KubeServicePort => ({ name: 'p80', port: 80, protocol: 'TCP', ...extra });

function service(namespace: string, name: string, spec: Partial<KubeService['spec']>, lbIP?: string): KubeService {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { namespace, name },
    spec: { type: 'ClusterIP', ports: [], ...spec },
    status: lbIP ? { loadBalancer: { ingress: [{ ip: lbIP }] } } : {},
  };
}

function slice(namespace: string, name: string, endpoints: { ip: string; nodeName?: string }[]): KubeEndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { namespace, name: `${name}-1`, labels: { [SERVICE_NAME_LABEL]: name } },
    addressType: 'IPv4',
    // conditions left unset, as the test leaves them: kube-proxy reads an unset `ready` as ready
    endpoints: endpoints.map((ep) => ({ addresses: [ep.ip], conditions: {}, ...(ep.nodeName ? { nodeName: ep.nodeName } : {}) })),
    ports: [{ name: 'p80', port: 80, protocol: 'TCP' }],
  };
}

export const OVERALL_SERVICES: KubeService[] = [
  service('ns1', 'svc1', { clusterIP: '172.30.0.41', ports: [p80()] }),
  service(
    'ns2',
    'svc2',
    { type: 'LoadBalancer', externalTrafficPolicy: 'Local', clusterIP: '172.30.0.42', ports: [p80({ nodePort: 3001 })], externalIPs: ['192.168.99.22'], healthCheckNodePort: 30000 },
    '1.2.3.4',
  ),
  service('ns3', 'svc3', { type: 'NodePort', clusterIP: '172.30.0.43', ports: [p80({ nodePort: 3003 })] }),
  service('ns4', 'svc4', { type: 'NodePort', clusterIP: '172.30.0.44', externalIPs: ['192.168.99.33'], ports: [p80({ targetPort: 80 })] }),
  service(
    'ns5',
    'svc5',
    {
      type: 'LoadBalancer',
      externalTrafficPolicy: 'Cluster',
      clusterIP: '172.30.0.45',
      ports: [p80({ nodePort: 3002 })],
      healthCheckNodePort: 30000,
      // the test's leading space, kept: kube-proxy trims it
      loadBalancerSourceRanges: [' 203.0.113.0/25'],
      sessionAffinity: 'ClientIP',
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } },
    },
    '5.6.7.8',
  ),
  service('ns6', 'svc6', { clusterIP: '172.30.0.46', ports: [p80({ targetPort: 80 })] }),
];

export const OVERALL_ENDPOINT_SLICES: KubeEndpointSlice[] = [
  slice('ns1', 'svc1', [{ ip: '10.180.0.1' }]),
  // no nodeName: the endpoint is not on this node, so svc2's Local-policy external traffic has nowhere to go
  slice('ns2', 'svc2', [{ ip: '10.180.0.2' }]),
  slice('ns3', 'svc3', [{ ip: '10.180.0.3' }]),
  slice('ns4', 'svc4', [{ ip: '10.180.0.4' }, { ip: '10.180.0.5', nodeName: 'test-node' }]),
  slice('ns5', 'svc5', [{ ip: '10.180.0.3' }]),
];
