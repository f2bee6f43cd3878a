import { request as httpRequest } from 'node:http';
import { flowRecord, startTestHub, TEST_READ_TOKEN, type TestHub } from '../testing';

/** A POST through node:http with the body as one Buffer (fetch adds its own cost per megabyte). */
function rawPost(url: string, body: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Length': body.length } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/* Bad input through the real HTTP server: every rejection is a clear error and stores nothing. */
describe('POST /api/ingest', () => {
  let sut: TestHub;
  beforeAll(async () => {
    sut = await startTestHub({ maxBodyBytes: 64 * 1024 });
  });
  afterAll(async () => {
    await sut.close();
  });

  const good = () => [flowRecord(), flowRecord(), flowRecord()];
  const batch = (records: unknown[]) => ({ node: 'node1', sentAt: Date.now(), records });

  it.each([
    ['malformed JSON', { rawBody: '{"node": "node1", "records": [' }, 400, 'malformed-json', /not valid JSON/],
    ['a JSON array', { body: [flowRecord()] }, 400, 'invalid-batch', /must be a JSON object/],
    ['the wrong content type', { rawBody: JSON.stringify(batch(good())), contentType: 'text/plain' }, 400, 'invalid-batch', /Content-Type: application\/json/],
    ['wrong types', { body: batch([{ ...flowRecord(), firstSeen: 'now', snat: 'yes' }]) }, 400, 'invalid-batch', /^record 0, field records\[0\]\.firstSeen: .*more problem/],
    ['one bad record among good ones', { body: batch([...good(), { ...flowRecord(), translated: { ...flowRecord().translated, dport: 70_000 } }, ...good()]) }, 400, 'invalid-batch', /^record 3, field records\[3\]\.translated\.dport/],
    ['an oversize body', { body: batch(Array.from({ length: 200 }, () => flowRecord())) }, 413, 'body-too-large', /larger than this route accepts \(65536 bytes\).*NATLENS_HUB_MAX_BODY_BYTES/],
    ['no token', { body: batch(good()), token: null }, 401, 'token-missing', /Authorization: Bearer/],
    ['a wrong token', { body: batch(good()), token: 'not-the-token-at-all-000' }, 403, 'token-rejected', /NATLENS_HUB_TOKENS/],
    ['a read-only token', { body: batch(good()), token: TEST_READ_TOKEN }, 403, 'token-rejected', /ingest tokens/],
  ])('rejects %s, storing nothing', async (_name, options, status, code, message) => {
    const res = await sut.request('POST', '/api/ingest', options);
    expect(res.status).toBe(status);
    expect(res.body).toEqual({ status, code, message: expect.stringMatching(message) });
    expect(await sut.hub.repository.countFlows()).toBe(0);
  });

  it('refuses a stranger\'s multi-MB body with 401 before reading it: not parsed, no size check, fast', async () => {
    // 14 MB that is not JSON and far over the 64 KiB limit: parsing it would answer 400, reading it 413.
    const junk = Buffer.from(`{"node": "node1", "records": [${'x'.repeat(14 << 20)}`);
    const started = performance.now();
    const res = await rawPost(`${sut.hub.url}/api/ingest`, junk);
    const elapsedMs = performance.now() - started;
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body)).toMatchObject({ status: 401, code: 'token-missing' });
    // Issue 18 measured 2.6 s for parsing such a body before the 401 (2.4 s here with a token, see the notes); sending
    // 14 MB over loopback with node:http takes ~0.1 s, so a second leaves room for a loaded machine.
    expect(elapsedMs).toBeLessThan(1000);
    expect(await sut.hub.repository.countFlows()).toBe(0);
  });

  it('checks the size limit only for a valid token, then the JSON', async () => {
    const big = await sut.request('POST', '/api/ingest', { rawBody: `[${'1,'.repeat(100_000)}1]` });
    expect(big.body).toMatchObject({ status: 413, code: 'body-too-large' });
    const report = await sut.request('POST', '/api/nodes/report', { rawBody: '{"version": 1,' });
    expect(report.body).toMatchObject({ status: 400, code: 'malformed-json' });
  });

  it('stores a good batch, and a duplicate batch changes nothing', async () => {
    const records = [
      flowRecord({ firstSeen: 1_700_000_000_000, service: { namespace: 'dup', name: 'web' } }),
      flowRecord({ firstSeen: 1_700_000_000_500, service: { namespace: 'dup', name: 'web' }, seenAs: '198.18.0.12' }),
    ];
    const first = await sut.ingest(records);
    expect(first).toEqual({ status: 200, body: { records: 2, inserted: 2 } });
    const window = '?from=1699999980000&to=1700000100000';
    const before = await sut.request('GET', `/api/services/dup/web/evidence${window}`);
    expect(before.body.connections).toBe(2);

    const again = await sut.ingest([...records, ...records]);
    expect(again).toEqual({ status: 200, body: { records: 2, inserted: 0 } });
    expect(await sut.hub.repository.countFlows()).toBe(2);
    expect((await sut.request('GET', `/api/services/dup/web/evidence${window}`)).body).toEqual(before.body);
  });

  it('counts outcomes on /metrics', async () => {
    const res = await fetch(`${sut.hub.url}/metrics`);
    const text = await res.text();
    expect(text).toMatch(/natlens_hub_ingest_batches_total\{outcome="invalid"\} [1-9]/);
    expect(text).toMatch(/natlens_hub_ingest_batches_total\{outcome="stored"\} [1-9]/);
  });
});

