import { KubeEndpointSlice, KubeService, SERVICE_NAME_LABEL } from '@natlens/shared-model';

/*
 * A kube-dns-like Service for the renderers' unit tests: one UDP and one TCP port of the same number (53 → 5353), two
 * endpoints on two nodes, and a UDP node port. Its names are those of every cluster's kube-dns, whose chain names are
 * known from real nodes.
 */
export const dnsService: KubeService = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { namespace: 'kube-system', name: 'kube-dns' },
  spec: {
    type: 'NodePort',
    clusterIP: '198.18.255.53',
    externalTrafficPolicy: 'Cluster',
    ports: [
      { name: 'dns', protocol: 'UDP', port: 53, targetPort: 5353, nodePort: 30053 },
      { name: 'dns-tcp', protocol: 'TCP', port: 53, targetPort: 5353 },
    ],
  },
  status: {},
};

export const dnsSlice: KubeEndpointSlice = {
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { namespace: 'kube-system', name: 'kube-dns-1', labels: { [SERVICE_NAME_LABEL]: 'kube-dns' } },
  addressType: 'IPv4',
  endpoints: [
    { addresses: ['198.19.1.11'], conditions: { ready: true }, nodeName: 'n' },
    { addresses: ['198.19.2.11'], conditions: { ready: true }, nodeName: 'other' },
  ],
  ports: [
    { name: 'dns', protocol: 'UDP', port: 5353 },
    { name: 'dns-tcp', protocol: 'TCP', port: 5353 },
  ],
};
