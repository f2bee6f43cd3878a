import { buildInventory, resolveLab } from '@natlens/lab';
import { exampleTopology } from '@natlens/lab/testing';
import { ClusterIndex } from '@natlens/shared-cluster';
import { CLOUD_CLUSTER_INVENTORY, DUAL_STACK_INVENTORY, indexFromInventoryFile, LAB_SEEDS_INVENTORY } from '@natlens/shared-cluster/testing';
import type { Tuple } from '@natlens/shared-model';
import { enrichConnection } from './enrich';
import type { ObservedConnection } from './observed-connection';

// The seeds lab (examples/seeds.yaml): nodes 198.18.0.11-13; default/web LoadBalancer Local (ClusterIP
// 198.18.255.10, LB 203.0.113.10, nodePort 30080, annotated expect-client-ip) on web-1/web-2 (node1, 198.19.1.11-12)
// and web-3 (node2, 198.19.2.11); default/api NodePort Cluster (198.18.255.11, 30090) on api-1 (node1, 198.19.1.13)
// and api-2 (node3, 198.19.3.11). The tuples are the ones conntrack shows in that lab.
const index = indexFromInventoryFile(LAB_SEEDS_INVENTORY);
const t = (src: string, sport: number, dst: string, dport: number): Tuple => ({ src, sport, dst, dport, proto: 'tcp' });
const observe = (original: Tuple, reply: Tuple): ObservedConnection => ({ source: 'conntrack', kind: 'new', id: '42', original, reply, observedAt: 1000 });

