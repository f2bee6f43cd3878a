import { readFileSync } from 'node:fs';
import type { KubeObject } from '@natlens/shared-model';
import { ClusterIndex } from './cluster-index';
import type { LookupProtocol } from './cluster-types';
import { parseInventory } from './inventory-parse';
import { cidrContains, parseCidr, parseIp } from './ip-address';
import { CLOUD_CLUSTER_INVENTORY, DUAL_STACK_INVENTORY, indexFromInventoryFile, LAB_SEEDS_INVENTORY } from './testing/inventory-fixtures';

// The seeds lab (examples/seeds.yaml): default/web is LoadBalancer + Local with pods web-1, web-2 on node1 and
// web-3 on node2; default/api is NodePort + Cluster with api-1 on node1 and api-2 on node3.
const lab = indexFromInventoryFile(LAB_SEEDS_INVENTORY);
const dualStack = indexFromInventoryFile(DUAL_STACK_INVENTORY);

const webPort = { port: 80, protocol: 'TCP', name: 'http', targetPort: 8080, nodePort: 30080 };
const web = {
  namespace: 'default',
  name: 'web',
  type: 'LoadBalancer',
  externalTrafficPolicy: 'Local',
  healthCheckNodePort: 32122,
  expectClientIP: true,
  loadBalancerIngress: 'address',
  port: webPort,
};
const apiPort = { port: 80, protocol: 'TCP', name: 'http', targetPort: 9090, nodePort: 30090 };
const api = { namespace: 'default', name: 'api', type: 'NodePort', externalTrafficPolicy: 'Cluster', expectClientIP: false, port: apiPort };
const echoHttp = { port: 80, protocol: 'TCP', name: 'http', targetPort: 'http', nodePort: 31000 };
const echoDns = { port: 53, protocol: 'UDP', name: 'dns', targetPort: 5353, nodePort: 31053 };
const echo = { namespace: 'shop', name: 'echo', type: 'NodePort', externalTrafficPolicy: 'Cluster', expectClientIP: false };

describe('ClusterIndex.serviceFrontend', () => {
  it.each<[string, ClusterIndex, string, number, LookupProtocol, object]>([
    ['web ClusterIP', lab, '198.18.255.10', 80, 'tcp', { ...web, entry: 'clusterIP' }],
    ['web ClusterIP, Service spelling of the protocol', lab, '198.18.255.10', 80, 'TCP', { ...web, entry: 'clusterIP' }],
    ['web NodePort on node1', lab, '198.18.0.11', 30080, 'tcp', { ...web, entry: 'nodePort' }],
    ['web NodePort on node3 (no local endpoint: still the Service)', lab, '198.18.0.13', 30080, 'tcp', { ...web, entry: 'nodePort' }],
    ['web load-balancer IP', lab, '203.0.113.10', 80, 'tcp', { ...web, entry: 'loadBalancer' }],
    ['api ClusterIP', lab, '198.18.255.11', 80, 'tcp', { ...api, entry: 'clusterIP' }],
    ['api NodePort on node2', lab, '198.18.0.12', 30090, 'tcp', { ...api, entry: 'nodePort' }],
    ['api ClusterIP written IPv4-mapped', lab, '::ffff:198.18.255.11', 80, 'tcp', { ...api, entry: 'clusterIP' }],
    ['echo IPv4 ClusterIP', dualStack, '10.96.20.1', 80, 'tcp', { ...echo, port: echoHttp, entry: 'clusterIP' }],
    ['echo IPv6 ClusterIP', dualStack, 'fd00:10:96::2001', 80, 'tcp', { ...echo, port: echoHttp, entry: 'clusterIP' }],
    ['echo IPv6 ClusterIP, long form', dualStack, 'FD00:10:96:0:0:0:0:2001', 80, 'tcp', { ...echo, port: echoHttp, entry: 'clusterIP' }],
    ['echo UDP port', dualStack, '10.96.20.1', 53, 'udp', { ...echo, port: echoDns, entry: 'clusterIP' }],
    ['echo external IP', dualStack, '192.0.2.50', 80, 'tcp', { ...echo, port: echoHttp, entry: 'externalIP' }],
    ['echo NodePort on an ExternalIP node address', dualStack, '192.0.2.3', 31000, 'tcp', { ...echo, port: echoHttp, entry: 'nodePort' }],
    ['echo NodePort on an IPv6 node address', dualStack, 'fc00:f853:ccd:e793::4', 31053, 'udp', { ...echo, port: echoDns, entry: 'nodePort' }],
  ])('%s', (_case, sut, ip, port, protocol, expected) => {
    expect(sut.serviceFrontend(ip, port, protocol)).toEqual(expected);
  });

  it.each<[string, ClusterIndex, string, number, LookupProtocol]>([
    ['a port the Service does not expose', lab, '198.18.255.10', 81, 'tcp'],
    ['the right port over the wrong protocol', lab, '198.18.255.10', 80, 'udp'],
    ['a protocol no Service carries', lab, '198.18.255.10', 80, 'icmp'],
    ['a NodePort on the load-balancer IP (not a node address)', lab, '203.0.113.10', 30080, 'tcp'],
    ['a NodePort on a client address', lab, '198.51.100.79', 30080, 'tcp'],
    ['a NodePort on a pod address', lab, '198.19.1.11', 30080, 'tcp'],
    ['a NodePort on a pod-CIDR .1 no Node object lists (the bridge is a node\'s own business)', lab, '198.19.1.1', 30090, 'tcp'],
    ['a NodePort on 127.0.0.1 seen cluster-wide (every node has one)', lab, '127.0.0.1', 30090, 'tcp'],
    ['a pod address and its target port', lab, '198.19.1.11', 8080, 'tcp'],
    ['text that is no address', lab, 'node1', 30080, 'tcp'],
    ['a headless Service (clusterIP None)', dualStack, 'None', 80, 'tcp'],
    ['the NodePort of a NodePort Service over the wrong protocol', dualStack, '172.18.0.3', 31000, 'udp'],
    ['a NodePort on a calico-style pod holding the .1 address', dualStack, '10.244.2.1', 31000, 'tcp'],
  ])('is undefined for %s', (_case, sut, ip, port, protocol) => {
    expect(sut.serviceFrontend(ip, port, protocol)).toBeUndefined();
  });
});

