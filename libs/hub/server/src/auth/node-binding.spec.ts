import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deriveNodeToken } from '@natlens/shared-auth';
import { io } from 'socket.io-client';
import { flowRecord, startTestHub, TEST_INGEST_TOKEN, TEST_READ_TOKEN, type TestHub } from '../testing';

const NODE1_TOKEN = 'node1-own-token-0123456789abcdef';
const SECRET = 'shared-node-token-secret-0123456789abcdef';
const FIXTURES = join(__dirname, '..', '..', '..', '..', 'agent', 'pcap', 'src', 'fixtures');

/*
 * Node-bound tokens through the real HTTP server: a token per node (explicit) or derived from a shared secret, each
 * writing its own node's records only, reading nothing; a batch's records all of its node; refusals counted.
 */
describe('node-bound ingest tokens (real hub)', () => {
  let sut: TestHub;
  beforeAll(async () => {
    sut = await startTestHub({ nodeTokens: [{ node: 'node1', token: NODE1_TOKEN }], nodeTokenSecret: SECRET });
  });
  afterAll(async () => {
    await sut.close();
  });

  const post = (token: string, node: string, recordNodes: string[]) =>
    sut.request('POST', '/api/ingest', { token, body: { node, sentAt: Date.now(), records: recordNodes.map((n) => flowRecord({ node: n })) } });

  it.each([
    ['an explicit node token, its own node', NODE1_TOKEN, 'node1', ['node1', 'node1'], 200, undefined],
    ['a derived node token, its own node', deriveNodeToken(SECRET, 'node2'), 'node2', ['node2'], 200, undefined],
    ['an unbound ingest token, any node', TEST_INGEST_TOKEN, 'node9', ['node9'], 200, undefined],
    ['an explicit node token, another node', NODE1_TOKEN, 'node2', ['node2'], 403, 'node-not-allowed'],
    ['a derived node token, another node', deriveNodeToken(SECRET, 'node2'), 'node3', ['node3'], 403, 'node-not-allowed'],
    ['a token derived from another secret', deriveNodeToken('some-other-secret-0123456789abcdefgh', 'node2'), 'node2', ['node2'], 403, 'token-rejected'],
    ['a node token hiding another node in a record', NODE1_TOKEN, 'node1', ['node1', 'node2'], 400, 'record-node-mismatch'],
    ['an ingest token with a record of another node', TEST_INGEST_TOKEN, 'node1', ['node2'], 400, 'record-node-mismatch'],
  ])('%s → %d', async (_name, token, node, recordNodes, status, code) => {
    const before = await sut.hub.repository.countFlows();
    const res = await post(token, node, recordNodes);
    expect(res.status).toBe(status);
    if (code) {
      expect(res.body).toMatchObject({ status, code });
      expect(await sut.hub.repository.countFlows()).toBe(before);
    } else {
      expect(await sut.hub.repository.countFlows()).toBe(before + recordNodes.length);
    }
  });

  it('says why a node token was refused another node', async () => {
    const res = await post(NODE1_TOKEN, 'node2', ['node2']);
    expect(res.body.message).toMatch(/a token bound to node "node1" may not write records of node "node2".*nothing of it was stored/);
  });

  it('lets a node token read nothing', async () => {
    expect((await sut.request('GET', '/api/flows?limit=1', { token: NODE1_TOKEN })).status).toBe(403);
    expect((await sut.request('GET', '/api/services', { token: deriveNodeToken(SECRET, 'node2') })).status).toBe(403);
    const client = io(`${sut.hub.url}/live`, { transports: ['websocket'], reconnection: false, auth: { token: NODE1_TOKEN } });
    const outcome = await new Promise<string>((resolve) => {
      client.once('connect', () => resolve('connected'));
      client.once('connect_error', (err) => resolve(err.message));
    });
    client.disconnect();
    expect(outcome).toMatch(/unauthorized/);
  });

  it('lets a node token import only its own node, refusing before reading the upload', async () => {
    const file = readFileSync(join(FIXTURES, 'lb-proxy-protocol-node1-any.pcap'));
    const upload = (node: string) =>
      fetch(`${sut.hub.url}/api/import?node=${node}`, { method: 'POST', headers: { Authorization: `Bearer ${NODE1_TOKEN}`, 'Content-Type': 'application/octet-stream' }, body: file });
    const refused = await upload('node2');
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ code: 'node-not-allowed' });
    expect((await upload('node1')).status).toBe(200);
  });

  it('lets a node token report only its own node (node reports: addresses and health-check answers)', async () => {
    const report = (node: string) => ({ version: 1, node, at: Date.now(), intervalMs: 1000, addresses: [{ address: '198.18.0.11', interface: 'eth0' }], healthChecks: [] });
    expect(await sut.request('POST', '/api/nodes/report', { token: NODE1_TOKEN, body: report('node1') })).toMatchObject({ status: 200, body: { stored: true } });
    expect(await sut.request('POST', '/api/nodes/report', { token: deriveNodeToken(SECRET, 'node2'), body: report('node2') })).toMatchObject({ status: 200, body: { stored: true } });
    const refused = await sut.request('POST', '/api/nodes/report', { token: NODE1_TOKEN, body: report('node3') });
    expect(refused).toMatchObject({ status: 403, body: { code: 'node-not-allowed' } });
    const nodes = (await sut.request('GET', '/api/nodes', { token: TEST_READ_TOKEN })).body.nodes as { node: string }[];
    expect(nodes.map((n) => n.node).sort()).toEqual(['node1', 'node2']);
    expect(await (await fetch(`${sut.hub.url}/metrics`)).text()).toMatch(/natlens_hub_node_reports_total\{outcome="forbidden"\} 1/);
  });

  it('answers whoami for read-capable tokens only', async () => {
    expect(await sut.request('GET', '/api/auth/whoami', { token: TEST_READ_TOKEN })).toEqual({ status: 200, body: { kind: 'read', read: true, ingest: false } });
    expect(await sut.request('GET', '/api/auth/whoami', { token: TEST_INGEST_TOKEN })).toEqual({ status: 200, body: { kind: 'ingest', read: true, ingest: true } });
    expect((await sut.request('GET', '/api/auth/whoami', { token: NODE1_TOKEN })).status).toBe(403);
    expect((await sut.request('GET', '/api/auth/whoami', { token: null })).status).toBe(401);
  });

  it('counts refusals on /metrics', async () => {
    const text = await (await fetch(`${sut.hub.url}/metrics`)).text();
    expect(text).toMatch(/natlens_hub_node_binding_refusals_total\{reason="node-not-allowed",via="http"\} [2-9]/);
    expect(text).toMatch(/natlens_hub_node_binding_refusals_total\{reason="node-not-allowed",via="import"\} 1/);
    expect(text).toMatch(/natlens_hub_node_binding_refusals_total\{reason="record-node-mismatch",via="http"\} 2/);
    expect(text).toMatch(/natlens_hub_auth_refusals_total\{reason="token-rejected"\} [1-9]/);
    expect(text).toMatch(/natlens_hub_auth_refusals_total\{reason="scope"\} [1-9]/);
  });
});