describe('enrichConnection', () => {
  it.each([
    [
      'LB, Local policy, entered on node1: client kept',
      'node1',
      observe(t('198.51.100.79', 40000, '203.0.113.10', 80), t('198.19.1.12', 8080, '198.51.100.79', 40000)),
      { verdict: 'preserved', leg: 'entry', service: { name: 'web', entry: 'loadBalancer', externalTrafficPolicy: 'Local' }, endpoint: { pod: 'web-2', node: 'node1' }, client: { kind: 'external' }, entryNode: 'node1' },
    ],
    [
      'NodePort, Cluster policy, entered on node2 for api-1 on node1: SNAT to node2',
      'node2',
      observe(t('198.51.100.79', 7294, '198.18.0.12', 30090), t('198.19.1.13', 9090, '198.18.0.12', 54396)),
      { verdict: 'snat-expected', leg: 'entry', snat: true, dnat: true, service: { name: 'api', entry: 'nodePort', externalTrafficPolicy: 'Cluster' }, endpoint: { pod: 'api-1', node: 'node1' }, translated: t('198.18.0.12', 54396, '198.19.1.13', 9090) },
    ],
    [
      'the same connection as node1 sees it: the forwarded leg',
      'node1',
      observe(t('198.18.0.12', 54396, '198.19.1.13', 9090), t('198.19.1.13', 9090, '198.18.0.12', 54396)),
      { verdict: 'preserved', leg: 'forwarded', entryNode: 'node2', snat: false, dnat: false, service: { name: 'api' }, endpoint: { pod: 'api-1' }, client: { kind: 'node', name: 'node2' } },
    ],
    [
      'Local policy Service annotated expect-client-ip, reached from a node process: SNAT of a node client is expected',
      'node1',
      observe(t('198.18.0.11', 33000, '198.18.0.11', 30080), t('198.19.1.11', 8080, '198.18.0.11', 33000)),
      { verdict: 'preserved', service: { name: 'web', entry: 'nodePort' }, client: { kind: 'node', name: 'node1' } },
    ],
    [
      'external client SNATed on its way to a Local-policy Service: unexpected',
      'node1',
      observe(t('198.51.100.79', 40001, '198.18.0.11', 30080), t('198.19.1.11', 8080, '198.19.1.1', 61000)),
      { verdict: 'snat-unexpected', snat: true, service: { name: 'web' } },
    ],
    [
      'pod to ClusterIP: DNAT only',
      'node3',
      observe(t('198.19.3.11', 51000, '198.18.255.10', 80), t('198.19.2.11', 8080, '198.19.3.11', 51000)),
      { verdict: 'preserved', service: { entry: 'clusterIP' }, client: { kind: 'pod', name: 'default/api-2' }, endpoint: { pod: 'web-3' } },
    ],
    [
      'hairpin: web-1 reaching itself through its Service',
      'node1',
      observe(t('198.19.1.11', 51000, '198.18.255.10', 80), t('198.19.1.11', 8080, '198.19.1.1', 51000)),
      { verdict: 'hairpin-snat', snat: true, endpoint: { pod: 'web-1' } },
    ],
    [
      'the LB health check: no Service',
      'node3',
      observe(t('198.18.0.254', 45000, '198.18.0.13', 32122), t('198.18.0.13', 32122, '198.18.0.254', 45000)),
      { verdict: 'not-service', leg: 'entry', client: { kind: 'external' } },
    ],
  ])('%s', (_name, node, observation, expected) => {
    const record = enrichConnection(observation, index, node);
    expect(record).toMatchObject({ node, source: 'conntrack', original: observation.original, ...expected });
  });

  it('keeps the flow id stable across the events of one connection, distinct across connections', () => {
    const a = observe(t('198.51.100.79', 40000, '203.0.113.10', 80), t('198.19.1.12', 8080, '198.51.100.79', 40000));
    const ended = { ...a, kind: 'destroy' as const, observedAt: 5000, counters: { original: { packets: 6, bytes: 400 } } };
    const other = { ...a, original: { ...a.original, sport: 40001 } };
    expect(enrichConnection(ended, index, 'node1').flowId).toBe(enrichConnection(a, index, 'node1').flowId);
    expect(enrichConnection(other, index, 'node1').flowId).not.toBe(enrichConnection(a, index, 'node1').flowId);
    expect(enrichConnection(ended, index, 'node1')).toMatchObject({ ended: true, counters: { original: { packets: 6, bytes: 400 } } });
  });

  it('carries the conntrack zone, default 0, and gives one tuple in two zones two flowIds', () => {
    const a = observe(t('198.51.100.79', 40000, '203.0.113.10', 80), t('198.19.1.12', 8080, '198.51.100.79', 40000));
    const unzoned = enrichConnection(a, index, 'node1');
    const zone7 = enrichConnection({ ...a, zone: 7 }, index, 'node1');
    const zone9 = enrichConnection({ ...a, zone: 9 }, index, 'node1');
    expect([unzoned.zone, zone7.zone, zone9.zone]).toEqual([0, 7, 9]);
    expect(enrichConnection({ ...a, zone: 0 }, index, 'node1').flowId).toBe(unzoned.flowId); // zone 0 flowIds are as before zones
    expect(zone7.flowId).toBe(`${unzoned.flowId}@z7`);
    expect(new Set([unzoned.flowId, zone7.flowId, zone9.flowId]).size).toBe(3);
    expect(zone7).toMatchObject({ verdict: unzoned.verdict, service: unzoned.service, endpoint: unzoned.endpoint });
  });

  it('treats a UDP query like a TCP connection: Service, pod, verdict', () => {
    const u = (src: string, sport: number, dst: string, dport: number): Tuple => ({ src, sport, dst, dport, proto: 'udp' });
    const udpIndex = ClusterIndex.fromObjects(buildInventory(resolveLab(exampleTopology('udp-dns.yaml'))).items);
    // udp-dns: the tester pod (198.19.3.11, node3) queries default/dns (198.18.255.10:53) and reaches dns-2
    const query = enrichConnection(observe(u('198.19.3.11', 20001, '198.18.255.10', 53), u('198.19.2.11', 5353, '198.19.3.11', 20001)), udpIndex, 'node3');
    expect(query).toMatchObject({ verdict: 'preserved', leg: 'entry', dnat: true, snat: false, service: { name: 'dns', port: 53, entry: 'clusterIP' }, endpoint: { pod: 'dns-2', node: 'node2', port: 5353 }, client: { kind: 'pod', name: 'default/tester' } });
    // alice through node3's UDP node port: SNAT to node3 under Cluster policy
    const nodePort = enrichConnection(observe(u('198.51.100.79', 20002, '198.18.0.13', 30053), u('198.19.1.11', 5353, '198.18.0.13', 61000)), udpIndex, 'node3');
    expect(nodePort).toMatchObject({ verdict: 'snat-expected', snat: true, service: { name: 'dns-nodeport', entry: 'nodePort' }, endpoint: { pod: 'dns-1' } });
    // the same query to a TCP port of that address is no Service's
    expect(enrichConnection(observe(t('198.19.3.11', 20001, '198.18.255.10', 53), t('198.19.2.11', 5353, '198.19.3.11', 20001)), udpIndex, 'node3').verdict).toBe('not-service');
  });

  it('maps a connection NAT could not translate to its Service and client: verdict dropped-nat-failure, with the reason', () => {
    // snat-port-exhaustion: alice through node1's node port for web-1 on node2 (198.19.2.11:8080); SNAT to node1's
    // 198.18.0.11 picked port 40007 of 40000-40063, already in use, and conntrack refused the entry
    const exhaustIndex = ClusterIndex.fromObjects(buildInventory(resolveLab(exampleTopology('snat-port-exhaustion.yaml'))).items);
    const natFailure = { reason: 'nat-port-exhausted' as const, kernelReason: 'SKB_DROP_REASON_NETFILTER_DROP', observed: true };
    const failed: ObservedConnection = {
      ...observe(t('198.51.100.79', 51234, '198.18.0.11', 30080), t('198.19.2.11', 8080, '198.18.0.11', 40007)),
      source: 'ebpf',
      kind: 'destroy',
      dropped: true,
      natFailure,
    };
    expect(enrichConnection(failed, exhaustIndex, 'node1')).toMatchObject({
      verdict: 'dropped-nat-failure',
      natFailure,
      snat: true,
      dnat: true,
      service: { namespace: 'default', name: 'web', entry: 'nodePort' },
      endpoint: { pod: 'web-1', node: 'node2' },
      client: { kind: 'external', ip: '198.51.100.79' },
      translated: t('198.18.0.11', 40007, '198.19.2.11', 8080),
    });
  });

  it('builds every record with the same keys (what touch() sets later included), and JSON leaves out the absent ones', () => {
    const entered = enrichConnection(observe(t('198.51.100.79', 40000, '203.0.113.10', 80), t('198.19.1.12', 8080, '198.51.100.79', 40000)), index, 'node1');
    const ended = enrichConnection({ ...observe(t('198.18.0.254', 45000, '198.18.0.13', 32122), t('198.18.0.13', 32122, '198.18.0.254', 45000)), kind: 'destroy', state: 'CLOSE', counters: { original: { packets: 6, bytes: 400 } } }, index, 'node3');
    expect(Object.keys(ended)).toEqual(Object.keys(entered));
    expect(Object.keys(JSON.parse(JSON.stringify(entered)))).toEqual(Object.keys(entered).filter((key) => !['state', 'realClient', 'counters', 'ended', 'natFailure'].includes(key)));
    expect(Object.keys(JSON.parse(JSON.stringify(ended)))).toEqual(Object.keys(ended).filter((key) => !['service', 'endpoint', 'realClient', 'entryNode', 'natFailure'].includes(key)));
  });
});

