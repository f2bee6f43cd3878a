import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseTopology, TopologyError } from './load-topology';
import { parseMasqueradePortRange } from './topology.schema';
import { EXAMPLES_DIR } from '../testing';

const minimal = `
name: t
nodes: [{name: node1}]
`;

describe('parseTopology', () => {
  it.each(readdirSync(EXAMPLES_DIR).filter((f) => f.endsWith('.yaml')))('accepts examples/%s', (file) => {
    expect(() => parseTopology(readFileSync(join(EXAMPLES_DIR, file), 'utf8'), file)).not.toThrow();
  });

  it('fills in defaults', () => {
    const topology = parseTopology(`${minimal}pods: [{name: a, node: node1}]\nservices: [{name: s, selector: {app: a}, ports: [{port: 80, targetPort: 8080}]}]`);
    expect(topology.pods[0]).toEqual({ name: 'a', namespace: 'default', node: 'node1', labels: {} });
    expect(topology.services[0]).toMatchObject({ namespace: 'default', type: 'ClusterIP', externalTrafficPolicy: 'Cluster', annotations: {} });
    expect(topology.kubeProxy).toEqual({ mode: 'iptables' });
  });

  it('takes the kube-proxy mode', () => {
    expect(parseTopology(`${minimal}kubeProxy: {mode: nftables}`).kubeProxy).toEqual({ mode: 'nftables' });
    expect(parseTopology(`${minimal}kubeProxy: {}`).kubeProxy).toEqual({ mode: 'iptables' });
  });

  it('takes a masquerade port range for the nodes (a lab knob)', () => {
    expect(parseTopology(`${minimal}kubeProxy: {masqueradePortRange: "40000-40063"}`).kubeProxy).toEqual({ mode: 'iptables', masqueradePortRange: '40000-40063' });
    expect(parseMasqueradePortRange('40000-40063')).toEqual({ min: 40000, max: 40063 });
    expect(parseTopology(`${minimal}kubeProxy: {mode: nftables, masqueradePortRange: "1024-1024"}`).kubeProxy).toEqual({ mode: 'nftables', masqueradePortRange: '1024-1024' });
  });

  it('takes any masquerade port range as a valid range or a TopologyError, never anything else (fast-check)', () => {
    const text = fc.oneof(fc.string(), fc.tuple(fc.integer({ min: -5, max: 70000 }), fc.integer({ min: -5, max: 70000 })).map(([a, b]) => `${a}-${b}`));
    fc.assert(
      fc.property(text, (range) => {
        try {
          const { masqueradePortRange } = parseTopology(`${minimal}kubeProxy: {masqueradePortRange: ${JSON.stringify(range)}}`).kubeProxy;
          const { min, max } = parseMasqueradePortRange(masqueradePortRange as string);
          expect(min >= 1 && min <= max && max <= 65535).toBe(true);
        } catch (err) {
          expect(err).toBeInstanceOf(TopologyError);
        }
      }),
    );
  });

  it('takes UDP ports as Kubernetes does', () => {
    const topology = parseTopology(`${minimal}services: [{name: s, type: NodePort, selector: {a: b}, ports: [{name: dns, port: 53, targetPort: 5353, protocol: UDP}]}]`);
    expect(topology.services[0]?.ports[0]).toEqual({ name: 'dns', port: 53, targetPort: 5353, protocol: 'UDP' });
  });

  it.each([
    ['not YAML', 'name: [', /not valid YAML/],
    ['an unknown key', `${minimal}colour: blue`, /Unrecognized key.*colour/],
    ['an unknown key deep inside', `${minimal}pods: [{name: a, node: node1, nodee: x}]`, /pods\.0: Unrecognized key/],
    ['a name that is no DNS label', `name: My_Lab\nnodes: [{name: node1}]`, /name: must be a lowercase DNS label/],
    ['no nodes', 'name: t\nnodes: []', /nodes: Too small/],
    ['a pod on a missing node', `${minimal}pods: [{name: a, node: node9}]`, /pods\.0: node "node9" is not in nodes/],
    ['a duplicate pod', `${minimal}pods: [{name: a, node: node1}, {name: a, node: node1}]`, /duplicate pod "default\/a"/],
    ['a client outside 198.51.100.0/24', `${minimal}clients: [{name: c, address: 10.0.0.1}]`, /clients live in 198\.51\.100\.0\/24/],
    ['conntrack zone 0 (the default zone: leave the key out)', `name: t\nnodes: [{name: node1, conntrackZone: 0}]`, /conntrackZone: Too small/],
    ['a conntrack zone beyond a u16', `name: t\nnodes: [{name: node1, conntrackZone: 65536}]`, /conntrackZone: Too big/],
    ['SCTP ports', `${minimal}services: [{name: s, selector: {a: b}, ports: [{port: 53, targetPort: 53, protocol: SCTP}]}]`, /TCP or UDP/],
    [
      'a UDP port behind a proxying load balancer',
      `${minimal}services: [{name: s, type: LoadBalancer, loadBalancer: {mode: proxy}, selector: {a: b}, ports: [{port: 53, targetPort: 53, protocol: UDP}]}]`,
      /UDP port needs loadBalancer mode forward/,
    ],
    ['an unknown proxy mode', `${minimal}kubeProxy: {mode: ipvs}`, /kubeProxy\.mode: Invalid option/],
    ['a masquerade port range that is no range', `${minimal}kubeProxy: {masqueradePortRange: "40000"}`, /kubeProxy\.masqueradePortRange: write the range as MIN-MAX/],
    ['a masquerade port range given as a number', `${minimal}kubeProxy: {masqueradePortRange: 40000}`, /kubeProxy\.masqueradePortRange: Invalid input/],
    ['a masquerade port range upside down', `${minimal}kubeProxy: {masqueradePortRange: "40063-40000"}`, /kubeProxy\.masqueradePortRange: MIN and MAX are ports \(1-65535\) and MIN <= MAX/],
    ['a masquerade port range past 65535', `${minimal}kubeProxy: {masqueradePortRange: "65000-70000"}`, /MIN and MAX are ports/],
    ['a masquerade port range from port 0', `${minimal}kubeProxy: {masqueradePortRange: "0-100"}`, /MIN and MAX are ports/],
    ['an unknown kube-proxy knob', `${minimal}kubeProxy: {mode: nftables, masqueradeAll: true}`, /kubeProxy: Unrecognized key.*masqueradeAll/],
    ['a nodePort out of range', `${minimal}services: [{name: s, type: NodePort, selector: {a: b}, ports: [{port: 80, targetPort: 80, nodePort: 80}]}]`, /nodePort: Too small/],
    ['Local policy on ClusterIP', `${minimal}services: [{name: s, selector: {a: b}, externalTrafficPolicy: Local, ports: [{port: 80, targetPort: 80}]}]`, /externalTrafficPolicy applies only/],
    [
      'a health-check port on a Cluster-policy service',
      `${minimal}services: [{name: s, type: LoadBalancer, selector: {a: b}, healthCheckNodePort: 32000, ports: [{port: 80, targetPort: 80}]}]`,
      /healthCheckNodePort is only for/,
    ],
    [
      'a single-node distribution on a proxying load balancer',
      `${minimal}services: [{name: s, type: LoadBalancer, selector: {a: b}, loadBalancer: {mode: proxy, distribution: single-node}, ports: [{port: 80, targetPort: 80}]}]`,
      /distribution single-node is for mode forward/,
    ],
    ['an unknown distribution', `${minimal}services: [{name: s, type: LoadBalancer, selector: {a: b}, loadBalancer: {distribution: round-robin}, ports: [{port: 80, targetPort: 80}]}]`, /distribution: Invalid option/],
    [
      'one node port used twice',
      `${minimal}services: [{name: s, type: NodePort, selector: {a: b}, ports: [{port: 80, targetPort: 80, nodePort: 30001}]}, {name: t, type: NodePort, selector: {a: b}, ports: [{port: 80, targetPort: 80, nodePort: 30001}]}]`,
      /node port 30001 is already used by default\/s/,
    ],
  ])('rejects %s with a message that says what is wrong', (_name, text, message) => {
    expect(() => parseTopology(text, 'x.yaml')).toThrow(TopologyError);
    expect(() => parseTopology(text, 'x.yaml')).toThrow(message);
  });

  it('lists every problem, not only the first', () => {
    try {
      parseTopology(`${minimal}pods: [{name: a, node: x}, {name: b, node: y}]`);
      throw new Error('expected a TopologyError');
    } catch (err) {
      expect((err as TopologyError).problems).toHaveLength(2);
    }
  });
});
