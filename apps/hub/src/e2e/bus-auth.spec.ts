import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { agentInboxPrefix, agentNatsUser, deriveNodeToken, HUB_INBOX_PREFIX, natsClientOptions, type NatsClientAuth, renderNatsAuthorization } from '@natlens/shared-auth';
import { makeTestPki, type TestPki } from '@natlens/shared-auth/testing';
import type { FlowBatch } from '@natlens/shared-model';
import { connect, type NatsConnection, nkeys } from 'nats';
import pino from 'pino';
import { flowRecord, startTestHub, TEST_READ_TOKEN, type TestHub } from '@natlens/hub-server/testing';

/*
 * NATS with users and TLS, for real: Debian's nats-server started from a configuration whose `authorization` block
 * is the one natlens renders (libs/shared/auth nats-permissions) and whose `tls` block holds a certificate from a
 * throwaway CA; the hub consuming in-process with its consume-only user; agents publishing through their own
 * exporter (spool + NatsHubClient) as per-node users (password = the node's derived token, or an nkey).
 */
// The agent's exporter is loaded lazily, as the CLI loads the agent.
type NatsTestServerModule = typeof import('@natlens/agent-daemon/testing');
type AgentTestingModule = typeof import('@natlens/agent-daemon/testing');

const SECRET = 'shared-node-token-secret-0123456789abcdef';
const HUB_PASSWORD = 'hub-nats-password-0123456789';

