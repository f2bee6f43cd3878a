import { createServer } from 'node:http';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { ClusterIndex } from '@natlens/shared-cluster';
import { nodeReportSchema, type ConntrackStats, type SnatPortUsage } from '@natlens/shared-model';
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
const conntrack: ConntrackStats = { at: 1900, counters: { insertFailed: 3, drop: 0, earlyDrop: 0, clashResolve: 2 }, entries: 120, max: 262144, buckets: 65536 };
const snatPorts: SnatPortUsage[] = [{ snatAddress: '192.0.2.10', destination: '10.20.2.7', destinationPort: 8080, protocol: 'tcp', inUse: 60, range: { min: 40000, max: 40063 }, rangeBasis: 'nat-rule' }];
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

  it('carries the conntrack statistics and SNAT port usage once sampled, in the shape the hub validates', () => {
    const report = buildNodeReport('worker-1', 2000, 5000, interfaces, { healthChecks: [] }, { conntrack, snatPorts });
    expect(report).toMatchObject({ conntrack, snatPorts });
    expect(nodeReportSchema.parse(JSON.parse(JSON.stringify(report)))).toMatchObject({ conntrack, snatPorts });
    expect(buildNodeReport('worker-1', 2000, 5000, interfaces, { healthChecks: [] }, {})).not.toHaveProperty('conntrack');
  });
});

describe('NodeReportExporter over HTTP', () => {
  const workDir = makeWorkDir('natlens-node-report');
  const receiver = new IngestReceiver(join(workDir, 'hub.sock'), 's3cret');
  const config = agentConfigSchema.parse({ node: 'worker-1', inventory: '/unused', nodeReportIntervalMs: 60_000 });
  const cluster = { current: () => ClusterIndex.empty(), addresses: () => interfaces };
  const prober = { results: () => ({ healthChecks: [check] }) } as unknown as HealthCheckProber;
  const exporter = (url: string, metrics: AgentMetrics) => new NodeReportExporter(config, pino({ level: 'silent' }), metrics, cluster, prober, new HttpHubClient({ url, token: 's3cret' }), { latest: () => conntrack, latestSnatPorts: () => snatPorts });

  beforeAll(() => receiver.start());
  afterAll(async () => {
    await receiver.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('posts the report to /api/nodes/report with the token', async () => {
    const metrics = new AgentMetrics();
    const sut = exporter(`unix:${receiver.socketPath}`, metrics);
    await sut.sendNow();
    expect(receiver.nodeReports).toEqual([expect.objectContaining({ node: 'worker-1', healthChecks: [check], conntrack, snatPorts, addresses: [{ address: '10.20.1.1', interface: 'cni0' }, { address: '192.0.2.10', interface: 'eth0' }] })]);
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