describe('ClusterIndex.endpoint', () => {
  it.each<[string, ClusterIndex, string, number, LookupProtocol, object]>([
    [
      'web-1',
      lab,
      '198.19.1.11',
      8080,
      'tcp',
      { service: { namespace: 'default', name: 'web' }, servicePort: webPort, ip: '198.19.1.11', port: 8080, protocol: 'TCP', pod: { namespace: 'default', name: 'web-1' }, node: 'node1', ready: true },
    ],
    [
      'api-2',
      lab,
      '198.19.3.11',
      9090,
      'tcp',
      { service: { namespace: 'default', name: 'api' }, servicePort: apiPort, ip: '198.19.3.11', port: 9090, protocol: 'TCP', pod: { namespace: 'default', name: 'api-2' }, node: 'node3', ready: true },
    ],
    [
      'echo-0 over IPv6',
      dualStack,
      'fd00:10:244:1::5',
      8080,
      'tcp',
      { service: { namespace: 'shop', name: 'echo' }, servicePort: echoHttp, ip: 'fd00:10:244:1::5', port: 8080, protocol: 'TCP', pod: { namespace: 'shop', name: 'echo-0' }, node: 'ds-worker', ready: true },
    ],
    [
      'echo-1 DNS, not ready, node taken from its pod (the slice has no nodeName)',
      dualStack,
      'fd00:10:244:2::7',
      5353,
      'udp',
      { service: { namespace: 'shop', name: 'echo' }, servicePort: echoDns, ip: 'fd00:10:244:2::7', port: 5353, protocol: 'UDP', pod: { namespace: 'shop', name: 'echo-1' }, node: 'ds-worker2', ready: false },
    ],
  ])('%s', (_case, sut, ip, port, protocol, expected) => {
    expect(sut.endpoint(ip, port, protocol)).toEqual(expected);
    expect(sut.endpoint(ip, port, protocol, (expected as { service: { namespace: string; name: string } }).service)).toEqual(expected);
  });

  it.each<[string, string, number, LookupProtocol]>([
    ['another Service pod port', '198.19.1.11', 9090, 'tcp'],
    ['the Service port on the pod address', '198.19.1.11', 80, 'tcp'],
    ['a ClusterIP', '198.18.255.10', 8080, 'tcp'],
  ])('is undefined for %s', (_case, ip, port, protocol) => {
    expect(lab.endpoint(ip, port, protocol)).toBeUndefined();
  });

  it('picks the endpoint of the Service asked for when two Services select the same pod port', () => {
    const objects = kubeObjects(LAB_SEEDS_INVENTORY);
    const webAlias = structuredClone(objects.find((o) => o.kind === 'EndpointSlice' && o.metadata.name === 'web-lab'));
    if (webAlias?.kind !== 'EndpointSlice') throw new Error('fixture lost web-lab');
    webAlias.metadata = { name: 'web-alias-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web-alias' } };
    const sut = ClusterIndex.fromObjects([...objects, webAlias]);
    expect(sut.endpoints('198.19.1.11', 8080, 'tcp').map((e) => e.service.name)).toEqual(['web-alias', 'web']);
    expect(sut.endpoint('198.19.1.11', 8080, 'tcp', { namespace: 'default', name: 'web' })?.servicePort).toEqual(webPort);
    // web-alias has no Service object: the endpoint is still known, its Service port is not.
    expect(sut.endpoint('198.19.1.11', 8080, 'tcp')?.servicePort).toBeUndefined();
  });
});

