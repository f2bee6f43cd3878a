import { nodePortEntry, type NodePortHit } from './entry';

const hit = (over: Partial<NodePortHit>): NodePortHit => ({ serviceType: 'LoadBalancer', loadBalancerIngress: 'address', clientKind: 'external', proxyHeader: false, prober: false, ...over });

describe('nodePortEntry: a node-port connection, direct or the load balancer\'s', () => {
  it.each<[string, NodePortHit, ReturnType<typeof nodePortEntry>]>([
    ['a NodePort Service: direct, whoever connects', hit({ serviceType: 'NodePort', loadBalancerIngress: undefined, prober: true, proxyHeader: true }), { entry: 'nodePort' }],
    ['a node of the cluster is no load balancer', hit({ clientKind: 'node', prober: true }), { entry: 'nodePort' }],
    ['nor is a pod', hit({ clientKind: 'pod', loadBalancerIngress: 'hostname-only' }), { entry: 'nodePort' }],
    ['a PROXY / X-Forwarded-For header: a proxy opened it', hit({ proxyHeader: true }), { entry: 'loadBalancer', via: 'nodePort', viaBasis: 'proxy-header' }],
    ['from an address that health-checks the nodes', hit({ prober: true }), { entry: 'loadBalancer', via: 'nodePort', viaBasis: 'health-check-prober' }],
    ['the header is the stronger sign', hit({ proxyHeader: true, prober: true }), { entry: 'loadBalancer', via: 'nodePort', viaBasis: 'proxy-header' }],
    ['a hostname-only ingress: its LB can only deliver to node ports', hit({ loadBalancerIngress: 'hostname-only' }), { entry: 'loadBalancer', via: 'nodePort', viaBasis: 'hostname-only-ingress' }],
    ['an ingress IP, no header, no probes from there: a direct hit', hit({}), { entry: 'nodePort' }],
    ['no ingress published yet: a direct hit', hit({ loadBalancerIngress: undefined }), { entry: 'nodePort' }],
  ])('%s', (_name, input, expected) => {
    expect(nodePortEntry(input)).toEqual(expected);
  });
});
