import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'nats';
import pino from 'pino';
import type { FlowBatch, FlowRecord } from '@natlens/shared-model';
import type { FlowRepository } from '@natlens/hub-server';
import { openFlowRepository } from '@natlens/hub-server';
import { flowRecord, startTestPostgres, TEST_INGEST_TOKEN, type TestPostgres } from '@natlens/hub-server/testing';

/*
 * Hub replicas behind NATS JetStream, with real servers: Debian's nats-server (JetStream, file store), a private
 * PostgreSQL, hub replicas as child processes of `bin/natlens hub --bus`, and publishers that are the agent's own
 * exporter (disk spool + NatsHubClient). Mid-stream one replica is SIGKILLed and NATS restarts; every record
 * published must be stored exactly once and counted once in the rollups.
 */

// The agent is an app of its own: its exporter is loaded by path, as the CLI loads it.
type NatsTestServerModule = typeof import('@natlens/agent-daemon/testing');
type AgentExportModule = typeof import('@natlens/agent-daemon');
type NatsClientModule = AgentExportModule;
type ExporterModule = AgentExportModule;
type SpoolModule = AgentExportModule;
type AgentMetricsModule = AgentExportModule;

const repoRoot = join(__dirname, '..', '..', '..', '..');
const web = { namespace: 'default', name: 'web' };
const ALL = { from: 0, to: 4_000_000_000_000 };

async function waitFor(condition: () => Promise<boolean> | boolean, timeoutMs: number, what: () => string | Promise<string>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${await what()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface HubReplica {
  readonly name: string;
  readonly process: ChildProcess;
  readonly url: string;
  output(): string;
}

/** `natlens hub` as its own process (so it can be SIGKILLed mid-batch), on a free port. */
async function startReplica(name: string, store: string, bus: string): Promise<HubReplica> {
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'natlens'), 'hub', '--store', store, '--bus', bus, '--port', '0', '--host', '127.0.0.1'], {
    cwd: repoRoot,
    env: { ...process.env, NATLENS_HUB_TOKENS: TEST_INGEST_TOKEN, NATLENS_LOG_LEVEL: 'warn', NATLENS_BUS_ACK_WAIT: '5s', NATLENS_BUS_CONCURRENCY: '3' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  let url: string | undefined;
  await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`hub replica ${name} exited: ${output.slice(-2000)}`);
      url = /API at (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
      return url !== undefined;
    },
    60_000,
    () => `hub replica ${name} did not start: ${output.slice(-2000)}`,
  );
  return { name, process: child, url: url as string, output: () => output };
}

async function stopReplica(replica: HubReplica, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  if (replica.process.exitCode !== null || replica.process.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => replica.process.once('exit', () => resolve()));
  replica.process.kill(signal);
  await exited;
}