/* Issue 18's inputs, seen stored before: now a 400 that names the field, and nothing stored. */
describe('POST /api/ingest: bounded input, unknown fields', () => {
  let sut: TestHub;
  beforeAll(async () => {
    // the default body limit (16 MiB), so a 100,000-character name reaches validation; rollups kept 30 days
    sut = await startTestHub({ rollupRetentionMs: 30 * 24 * 3600_000 });
  });
  afterAll(async () => {
    await sut.close();
  });

  const now = Date.now();
  const fresh = (overrides: Record<string, unknown> = {}) => ({ ...flowRecord({ firstSeen: now - 1000 }), ...overrides });
  const service = fresh().service as Record<string, unknown>;

  it.each([
    ['a 100,000-character Service name', fresh({ service: { ...service, name: 'a'.repeat(100_000) } }), /^record 1, field records\[1\]\.service\.name: at most 63 characters/],
    ['a namespace containing /', fresh({ service: { ...service, namespace: 'shop/evil' } }), /^record 1, field records\[1\]\.service\.namespace: a Kubernetes DNS-1123 label/],
    ['lastSeen = 2^53-1', fresh({ lastSeen: Number.MAX_SAFE_INTEGER }), /^record 1, field records\[1\]\.lastSeen: 9007199254740991 .*after the hub's clock/],
    ['a record older than the rollups are kept', fresh({ firstSeen: now - 31 * 24 * 3600_000, lastSeen: now - 31 * 24 * 3600_000 }), /older than the hub keeps anything/],
  ])('refuses %s with 400, storing nothing', async (_name, record, message) => {
    const res = await sut.request('POST', '/api/ingest', { body: { node: 'node1', sentAt: now, records: [fresh(), record] } });
    expect(res.body).toEqual({ status: 400, code: 'invalid-batch', message: expect.stringMatching(message) });
    expect(await sut.hub.repository.countFlows()).toBe(0);
    expect(await sut.hub.repository.services()).toEqual([]);
  });

  it('stores a batch from a newer agent (fields this hub does not know), drops those fields and counts them', async () => {
    const record = { ...fresh(), tcpRetransmits: 3, service: { ...service, topologyMode: 'Auto' } };
    const res = await sut.request('POST', '/api/ingest', { body: { node: 'node1', sentAt: now, agentVersion: '2.0.0', records: [record] } });
    expect(res).toEqual({ status: 200, body: { records: 1, inserted: 1 } });
    const [stored] = (await sut.hub.repository.flows({ limit: 1 })).flows;
    expect(stored?.flowId).toBe(record.flowId);
    expect(stored).not.toHaveProperty('tcpRetransmits');
    expect(stored?.service).not.toHaveProperty('topologyMode');
    const metrics = await (await fetch(`${sut.hub.url}/metrics`)).text();
    expect(metrics).toMatch(/natlens_hub_unknown_fields_total\{object="records\[\]"\} 1\n/);
    expect(metrics).toMatch(/natlens_hub_unknown_fields_total\{object="records\[\]\.service"\} 1\n/);
    expect(metrics).toMatch(/natlens_hub_unknown_fields_total\{object="\(top\)"\} 1\n/);
  });
});
