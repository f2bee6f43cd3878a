import { kubeListSchema } from '@natlens/shared-model';
import { ClusterIndex } from '@natlens/shared-cluster';
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

  it('gives each app a Deployment and a ReplicaSet that own its pods, as a real cluster has them', () => {
    const index = ClusterIndex.fromObjects(inventory.items);
    for (const pod of ['web-1', 'web-2', 'web-3']) {
      expect(index.ownerOf({ namespace: 'default', name: pod })).toEqual({ known: true, workload: { kind: 'Deployment', namespace: 'default', name: 'web', selector: { matchLabels: { app: 'web' } } } });
    }
    expect(index.ownerOf({ namespace: 'default', name: 'api-2' })).toMatchObject({ known: true, workload: { kind: 'Deployment', name: 'api' } });
    const replicaSet = inventory.items.find((o) => o.kind === 'ReplicaSet' && o.metadata.name.startsWith('web-'));
    expect(replicaSet?.metadata.name).toMatch(/^web-[bcdfghjklmnpqrstvwxz2456789]{10}$/);
    expect(inventory.items.find((o) => o.kind === 'Deployment' && o.metadata.name === 'web')).toMatchObject({ spec: { replicas: 3 } });
    // the same topology gives the same objects, uids included
    expect(buildInventory(resolveLab(exampleTopology('seeds.yaml')))).toEqual(inventory);
  });

  it('leaves a pod without an app label without an owner', () => {
    const seeds = exampleTopology('seeds.yaml');
    const withBare = { ...seeds, pods: [...seeds.pods, { name: 'debug', namespace: 'default', node: 'node2', labels: {} }] };
    const items = buildInventory(resolveLab(withBare)).items;
    expect(items.find((o) => o.kind === 'Pod' && o.metadata.name === 'debug')?.metadata.ownerReferences).toBeUndefined();
    expect(ClusterIndex.fromObjects(items).ownerOf({ namespace: 'default', name: 'debug' })).toMatchObject({ known: false });
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