describe('enrichConnection: node-port deliveries of a load balancer, on a cluster sharing nothing with the lab', () => {
  // fixtures/cloud-cluster-inventory.json: nodes 10.20.1.11-13; shop/storefront LoadBalancer + Local whose ingress is
  // a hostname only (an NLB in instance mode), node port 31443, health check 31990, pods 10.88.0.21-22 and 10.88.1.31;
  // shop/checkout LoadBalancer + Cluster with ingress IP 192.0.2.40, node port 30480, pods checkout-0/1; shop/edge-agent
  // a NodePort Service (30900) over a DaemonSet.
  const cloud = indexFromInventoryFile(CLOUD_CLUSTER_INVENTORY);
  const LB_PROBER = '10.20.200.7'; // an NLB/ELB node's private address
  const CLIENT = '192.0.2.99';
  const probers = { has: (address: string) => address === LB_PROBER };
  const via = (viaBasis: string) => ({ entry: 'loadBalancer', via: 'nodePort', viaBasis });
  const direct = (entry: string) => ({ entry });

  it.each<[string, ObservedConnection, object]>([
    [
      'hostname-only ingress: an external connection to the node port is the load balancer\'s',
      observe(t(CLIENT, 40000, '10.20.1.12', 31443), t('10.88.1.31', 8443, CLIENT, 40000)),
      { verdict: 'preserved', service: { name: 'storefront', ...via('hostname-only-ingress') }, endpoint: { pod: 'web-frontend-6b7c9d8f5-p4wqs' } },
    ],
    [
      'an ingress IP: delivered to the node port from an address that health-checks the nodes',
      observe(t(LB_PROBER, 40001, '10.20.1.13', 30480), t('10.88.2.40', 8080, '10.20.1.13', 61000)),
      { verdict: 'snat-expected', service: { name: 'checkout', ...via('health-check-prober') } },
    ],
    [
      'an ingress IP: a PROXY header named the client',
      { ...observe(t('10.20.200.8', 40002, '10.20.1.13', 30480), t('10.88.2.40', 8080, '10.20.1.13', 61001)), realClient: { ip: CLIENT } },
      { verdict: 'proxied', service: { name: 'checkout', ...via('proxy-header') }, realClient: { ip: CLIENT } },
    ],
    [
      'an ingress IP: a client hitting the node port directly',
      observe(t(CLIENT, 40003, '10.20.1.13', 30480), t('10.88.2.40', 8080, '10.20.1.13', 61002)),
      { service: { name: 'checkout', ...direct('nodePort') } },
    ],
    [
      'the ingress IP itself: the load balancer by address, no node port',
      observe(t(CLIENT, 40004, '192.0.2.40', 80), t('10.88.1.40', 8080, '10.20.1.12', 61003)),
      { service: { name: 'checkout', ...direct('loadBalancer') } },
    ],
    [
      'a NodePort Service: a direct hit even from a prober',
      observe(t(LB_PROBER, 40005, '10.20.1.11', 30900), t('10.88.0.50', 9000, '10.20.1.11', 61004)),
      { service: { name: 'edge-agent', ...direct('nodePort') } },
    ],
    [
      'a node of the cluster reaching the hostname-only LoadBalancer\'s node port: direct',
      observe(t('10.20.1.11', 40006, '10.20.1.12', 31443), t('10.88.1.31', 8443, '10.20.1.12', 61005)),
      { service: { name: 'storefront', ...direct('nodePort') }, client: { kind: 'node', name: 'ip-10-20-1-11' } },
    ],
  ])('%s', (_name, observation, expected) => {
    const record = enrichConnection(observation, cloud, 'ip-10-20-1-12', probers);
    expect(record).toMatchObject(expected);
    // a direct entry carries no `via` at all
    expect(record.service?.via).toBe((expected as { service: { via?: string } }).service.via);
  });
});

