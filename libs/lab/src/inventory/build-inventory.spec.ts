import { kubeListSchema } from '@natlens/shared-model';
import { buildInventory } from './build-inventory';
import { resolveLab } from '../topology/addressing';
import { exampleTopology } from '../testing';

describe('buildInventory', () => {
  const inventory = buildInventory(resolveLab(exampleTopology('seeds.yaml')));

  it('is a Kubernetes List that the shared model (what the agents read) accepts', () => {
    expect(() => kubeListSchema.parse(JSON.parse(JSON.stringify(inventory)))).not.toThrow();
  });

  it('lists nodes, pods, services and one EndpointSlice per service', () => {
    const kinds = inventory.items.map((o) => o.kind);
    expect(kinds.filter((k) => k === 'Node')).toHaveLength(3);
    expect(kinds.filter((k) => k === 'Pod')).toHaveLength(5);
    expect(kinds.filter((k) => k === 'Service')).toHaveLength(2);
    expect(kinds.filter((k) => k === 'EndpointSlice')).toHaveLength(2);
  });

  it('writes the Service as the API server would, with the LB ingress IP in its status', () => {
    const web = inventory.items.find((o) => o.kind === 'Service' && o.metadata.name === 'web');
    expect(web).toMatchObject({
      metadata: { namespace: 'default', annotations: { 'natlens.io/expect-client-ip': 'true', 'natlens.io/lab-load-balancer-mode': 'forward' } },
      spec: { type: 'LoadBalancer', clusterIP: '198.18.255.10', externalTrafficPolicy: 'Local', healthCheckNodePort: 32122, ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 30080 }] },
      status: { loadBalancer: { ingress: [{ ip: '203.0.113.10' }] } },
    });
  });

  it('names each endpoint\'s node and pod in the EndpointSlice', () => {
    const slice = inventory.items.find((o) => o.kind === 'EndpointSlice' && o.metadata.labels?.['kubernetes.io/service-name'] === 'web');
    expect(slice).toMatchObject({
      addressType: 'IPv4',
      ports: [{ name: 'http', protocol: 'TCP', port: 8080 }],
      endpoints: [
        { addresses: ['198.19.1.11'], nodeName: 'node1', targetRef: { kind: 'Pod', name: 'web-1', namespace: 'default' } },
        { addresses: ['198.19.1.12'], nodeName: 'node1', targetRef: { kind: 'Pod', name: 'web-2', namespace: 'default' } },
        { addresses: ['198.19.2.11'], nodeName: 'node2', targetRef: { kind: 'Pod', name: 'web-3', namespace: 'default' } },
      ],
    });
  });

  it('carries a UDP port\'s protocol to the Service and its EndpointSlice', () => {
    const udp = buildInventory(resolveLab(exampleTopology('udp-dns.yaml')));
    const service = udp.items.find((o) => o.kind === 'Service' && o.metadata.name === 'dns-nodeport');
    expect(service).toMatchObject({ spec: { type: 'NodePort', ports: [{ name: 'dns', protocol: 'UDP', port: 53, targetPort: 5353, nodePort: 30053 }] } });
    const slice = udp.items.find((o) => o.kind === 'EndpointSlice' && o.metadata.labels?.['kubernetes.io/service-name'] === 'dns');
    expect(slice).toMatchObject({ ports: [{ name: 'dns', protocol: 'UDP', port: 5353 }] });
  });
});
