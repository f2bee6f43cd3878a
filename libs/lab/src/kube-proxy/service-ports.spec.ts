import { KubeEndpoint, KubeEndpointSlice, KubeService, SERVICE_NAME_LABEL } from '@natlens/shared-model';
import { servicePortsForNode } from './service-ports';

const svc = (spec: Partial<KubeService['spec']>, status: KubeService['status'] = {}): KubeService => ({
  kind: 'Service',
  metadata: { namespace: 'ns', name: 'web' },
  spec: { type: 'ClusterIP', clusterIP: '198.18.255.10', ports: [{ name: 'http', protocol: 'TCP', port: 80 }], ...spec },
  status,
});
const slice = (endpoints: KubeEndpoint[], ports: KubeEndpointSlice['ports'] = [{ name: 'http', protocol: 'TCP', port: 8080 }]): KubeEndpointSlice => ({
  kind: 'EndpointSlice',
  metadata: { namespace: 'ns', name: 'web-1', labels: { [SERVICE_NAME_LABEL]: 'web' } },
  addressType: 'IPv4',
  endpoints,
  ports,
});
const ep = (ip: string, nodeName?: string, conditions: KubeEndpoint['conditions'] = {}): KubeEndpoint => ({ addresses: [ip], conditions, ...(nodeName ? { nodeName } : {}) });
const ips = (eps: { ip: string }[]) => eps.map((e) => e.ip);

describe('servicePortsForNode (kube-proxy\'s view of a Service port on one node)', () => {
  it('sorts endpoints by their "ip:port" text, as kube-proxy does (a string sort: .10 before .9)', () => {
    const [port] = servicePortsForNode([svc({})], [slice([ep('198.19.1.9'), ep('198.19.1.10'), ep('198.19.1.10')])], 'n1');
    expect(ips(port?.clusterEndpoints ?? [])).toEqual(['198.19.1.10', '198.19.1.9']);
  });

  it('uses serving-terminating endpoints only when no endpoint is ready', () => {
    const terminating = { ready: false, serving: true, terminating: true };
    const both = servicePortsForNode([svc({})], [slice([ep('198.19.1.11', 'n1', terminating), ep('198.19.1.12', 'n1')])], 'n1')[0];
    expect(ips(both?.clusterEndpoints ?? [])).toEqual(['198.19.1.12']);
    const onlyTerminating = servicePortsForNode([svc({})], [slice([ep('198.19.1.11', 'n1', terminating), ep('198.19.1.13', 'n1', { ready: false })])], 'n1')[0];
    expect(ips(onlyTerminating?.clusterEndpoints ?? [])).toEqual(['198.19.1.11']);
    expect(onlyTerminating?.hasEndpoints).toBe(true);
  });

  it('Local external policy: local endpoints for outside traffic, every endpoint kept for short-circuited pod traffic', () => {
    const service = svc({ type: 'NodePort', externalTrafficPolicy: 'Local', ports: [{ name: 'http', protocol: 'TCP', port: 80, nodePort: 30080 }] });
    const [port] = servicePortsForNode([service], [slice([ep('198.19.1.11', 'n1'), ep('198.19.2.11', 'n2')])], 'n2');
    expect(port).toMatchObject({ externalPolicyLocal: true, usesClusterEndpoints: true, usesLocalEndpoints: true, hasEndpoints: true });
    expect(ips(port?.localEndpoints ?? [])).toEqual(['198.19.2.11']);
    expect(ips(port?.allLocallyReachableEndpoints ?? [])).toEqual(['198.19.1.11', '198.19.2.11']);
  });

  it('Local internal policy without external access: only local endpoints are reachable', () => {
    const [port] = servicePortsForNode([svc({ internalTrafficPolicy: 'Local' })], [slice([ep('198.19.1.11', 'n1'), ep('198.19.2.11', 'n2')])], 'n1');
    expect(port).toMatchObject({ usesClusterEndpoints: false, usesLocalEndpoints: true });
    expect(ips(port?.allLocallyReachableEndpoints ?? [])).toEqual(['198.19.1.11']);
  });

  it('matches slice ports by name and protocol: a UDP and a TCP port of one number are two Service ports', () => {
    const service = svc({ ports: [{ name: 'dns', protocol: 'UDP', port: 53 }, { name: 'dns-tcp', protocol: 'TCP', port: 53 }] });
    const ports = servicePortsForNode([service], [slice([ep('198.19.1.11')], [{ name: 'dns', protocol: 'UDP', port: 5353 }, { name: 'dns-tcp', protocol: 'TCP', port: 5353 }])], 'n1');
    expect(ports.map((p) => [p.protocol, p.port, p.clusterEndpoints.map((e) => e.text)])).toEqual([
      ['udp', 53, ['198.19.1.11:5353']],
      ['tcp', 53, ['198.19.1.11:5353']],
    ]);
  });

  it('reads what kube-proxy reads: trimmed source ranges as networks, no Proxy-mode LB IPs, the affinity timeout, health checks only for Local LBs', () => {
    const lb = svc(
      { type: 'LoadBalancer', externalTrafficPolicy: 'Cluster', healthCheckNodePort: 32000, loadBalancerSourceRanges: [' 203.0.113.7/25', 'bogus'], sessionAffinity: 'ClientIP' },
      { loadBalancer: { ingress: [{ ip: '203.0.113.10' }, { ip: '203.0.113.11', ipMode: 'Proxy' }, { hostname: 'lb.example' }] } },
    );
    const [port] = servicePortsForNode([lb], [], 'n1');
    expect(port).toMatchObject({ loadBalancerSourceRanges: ['203.0.113.0/25'], loadBalancerVIPs: ['203.0.113.10'], stickyMaxAgeSeconds: 10800, healthCheckNodePort: 0, hasEndpoints: false });
  });

  it('skips headless and ExternalName Services', () => {
    expect(servicePortsForNode([svc({ clusterIP: 'None' }), svc({ type: 'ExternalName', clusterIP: undefined })], [], 'n1')).toEqual([]);
  });
});
