import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestPki, type TestPki } from '@natlens/shared-auth/testing';
import { LAB_SEEDS_INVENTORY } from '@natlens/shared-cluster/testing';
import type { FlowRecord } from '@natlens/shared-model';
import pino from 'pino';
import { io } from 'socket.io-client';
import { loadHubConfig, type RunningHub, startHub } from '@natlens/hub-server';
import { TEST_INGEST_TOKEN, TEST_READ_TOKEN } from '@natlens/hub-server/testing';
import type { ObservedConnection } from '@natlens/agent-records';

/*
 * The hub over TLS with a certificate from a CA made in the test (openssl), its files read the way `natlens hub`
 * reads them; a real agent (its Nest app, pipeline and exporter; a scripted source stands in for the kernel)
 * exporting to it over https with NATLENS_HUB_CA_FILE; a socket.io client on wss. A client that does not trust the CA
 * gets nothing.
 */
// The agent is loaded lazily, as the CLI loads it; its source interface is what startAgent takes.
type AgentDaemonModule = typeof import('@natlens/agent-daemon');
type AgentTestingModule = typeof import('@natlens/agent-daemon/testing');
type ConnectionSource = NonNullable<NonNullable<Parameters<AgentDaemonModule['startAgent']>[2]>['sources']>[number];
type ConnectionSink = Parameters<ConnectionSource['start']>[0];

class ScriptedSource implements Pick<ConnectionSource, 'name' | 'start' | 'stop' | 'status'> {
  readonly name = 'conntrack' as const;
  sink: ConnectionSink | undefined;
  async start(sink: ConnectionSink): Promise<void> {
    this.sink = sink;
  }
  stop(): void {
    this.sink = undefined;
  }
  status() {
    return { scripted: true };
  }
}

const connection = (sport: number): ObservedConnection => ({
  source: 'conntrack',
  kind: 'new',
  id: String(sport),
  original: { src: '198.51.100.79', sport, dst: '198.18.0.11', dport: 30090, proto: 'tcp' },
  reply: { src: '198.19.1.13', sport: 9090, dst: '198.18.0.11', dport: 11000 + sport, proto: 'tcp' },
  observedAt: Date.now(),
});

describe('the hub over TLS, an agent exporting to it', () => {
  let pki: TestPki;
  let hub: RunningHub;
  let agentTesting: AgentTestingModule;
  let workDir: string;
  const cleanups: (() => Promise<void> | void)[] = [];

  beforeAll(async () => {
    pki = makeTestPki();
    const server = pki.issue('hub');
    agentTesting = await import('@natlens/agent-daemon/testing');
    workDir = agentTesting.makeWorkDir('natlens-hub-tls');
    const config = loadHubConfig(
      { store: 'sqlite::memory:', port: 0, host: '127.0.0.1', tlsCertFile: server.certFile, tlsKeyFile: server.keyFile, logLevel: 'silent' },
      { NATLENS_HUB_TOKENS: TEST_INGEST_TOKEN, NATLENS_HUB_READ_TOKENS: TEST_READ_TOKEN },
      (path) => readFileSync(path, 'utf8'),
    );
    hub = await startHub(config, { log: pino({ level: 'silent' }) });
  });
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    await hub?.close();
    pki?.dispose();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('serves https only', async () => {
    expect(hub.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const plain = await fetch(hub.url.replace('https:', 'http:') + '/healthz').then(
      (res) => res.status,
      (err: Error & { cause?: { code?: string } }) => err.cause?.code ?? err.message,
    );
    expect(plain).not.toBe(200);
  });

  it('takes records from an agent that trusts its CA (NATLENS_HUB_CA_FILE)', async () => {
    const { loadAgentConfig, startAgent } = await import('@natlens/agent-daemon');
    const tokenFile = join(workDir, 'token');
    writeFileSync(tokenFile, TEST_INGEST_TOKEN);
    const config = loadAgentConfig(
      { node: 'node1', inventory: LAB_SEEDS_INVENTORY, hub: hub.url, hubTokenFile: tokenFile, hubCaFile: pki.caFile, apiSocket: join(workDir, 'agent.sock'), flushIntervalMs: 100, spoolDir: join(workDir, 'spool') },
      {},
      (path) => readFileSync(path, 'utf8'),
    );
    const source = new ScriptedSource();
    const agent = await startAgent(config, pino({ level: 'silent' }), { sources: [source as unknown as ConnectionSource] });
    cleanups.push(() => agent.close());
    source.sink?.observe([connection(40001), connection(40002), connection(40003)]);
    const deadline = Date.now() + 15_000;
    while ((await hub.repository.countFlows()) < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await hub.repository.countFlows()).toBe(3);
  });

  it('gives nothing to an agent that does not trust the certificate', async () => {
    const { HttpHubClient } = await import('@natlens/agent-records');
    const body = JSON.stringify({ node: 'node1', sentAt: Date.now(), records: [] as FlowRecord[] });
    const untrusting = await new HttpHubClient({ url: hub.url, token: TEST_INGEST_TOKEN }).deliver({ id: 'a', node: 'node1', body });
    expect(untrusting).toMatchObject({ kind: 'retry', reason: 'network', detail: expect.stringMatching(/certificate/i) });
    const otherCa = await new HttpHubClient({ url: hub.url, token: TEST_INGEST_TOKEN, ca: readFileSync(pki.otherCaFile, 'utf8') }).deliver({ id: 'b', node: 'node1', body });
    expect(otherCa).toMatchObject({ kind: 'retry', reason: 'network' });
    const trusting = await new HttpHubClient({ url: hub.url, token: TEST_INGEST_TOKEN, ca: pki.ca }).deliver({ id: 'c', node: 'node1', body });
    expect(trusting).toEqual({ kind: 'sent' });
  });

  it('streams /live over wss to a client that trusts the CA', async () => {
    const client = io(`${hub.url}/live`, { transports: ['websocket'], reconnection: false, auth: { token: TEST_READ_TOKEN }, ca: pki.ca } as never);
    cleanups.push(() => void client.disconnect());
    const outcome = await new Promise<string>((resolve) => {
      client.once('connect', () => resolve('connected'));
      client.once('connect_error', (err) => resolve(err.message));
    });
    expect(outcome).toBe('connected');
  });
});
