import { resolveLab } from './addressing';
import { exampleTopology } from '../testing';

describe('resolveLab', () => {
  const lab = resolveLab(exampleTopology('lb-local.yaml'));

  it('addresses nodes, pods and services from their positions (DESIGN.md address plan)', () => {
    expect(lab.nodes.map((n) => [n.name, n.address, n.podCidr, n.podGateway])).toEqual([
      ['node1', '198.18.0.11', '198.19.1.0/24', '198.19.1.1'],
      ['node2', '198.18.0.12', '198.19.2.0/24', '198.19.2.1'],
      ['node3', '198.18.0.13', '198.19.3.0/24', '198.19.3.1'],
    ]);
    expect(lab.pods.map((p) => [p.name, p.address])).toEqual([
      ['web-1', '198.19.1.11'],
      ['web-2', '198.19.1.12'],
      ['web-3', '198.19.2.11'],
    ]);
    expect(lab.services[0]).toMatchObject({ clusterIP: '198.18.255.10', loadBalancerIP: '203.0.113.10', loadBalancerMode: 'forward', healthCheckNodePort: 32122 });
  });

  it('selects endpoints by label within the namespace', () => {
    expect(lab.services[0]?.endpoints.map((p) => p.name)).toEqual(['web-1', 'web-2', 'web-3']);
  });

  it('allocates node ports and health-check ports that the topology left out, avoiding the ones it set', () => {
    const resolved = resolveLab({
      name: 't',
      nodes: [{ name: 'n' }],
      pods: [],
      clients: [],
      kubeProxy: { mode: 'iptables' },
      services: [
        { name: 'a', namespace: 'default', type: 'NodePort', selector: { x: 'y' }, ports: [{ protocol: 'TCP', port: 80, targetPort: 80, nodePort: 30080 }], externalTrafficPolicy: 'Cluster', annotations: {} },
        { name: 'b', namespace: 'default', type: 'LoadBalancer', selector: { x: 'y' }, ports: [{ protocol: 'TCP', port: 80, targetPort: 80 }], externalTrafficPolicy: 'Local', annotations: {} },
      ],
    });
    expect(resolved.services[1]?.ports[0]?.nodePort).toBe(30081);
    expect(resolved.services[1]?.healthCheckNodePort).toBe(32100);
    expect(resolved.services[0]?.healthCheckNodePort).toBeUndefined();
  });
});