describe('ClusterIndex addresses', () => {
  it.each<[string, ClusterIndex, string, object | undefined]>([
    ['web-3', lab, '198.19.2.11', { namespace: 'default', name: 'web-3', node: 'node2' }],
    ['api-1', lab, '198.19.1.13', { namespace: 'default', name: 'api-1', node: 'node1' }],
    ['echo-1 by its IPv6 address', dualStack, 'fd00:10:244:2::7', { namespace: 'shop', name: 'echo-1', node: 'ds-worker2' }],
    ['a pod holding its node-CIDR .1 address', dualStack, '10.244.2.1', { namespace: 'shop', name: 'calico-style', node: 'ds-worker2' }],
    ['a bridge gateway', lab, '198.19.1.1', undefined],
    ['a node address', lab, '198.18.0.11', undefined],
    ['a host-network pod (its address is the node)', dualStack, '172.18.0.3', undefined],
    ['a finished pod (its address is released)', dualStack, '10.244.2.9', undefined],
  ])('pod(%s)', (_case, sut, ip, expected) => {
    expect(sut.pod(ip)).toEqual(expected);
  });

  it.each<[string, ClusterIndex, string, string | undefined]>([
    ['InternalIP', lab, '198.18.0.12', 'node2'],
    ['the pod CIDR\'s .1, which no Node object lists', lab, '198.19.3.1', undefined],
    ['ExternalIP', dualStack, '192.0.2.3', 'ds-worker'],
    ['IPv6 InternalIP, long form', dualStack, 'fc00:f853:ccd:e793:0:0:0:3', 'ds-worker'],
    ['an IPv6 pod-CIDR ::1 no Node object lists', dualStack, 'fd00:10:244:2::1', undefined],
    ['a Hostname entry (a name, not an address)', dualStack, 'ds-worker', undefined],
    ['IPv4 .1 held by a pod', dualStack, '10.244.2.1', undefined],
    ['a pod', lab, '198.19.1.11', undefined],
    ['a client', lab, '198.51.100.79', undefined],
    ['a hostname', dualStack, 'ds-worker', undefined],
  ])('node(%s)', (_case, sut, ip, expected) => {
    expect(sut.node(ip)).toBe(expected);
  });

  it.each<[string, ClusterIndex, string, object]>([
    ['a node address', lab, '198.18.0.12', { kind: 'node', node: 'node2' }],
    ['a pod-CIDR .1 (a bridge only its node knows of)', lab, '198.19.1.1', { kind: 'pod', node: 'node1' }],
    ['a pod', lab, '198.19.1.12', { kind: 'pod', pod: { namespace: 'default', name: 'web-2', node: 'node1' }, node: 'node1' }],
    ['an unknown address inside a pod CIDR', lab, '198.19.3.200', { kind: 'pod', node: 'node3' }],
    ['a client', lab, '198.51.100.79', { kind: 'external' }],
    ['the load balancer', lab, '203.0.113.10', { kind: 'external' }],
    ['a ClusterIP', lab, '198.18.255.10', { kind: 'external' }],
    ['garbage', lab, 'not-an-ip', { kind: 'external' }],
    ['a host-network pod', dualStack, 'fc00:f853:ccd:e793::3', { kind: 'node', node: 'ds-worker' }],
    ['an IPv6 pod', dualStack, 'fd00:10:244:1::5', { kind: 'pod', pod: { namespace: 'shop', name: 'echo-0', node: 'ds-worker' }, node: 'ds-worker' }],
    ['a finished pod address', dualStack, '10.244.2.9', { kind: 'pod', node: 'ds-worker2' }],
  ])('classifyClient(%s)', (_case, sut, ip, expected) => {
    expect(sut.classifyClient(ip)).toEqual(expected);
  });

  it.each<[string, ClusterIndex, string, string | undefined]>([
    ['a node address', lab, '198.18.0.13', 'node3'],
    ['a pod', lab, '198.19.1.13', 'node1'],
    ['an unknown address in a pod CIDR', lab, '198.19.2.99', 'node2'],
    ['an IPv6 pod-CIDR address', dualStack, 'fd00:10:244:2::abcd', 'ds-worker2'],
    ['a client', lab, '198.51.100.80', undefined],
    ['garbage', lab, '', undefined],
  ])('nodeOf(%s)', (_case, sut, ip, expected) => {
    expect(sut.nodeOf(ip)).toBe(expected);
  });
});

