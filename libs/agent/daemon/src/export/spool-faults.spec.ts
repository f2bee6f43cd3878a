import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import pino from 'pino';
import { LAB_SEEDS_INVENTORY } from '@natlens/shared-cluster/testing';
import type { ObservedConnection } from '@natlens/agent-records';
import { agentConfigSchema } from '../config/agent-config';
import { type RunningAgent, startAgent } from '../agent-daemon';
import type { ConnectionSink, ConnectionSource } from '../sources/connection-source';
import { IngestReceiver, makeWorkDir, waitFor } from '../testing';

/**
 * The spool's faults on a booted agent: a corrupt file in its spool and a full disk under it (a real 64 KiB tmpfs)
 * leave it running, answering /healthz, with the loss on /metrics; once the disk has room again, records flow. A
 * scripted source stands in for the kernel (the kernel path is e2e/lab-agents.spec.ts); the disk and the HTTP hub
 * stand-in are real.
 */
class ScriptedSource implements ConnectionSource {
  readonly name = 'conntrack' as const;
  sink: ConnectionSink | undefined;
  async start(sink: ConnectionSink): Promise<void> {
    this.sink = sink;
  }
  stop(): void {
    this.sink = undefined;
  }
  observing(): boolean {
    return this.sink !== undefined;
  }
  status() {
    return { scripted: true };
  }
}

const connection = (sport: number): ObservedConnection => ({
  source: 'conntrack',
  kind: 'new',
  id: String(sport),
  original: { src: '198.51.100.79', sport, dst: '203.0.113.10', dport: 80, proto: 'tcp' },
  reply: { src: '198.19.1.11', sport: 8080, dst: '198.51.100.79', dport: sport, proto: 'tcp' },
  observedAt: Date.now(),
});

describe('agent spool faults (real tmpfs)', () => {
  const workDir = makeWorkDir('natlens-spool-faults');
  const spoolDir = join(workDir, 'spool');
  const source = new ScriptedSource();
  const receiver = new IngestReceiver(join(workDir, 'hub.sock'), 'hub-token');
  let agent: RunningAgent | undefined;
  let base: string;
  let mounted = false;

  beforeAll(async () => {
    mkdirSync(spoolDir);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'natlens-spool-test', spoolDir]);
    mounted = true;
    // what a power cut mid-write leaves without fsync: a batch cut short under its final name
    writeFileSync(join(spoolDir, '000000000000001-1-000000000.batch.json'), '{"node":"node1","sentAt":1,"records":[{"flowId":"conn');
    await receiver.start();
    const config = agentConfigSchema.parse({
      node: 'node1',
      inventory: LAB_SEEDS_INVENTORY,
      apiPort: 0,
      apiHost: '127.0.0.1',
      flushIntervalMs: 100,
      hub: `unix:${receiver.socketPath}`,
      hubToken: 'hub-token',
      spoolDir,
      healthCheckIntervalMs: 0,
    });
    agent = await startAgent(config, pino({ level: 'silent' }), { sources: [source] });
    base = `http://127.0.0.1:${(agent.app.getHttpServer().address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await agent?.close();
    await receiver.stop();
    if (mounted) execFileSync('umount', [spoolDir]);
    rmSync(workDir, { recursive: true, force: true });
  });

  const metric = async (name: string, labels: string): Promise<number> => {
    const text = await (await fetch(`${base}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`) || (labels === '' && l.startsWith(`${name} `)));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
  };

  it('quarantines the corrupt file, counts it and delivers what comes after', async () => {
    source.sink?.observe([connection(41000)]);
    await waitFor(() => receiver.records.size === 1, 10_000, () => `${receiver.records.size} records`);
    expect(await metric('natlens_agent_lost_batches_total', 'reason="unreadable"')).toBe(1);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  const fillDisk = (filler: string) => {
    try {
      writeFileSync(filler, Buffer.alloc(128 * 1024));
    } catch (err) {
      expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
    }
  };

  it('loses nothing to a full disk while the hub takes the batches: they never leave memory', async () => {
    const filler = join(spoolDir, 'filler');
    fillDisk(filler);
    source.sink?.observe([connection(41001)]);
    await waitFor(() => receiver.records.size === 2, 10_000, () => `${receiver.records.size} records`);
    expect(await metric('natlens_agent_lost_records_total', 'reason="spool-write-failed"')).toBe(0);
    unlinkSync(filler);
  });

  it('counts the records a full disk refuses while the hub is away, keeps answering /healthz, and sends again once there is room', async () => {
    // fill the tmpfs: the spool's own limit (256 MiB) is far away, the disk is what says no
    const filler = join(spoolDir, 'filler');
    fillDisk(filler);
    await receiver.stop();
    source.sink?.observe([connection(41002), connection(41003)]);
    let lost = 0;
    const deadline = Date.now() + 10_000;
    while (lost < 2 && Date.now() < deadline) {
      lost = await metric('natlens_agent_lost_records_total', 'reason="spool-write-failed"');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(lost).toBe(2);
    expect(await metric('natlens_agent_lost_batches_total', 'reason="spool-write-failed"')).toBeGreaterThanOrEqual(1);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect(receiver.records.size).toBe(2);

    unlinkSync(filler);
    await receiver.start();
    source.sink?.observe([connection(41004)]);
    await waitFor(() => receiver.records.size === 3, 30_000, () => `${receiver.records.size} records`);
    expect([...receiver.records.values()].map((r) => r.original.sport)).toEqual([41000, 41001, 41004]);
    expect(await metric('natlens_agent_unexpected_errors_total', 'where="export-loop"')).toBe(0);
  });
});
