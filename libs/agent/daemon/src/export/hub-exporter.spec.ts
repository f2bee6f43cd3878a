import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import type { FlowBatch, FlowRecord } from '@natlens/shared-model';
import { aFlowRecord } from '@natlens/shared-model/testing';
import { AgentMetrics } from '../metrics/agent-metrics';
import { IngestReceiver, makeWorkDir, waitFor } from '../testing';
import { DEAD_LETTER_DIR, DiskSpool, QUARANTINE_DIR } from './disk-spool';
import { HubExporter, type HubExporterOptions } from './hub-exporter';

const log = pino({ level: 'silent' });
const record = (i: number): FlowRecord =>
  aFlowRecord({ flowId: `conntrack:${i}:tcp:198.51.100.79:${1000 + i}>203.0.113.10:80`, original: { src: '198.51.100.79', sport: 1000 + i, dst: '203.0.113.10', dport: 80, proto: 'tcp' } });
const batch = (from: number, n: number): FlowBatch => ({ node: 'node1', sentAt: Date.now(), records: Array.from({ length: n }, (_, k) => record(from + k)) });
const metricValue = async (metrics: AgentMetrics, name: string) => (await metrics.registry.getSingleMetric(name)?.get())?.values ?? [];

// A real HTTP server on a Unix socket stands in for the hub: the exporter's retries, spool and token are exercised
// over real sockets.
describe('HubExporter', () => {
  let workDir: string;
  let receiver: IngestReceiver;
  const exporters: HubExporter[] = [];
  const make = (maxBytes = 1 << 20, token = 's3cret', options: HubExporterOptions = {}) => {
    const metrics = new AgentMetrics();
    const sut = new HubExporter({ url: `unix:${receiver.socketPath}`, token }, new DiskSpool(join(workDir, 'spool'), maxBytes), metrics, log, options);
    exporters.push(sut);
    return { sut, metrics };
  };

  beforeEach(async () => {
    workDir = makeWorkDir('natlens-exporter');
    receiver = new IngestReceiver(join(workDir, 'hub.sock'), 's3cret');
    await receiver.start();
  });
  afterEach(async () => {
    exporters.splice(0).forEach((e) => e.stop());
    await receiver.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('delivers batches with the bearer token', async () => {
    const { sut, metrics } = make();
    sut.start();
    sut.enqueue(batch(0, 10));
    // the receiver stores before it answers; the exporter counts once it has the answer (and then empties its spool)
    await waitFor(() => receiver.records.size === 10 && sut.pending.batches === 0, 5000, () => `${receiver.records.size} records`);
    expect((await metricValue(metrics, 'natlens_agent_exported_records_total'))[0]?.value).toBe(10);
    expect(sut.pending.batches).toBe(0);
  });

  it('keeps retrying while the hub answers 503, then delivers everything in order', async () => {
    receiver.failRequests(3);
    const { sut } = make();
    sut.start();
    sut.enqueue(batch(0, 5));
    sut.enqueue(batch(5, 5));
    await waitFor(() => receiver.records.size === 10, 15_000, () => `${receiver.records.size} records`);
    expect(sut.lastError).toBeUndefined();
  });

  it('loses nothing across an agent restart while the hub is away: the spool is on disk', async () => {
    await receiver.stop();
    const first = make();
    first.sut.start();
    first.sut.enqueue(batch(0, 7));
    first.sut.stop();
    await receiver.start();
    const second = make();
    expect(second.sut.pending.batches).toBe(1);
    second.sut.start();
    await waitFor(() => receiver.records.size === 7 && second.sut.pending.batches === 0, 15_000, () => `${receiver.records.size} records`);
    // a batch spooled by an earlier process: its node and record count come from the file itself
    expect((await metricValue(second.metrics, 'natlens_agent_exported_records_total'))[0]?.value).toBe(7);
  });

  it('counts the records it must drop when the spool is full', async () => {
    await receiver.stop();
    const { sut, metrics } = make(4096);
    expect(sut.enqueue(batch(0, 3))).toBe(true);
    expect(sut.enqueue(batch(3, 30))).toBe(false);
    expect(await metricValue(metrics, 'natlens_agent_lost_records_total')).toEqual([expect.objectContaining({ value: 30, labels: { reason: 'spool-full' } })]);
    // the spool alert (deploy/prometheus/natlens-rules.yaml) divides the spool's bytes by its limit
    expect(await metricValue(metrics, 'natlens_agent_spool_max_bytes')).toEqual([expect.objectContaining({ value: 4096 })]);
    expect((await metricValue(metrics, 'natlens_agent_spool_bytes'))[0]?.value).toBeGreaterThan(0);
    await receiver.start();
  });

  it('moves a batch the hub rejects as malformed to the dead-letter directory instead of retrying it forever', async () => {
    const { sut, metrics } = make();
    sut.start();
    const bad = batch(0, 2) as unknown as { records: Record<string, unknown>[] };
    (bad.records[0] as Record<string, unknown>)['verdict'] = 'no-such-verdict';
    sut.enqueue(bad as unknown as FlowBatch);
    sut.enqueue(batch(10, 1));
    await waitFor(() => receiver.records.size === 1, 10_000, () => `${receiver.records.size} records`);
    expect(receiver.rejected).toBe(1);
    expect(await metricValue(metrics, 'natlens_agent_lost_records_total')).toEqual([expect.objectContaining({ value: 2, labels: { reason: 'rejected' } })]);
    expect(await metricValue(metrics, 'natlens_agent_lost_batches_total')).toEqual([expect.objectContaining({ value: 1, labels: { reason: 'rejected' } })]);
    const deadLetters = readdirSync(join(workDir, 'spool', DEAD_LETTER_DIR));
    expect(deadLetters).toHaveLength(1);
    expect((JSON.parse(readFileSync(join(workDir, 'spool', DEAD_LETTER_DIR, deadLetters[0] as string), 'utf8')) as FlowBatch).records[0]?.verdict).toBe('no-such-verdict');
    expect((await metricValue(metrics, 'natlens_agent_spool_retained_bytes')).find((v) => v.labels['dir'] === DEAD_LETTER_DIR)?.value).toBeGreaterThan(0);
  });

  it('splits a batch the hub refuses as too large (413) until the halves pass, in order, and loses nothing', async () => {
    const { sut, metrics } = make();
    const one = Buffer.byteLength(JSON.stringify(batch(0, 1)));
    receiver.maxBodyBytes = one * 3; // 8 records do not pass, 2 do
    sut.enqueue(batch(0, 8));
    sut.enqueue(batch(100, 1));
    sut.start();
    await waitFor(() => receiver.records.size === 9 && sut.pending.batches === 0, 10_000, () => `${receiver.records.size} records`);
    expect(receiver.tooLarge).toBe(3); // 8, then each half of 4
    expect(receiver.batches).toBe(5); // four batches of 2, then the later batch
    expect(receiver.all().map((r) => r.original.sport)).toEqual([1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1100]);
    expect((await metricValue(metrics, 'natlens_agent_batch_splits_total'))[0]?.value).toBe(3);
    expect(await metricValue(metrics, 'natlens_agent_lost_records_total')).toEqual([]);
  });

  it('dead-letters a single record too large for the hub and goes on with the next batch', async () => {
    const { sut, metrics } = make();
    receiver.maxBodyBytes = 200;
    sut.start();
    sut.enqueue(batch(0, 2));
    await waitFor(() => receiver.tooLarge === 3, 10_000, () => `${receiver.tooLarge} refused`);
    await waitFor(() => sut.pending.batches === 0, 5000, () => `${sut.pending.batches} pending`);
    expect(await metricValue(metrics, 'natlens_agent_lost_records_total')).toEqual([expect.objectContaining({ value: 2, labels: { reason: 'rejected' } })]);
    expect(readdirSync(join(workDir, 'spool', DEAD_LETTER_DIR))).toHaveLength(2);
  });

  it('quarantines a spool file that is not a batch or cannot be read, counts it and delivers the rest', async () => {
    const spoolDir = join(workDir, 'spool');
    mkdirSync(spoolDir, { recursive: true });
    writeFileSync(join(spoolDir, '000000000000001-1-000000000.batch.json'), '{"node":"node1","records":[{"flo'); // cut short
    mkdirSync(join(spoolDir, '000000000000002-1-000000000.batch.json')); // read() fails with EISDIR
    writeFileSync(join(spoolDir, '000000000000003-1-000000000.batch.json'), JSON.stringify(batch(0, 3)));
    const { sut, metrics } = make();
    expect(sut.pending.batches).toBe(3);
    sut.start();
    sut.enqueue(batch(3, 2));
    await waitFor(() => receiver.records.size === 5 && sut.pending.batches === 0, 10_000, () => `${receiver.records.size} records`);
    expect(readdirSync(join(spoolDir, QUARANTINE_DIR)).sort()).toEqual(['000000000000001-1-000000000.batch.json', '000000000000002-1-000000000.batch.json']);
    expect(await metricValue(metrics, 'natlens_agent_lost_batches_total')).toEqual([expect.objectContaining({ value: 2, labels: { reason: 'unreadable' } })]);
  });

  it('keeps the batch while the hub refuses the token', async () => {
    const { sut } = make(1 << 20, 'wrong');
    sut.start();
    sut.enqueue(batch(0, 1));
    await waitFor(() => sut.lastError?.startsWith('HTTP 401') ?? false, 5000, () => String(sut.lastError));
    expect(sut.pending.batches).toBe(1);
    expect(receiver.records.size).toBe(0);
  });

  const batchFiles = () => readdirSync(join(workDir, 'spool')).filter((name) => name.endsWith('.batch.json'));

  it('sends a batch the hub takes at once without writing it to the spool', async () => {
    const { sut } = make(1 << 20, 's3cret', { holdMs: 60_000 });
    sut.start();
    sut.enqueue(batch(0, 4));
    expect(batchFiles()).toEqual([]);
    expect(sut.pending.batches).toBe(1);
    await waitFor(() => receiver.records.size === 4 && sut.pending.batches === 0, 5000, () => `${receiver.records.size} records`);
    expect(batchFiles()).toEqual([]);
  });

  it('writes held batches to the spool once the hub fails, and sends new ones through the disk until it is back', async () => {
    receiver.failRequests(2);
    const { sut } = make(1 << 20, 's3cret', { holdMs: 60_000 });
    sut.enqueue(batch(0, 2));
    sut.enqueue(batch(2, 2));
    expect(batchFiles()).toEqual([]);
    sut.start();
    await waitFor(() => sut.lastError !== undefined, 5000, () => 'no failure yet');
    expect(batchFiles()).toHaveLength(2);
    sut.enqueue(batch(4, 2)); // the hub is failing: straight to disk
    expect(batchFiles()).toHaveLength(3);
    await waitFor(() => receiver.records.size === 6 && sut.pending.batches === 0, 15_000, () => `${receiver.records.size} records`);
    expect(receiver.all().map((r) => r.original.sport)).toEqual([1000, 1001, 1002, 1003, 1004, 1005]);
    expect(batchFiles()).toEqual([]);
  });

  it('writes a held batch to the spool after holdMs, and what it holds when it stops', async () => {
    await receiver.stop();
    const { sut } = make(1 << 20, 's3cret', { holdMs: 100 });
    sut.start();
    sut.enqueue(batch(0, 1));
    await waitFor(() => batchFiles().length === 1, 5000, () => `${batchFiles().length} files`);
    const later = make(1 << 20, 's3cret', { holdMs: 60_000 });
    later.sut.enqueue(batch(1, 1));
    expect(batchFiles()).toHaveLength(1);
    later.sut.stop();
    expect(batchFiles()).toHaveLength(2);
    await receiver.start();
  });
});