/*
 * A node's own view (the agent's): its interface addresses are its own and accept node ports. Over the dual-stack
 * fixture, a kind-shaped cluster that shares no address with the lab (10.244.0.0/16 pods, 172.18.0.0/16 and
 * fc00:f853:ccd:e793::/64 nodes, 10.96.0.0/12 Services), so nothing here holds only because the lab is shaped so.
 */
describe('ClusterIndex.withLocalNode', () => {
  const interfaces = ['127.0.0.1', '::1', '172.18.0.3', 'fc00:f853:ccd:e793::3', '10.244.1.1', 'fd00:10:244:1::1', '172.18.0.33'];
  const worker = dualStack.withLocalNode({ node: 'ds-worker', addresses: interfaces });
  const echoNodePort = { ...echo, port: echoHttp, entry: 'nodePort' };

  it('shares no address with the lab', () => {
    const lab = ['198.18.0.0/15', '198.51.100.0/24', '203.0.113.0/24'].map((text) => parseCidr(text)).filter((cidr) => cidr !== undefined);
    const text = readFileSync(DUAL_STACK_INVENTORY, 'utf8');
    const addresses = [...text.matchAll(/\d+\.\d+\.\d+\.\d+/g)].map((m) => parseIp(m[0])).filter((a) => a !== undefined);
    expect(addresses.length).toBeGreaterThan(10);
    expect(addresses.filter((address) => lab.some((cidr) => cidrContains(cidr, address)))).toEqual([]);
  });

  it.each<[string, ClusterIndex, string, number, LookupProtocol, object | undefined]>([
    ['127.0.0.1 with a NodePort on the node itself', worker, '127.0.0.1', 31000, 'tcp', echoNodePort],
    ['a bridge address no Node object lists', worker, '10.244.1.1', 31000, 'tcp', echoNodePort],
    ['an IPv6 bridge address', worker, 'fd00:10:244:1::1', 31053, 'udp', { ...echo, port: echoDns, entry: 'nodePort' }],
    ['a secondary interface address', worker, '172.18.0.33', 31000, 'tcp', echoNodePort],
    ['the node\'s InternalIP, as before', worker, '172.18.0.3', 31000, 'tcp', echoNodePort],
    ['another node\'s InternalIP, as its Node object lists it', worker, '172.18.0.4', 31000, 'tcp', echoNodePort],
    ['another node\'s bridge (only that node knows it)', worker, 'fd00:10:244:2::1', 31000, 'tcp', undefined],
    ['127.0.0.1 in the cluster-wide index', dualStack, '127.0.0.1', 31000, 'tcp', undefined],
    ['a ClusterIP, unchanged', worker, '10.96.20.1', 80, 'tcp', { ...echo, port: echoHttp, entry: 'clusterIP' }],
  ])('serviceFrontend: %s', (_case, sut, ip, port, protocol, expected) => {
    expect(sut.serviceFrontend(ip, port, protocol)).toEqual(expected);
  });

  it.each<[string, string, object]>([
    ['127.0.0.1: the node itself', '127.0.0.1', { kind: 'node', node: 'ds-worker' }],
    ['its bridge: the source of hairpin and local masquerade', '10.244.1.1', { kind: 'node', node: 'ds-worker' }],
    ['an address on its interfaces that its Node object lacks', '172.18.0.33', { kind: 'node', node: 'ds-worker' }],
    ['another node\'s bridge: inside that node\'s pod CIDR', 'fd00:10:244:2::1', { kind: 'pod', node: 'ds-worker2' }],
    ['a pod', 'fd00:10:244:1::5', { kind: 'pod', pod: { namespace: 'shop', name: 'echo-0', node: 'ds-worker' }, node: 'ds-worker' }],
  ])('classifyClient: %s', (_case, ip, expected) => {
    expect(worker.classifyClient(ip)).toEqual(expected);
    expect(worker.node('::ffff:172.18.0.33')).toBe('ds-worker');
  });

  it.each<[string, readonly string[], Record<string, boolean>]>([
    ['every local address by default', [], { '127.0.0.1': true, '172.18.0.3': true, '10.244.1.1': true, '172.18.0.4': true }],
    ['only the CIDRs given (127.0.0.1 left out, as kube-proxy does)', ['172.18.0.0/16'], { '127.0.0.1': false, '172.18.0.3': true, '10.244.1.1': false, '172.18.0.4': true }],
    ['127.0.0.0/8 named explicitly', ['127.0.0.0/8', '172.18.0.0/16'], { '127.0.0.1': true, '172.18.0.3': true, '10.244.1.1': false, '172.18.0.4': true }],
    ['primary: the addresses its Node object lists', ['primary'], { '127.0.0.1': false, '172.18.0.3': true, '10.244.1.1': false, '172.18.0.33': false, 'fc00:f853:ccd:e793::3': true }],
  ])('nodePortAddresses: %s', (_case, nodePortAddresses, expected) => {
    const sut = dualStack.withLocalNode({ node: 'ds-worker', addresses: interfaces, nodePortAddresses });
    const accepted = Object.fromEntries(Object.keys(expected).map((ip) => [ip, sut.serviceFrontend(ip, 31000, 'tcp') !== undefined]));
    expect(accepted).toEqual(expected);
    // whatever accepts node ports, the addresses stay the node's
    expect(sut.node('127.0.0.1')).toBe('ds-worker');
  });

  it('leaves the index it came from as it was', () => {
    expect([dualStack.node('10.244.1.1'), dualStack.serviceFrontend('127.0.0.1', 31000, 'tcp')]).toEqual([undefined, undefined]);
    expect(worker.readyEndpointsByNode({ namespace: 'shop', name: 'echo' })).toBe(dualStack.readyEndpointsByNode({ namespace: 'shop', name: 'echo' }));
  });

  it('lists a node\'s addresses as its Node object gives them, every type', () => {
    expect(dualStack.nodeAddressesOf('ds-worker')).toEqual([
      { type: 'InternalIP', address: '172.18.0.3' },
      { type: 'InternalIP', address: 'fc00:f853:ccd:e793::3' },
      { type: 'ExternalIP', address: '192.0.2.3' },
      { type: 'Hostname', address: 'ds-worker' },
    ]);
    expect(dualStack.nodeAddressesOf('nope')).toEqual([]);
  });
});

