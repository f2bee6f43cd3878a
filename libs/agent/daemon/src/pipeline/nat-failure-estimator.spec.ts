import { rmSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { LAB_SEEDS_INVENTORY } from '@natlens/shared-cluster/testing';
import type { ConntrackStats, FlowRecord } from '@natlens/shared-model';
import type { ObservedConnection } from '@natlens/agent-records';
import { agentConfigSchema } from '../config/agent-config';
import { startAgent } from '../agent-daemon';
import type { ConnectionSink, ConnectionSource } from '../sources/connection-source';
import { makeWorkDir, waitFor } from '../testing';
import { NatFailureEstimator, type ConntrackStatsReader } from './nat-failure-estimator';

/*
 * The estimate's bookkeeping between readings with plain objects, then through a booted agent whose conntrack
 * source is scripted and whose statistics reader is a plain object (the real reader is the agent's ctnetlink
 * statistics sampler; the real kernel: apps/agent/src/e2e/lab-nat-failures.spec.ts).
 */

// examples/seeds.yaml: default/api is a Cluster-policy NodePort (30090) on api-1 (node1, 198.19.1.13:9090)
const record = (flowId: string, firstSeen: number, extra: Partial<FlowRecord> = {}): FlowRecord => ({
  node: 'node1',
  source: 'conntrack',
  flowId,
  firstSeen,
  lastSeen: firstSeen,
  original: { src: '198.51.100.79', sport: 40000, dst: '198.18.0.11', dport: 30090, proto: 'tcp' },
  translated: { src: '198.18.0.11', sport: 51000, dst: '198.19.1.13', dport: 9090, proto: 'tcp' },
  snat: true,
  dnat: true,
  portRemap: false,
  leg: 'entry',
  service: { namespace: 'default', name: 'api', port: 80, type: 'NodePort', externalTrafficPolicy: 'Cluster', entry: 'nodePort' },
  client: { ip: '198.51.100.79', kind: 'external' },
  verdict: 'snat-expected',
  zone: 0,
  ...extra,
});

class Readings implements ConntrackStatsReader {
  current: ConntrackStats | undefined;
  set(at: number, insertFailed: number): void {
    this.current = { at, counters: { insertFailed, drop: insertFailed }, entries: 10, max: 262144 };
  }
  latest(): ConntrackStats | undefined {
    return this.current;
  }
}

describe('NatFailureEstimator', () => {
  it('estimates nothing before a second reading, then from the connections that began between the two', () => {
    const readings = new Readings();
    const sut = new NatFailureEstimator('node1', readings);
    expect(sut.sample()).toEqual([]);
    readings.set(1000, 2);
    sut.observe([record('before', 500)]);
    expect(sut.sample()).toEqual([]);
    sut.observe([record('old', 900), record('a', 1500), record('b', 1800)]);
    readings.set(2000, 5);
    const estimated = sut.sample();
    expect(estimated).toHaveLength(3);
    for (const r of estimated) expect(r).toMatchObject({ verdict: 'dropped-nat-failure', natFailure: { reason: 'insert-failed', observed: false }, service: { name: 'api' } });
    // the same reading again, or one with no growth: nothing more
    expect(sut.sample()).toEqual([]);
    readings.set(3000, 5);
    expect(sut.sample()).toEqual([]);
  });

  it('ignores its own estimates and records of other sources as attempts', () => {
    const readings = new Readings();
    const sut = new NatFailureEstimator('node1', readings);
    readings.set(1000, 0);
    sut.sample();
    sut.observe([record('e', 1500, { natFailure: { reason: 'insert-failed', observed: false } }), record('x', 1500, { source: 'ebpf' })]);
    readings.set(2000, 4);
    expect(sut.sample()).toEqual([]);
  });
});

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

describe('NatFailureEstimateService in a booted agent', () => {
  it('exports estimated failures of the Services with new connections when insert_failed grows', async () => {
    const workDir = makeWorkDir('natlens-agent-estimate');
    const source = new ScriptedSource();
    const readings = new Readings();
    readings.set(Date.now() - 10, 0);
    const config = agentConfigSchema.parse({ node: 'node1', inventory: LAB_SEEDS_INVENTORY, apiPort: 0, apiHost: '127.0.0.1', flushIntervalMs: 100, spoolDir: join(workDir, 'spool'), healthCheckIntervalMs: 0 });
    const agent = await startAgent(config, pino({ level: 'silent' }), { sources: [source], conntrackStats: readings });
    try {
      const exported: FlowRecord[] = [];
      agent.pipeline.onRecords((records) => exported.push(...records));
      await new Promise((r) => setTimeout(r, 1200)); // the first reading is taken
      const now = Date.now();
      const connection: ObservedConnection = {
        source: 'conntrack',
        kind: 'new',
        id: '7',
        original: { src: '198.51.100.79', sport: 40001, dst: '198.18.0.11', dport: 30090, proto: 'tcp' },
        reply: { src: '198.19.1.13', sport: 9090, dst: '198.18.0.11', dport: 51000, proto: 'tcp' },
        observedAt: now,
        startedAt: now,
      };
      source.sink?.observe([connection]);
      await waitFor(() => exported.length >= 1, 5000, () => `${exported.length} records`);
      readings.set(Date.now() + 1, 3);
      await waitFor(() => exported.filter((r) => r.verdict === 'dropped-nat-failure').length >= 3, 5000, () => `${exported.length} records`);
      expect(exported.filter((r) => r.verdict === 'dropped-nat-failure').map((r) => [r.service?.name, r.natFailure?.observed])).toEqual([
        ['api', false],
        ['api', false],
        ['api', false],
      ]);
    } finally {
      await agent.close();
      rmSync(workDir, { recursive: true, force: true });
    }
  });
});
