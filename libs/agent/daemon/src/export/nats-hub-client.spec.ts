import { rmSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { connect, type NatsConnection } from 'nats';
import pino from 'pino';
import type { FlowBatch, FlowRecord } from '@natlens/shared-model';
import { aFlowRecord } from '@natlens/shared-model/testing';
import { AgentMetrics } from '../metrics/agent-metrics';
import { makeWorkDir, waitFor } from '../testing';
import { DiskSpool } from './disk-spool';
import { HubExporter } from './hub-exporter';
import { FLOW_STREAM, flowSubject, splitBatch } from './nats-flow-stream';
import { NatsHubClient } from './nats-hub-client';
import { startTestNatsServer, type TestNatsServer } from './nats-test-server';

const log = pino({ level: 'silent' });
let serial = 0;
const record = (i: number, node = 'node1'): FlowRecord =>
  aFlowRecord({ node, flowId: `conntrack:${i}:tcp:198.51.100.79:${1000 + (i % 60_000)}>203.0.113.10:80`, original: { src: '198.51.100.79', sport: 1000 + (i % 60_000), dst: '203.0.113.10', dport: 80, proto: 'tcp' } });
const batch = (from: number, n: number, node = 'node1'): FlowBatch => ({ node, sentAt: Date.now(), records: Array.from({ length: n }, (_, k) => record(from + k, node)) });

/** Every batch on the stream, read back through an ordered consumer. */
async function streamBatches(nc: NatsConnection): Promise<{ subject: string; msgId: string | undefined; batch: FlowBatch }[]> {
  const jsm = await nc.jetstreamManager();
  const total = (await jsm.streams.info(FLOW_STREAM)).state.messages;
  const consumer = await nc.jetstream().consumers.get(FLOW_STREAM);
  const out: { subject: string; msgId: string | undefined; batch: FlowBatch }[] = [];
  while (out.length < total) {
    const messages = await consumer.fetch({ max_messages: total - out.length, expires: 2000 });
    for await (const m of messages) out.push({ subject: m.subject, msgId: m.headers?.get('Nats-Msg-Id'), batch: m.json<FlowBatch>() });
  }
  return out;
}

// A real nats-server with JetStream (Debian's nats-server) behind the agent's exporter: spool, retries and
// de-duplication are exercised against the real protocol, including the server going away.
describe('NatsHubClient with the HubExporter', () => {
  let nats: TestNatsServer;
  let workDir: string;
  let observer: NatsConnection | undefined;
  const exporters: HubExporter[] = [];
  const make = (publishTimeoutMs = 1500) => {
    const metrics = new AgentMetrics();
    const client = new NatsHubClient({ url: nats.url, name: `test-agent-${++serial}`, publishTimeoutMs, connectTimeoutMs: 1000 });
    const sut = new HubExporter(client, new DiskSpool(join(workDir, 'spool'), 64 << 20), metrics, log);
    exporters.push(sut);
    return { sut, client, metrics };
  };
  const observe = async () => (observer ??= await connect({ servers: nats.url }));

  beforeEach(async () => {
    nats = await startTestNatsServer();
    workDir = makeWorkDir('natlens-nats-exporter');
  });
  afterEach(async () => {
    exporters.splice(0).forEach((e) => e.stop());
    await observer?.close();
    observer = undefined;
    await nats.dispose();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('creates the stream and publishes each batch to natlens.flows.<node> with a Nats-Msg-Id', async () => {
    const { sut, metrics } = make();
    sut.start();
    sut.enqueue(batch(0, 10, 'node-a.example'));
    sut.enqueue(batch(10, 5, 'node-a.example'));
    await waitFor(() => sut.pending.batches === 0, 10_000, () => `${sut.pending.batches} batches pending, last error ${sut.lastError}`);
    const stored = await streamBatches(await observe());
    expect(stored.map((s) => s.subject)).toEqual(['natlens.flows.node-a_example', 'natlens.flows.node-a_example']);
    expect(stored.flatMap((s) => s.batch.records.map((r) => r.flowId))).toEqual([...batch(0, 15).records.map((r) => r.flowId)]);
    expect(new Set(stored.map((s) => s.msgId)).size).toBe(2);
    expect(stored[0]?.msgId).toMatch(/^node-a\.example:\d{15}-\d+-\d{9}$/);
    expect((await metrics.registry.getSingleMetric('natlens_agent_exported_records_total')?.get())?.values[0]?.value).toBe(15);
  });

  it('spools while NATS is down, then drains everything once it is back: nothing lost, nothing twice', async () => {
    const { sut, metrics } = make();
    sut.start();
    sut.enqueue(batch(0, 20));
    await waitFor(() => sut.pending.batches === 0, 10_000, () => `first batch: ${sut.lastError}`);

    await nats.stop('SIGTERM');
    for (let i = 1; i <= 6; i++) sut.enqueue(batch(i * 20, 20));
    await waitFor(() => sut.lastError !== undefined, 15_000, () => 'no failure noticed while NATS was down');
    expect(sut.pending.batches).toBeGreaterThanOrEqual(5);
    const spooledWhileDown = sut.pending.bytes;
    expect(spooledWhileDown).toBeGreaterThan(0);

    await nats.start();
    await waitFor(() => sut.pending.batches === 0, 60_000, () => `${sut.pending.batches} batches still spooled; last error ${sut.lastError}`);
    const stored = await streamBatches(await observe());
    const flowIds = stored.flatMap((s) => s.batch.records.map((r) => r.flowId));
    expect(flowIds).toHaveLength(140);
    expect(new Set(flowIds).size).toBe(140);
    expect((await metrics.registry.getSingleMetric('natlens_agent_export_failures_total')?.get())?.values.reduce((n, v) => n + v.value, 0)).toBeGreaterThan(0);
  });

  it('starts with NATS unreachable and loses nothing across an agent restart', async () => {
    await nats.stop('SIGTERM');
    const first = make();
    first.sut.start();
    first.sut.enqueue(batch(0, 7));
    await waitFor(() => first.sut.lastError !== undefined, 10_000, () => 'no failure noticed');
    first.sut.stop();
    await nats.start();
    const second = make();
    expect(second.sut.pending.batches).toBe(1);
    second.sut.start();
    await waitFor(() => second.sut.pending.batches === 0, 30_000, () => `${second.sut.lastError}`);
    expect((await streamBatches(await observe())).flatMap((s) => s.batch.records)).toHaveLength(7);
  });

  it('stores a batch re-sent with the same spool id once (the stream de-duplicates by Nats-Msg-Id)', async () => {
    const { client } = make();
    const body = JSON.stringify(batch(0, 3));
    const spooled = { id: '000001700000000-1-000000001', node: 'node1', body };
    expect(await client.deliver(spooled)).toEqual({ kind: 'sent' });
    expect(await client.deliver(spooled)).toEqual({ kind: 'sent' });
    expect(await client.deliver({ ...spooled, id: '000001700000000-1-000000002' })).toEqual({ kind: 'sent' });
    expect(await streamBatches(await observe())).toHaveLength(2);
    await client.close();
  });

  it('splits a batch larger than the server\'s max_payload (1 MiB by default) and delivers every record', async () => {
    const { client } = make(5000);
    const big = batch(0, 3000);
    expect(Buffer.byteLength(JSON.stringify(big))).toBeGreaterThan(1024 * 1024);
    expect(await client.deliver({ id: 'big', node: 'node1', body: JSON.stringify(big) })).toEqual({ kind: 'sent' });
    const stored = await streamBatches(await observe());
    expect(stored.length).toBeGreaterThan(1);
    expect(stored.flatMap((s) => s.batch.records.map((r) => r.flowId))).toEqual(big.records.map((r) => r.flowId));
    expect(stored.every((s) => s.batch.node === 'node1' && s.batch.sentAt === big.sentAt)).toBe(true);
    await client.close();
  });

  it('publishes node reports to natlens.nodes.<node> in the same stream, a re-sent report once', async () => {
    const { client } = make();
    const report = JSON.stringify({ version: 1, node: 'node-a.example', at: 1_700_000_000_000, addresses: [], healthChecks: [] });
    expect(await client.sendNodeReport('node-a.example', 1_700_000_000_000, report)).toEqual({ kind: 'sent' });
    expect(await client.sendNodeReport('node-a.example', 1_700_000_000_000, report)).toEqual({ kind: 'sent' });
    const jsm = await (await observe()).jetstreamManager();
    const info = await jsm.streams.info(FLOW_STREAM);
    expect(info.config.subjects).toEqual(['natlens.flows.>', 'natlens.nodes.>']);
    expect(info.state.messages).toBe(1);
    const stored = await jsm.streams.getMessage(FLOW_STREAM, { last_by_subj: 'natlens.nodes.node-a_example' });
    expect([stored.header.get('Nats-Msg-Id'), stored.json()]).toEqual(['node-a.example:report:1700000000000', JSON.parse(report)]);
    await client.close();
  });

  it('says a stream made before node reports does not take them (a newer hub adds the subject)', async () => {
    const jsm = await (await observe()).jetstreamManager();
    await jsm.streams.add({ name: FLOW_STREAM, subjects: ['natlens.flows.>'] });
    const { client } = make();
    const outcome = await client.sendNodeReport('node1', 1, JSON.stringify({ version: 1, node: 'node1', at: 1 }));
    expect(outcome).toEqual(expect.objectContaining({ kind: 'retry', reason: 'nats-no-stream', detail: expect.stringMatching(/no JetStream stream takes natlens\.nodes\.node1/) }));
    await client.close();
  });

  it('reports a retry, not a loss, when NATS is unreachable', async () => {
    await nats.stop('SIGTERM');
    const { client } = make();
    const outcome = await client.deliver({ id: 'x', node: 'node1', body: JSON.stringify(batch(0, 1)) });
    expect(outcome).toEqual(expect.objectContaining({ kind: 'retry', reason: 'nats-connect' }));
    await client.close();
  });
});

describe('flowSubject', () => {
  it.each([
    ['node1', 'natlens.flows.node1'],
    ['ip-10-0-0-1.eu-west-1.compute.internal', 'natlens.flows.ip-10-0-0-1_eu-west-1_compute_internal'],
    ['a*b>c d', 'natlens.flows.a_b_c_d'],
    ['', 'natlens.flows._'],
  ])('%j → %s', (node, subject) => {
    expect(flowSubject(node)).toBe(subject);
  });

  it('always yields three tokens without wildcards or whitespace', () => {
    fc.assert(
      fc.property(fc.string(), (node) => {
        const tokens = flowSubject(node).split('.');
        expect(tokens).toHaveLength(3);
        expect(tokens.every((t) => t.length > 0 && !/[\s*>]/.test(t))).toBe(true);
      }),
    );
  });
});

describe('splitBatch', () => {
  it('keeps every record, in order, in parts that fit (or hold one record)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 200, max: 20_000 }), (n, maxBytes) => {
        const whole = batch(0, n);
        const parts = splitBatch(whole, maxBytes).map((p) => JSON.parse(p) as FlowBatch);
        expect(parts.flatMap((p) => p.records)).toEqual(whole.records);
        for (const part of parts) {
          expect(part.node).toBe(whole.node);
          expect(part.sentAt).toBe(whole.sentAt);
          expect(Buffer.byteLength(JSON.stringify(part)) <= maxBytes || part.records.length <= 1).toBe(true);
        }
      }),
      { numRuns: 50 },
    );
  });
});
