import { LAB_SEEDS_INVENTORY } from '@natlens/shared-cluster/testing';
import { flowBatchSchema, type FlowRecord } from '@natlens/shared-model';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { importChunks, importFile, ImportTooLargeError, type ImportProgress } from './capture-import';
import { ClusterIndex } from '@natlens/shared-cluster';
import { readFileSync } from 'node:fs';

const FIXTURES = join(__dirname, '..', '..', '..', 'pcap', 'src', 'fixtures');

describe('importFile', () => {
  let server: Server;
  let url: string;
  const batches: unknown[] = [];
  let status = 200;

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        batches.push({ auth: req.headers.authorization, path: req.url, body: JSON.parse(body) });
        res.writeHead(status, { 'content-type': 'application/json' }).end(status === 200 ? '{"accepted":1}' : '{"status":400,"code":"bad-record","message":"records.0.verdict: no"}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => server.close());
  beforeEach(() => {
    batches.length = 0;
    status = 200;
  });

  it('posts a capture\'s connections as the named node\'s records, in valid batches with the token', async () => {
    const progress: ImportProgress[] = [];
    const summary = await importFile({ file: join(FIXTURES, 'lb-proxy-protocol-node1-any.pcap'), node: 'node1', hub: { url, token: 't0ken-of-sixteen-chars' }, inventory: LAB_SEEDS_INVENTORY, onProgress: (p) => progress.push(p) });
    expect(summary).toMatchObject({ format: 'pcap', packets: 36, connections: 1, records: 1, sent: 1, errorCount: 0, byVerdict: { proxied: 1 } });
    expect(batches).toHaveLength(1);
    const batch = batches[0] as { auth: string; path: string; body: unknown };
    expect(batch).toMatchObject({ auth: 'Bearer t0ken-of-sixteen-chars', path: '/api/ingest' });
    const parsed = flowBatchSchema.parse(batch.body);
    expect(parsed.node).toBe('node1');
    expect(parsed.records[0]).toMatchObject({ source: 'pcap', verdict: 'proxied', realClient: { ip: '198.51.100.79' }, endpoint: { pod: 'web-1' } });
    expect(progress.at(-1)).toMatchObject({ bytesRead: summary.bytes, bytesTotal: summary.bytes });
  });

  it.each([
    ['conntrack -L -o extended', 'np-cluster-node3.conntrack-extended.txt', 'conntrack-text'],
    ['conntrack -L -o xml', 'np-cluster-node3.conntrack.xml', 'conntrack-xml'],
  ])('imports %s as conntrack records of the node', async (_name, file, format) => {
    const records: FlowRecord[] = [];
    const summary = await importFile({ file: join(FIXTURES, file), node: 'node3', inventory: LAB_SEEDS_INVENTORY, onRecords: (r) => records.push(...r), batchSize: 4 });
    expect(summary).toMatchObject({ format, connections: 9, records: 9, sent: 0, invalid: 0 });
    const nodePort = records.filter((r) => r.service?.name === 'web');
    expect(nodePort).toHaveLength(8);
    // seeds' web is Local policy: these NodePort connections SNATed to node3's address are the unexpected kind
    expect(new Set(nodePort.map((r) => `${r.source}:${r.verdict}:${r.dnat}:${r.snat}`))).toEqual(new Set(['conntrack:snat-unexpected:true:true']));
  });

  it('reports a malformed capture with byte offsets and imports what it can', async () => {
    const { writeFileSync, readFileSync, mkdtempSync, rmSync } = await import('node:fs');
    const dir = mkdtempSync('/tmp/natlens-import-');
    const bytes = Buffer.from(readFileSync(join(FIXTURES, 'np-local-node3-any-drop.pcap')));
    const damaged = join(dir, 'cut.pcap');
    writeFileSync(damaged, bytes.subarray(0, bytes.length - 20));
    const summary = await importFile({ file: damaged, node: 'node3', inventory: LAB_SEEDS_INVENTORY });
    rmSync(dir, { recursive: true });
    expect(summary).toMatchObject({ packets: 1, errorCount: 1, records: 1, byVerdict: { 'dropped-no-local-endpoint': 1 } });
    expect(summary.errors[0]).toMatchObject({ offset: bytes.length - 20 });
  });

  it('stops with the hub\'s answer when a batch is refused', async () => {
    status = 400;
    await expect(importFile({ file: join(FIXTURES, 'lb-proxy-protocol-node1-any.pcap'), node: 'node1', hub: { url } })).rejects.toThrow(/refused a batch of 1 records \(HTTP 400\).*verdict/);
  });

  it('stops a conntrack dump past maxTextBytes with ImportTooLargeError, after delivering the entries before it', async () => {
    const line = readFileSync(join(FIXTURES, 'np-cluster-node3.conntrack-extended.txt'), 'utf8').split('\n')[0] as string;
    async function* chunks() {
      for (let i = 0; i < 50; i++) yield Buffer.from(`${line.replace(/sport=58504/, `sport=${40000 + i}`)}\n`);
    }
    const delivered: FlowRecord[] = [];
    const options = { name: 'big.txt', node: 'node3', index: ClusterIndex.empty(), bytesTotal: 0, batchSize: 5, maxTextBytes: (line.length + 1) * 20, deliver: async (records: FlowRecord[]) => (delivered.push(...records), true) };
    await expect(importChunks(chunks(), options)).rejects.toThrow(ImportTooLargeError);
    expect(delivered).toHaveLength(20);
    expect(new Set(delivered.map((r) => r.original.sport)).size).toBe(20);
  });
});