/** The value of one counter or gauge on a replica's /metrics. */
async function metric(replica: HubReplica, name: string): Promise<number> {
  const text = await (await fetch(`${replica.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

describe('hub replicas consuming from NATS JetStream', () => {
  let pg: TestPostgres;
  let nats: Awaited<ReturnType<NatsTestServerModule['startTestNatsServer']>>;
  let store: FlowRepository;
  let workDir: string;
  const replicas: HubReplica[] = [];
  let agent: { client: NatsClientModule; exporter: ExporterModule; spool: SpoolModule; metrics: AgentMetricsModule };

  beforeAll(async () => {
    const agentExport = await import('@natlens/agent-daemon');
    agent = { client: agentExport, exporter: agentExport, spool: agentExport, metrics: agentExport };
    const natsServer = await import('@natlens/agent-daemon/testing');
    workDir = mkdtempSync(join(tmpdir(), 'natlens-bus-e2e-'));
    pg = startTestPostgres();
    nats = await natsServer.startTestNatsServer();
    store = await openFlowRepository(pg.url);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(replicas.map((r) => stopReplica(r, 'SIGKILL')));
    await store?.close();
    await nats?.dispose();
    pg?.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  /** One simulated agent: the agent's exporter with its disk spool, publishing through NATS. */
  const publisher = (node: string) => {
    const client = new agent.client.NatsHubClient({ url: nats.url, name: `test ${node}`, publishTimeoutMs: 2000, connectTimeoutMs: 1000 });
    const exporter = new agent.exporter.HubExporter(client, new agent.spool.DiskSpool(join(workDir, 'spool', node), 256 << 20), new agent.metrics.AgentMetrics(), pino({ level: 'silent' }));
    exporter.start();
    return exporter;
  };

  it('stores every record exactly once through a replica SIGKILL and a NATS restart', async () => {
    replicas.push(await startReplica('a', pg.url, nats.url), await startReplica('b', pg.url, nats.url));
    const [a, b] = replicas as [HubReplica, HubReplica];

    const nodes = ['node-1', 'node-2', 'node-3', 'node-4'];
    const exporters = nodes.map(publisher);
    const published = new Map<string, FlowRecord>();
    const firstSeen = Date.now() - 60_000;
    let stopPublishing = false;
    const BATCHES_PER_NODE = 60;
    const RECORDS_PER_BATCH = 40;
    // Each agent exports a batch every 40 ms, like the pipeline's flushes, while the faults happen.
    const publishing = Promise.all(
      nodes.map(async (node, n) => {
        for (let i = 0; i < BATCHES_PER_NODE && !stopPublishing; i++) {
          const records = Array.from({ length: RECORDS_PER_BATCH }, (_, k) =>
            flowRecord({ node, flowId: `conntrack:${node}:${i}:${k}`, firstSeen: firstSeen + i * 1000 + k, client: `198.51.100.${1 + ((i * RECORDS_PER_BATCH + k) % 200)}`, endpoint: { pod: `web-${(k % 3) + 1}`, node: `node-${(k % 4) + 1}`, ip: `198.19.${(k % 4) + 1}.11` } }),
          );
          for (const r of records) published.set(`${r.node} ${r.flowId}`, r);
          const batch: FlowBatch = { node, sentAt: Date.now(), records };
          expect((exporters[n] as (typeof exporters)[number]).enqueue(batch)).toBe(true);
          await new Promise((r) => setTimeout(r, 40));
        }
      }),
    );

    // Both replicas are taking batches before one of them dies.
    await waitFor(async () => (await metric(a, 'natlens_hub_bus_acked_batches_total')) > 0 && (await metric(b, 'natlens_hub_bus_acked_batches_total')) > 0, 30_000, () => `acked: a ${a.output().slice(-500)} b ${b.output().slice(-500)}`);
    await stopReplica(a, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 500));
    await nats.restart();
    replicas.push(await startReplica('a2', pg.url, nats.url));

    await publishing;
    stopPublishing = true;
    await waitFor(() => exporters.every((e) => e.pending.batches === 0), 60_000, () => `spooled: ${exporters.map((e) => `${e.pending.batches} (${e.lastError})`).join(', ')}`);
    expect(published.size).toBe(nodes.length * BATCHES_PER_NODE * RECORDS_PER_BATCH);
    await waitFor(async () => (await store.countFlows()) >= published.size, 90_000, async () => `${await store.countFlows()} of ${published.size} records stored`);

    // Nothing left in flight: every batch delivered and acknowledged by some replica.
    const observer = await connect({ servers: nats.url });
    try {
      await waitFor(
        async () => {
          const info = await (await observer.jetstreamManager()).consumers.info('NATLENS_FLOWS', 'natlens-hub');
          return info.num_pending === 0 && info.num_ack_pending === 0;
        },
        60_000,
        () => 'the consumer still has batches pending',
      );
    } finally {
      await observer.close();
    }
    exporters.forEach((e) => e.stop());

    // Exactly once: the count, and every record as published.
    expect(await store.countFlows()).toBe(published.size);
    const stored = new Map<string, FlowRecord>();
    let cursor: string | undefined;
    do {
      const page = await store.flows({ limit: 1000, ...(cursor ? { cursor } : {}) });
      for (const r of page.flows) stored.set(`${r.node} ${r.flowId}`, r);
      cursor = page.nextCursor;
    } while (cursor);
    expect(stored.size).toBe(published.size);
    for (const [key, record] of published) expect(stored.get(key)).toEqual(record);

    // Counted once: the minute rollups and the raw records agree with the number of distinct records.
    const rollups = await store.evidenceCounts(web, ALL, 'rollups');
    const raw = await store.evidenceCounts(web, ALL, 'raw');
    expect(rollups.rows.reduce((n, r) => n + r.connections, 0)).toBe(published.size);
    expect(raw.rows.reduce((n, r) => n + r.connections, 0)).toBe(published.size);
    expect(rollups.distinctOriginal).toBe(200);
    expect((await store.serviceCounts(ALL)).find((s) => s.name === 'web')?.connections).toBe(published.size);

    // The surviving replicas report a healthy bus.
    for (const replica of replicas.slice(1)) {
      const health = (await (await fetch(`${replica.url}/healthz`)).json()) as { bus: { state: string; consumer: string } };
      expect(health.bus).toMatchObject({ state: 'consuming', consumer: 'natlens-hub' });
    }
  }, 240_000);

  it('terminates a batch that fails validation, names the bad record, and keeps consuming', async () => {
    const live = replicas.filter((r) => r.process.exitCode === null && r.process.signalCode === null);
    expect(live.length).toBeGreaterThan(0);
    const before = await store.countFlows();
    const terminatedBefore = (await Promise.all(live.map((r) => metric(r, 'natlens_hub_bus_terminated_batches_total')))).reduce((x, y) => x + y, 0);
    const nc = await connect({ servers: nats.url });
    try {
      const js = nc.jetstream();
      // now, not the fixture's 2023 default: the hub refuses records older than its rollup retention
      const good = flowRecord({ node: 'node-9', flowId: 'conntrack:node-9:good', firstSeen: Date.now() - 1000 });
      const bad = { node: 'node-9', sentAt: Date.now(), records: [good, { ...flowRecord({ node: 'node-9', firstSeen: Date.now() - 1000 }), verdict: 'masqueraded' }] };
      await js.publish('natlens.flows.node-9', JSON.stringify(bad), { msgID: 'node-9:bad' });
      await js.publish('natlens.flows.node-9', 'not json at all', { msgID: 'node-9:garbage' });
      await js.publish('natlens.flows.node-9', JSON.stringify({ node: 'node-9', sentAt: Date.now(), records: [good] }), { msgID: 'node-9:good' });
    } finally {
      await nc.close();
    }
    await waitFor(async () => (await store.countFlows()) === before + 1, 30_000, async () => `${await store.countFlows()} stored`);
    await waitFor(
      async () => (await Promise.all(live.map((r) => metric(r, 'natlens_hub_bus_terminated_batches_total')))).reduce((x, y) => x + y, 0) === terminatedBefore + 2,
      30_000,
      () => 'the invalid batches were not terminated',
    );
    const logs = live.map((r) => r.output()).join('\n');
    expect(logs).toMatch(/record 1, field records\[1\]\.verdict/);
    expect(logs).toMatch(/the message is not JSON/);
    // The first record of the invalid batch was not stored: a batch is all or nothing.
    expect((await store.flows({ node: 'node-9', limit: 10 })).flows.map((r) => r.flowId)).toEqual(['conntrack:node-9:good']);
  }, 60_000);

  it('stores node reports from the stream (natlens.nodes.<node>) once, the newest per node, and terminates a bad one', async () => {
    const live = replicas.filter((r) => r.process.exitCode === null && r.process.signalCode === null);
    const client = new agent.client.NatsHubClient({ url: nats.url, name: 'test reporter', publishTimeoutMs: 2000, connectTimeoutMs: 1000 });
    const now = Date.now();
    const report = (at: number, httpStatus: number | null) => ({
      version: 1,
      node: 'node-7',
      at,
      intervalMs: 1000,
      addresses: [{ address: '192.0.2.17', interface: 'eth0' }],
      healthChecks: [{ service: web, address: '192.0.2.17', port: 32122, at, httpStatus, localEndpoints: httpStatus === 200 ? 1 : null }],
    });
    try {
      expect(await client.sendNodeReport('node-7', now - 2000, JSON.stringify(report(now - 2000, 200)))).toEqual({ kind: 'sent' });
      expect(await client.sendNodeReport('node-7', now, JSON.stringify(report(now, null)))).toEqual({ kind: 'sent' });
      expect(await client.sendNodeReport('node-7', now + 1, JSON.stringify({ ...report(now + 1, 200), version: 99 }))).toEqual({ kind: 'sent' });
    } finally {
      await client.close();
    }
    const replica = live[0] as HubReplica;
    const nodes = async () => ((await (await fetch(`${replica.url}/api/nodes`, { headers: { Authorization: `Bearer ${TEST_INGEST_TOKEN}` } })).json()) as { nodes: { node: string; at: number; healthChecks: { httpStatus: number | null }[] }[] }).nodes;
    await waitFor(async () => (await nodes()).some((n) => n.node === 'node-7' && n.at === now), 30_000, async () => JSON.stringify(await nodes()));
    expect((await nodes()).find((n) => n.node === 'node-7')?.healthChecks.map((h) => h.httpStatus)).toEqual([null]);
    await waitFor(() => live.some((r) => /node report version 99 is newer than this hub reads/.test(r.output())), 30_000, () => 'the version-99 report was not terminated');
  }, 60_000);
});