/*
 * The agent classifies its own connections with its node's view (ClusterIndex.withLocalNode): over the dual-stack
 * fixture, a kind-shaped cluster sharing no address with the lab, as node ds-worker (InternalIP 172.18.0.3) whose
 * interfaces also hold its cni0 bridge 10.244.1.1 and a secondary 172.18.0.33 that its Node object does not list.
 */
describe('enrichConnection with the node\'s own addresses', () => {
  const worker = indexFromInventoryFile(DUAL_STACK_INVENTORY).withLocalNode({ node: 'ds-worker', addresses: ['127.0.0.1', '172.18.0.3', '10.244.1.1', '172.18.0.33'] });

  it.each([
    [
      'a node process reaching a NodePort on 127.0.0.1 (kube-proxy\'s iptables mode accepts it): a NodePort entry from the node',
      observe(t('127.0.0.1', 41000, '127.0.0.1', 31000), t('10.244.1.5', 8080, '10.244.1.1', 41000)),
      { verdict: 'snat-expected', leg: 'entry', service: { name: 'echo', namespace: 'shop', entry: 'nodePort' }, endpoint: { pod: 'echo-0', node: 'ds-worker' }, client: { kind: 'node', name: 'ds-worker' }, snat: true },
    ],
    [
      'a NodePort reached on an address its Node object does not list',
      observe(t('203.0.113.99', 42000, '172.18.0.33', 31000), t('10.244.1.5', 8080, '10.244.1.1', 42000)),
      { verdict: 'snat-expected', service: { name: 'echo', entry: 'nodePort' }, client: { kind: 'external' } },
    ],
    [
      'the node reaching a local pod through the ClusterIP from its bridge address: the node, not a pod',
      observe(t('10.244.1.1', 43000, '10.96.20.1', 80), t('10.244.1.5', 8080, '10.244.1.1', 43000)),
      { verdict: 'preserved', service: { name: 'echo', entry: 'clusterIP' }, client: { kind: 'node', name: 'ds-worker' } },
    ],
  ])('%s', (_name, observation, expected) => {
    expect(enrichConnection(observation, worker, 'ds-worker')).toMatchObject({ node: 'ds-worker', original: observation.original, ...expected });
  });

  it('the cluster-wide index alone would call the first no Service at all', () => {
    const observation = observe(t('127.0.0.1', 41000, '127.0.0.1', 31000), t('10.244.1.5', 8080, '10.244.1.1', 41000));
    expect(enrichConnection(observation, indexFromInventoryFile(DUAL_STACK_INVENTORY), 'ds-worker').verdict).toBe('not-service');
  });
});
