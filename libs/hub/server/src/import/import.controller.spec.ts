import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServiceEvidence } from '@natlens/shared-analysis';
import type { FlowRecord } from '@natlens/shared-model';
import { LAB_SEEDS_INVENTORY } from '@natlens/shared-cluster/testing';
import { startTestHub, TEST_INGEST_TOKEN, TEST_READ_TOKEN, type TestHub } from '../testing';
import type { ImportResult } from './import.service';

// Captures made in the lab (libs/agent/pcap/src/fixtures/README.md says how each was made).
const FIXTURES = join(__dirname, '..', '..', '..', '..', 'agent', 'pcap', 'src', 'fixtures');
const fixture = (name: string) => readFileSync(join(FIXTURES, name));

describe('POST /api/import (real hub, SQLite, the seeds lab inventory)', () => {
  let sut: TestHub;
  beforeAll(async () => {
    sut = await startTestHub({ inventory: LAB_SEEDS_INVENTORY });
  });
  afterAll(async () => {
    await sut?.close();
  });

  async function upload(body: Buffer, query: string, options: { token?: string; contentType?: string } = {}): Promise<{ status: number; body: ImportResult & { code?: string } }> {
    const res = await fetch(`${sut.hub.url}/api/import?${query}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${options.token ?? TEST_INGEST_TOKEN}`, 'Content-Type': options.contentType ?? 'application/octet-stream' },
      body,
    });
    return { status: res.status, body: (await res.json()) as ImportResult & { code?: string } };
  }

  it('imports a PROXY v2 capture as proxied records of the node, with the real client in the evidence', async () => {
    const file = fixture('lb-proxy-protocol-node1-any.pcap');
    const res = await upload(file, 'node=node1&name=lb-proxy-protocol-node1-any.pcap');
    expect(res.status).toBe(200);
    expect(res.body as ImportResult).toMatchObject({ file: 'lb-proxy-protocol-node1-any.pcap', node: 'node1', format: 'pcap', bytes: file.length, packets: 36, connections: 1, records: 1, sent: 1, inserted: 1, errorCount: 0, byVerdict: { proxied: 1 } });
    const flows = (await sut.request('GET', '/api/flows?node=node1&verdict=proxied&limit=10')).body as { flows: FlowRecord[] };
    expect(flows.flows).toEqual([expect.objectContaining({ source: 'pcap', realClient: { ip: '198.51.100.79', port: expect.any(Number) }, original: expect.objectContaining({ src: '198.18.0.254' }) })]);
    const first = flows.flows[0] as FlowRecord;
    const evidence = (await sut.request('GET', `/api/services/default/web/evidence?from=${first.firstSeen - 1000}&to=${first.firstSeen + 1000}`)).body as ServiceEvidence;
    expect(evidence.clients).toMatchObject({ distinctOriginal: 1, viaProxy: 1 });

    // the same file again changes nothing
    const again = await upload(file, 'node=node1&format=pcap');
    expect(again.body).toMatchObject({ records: 1, inserted: 0 });
  });

  it.each([
    ['np-cluster-node3.conntrack.xml', 'conntrack-xml'],
    ['np-cluster-node3-eth0-nano.be.pcapng', 'pcapng'],
  ])('tells the format of %s from its bytes', async (name, format) => {
    const res = await upload(fixture(name), `node=node3&name=${name}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ format, errorCount: 0 });
    expect((res.body as ImportResult).records).toBeGreaterThan(0);
  });

  it('reports a damaged capture with the byte offset and keeps what it could read', async () => {
    const bytes = fixture('np-local-node3-any-drop.pcap');
    const res = await upload(bytes.subarray(0, bytes.length - 20), 'node=node3');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ packets: 1, errorCount: 1, records: 1, sent: 1, byVerdict: { 'dropped-no-local-endpoint': 1 } });
    expect((res.body as ImportResult).errors[0]).toMatchObject({ offset: bytes.length - 20, message: expect.any(String) });
  });

  it('reads a file with a wrong magic number as conntrack text and names the lines it could not use', async () => {
    const res = await upload(Buffer.from('\u0000\u0001garbage that is no capture\nnor a conntrack line\n'), 'node=node3&name=junk.bin');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ format: 'conntrack-text', records: 0 });
    expect((res.body as ImportResult).errorCount).toBeGreaterThan(0);
    expect((res.body as ImportResult).errors[0]?.offset).toBe(0);
  });

  it('reads 10 MB of unclosed <flow> tags in a worker: errors listed (20) and counted, /healthz answering throughout', async () => {
    const flows = 1_750_000; // 6 bytes each: 10.5 MB
    const body = Buffer.from(`<?xml version="1.0" encoding="utf-8"?>\n<conntrack>\n${'<flow>'.repeat(flows)}`);
    const started = Date.now();
    let done = false;
    const importing = upload(body, 'node=node3&name=unclosed.xml').finally(() => (done = true));
    const health: number[] = [];
    while (!done) {
      const asked = Date.now();
      const res = await fetch(`${sut.hub.url}/healthz`);
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      health.push(Date.now() - asked);
      await new Promise((r) => setTimeout(r, 50));
    }
    const res = await importing;
    const tookMs = Date.now() - started;
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ format: 'conntrack-xml', bytes: body.length, records: 0, errorCount: flows });
    expect((res.body as ImportResult).errors).toHaveLength(20);
    expect((res.body as ImportResult).errors[0]).toMatchObject({ offset: body.indexOf('<flow>'), message: expect.stringMatching(/<\/flow> before the next <flow>/) });
    // the event loop stayed free: /healthz was asked again and again while the worker read, and answered quickly
    expect(health.length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...health)).toBeLessThan(2000);
    expect(tookMs).toBeLessThan(60_000); // the regex parser needed 6.5 s for 144 KB of these, quadratically more for 10 MB
  }, 120_000);

  it.each([
    ['no node', '', 'application/octet-stream', TEST_INGEST_TOKEN, 400, 'invalid-import-query'],
    ['an unknown format', 'node=node1&format=tar', 'application/octet-stream', TEST_INGEST_TOKEN, 400, 'invalid-import-query'],
    ['a JSON body', 'node=node1', 'application/json', TEST_INGEST_TOKEN, 415, 'import-not-raw'],
    ['a read token', 'node=node1', 'application/octet-stream', TEST_READ_TOKEN, 403, 'token-rejected'],
  ])('refuses %s with a status and a code', async (_name, query, contentType, token, status, code) => {
    const res = await upload(Buffer.from('{}'), query, { contentType, token });
    expect(res.status).toBe(status);
    expect(res.body).toMatchObject({ status, code, message: expect.any(String) });
  });
});
