import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { ClusterIndex } from '@natlens/shared-cluster';
import type { KubeObject } from '@natlens/shared-model';
import { agentConfigSchema } from '../config/agent-config';
import { AgentMetrics } from '../metrics/agent-metrics';
import { HealthCheckProber } from './health-check-prober';
import { HttpProbeRepository } from './http-probe.repository';

/*
 * The prober over real sockets on 127.0.0.1: HTTP servers answering like kube-proxy (and like things that are not
 * kube-proxy), a port where nothing listens and a server that never answers. The node's InternalIP is 127.0.0.1 here,
 * so the probes stay on this machine's loopback.
 */
const listen = (handler: Parameters<typeof createServer>[1]): Promise<Server> =>
  new Promise((resolve) => {
    const server = createServer(handler);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
const portOf = (server: Server) => (server.address() as AddressInfo).port;

const localLoadBalancer = (name: string, healthCheckNodePort: number): KubeObject => ({
  kind: 'Service',
  metadata: { name, namespace: 'default' },
  spec: { type: 'LoadBalancer', externalTrafficPolicy: 'Local', healthCheckNodePort, ports: [{ port: 80, protocol: 'TCP', nodePort: 30000 + healthCheckNodePort % 1000 }] },
  status: {},
});

describe('HealthCheckProber', () => {
  const servers: Server[] = [];
  let sut: HealthCheckProber;
  let metrics: AgentMetrics;
  let ports: Record<'healthy' | 'refused' | 'html' | 'silent' | 'proxy', number>;

  beforeAll(async () => {
    const healthy = await listen((_req, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"service":{"namespace":"default","name":"web"},"localEndpoints":2,"serviceProxyHealthy":true}'));
    const html = await listen((_req, res) => res.writeHead(502).end('<html>bad gateway</html>'));
    const silent = await listen(() => undefined); // accepts, never answers
    const proxy = await listen((_req, res) => res.writeHead(503).end('{"lastUpdated":"a","currentTime":"b","nodeEligible":false}'));
    const closed = await listen(() => undefined);
    const refused = portOf(closed);
    await new Promise((r) => closed.close(r));
    servers.push(healthy, html, silent, proxy);
    ports = { healthy: portOf(healthy), refused, html: portOf(html), silent: portOf(silent), proxy: portOf(proxy) };
    const index = ClusterIndex.fromObjects([
      { kind: 'Node', metadata: { name: 'node1' }, spec: {}, status: { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }, { type: 'Hostname', address: 'node1' }] } },
      localLoadBalancer('web', ports.healthy),
      localLoadBalancer('api', ports.refused),
      localLoadBalancer('shop', ports.html),
      localLoadBalancer('slow', ports.silent),
      { kind: 'Service', metadata: { name: 'cluster-lb', namespace: 'default' }, spec: { type: 'LoadBalancer', externalTrafficPolicy: 'Cluster', ports: [{ port: 80, protocol: 'TCP' }] }, status: {} },
    ]);
    const config = agentConfigSchema.parse({ node: 'node1', inventory: '/unused', healthCheckIntervalMs: 100_000, healthCheckTimeoutMs: 300, proxyHealthzPort: ports.proxy });
    metrics = new AgentMetrics();
    const cluster = { current: () => index, addresses: () => [{ address: '127.0.0.1', interface: 'lo', internal: true }] };
    sut = new HealthCheckProber(config, pino({ level: 'silent' }), metrics, cluster, new HttpProbeRepository());
    await sut.probeRound();
  });
  afterAll(async () => {
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('probes each Local-policy LoadBalancer\'s healthCheckNodePort on the node\'s InternalIP and keeps every answer', () => {
    const byService = Object.fromEntries(sut.results().healthChecks.map((h) => [h.service.name, h]));
    expect(Object.keys(byService).sort()).toEqual(['api', 'shop', 'slow', 'web']);
    expect(byService['web']).toEqual({ service: { namespace: 'default', name: 'web' }, address: '127.0.0.1', port: ports.healthy, at: expect.any(Number), latencyMs: expect.any(Number), httpStatus: 200, localEndpoints: 2 });
    expect(byService['api']).toMatchObject({ httpStatus: null, localEndpoints: null, error: expect.stringMatching(/ECONNREFUSED/) });
    expect(byService['shop']).toMatchObject({ httpStatus: 502, localEndpoints: null, error: expect.stringMatching(/HTTP 502, but the body is not JSON/) });
    expect(byService['slow']).toMatchObject({ httpStatus: null, localEndpoints: null, error: 'no answer within 300 ms' });
    expect(byService['slow']?.latencyMs).toBeGreaterThanOrEqual(290);
  });

  it('probes kube-proxy\'s /healthz too', () => {
    expect(sut.results().proxyHealth).toEqual({ address: '127.0.0.1', port: ports.proxy, at: expect.any(Number), latencyMs: expect.any(Number), httpStatus: 503, lastUpdated: 'a', currentTime: 'b', nodeEligible: false });
  });

  it('counts the probes by outcome and shows each Service\'s last status', async () => {
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/natlens_agent_healthcheck_probes_total\{target="service",outcome="healthy"\} 1/);
    expect(text).toMatch(/natlens_agent_healthcheck_probes_total\{target="service",outcome="no-answer"\} 2/);
    expect(text).toMatch(/natlens_agent_healthcheck_probes_total\{target="service",outcome="malformed"\} 1/);
    expect(text).toMatch(/natlens_agent_healthcheck_probes_total\{target="proxy",outcome="unhealthy"\} 1/);
    expect(text).toMatch(/natlens_agent_healthcheck_http_status\{namespace="default",service="web"\} 200/);
    expect(text).toMatch(/natlens_agent_healthcheck_http_status\{namespace="default",service="api"\} 0/);
    expect(text).toMatch(/natlens_agent_healthcheck_local_endpoints\{namespace="default",service="web"\} 2/);
    expect(text).not.toMatch(/natlens_agent_healthcheck_local_endpoints\{namespace="default",service="api"\}/);
  });

  it('says in /healthz what it probed and where', () => {
    expect(sut.status()).toMatchObject({ enabled: true, address: '127.0.0.1', rounds: 1, services: expect.arrayContaining([expect.objectContaining({ service: 'default/web', httpStatus: 200, localEndpoints: 2 })]) });
  });
});
