import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { FlowBatch } from '@natlens/shared-model';
import pino from 'pino';
import { flowRecord, startTestHub, TEST_INGEST_TOKEN, type TestHub } from '@natlens/hub-server/testing';

type AgentDaemonModule = typeof import('@natlens/agent-daemon');
type AgentTestingModule = typeof import('@natlens/agent-daemon/testing');

/**
 * The agent's exporter against a real hub whose body limit is smaller than the agent's batch: the hub answers 413
 * (`body-too-large`), the exporter splits the batch in halves until they pass, and every record is stored once, with
 * nothing counted as lost.
 */
describe('agent export to a hub with a small body limit (413)', () => {
  let hub: TestHub;
  let agent: AgentDaemonModule;
  let agentTesting: AgentTestingModule;
  let workDir: string;

  beforeAll(async () => {
    agent = await import('@natlens/agent-daemon');
    agentTesting = await import('@natlens/agent-daemon/testing');
    workDir = agentTesting.makeWorkDir('natlens-export-413');
    hub = await startTestHub({ maxBodyBytes: 8192 });
  });
  afterAll(async () => {
    await hub?.close();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('splits a batch the hub refuses as too large until every record is stored', async () => {
    const records = Array.from({ length: 64 }, () => flowRecord({}));
    const batch: FlowBatch = { node: 'node1', sentAt: Date.now(), records };
    expect(Buffer.byteLength(JSON.stringify(batch))).toBeGreaterThan(4 * 8192);
    const metrics = new agent.AgentMetrics();
    const sut = new agent.HubExporter({ url: hub.hub.url, token: TEST_INGEST_TOKEN }, new agent.DiskSpool(join(workDir, 'spool'), 16 << 20), metrics, pino({ level: 'silent' }));
    try {
      sut.enqueue(batch);
      sut.start();
      await agentTesting.waitFor(() => sut.pending.batches === 0, 30_000, () => `${sut.pending.batches} batches pending, last error ${sut.lastError}`);
      expect(await hub.hub.repository.countFlows()).toBe(64);
      const splits = (await metrics.registry.getSingleMetric('natlens_agent_batch_splits_total')?.get())?.values[0]?.value ?? 0;
      expect(splits).toBeGreaterThanOrEqual(3);
      expect((await metrics.registry.getSingleMetric('natlens_agent_lost_records_total')?.get())?.values).toEqual([]);
      expect(readdirSync(join(workDir, 'spool'))).toEqual([]);
    } finally {
      sut.stop();
    }
  });
});