describe('ClusterIndex Services', () => {
  it.each<[string, ClusterIndex, { namespace: string; name: string }, Record<string, number>]>([
    ['web: two pods on node1, one on node2, none on node3', lab, { namespace: 'default', name: 'web' }, { node1: 2, node2: 1 }],
    ['api', lab, { namespace: 'default', name: 'api' }, { node1: 1, node3: 1 }],
    ['echo: a dual-stack pod counts once, a not-ready one not at all', dualStack, { namespace: 'shop', name: 'echo' }, { 'ds-worker': 1 }],
    ['an unknown Service', lab, { namespace: 'default', name: 'nope' }, {}],
  ])('readyEndpointsByNode: %s', (_case, sut, service, expected) => {
    expect(Object.fromEntries(sut.readyEndpointsByNode(service))).toEqual(expected);
  });

  it('counts local endpoints per node, 0 where there is none', () => {
    const web = { namespace: 'default', name: 'web' };
    expect(['node1', 'node2', 'node3'].map((node) => lab.localEndpoints(web, node))).toEqual([2, 1, 0]);
  });

  it('describes Services, ExternalName and headless ones included', () => {
    expect(lab.services().map((s) => `${s.namespace}/${s.name}`)).toEqual(['default/api', 'default/web']);
    expect(dualStack.service({ namespace: 'shop', name: 'upstream' })).toMatchObject({ type: 'ExternalName', ports: [{ port: 443, protocol: 'TCP' }] });
    expect(dualStack.service({ namespace: 'shop', name: 'echo-headless' })).toMatchObject({ type: 'ClusterIP', externalTrafficPolicy: 'Cluster' });
    expect(lab.nodeNames()).toEqual(['node1', 'node2', 'node3']);
  });

  it('resolves two Services claiming one address:port the same way whatever the input order', () => {
    const objects = kubeObjects(LAB_SEEDS_INVENTORY);
    const rival = structuredClone(objects.find((o) => o.kind === 'Service' && o.metadata.name === 'api'));
    if (rival?.kind !== 'Service') throw new Error('fixture lost api');
    rival.metadata = { name: 'aaa-rival', namespace: 'default' };
    const forwards = ClusterIndex.fromObjects([...objects, rival]);
    const backwards = ClusterIndex.fromObjects([rival, ...objects].reverse());
    expect(forwards.serviceFrontend('198.18.255.11', 80, 'tcp')?.name).toBe('aaa-rival');
    expect(backwards.serviceFrontend('198.18.255.11', 80, 'tcp')?.name).toBe('aaa-rival');
  });

  it('answers nothing when empty', () => {
    const sut = ClusterIndex.empty();
    expect([sut.serviceFrontend('198.18.255.10', 80, 'tcp'), sut.pod('198.19.1.11'), sut.node('198.18.0.11')]).toEqual([undefined, undefined, undefined]);
    expect(sut.classifyClient('198.19.1.11')).toEqual({ kind: 'external' });
  });
});

