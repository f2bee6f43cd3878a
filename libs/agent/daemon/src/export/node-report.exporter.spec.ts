import { createServer } from 'node:http';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { ClusterIndex } from '@natlens/shared-cluster';
import { agentConfigSchema } from '../config/agent-config';
import type { HealthCheckProber } from '../health-checks/health-check-prober';
import { AgentMetrics } from '../metrics/agent-metrics';
import { IngestReceiver, makeWorkDir } from '../testing';
import { HttpHubClient } from '@natlens/agent-records';
import { buildNodeReport } from './node-report';
import { NodeReportExporter } from './node-report.exporter';

const interfaces = [
  { address: '127.0.0.1', interface: 'lo', internal: true },
  { address: '::1', interface: 'lo', internal: true },
  { address: '192.0.2.10', interface: 'eth0', internal: false },
  { address: 'fe80::1', interface: 'eth0', internal: false },
  { address: '10.20.1.1', interface: 'cni0', internal: false },
];
const check = { service: { namespace: 'default', name: 'web' }, address: '192.0.2.10', port: 32122, at: 1000, latencyMs: 1.2, httpStatus: 503, localEndpoints: 0 };

describe('buildNodeReport', () => {
  it('carries the node\'s routable interface addresses (no loopback, no link-local) and the last answers', () => {
    expect(buildNodeReport('worker-1', 2000, 5000, interfaces, { healthChecks: [check] })).toEqual({
      version: 1,
      node: 'worker-1',
      at: 2000,
      intervalMs: 5000,
      addresses: [{ address: '10.20.1.1', interface: 'cni0' }, { address: '192.0.2.10', interface: 'eth0' }],
      healthChecks: [check],
    });
  });
});

describe('NodeReportExporter over HTTP', () => {
  const workDir = makeWorkDir('natlens-node-report');
  const receiver = new IngestReceiver(join(workDir, 'hub.sock'), 's3cret');
  const config = agentConfigSchema.parse({ node: 'worker-1', inventory: '/unused', nodeReportIntervalMs: 60_000 });
  const cluster = { current: () => ClusterIndex.empty(), addresses: () => interfaces };
  const prober = { results: () => ({ healthChecks: [check] }) } as unknown as HealthCheckProber;
  const exporter = (url: string, metrics: AgentMetrics) => new NodeReportExporter(config, pino({ level: 'silent' }), metrics, cluster, prober, new HttpHubClient({ url, token: 's3cret' }));

  beforeAll(() => receiver.start());
  afterAll(async () => {
    await receiver.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('posts the report to /api/nodes/report with the token', async () => {
    const metrics = new AgentMetrics();
    const sut = exporter(`unix:${receiver.socketPath}`, metrics);
    await sut.sendNow();
    expect(receiver.nodeReports).toEqual([expect.objectContaining({ node: 'worker-1', healthChecks: [check], addresses: [{ address: '10.20.1.1', interface: 'cni0' }, { address: '192.0.2.10', interface: 'eth0' }] })]);
    expect(sut.status()).toMatchObject({ sent: 1, failed: 0, lastSentAt: expect.any(Number) });
    expect(await metrics.registry.metrics()).toMatch(/natlens_agent_node_reports_total\{outcome="sent"\} 1/);
  });

  it('says a hub without node reports is older than the agent, and counts the refusal', async () => {
    const socket = join(workDir, 'old-hub.sock');
    const oldHub = createServer((_req, res) => res.writeHead(404).end('{"status":404,"code":"not-found","message":"Cannot POST /api/nodes/report"}'));
    await new Promise<void>((resolve) => oldHub.listen(socket, resolve));
    try {
      const metrics = new AgentMetrics();
      const sut = exporter(`unix:${socket}`, metrics);
      await sut.sendNow();
      expect(sut.status()).toMatchObject({ sent: 0, failed: 1, lastError: expect.stringMatching(/HTTP 404.*the hub is older than this agent/) });
      expect(await metrics.registry.metrics()).toMatch(/natlens_agent_node_reports_total\{outcome="rejected"\} 1/);
    } finally {
      await new Promise((r) => oldHub.close(r));
    }
  });
});