async function waitFor(condition: () => Promise<boolean> | boolean, timeoutMs: number, what: () => string | Promise<string>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${await what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const batchOf = (node: string, recordNodes: string[] = [node]): FlowBatch => ({ node, sentAt: Date.now(), records: recordNodes.map((n) => flowRecord({ node: n })) });

/** The error a promise rejects with (fails the test if it resolves). */
async function refusal(promise: Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await promise;
  } catch (err) {
    return err as { code?: string; message: string };
  }
  throw new Error('expected a refusal, but the operation succeeded');
}

describe('NATS users and TLS: agents publish only their node, the hub only consumes', () => {
  let pki: TestPki;
  let nats: Awaited<ReturnType<NatsTestServerModule['startTestNatsServer']>>;
  let hub: TestHub;
  let agentTesting: AgentTestingModule;
  const node2Key = nkeys.createUser();
  const node2Seed = new TextDecoder().decode(node2Key.getSeed());
  const connections: NatsConnection[] = [];
  const workDirs: string[] = [];
  const stops: (() => void)[] = [];

  const node1Auth = (): NatsClientAuth => ({ user: agentNatsUser('node1'), password: deriveNodeToken(SECRET, 'node1'), tls: { ca: pki.ca }, inboxPrefix: agentInboxPrefix('node1') });
  const hubAuth = (): NatsClientAuth => ({ user: 'natlens-hub', password: HUB_PASSWORD, tls: { ca: pki.ca } });
  const open = async (auth: NatsClientAuth) => {
    const nc = await connect({ servers: nats.url, timeout: 3000, ...natsClientOptions(auth) });
    connections.push(nc);
    return nc;
  };
  const metrics = async () => (await fetch(`${hub.hub.url}/metrics`)).text();

  beforeAll(async () => {
    pki = makeTestPki();
    const server = pki.issue('nats');
    agentTesting = await import('@natlens/agent-daemon/testing');
    const { startTestNatsServer } = agentTesting;
    const authorization = renderNatsAuthorization({
      hub: { user: 'natlens-hub', password: HUB_PASSWORD },
      agents: [
        { node: 'node1', credential: { user: agentNatsUser('node1'), password: deriveNodeToken(SECRET, 'node1') } },
        { node: 'node2', credential: { nkey: node2Key.getPublicKey() } },
      ],
    });
    nats = await startTestNatsServer({ config: `${authorization}\ntls { cert_file: ${JSON.stringify(server.certFile)}, key_file: ${JSON.stringify(server.keyFile)} }` });
    hub = await startTestHub({ bus: nats.url, busAuth: hubAuth(), busAckWaitMs: 2000 });
    // the hub creates the stream (agents may not): wait until it consumes
    await waitFor(async () => ((await hub.request('GET', '/healthz')).body as { bus?: { state?: string } }).bus?.state === 'consuming', 20_000, async () => JSON.stringify((await hub.request('GET', '/healthz')).body));
  }, 60_000);

  afterAll(async () => {
    stops.forEach((stop) => stop());
    for (const nc of connections) await nc.close().catch(() => undefined);
    await hub?.close();
    await nats?.dispose();
    pki?.dispose();
    for (const dir of workDirs) rmSync(dir, { recursive: true, force: true });
  });

  async function exporter(node: string, auth: NatsClientAuth) {
    const { NatsHubClient, HubExporter, DiskSpool, AgentMetrics } = await import('@natlens/agent-daemon');
    const dir = agentTesting.makeWorkDir(`natlens-bus-auth-${node}`);
    workDirs.push(dir);
    const client = new NatsHubClient({ url: nats.url, name: `test-agent ${node}`, auth, publishTimeoutMs: 3000, connectTimeoutMs: 3000 });
    const sut = new HubExporter(client, new DiskSpool(join(dir, 'spool'), 16 << 20), new AgentMetrics(), pino({ level: 'silent' }));
    stops.push(() => sut.stop());
    return { sut, client };
  }

  it('stores what agents publish for their own node (password from the derived token; nkey)', async () => {
    const node1 = await exporter('node1', node1Auth());
    const node2 = await exporter('node2', { nkeySeed: node2Seed, tls: { ca: pki.ca }, inboxPrefix: agentInboxPrefix('node2') });
    node1.sut.start();
    node2.sut.start();
    node1.sut.enqueue(batchOf('node1', ['node1', 'node1']));
    node2.sut.enqueue(batchOf('node2'));
    await waitFor(async () => (await hub.hub.repository.countFlows()) === 3, 20_000, async () => `${await hub.hub.repository.countFlows()} stored`);
  });

  it("refuses an agent another node's subject", async () => {
    const nc = await open(node1Auth());
    const err = await refusal(nc.jetstream().publish('natlens.flows.node2', new TextEncoder().encode(JSON.stringify(batchOf('node2')))));
    expect(err.code).toBe('PERMISSIONS_VIOLATION');
    // through the agent's own client: a retry with a hint, never "sent"
    const { client } = await exporter('node1-wrong', node1Auth());
    const outcome = await client.deliver({ id: 'x1', node: 'node2', body: JSON.stringify(batchOf('node2')) });
    expect(outcome).toMatchObject({ kind: 'retry', reason: 'nats-permission', hint: expect.stringMatching(/may publish to natlens\.flows\.node2/) });
  });

  it('lets an agent neither read, purge nor delete the stream, nor make a consumer', async () => {
    const nc = await open(node1Auth());
    const jsm = await nc.jetstreamManager({ checkAPI: false });
    for (const attempt of [
      jsm.streams.purge('NATLENS_FLOWS'),
      jsm.streams.delete('NATLENS_FLOWS'),
      jsm.streams.getMessage('NATLENS_FLOWS', { seq: 1 }),
      jsm.consumers.add('NATLENS_FLOWS', { durable_name: 'snoop', ack_policy: 'explicit' as never }),
      jsm.streams.info('NATLENS_FLOWS'),
    ]) {
      expect((await refusal(attempt)).code).toBe('PERMISSIONS_VIOLATION');
    }
    const subscriptionError = await new Promise<{ code?: string } | null>((resolve) => {
      nc.subscribe('natlens.flows.>', { callback: (err) => resolve(err as { code?: string } | null) });
    });
    expect(subscriptionError?.code).toBe('PERMISSIONS_VIOLATION');
    expect((await hub.hub.repository.countFlows()) >= 3).toBe(true);
  });

  it('lets the hub publish no records', async () => {
    const nc = await open({ ...hubAuth(), inboxPrefix: HUB_INBOX_PREFIX });
    const err = await refusal(nc.jetstream().publish('natlens.flows.node1', new TextEncoder().encode(JSON.stringify(batchOf('node1')))));
    expect(err.code).toBe('PERMISSIONS_VIOLATION');
  });

  it('refuses strangers: no credentials, or no trust in the server certificate', async () => {
    const anonymous = await refusal(connect({ servers: nats.url, timeout: 3000, tls: { ca: pki.ca } }));
    expect(anonymous.code).toBe('AUTHORIZATION_VIOLATION');
    const untrusting = await refusal(connect({ servers: nats.url, timeout: 3000, ...natsClientOptions({ ...node1Auth(), tls: {} }) }));
    expect(untrusting.message).toMatch(/certificate/i);
  });

  it('terminates and counts a batch whose subject, batch node and record nodes disagree', async () => {
    const before = await hub.hub.repository.countFlows();
    const nc = await open(node1Auth());
    const js = nc.jetstream();
    // on node1's own subject: a batch claiming node2, and a node1 batch hiding a node2 record
    await js.publish('natlens.flows.node1', new TextEncoder().encode(JSON.stringify(batchOf('node2'))));
    await js.publish('natlens.flows.node1', new TextEncoder().encode(JSON.stringify(batchOf('node1', ['node1', 'node2']))));
    await waitFor(async () => /natlens_hub_bus_terminated_batches_total 2/.test(await metrics()), 20_000, async () => (await metrics()).split('\n').filter((l) => /terminated|node_binding/.test(l)).join('\n'));
    const text = await metrics();
    expect(text).toMatch(/natlens_hub_node_binding_refusals_total\{reason="subject-node-mismatch",via="bus"\} 1/);
    expect(text).toMatch(/natlens_hub_node_binding_refusals_total\{reason="record-node-mismatch",via="bus"\} 1/);
    expect(await hub.hub.repository.countFlows()).toBe(before);
  });

  it("stores an agent's node report from its own subject only, and terminates one that claims another node", async () => {
    const report = (node: string) => new TextEncoder().encode(JSON.stringify({ version: 1, node, at: Date.now(), intervalMs: 1000, addresses: [{ address: '198.18.0.11', interface: 'eth0' }], healthChecks: [] }));
    const nc = await open(node1Auth());
    const js = nc.jetstream();
    await js.publish('natlens.nodes.node1', report('node1'));
    expect((await refusal(js.publish('natlens.nodes.node2', report('node2')))).code).toBe('PERMISSIONS_VIOLATION');
    await js.publish('natlens.nodes.node1', report('node2'));
    const nodes = async () => ((await hub.request('GET', '/api/nodes', { token: TEST_READ_TOKEN })).body as { nodes: { node: string }[] }).nodes.map((n) => n.node);
    await waitFor(async () => /natlens_hub_node_reports_total\{outcome="invalid"\} 1/.test(await metrics()) && (await nodes()).includes('node1'), 20_000, async () => `${(await nodes()).join(',')} ${(await metrics()).split('\n').filter((l) => /node_reports|node_binding/.test(l)).join('\n')}`);
    expect(await nodes()).toEqual(['node1']);
    expect(await metrics()).toMatch(/natlens_hub_node_binding_refusals_total\{reason="subject-node-mismatch",via="bus"\} 2/);
  });
});