function kubeObjects(path: string): KubeObject[] {
  return [...parseInventory(readFileSync(path, 'utf8'), path).objects];
}

describe('a cloud cluster sharing no address with the lab (fixtures/cloud-cluster-inventory.json)', () => {
  const cloud = indexFromInventoryFile(CLOUD_CLUSTER_INVENTORY);
  const shop = (name: string) => ({ namespace: 'shop', name });

  it('tells what each LoadBalancer publishes: a hostname only (its addresses unknown) or an address', () => {
    expect(cloud.service(shop('storefront'))).toMatchObject({ type: 'LoadBalancer', externalTrafficPolicy: 'Local', loadBalancerIngress: 'hostname-only', healthCheckNodePort: 31990 });
    expect(cloud.service(shop('checkout'))).toMatchObject({ type: 'LoadBalancer', loadBalancerIngress: 'address' });
    expect(cloud.service(shop('edge-agent'))?.loadBalancerIngress).toBeUndefined();
  });

  it.each<[string, string, number, object | undefined]>([
    ['a hostname-only LoadBalancer has no address to match: its node port is the door', '10.20.1.12', 31443, { name: 'storefront', entry: 'nodePort' }],
    ['the ingress IP of the other LoadBalancer', '192.0.2.40', 80, { name: 'checkout', entry: 'loadBalancer' }],
    ['a NodePort Service on any node', '10.20.1.13', 30900, { name: 'edge-agent', entry: 'nodePort' }],
    ['a ClusterIP', '10.100.12.4', 22, { name: 'debug', entry: 'clusterIP' }],
    ['a node port on an address that is no node\'s', '10.20.1.99', 31443, undefined],
  ])('%s', (_name, ip, port, expected) => {
    const frontend = cloud.serviceFrontend(ip, port, 'tcp');
    if (expected === undefined) expect(frontend).toBeUndefined();
    else expect(frontend).toMatchObject({ namespace: 'shop', ...expected });
  });

  it.each<[string, string, number, LookupProtocol, boolean]>([
    ['a healthCheckNodePort on a node', '10.20.1.11', 31990, 'tcp', true],
    ['kube-proxy\'s :10256 on a node', '10.20.1.13', 10256, 'tcp', true],
    ['a node port is no health check', '10.20.1.11', 31443, 'tcp', false],
    ['a health port on an address that is no node\'s', '192.0.2.40', 31990, 'tcp', false],
    ['UDP', '10.20.1.11', 31990, 'udp', false],
  ])('health-check destinations: %s', (_name, ip, port, protocol, expected) => {
    expect(cloud.isHealthCheckPort(ip, port, protocol)).toBe(expected);
  });
});
