import { writeFileSync } from 'node:fs';
import { createServer, RequestListener } from 'node:http';
import type { Logger } from 'pino';

/*
 * What kube-proxy serves on a node (pkg/proxy/healthcheck): on each Local-policy LoadBalancer Service's
 * healthCheckNodePort, 200 with the count of local endpoints when there is at least one and 503 when there is none,
 * so the load balancer stops sending traffic the node would drop; and the proxy's own /healthz on 10256, which
 * cloud load balancers probe for Cluster-policy Services.
 */
export interface HealthServerConfig {
  node: string;
  proxyHealthzPort: number;
  services: { namespace: string; name: string; healthCheckNodePort: number; localEndpoints: number }[];
  readyFile: string;
}

export function serviceHealthResponse(service: HealthServerConfig['services'][number]): { status: number; body: string } {
  const body = JSON.stringify({
    service: { namespace: service.namespace, name: service.name },
    localEndpoints: service.localEndpoints,
    serviceProxyHealthy: true,
  });
  return { status: service.localEndpoints > 0 ? 200 : 503, body };
}

function listen(port: number, handler: RequestListener): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer(handler);
    server.once('error', reject);
    server.listen({ port, host: '0.0.0.0' }, () => resolve());
  });
}

export async function startHealthServer(config: HealthServerConfig, log: Logger): Promise<void> {
  const started = new Date().toISOString();
  await listen(config.proxyHealthzPort, (_req, res) => {
    res.setHeader('Content-Type', 'application/json');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.end(JSON.stringify({ lastUpdated: started, currentTime: new Date().toISOString(), nodeEligible: true }));
  });
  for (const service of config.services) {
    await listen(service.healthCheckNodePort, (_req, res) => {
      const { status, body } = serviceHealthResponse(service);
      res.statusCode = status;
      res.setHeader('Content-Type', 'application/json');
      res.setHeader('X-Content-Type-Options', 'nosniff');
      res.setHeader('X-Load-Balancing-Endpoint-Weight', String(service.localEndpoints));
      res.end(body);
    });
  }
  writeFileSync(config.readyFile, String(process.pid));
  log.info({ node: config.node, services: config.services.length }, 'health-check server ready');
}
