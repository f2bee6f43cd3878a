import { rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import pino from 'pino';
import { io, Socket } from 'socket.io-client';
import { LAB_SEEDS_INVENTORY } from '@natlens/shared-cluster/testing';
import type { FlowRecord } from '@natlens/shared-model';
import { agentConfigSchema } from '../config/agent-config';
import { RunningAgent, startAgent } from '../agent-daemon';
import type { ObservedConnection } from '@natlens/agent-records';
import type { ConnectionSink, ConnectionSource } from '../sources/connection-source';
import { makeWorkDir, waitFor } from '../testing';

/**
 * The local API of a booted agent (Nest app, express, socket.io) over real sockets. A scripted source stands in for
 * the kernel here; the kernel path through the same pipeline is covered by e2e/lab-agents.spec.ts.
 */
class ScriptedSource implements ConnectionSource {
  readonly name = 'conntrack' as const;
  sink: ConnectionSink | undefined;
  /** Whether the scripted source says it observes (a real one: attached to the kernel, tcpdump listening). */
  attached = true;
  async start(sink: ConnectionSink): Promise<void> {
    this.sink = sink;
  }
  stop(): void {
    this.sink = undefined;
  }
  observing(): boolean {
    return this.sink !== undefined && this.attached;
  }
  status() {
    return { scripted: true };
  }
}

const connection = (sport: number, dst: string, dport: number, replySrc: string, replyDport: number): ObservedConnection => ({
  source: 'conntrack',
  kind: 'new',
  id: String(sport),
  original: { src: '198.51.100.79', sport, dst, dport, proto: 'tcp' },
  reply: { src: replySrc, sport: replyDport === sport ? 8080 : 9090, dst: replyDport === sport ? '198.51.100.79' : '198.18.0.11', dport: replyDport, proto: 'tcp' },
  observedAt: Date.now(),
});

describe('agent local API', () => {
  const source = new ScriptedSource();
  const workDir = makeWorkDir('natlens-agent-api');
  let agent: RunningAgent;
  let base: string;
  let client: Socket | undefined;

  beforeAll(async () => {
    const config = agentConfigSchema.parse({ node: 'node1', inventory: LAB_SEEDS_INVENTORY, apiPort: 0, apiHost: '127.0.0.1', flushIntervalMs: 100, spoolDir: join(workDir, 'spool'), healthCheckIntervalMs: 0 });
    agent = await startAgent(config, pino({ level: 'silent' }), { sources: [source] });
    base = `http://127.0.0.1:${(agent.app.getHttpServer().address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    client?.close();
    await agent.close();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('streams records of the Service a client asked for on socket.io /flows (flow.v1)', async () => {
    const received: FlowRecord[] = [];
    client = io(`${base}/flows`, { query: { service: 'default/api' }, transports: ['websocket'] });
    client.on('flow.v1', (record: FlowRecord) => received.push(record));
    await new Promise<void>((resolve, reject) => {
      client?.on('connect', resolve);
      client?.on('connect_error', reject);
    });
    // LB, Local policy, to web-1 (not what the client asked for) and NodePort Cluster to api-1 with SNAT
    source.sink?.observe([connection(40000, '203.0.113.10', 80, '198.19.1.11', 40000), connection(40001, '198.18.0.11', 30090, '198.19.1.13', 51000)]);
    await waitFor(() => received.length >= 1, 5000, () => `${received.length} records`);
    await new Promise((r) => setTimeout(r, 300));
    expect(received.map((r) => [r.service?.name, r.verdict])).toEqual([['api', 'snat-expected']]);
  });

  it('serves recent records with filters on GET /api/flows', async () => {
    const body = (await (await fetch(`${base}/api/flows?service=default/web&verdict=preserved`)).json()) as { records: FlowRecord[] };
    expect(body.records.map((r) => [r.service?.name, r.endpoint?.pod, r.verdict])).toEqual([['web', 'web-1', 'preserved']]);
  });

  it('answers a bad query with a status, a code and what to fix', async () => {
    const res = await fetch(`${base}/api/flows?service=web&limit=0`);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ status: 400, code: 'bad-query', message: expect.stringMatching(/service: expected namespace\/name/) });
  });

  it('answers /readyz 503 with what it waits for until every source observes, then 200', async () => {
    source.attached = false;
    const waiting = await fetch(`${base}/readyz`);
    expect([waiting.status, await waiting.json()]).toEqual([503, { ready: false, node: 'node1', waitingFor: ['the conntrack source to observe'] }]);
    expect(await (await fetch(`${base}/healthz`)).json()).toMatchObject({ status: 'ok', ready: false, waitingFor: ['the conntrack source to observe'] });
    source.attached = true;
    const ready = await fetch(`${base}/readyz`);
    expect([ready.status, await ready.json()]).toEqual([200, { ready: true, node: 'node1' }]);
  });

  it('reports health and Prometheus metrics', async () => {
    expect(await (await fetch(`${base}/healthz`)).json()).toMatchObject({ status: 'ok', ready: true, node: 'node1', cluster: { ready: true }, sources: { conntrack: { scripted: true } }, healthChecks: { enabled: false }, nodeReports: null });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/natlens_agent_records_total\{verdict="snat-expected"\} 1/);
    expect(metrics).toMatch(/natlens_agent_queue_depth\{queue="observed"\} 0/);
  });
});
