import { rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import pino from 'pino';
import { io, Socket } from 'socket.io-client';
import { LAB_SEEDS_INVENTORY } from '@natlens/shared-cluster/testing';
import type { FlowRecord } from '@natlens/shared-model';
import { agentConfigSchema } from '../config/agent-config';
import { RunningAgent, startAgent } from '../agent-daemon';
import { ConntrackHealthSampler } from '../conntrack-health/conntrack-health.sampler';
import type { ObservedConnection } from '@natlens/agent-records';
import type { ConnectionSink, ConnectionSource } from '../sources/connection-source';
import { makeWorkDir, waitFor } from '../testing';
import { emptyLeanEntry, emptyLeanTuple } from '@natlens/agent-conntrack';
import type { ConntrackHealthPort } from '../conntrack-health/conntrack-health.repository';

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

/** The node's conntrack as plain values: one masqueraded connection to a pod (not an address of the records below). */
const conntrackHealth: ConntrackHealthPort = {
  readStats: async () => ({ counters: { insertFailed: 2, drop: 2 }, cpus: 1, entries: 42, maxEntries: 262144, parseErrors: [] }),
  dumpTable: async (onEntries) => {
    const entry = emptyLeanEntry('dump', 'ipv4', 1, 0);
    entry.original = { ...emptyLeanTuple(), proto: 'tcp', src: '198.19.5.5', sport: 45000, dst: '198.18.100.10', dport: 443 };
    entry.reply = { ...emptyLeanTuple(), proto: 'tcp', src: '198.19.6.6', sport: 8443, dst: '198.18.0.12', dport: 41000 };
    onEntries([entry]);
    return 1;
  },
  readSysctl: async () => 65536,
  readSourceNatRules: async () => ({ rules: [], problems: [] }),
  close: () => undefined,
};

const READ_TOKEN = 'agent-read-token-0123456789abc';
const auth = { Authorization: `Bearer ${READ_TOKEN}` };

describe('agent local API', () => {
  const source = new ScriptedSource();
  const workDir = makeWorkDir('natlens-agent-api');
  let agent: RunningAgent;
  let base: string;
  let client: Socket | undefined;

  beforeAll(async () => {
    const config = agentConfigSchema.parse({ node: 'node1', inventory: LAB_SEEDS_INVENTORY, apiPort: 0, apiHost: '127.0.0.1', flushIntervalMs: 100, spoolDir: join(workDir, 'spool'), healthCheckIntervalMs: 0, readTokens: [READ_TOKEN] });
    agent = await startAgent(config, pino({ level: 'silent' }), { sources: [source], conntrackHealth });
    base = `http://127.0.0.1:${(agent.app.getHttpServer().address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    client?.close();
    await agent.close();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('streams records of the Service a client asked for on socket.io /flows (flow.v1)', async () => {
    const received: FlowRecord[] = [];
    client = io(`${base}/flows`, { query: { service: 'default/api' }, transports: ['websocket'], auth: { token: READ_TOKEN } });
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
    const body = (await (await fetch(`${base}/api/flows?service=default/web&verdict=preserved`, { headers: auth })).json()) as { records: FlowRecord[] };
    expect(body.records.map((r) => [r.service?.name, r.endpoint?.pod, r.verdict])).toEqual([['web', 'web-1', 'preserved']]);
  });

  it('answers a bad query with a status, a code and what to fix', async () => {
    const res = await fetch(`${base}/api/flows?service=web&limit=0`, { headers: auth });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ status: 400, code: 'bad-query', message: expect.stringMatching(/service: expected namespace\/name/) });
  });

  it.each([
    ['no token', {}, 401, 'token-missing'],
    ['a wrong token', { Authorization: 'Bearer not-the-agent-read-token' }, 403, 'token-rejected'],
    ['a token in the wrong scheme', { Authorization: `Basic ${READ_TOKEN}` }, 401, 'token-missing'],
  ])('refuses records to %s', async (_name, headers, status, code) => {
    const res = await fetch(`${base}/api/flows`, { headers });
    expect(res.status).toBe(status);
    expect(await res.json()).toMatchObject({ status, code });
  });

  it.each([
    ['no token', undefined, /unauthorized \(token-missing\)/],
    ['a wrong token', 'not-the-agent-read-token', /unauthorized \(token-rejected\)/],
  ])('refuses the /flows stream to %s', async (_name, token, message) => {
    const anonymous = io(`${base}/flows`, { transports: ['websocket'], reconnection: false, ...(token ? { auth: { token } } : {}) });
    const outcome = await new Promise<string>((resolve) => {
      anonymous.once('connect', () => resolve('connected'));
      anonymous.once('connect_error', (err) => resolve(err.message));
    });
    anonymous.close();
    expect(outcome).toMatch(message);
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

  it('reports health, readiness and Prometheus metrics without a token, and without any record in them', async () => {
    await waitFor(() => agent.app.get(ConntrackHealthSampler).latest() !== undefined, 5000, () => 'the first conntrack sample');
    const health = await (await fetch(`${base}/healthz`)).text();
    expect(JSON.parse(health)).toMatchObject({ status: 'ok', ready: true, node: 'node1', cluster: { ready: true }, sources: { conntrack: { scripted: true } }, healthChecks: { enabled: false }, nodeReports: null, conntrackSampling: { intervalMs: 5000, samples: expect.any(Number) } });
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    const readiness = await ready.text();
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/natlens_agent_records_total\{verdict="snat-expected"\} 1/);
    expect(metrics).toMatch(/natlens_agent_queue_depth\{queue="observed"\} 0/);
    expect(metrics).toMatch(/natlens_agent_conntrack_entries 42/);
    expect(metrics).toMatch(/natlens_agent_conntrack_stat_total\{counter="insert_failed"\} 2/);
    // the busiest SNAT pair: the node's SNAT address and the destination, never the client behind it
    expect(metrics).toMatch(/natlens_agent_conntrack_snat_ports_in_use\{snat_address="198.18.0.12",destination="198.19.6.6",destination_port="8443",protocol="tcp"\} 1/);
    expect(metrics).not.toContain('198.19.5.5');
    // the records above: client, node address, pod addresses and ports: none of them in health or metrics. Whole
    // tokens only: a port's digits may well occur inside a figure (a byte count, a float's decimals) by chance.
    const tokens = (text: string) => new Set(text.split(/[^0-9A-Za-z.-]+/).flatMap((token) => [token, ...token.split('.')]));
    for (const text of [health, readiness, metrics]) {
      const found = tokens(text);
      for (const value of ['198.51.100.79', '203.0.113.10', '198.18.0.11', '198.19.1.11', '198.19.1.13', '40000', '40001', '51000', 'web-1', 'api-1']) expect(found.has(value)).toBe(false);
      for (const address of ['198.51.100.79', '203.0.113.10', '198.18.0.11', '198.19.1.11', '198.19.1.13']) expect(text).not.toContain(address);
    }
  });
});

describe('agent local API without read tokens', () => {
  const workDir = makeWorkDir('natlens-agent-api-open');
  const agents: RunningAgent[] = [];
  afterAll(async () => {
    for (const agent of agents) await agent.close();
    rmSync(workDir, { recursive: true, force: true });
  });
  const boot = async (where: { apiSocket: string } | { apiPort: 0; apiHost: string }) => {
    const config = agentConfigSchema.parse({ node: 'node1', inventory: LAB_SEEDS_INVENTORY, flushIntervalMs: 100, spoolDir: join(workDir, `spool-${agents.length}`), healthCheckIntervalMs: 0, ...where });
    const agent = await startAgent(config, pino({ level: 'silent' }), { sources: [new ScriptedSource()] });
    agents.push(agent);
    return agent;
  };

  it('refuses records on a TCP port and says how to open them', async () => {
    const agent = await boot({ apiPort: 0, apiHost: '127.0.0.1' });
    const url = `http://127.0.0.1:${(agent.app.getHttpServer().address() as AddressInfo).port}`;
    const res = await fetch(`${url}/api/flows`);
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ code: 'records-need-token', message: expect.stringMatching(/NATLENS_AGENT_READ_TOKENS/) });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });

  it('serves records on a Unix socket (the file\'s permissions guard it)', async () => {
    const socketPath = join(workDir, 'agent.sock');
    await boot({ apiSocket: socketPath });
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest({ socketPath, path: '/api/flows', method: 'GET' }, (r) => {
        let body = '';
        r.on('data', (c: Buffer) => (body += c.toString()));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ records: [] });
  });
});
