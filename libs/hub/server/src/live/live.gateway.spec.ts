import { request as httpRequest } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FlowRecord } from '@natlens/shared-model';
import { io, type Socket } from 'socket.io-client';
import { flowRecord, startTestHub, TEST_READ_TOKEN, TEST_INGEST_TOKEN, type TestHub } from '../testing';
import type { LiveClientToServerEvents, LiveServerToClientEvents } from './live.gateway';

type LiveClient = Socket<LiveServerToClientEvents, LiveClientToServerEvents>;

/* End to end: a real hub, real socket.io clients on /live, records through POST /api/ingest. */
describe('socket.io /live', () => {
  let sut: TestHub;
  const clients: LiveClient[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'natlens-hub-'));

  beforeAll(async () => {
    sut = await startTestHub({ socket: join(dir, 'hub.sock') });
  });
  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await sut.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function connect(options: { token?: string; service?: string }): LiveClient {
    const client: LiveClient = io(`${sut.hub.url}/live`, {
      transports: ['websocket'],
      reconnection: false,
      ...(options.token ? { auth: { token: options.token } } : {}),
      ...(options.service ? { query: { service: options.service } } : {}),
    });
    clients.push(client);
    return client;
  }

  const connected = (client: LiveClient) =>
    new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('connect_error', reject);
    });

  it('sends flow.v1 to subscribers of the record\'s Service only', async () => {
    const webClient = connect({ token: TEST_READ_TOKEN, service: 'default/web' });
    const apiClient = connect({ token: TEST_INGEST_TOKEN });
    await Promise.all([connected(webClient), connected(apiClient)]);
    expect(await apiClient.emitWithAck('subscribe', { service: 'default/api' })).toEqual({ ok: true, service: 'default/api' });

    const received = { web: [] as FlowRecord[], api: [] as FlowRecord[] };
    webClient.on('flow.v1', (record) => received.web.push(record));
    apiClient.on('flow.v1', (record) => received.api.push(record));

    const web = [flowRecord({ service: { namespace: 'default', name: 'web' } }), flowRecord({ service: { namespace: 'default', name: 'web' } })];
    const api = [flowRecord({ service: { namespace: 'default', name: 'api' } })];
    const other = [flowRecord({ service: { namespace: 'other', name: 'web' } })];
    expect((await sut.ingest([...web, ...api, ...other])).status).toBe(200);

    await waitUntil(() => received.web.length === 2 && received.api.length === 1);
    // one more round trip each, so a stray record would have arrived by now
    await apiClient.emitWithAck('subscribe', { service: 'default/api' });
    await webClient.emitWithAck('subscribe', { service: 'default/web' });
    expect(received.web.map((r) => r.flowId)).toEqual(web.map((r) => r.flowId));
    expect(received.api.map((r) => r.flowId)).toEqual(api.map((r) => r.flowId));
  });

  it('rejects a malformed subscribe', async () => {
    const client = connect({ token: TEST_READ_TOKEN });
    await connected(client);
    expect(await client.emitWithAck('subscribe', { service: 'no-slash' })).toEqual({ ok: false, message: expect.stringMatching(/namespace\/name/) });
  });

  it.each([
    ['no token', undefined],
    ['a wrong token', 'not-a-token-of-this-hub-000'],
  ])('refuses a connection with %s', async (_name, token) => {
    const client = connect({ ...(token ? { token } : {}), service: 'default/web' });
    await expect(connected(client)).rejects.toThrow(/unauthorized/);
    expect(client.connected).toBe(false);
  });

  it('serves the same API on the Unix socket', async () => {
    const body = JSON.stringify({ node: 'node9', sentAt: Date.now(), records: [flowRecord({ node: 'node9' })] });
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        { socketPath: join(dir, 'hub.sock'), path: '/api/ingest', method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${TEST_INGEST_TOKEN}` } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    expect(status).toBe(200);
    expect((await sut.hub.repository.flows({ node: 'node9', limit: 5 })).flows).toHaveLength(1);
  });
});

async function waitUntil(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for live records');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
