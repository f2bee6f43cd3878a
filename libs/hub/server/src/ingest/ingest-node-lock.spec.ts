import type { FlowRecord } from '@natlens/shared-model';
import { flowRecord, startTestHub, startTestPostgres, type TestHub, type TestPostgres } from '../testing';
import { PostgresNodeLock } from './node-lock';

/*
 * HTTP ingest on PostgreSQL under the per-node lock the bus path takes (one path: IngestService), with a real
 * PostgreSQL and the real HTTP server. Without the lock, concurrent batches of one node (an agent's retry after a
 * timeout while the first attempt still commits, an import beside the agent) each read "not stored yet" and add the
 * same connections to the minute rollups twice.
 */
const WINDOW = { from: 1_700_000_000_000 - 60_000, to: 1_700_000_000_000 + 3_600_000 };

describe('HTTP ingest on PostgreSQL takes the per-node lock', () => {
  let pg: TestPostgres;
  let sut: TestHub;
  beforeAll(async () => {
    pg = startTestPostgres();
    sut = await startTestHub({ store: pg.url, maxBodyBytes: 16 << 20 });
  }, 60_000);
  afterAll(async () => {
    await sut?.close();
    pg?.stop();
  });

  const batchOf = (namespace: string, count: number): FlowRecord[] =>
    Array.from({ length: count }, (_, i) => flowRecord({ node: 'node1', service: { namespace, name: 'web' }, firstSeen: 1_700_000_000_000 + i * 10 }));
  const connections = async (namespace: string) => (await sut.hub.repository.serviceCounts(WINDOW)).find((s) => s.namespace === namespace)?.connections;
  const post = (records: FlowRecord[]) => sut.request('POST', '/api/ingest', { body: { node: 'node1', sentAt: Date.now(), records } });

  it('counts a batch sent eight times at once (retries racing the first attempt) once in the rollups', async () => {
    const records = batchOf('race', 400);
    const answers = await Promise.all(Array.from({ length: 8 }, () => post(records)));
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
    // exactly one of them inserted the records, the others found them stored
    expect(answers.map((a) => (a.body as { inserted: number }).inserted).sort((a, b) => b - a)).toEqual([400, 0, 0, 0, 0, 0, 0, 0]);
    expect(await connections('race')).toBe(400);
  }, 60_000);

  it('counts overlapping batches of one node (an import beside the agent) once per record', async () => {
    const records = batchOf('overlap', 600);
    const answers = await Promise.all([post(records.slice(0, 400)), post(records.slice(200, 600)), post(records.slice(100, 500)), post(records)]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    expect(answers.reduce((sum, a) => sum + (a.body as { inserted: number }).inserted, 0)).toBe(600);
    expect(await connections('overlap')).toBe(600);
  }, 60_000);

  it("waits for the node's lock held by another replica's bus path, and only for that node", async () => {
    // Another hub replica storing a node1 batch from NATS holds node1's advisory lock (same class, same key).
    const otherReplica = new PostgresNodeLock(pg.url, 1);
    let release!: () => void;
    try {
      const held = new Promise<void>((resolve) => (release = resolve));
      let locked!: () => void;
      const isLocked = new Promise<void>((resolve) => (locked = resolve));
      const holding = otherReplica.withNodes(['node1'], async () => {
        locked();
        await held;
      });
      await isLocked;
      let node1Done = false;
      const node1 = post(batchOf('waits', 5)).then((answer) => {
        node1Done = true;
        return answer;
      });
      const node2 = await sut.request('POST', '/api/ingest', { body: { node: 'node2', sentAt: Date.now(), records: [flowRecord({ node: 'node2', service: { namespace: 'free', name: 'web' } })] } });
      expect(node2.status).toBe(200);
      await new Promise((r) => setTimeout(r, 500));
      expect(node1Done).toBe(false);
      release();
      await holding;
      expect((await node1).status).toBe(200);
      expect(await connections('waits')).toBe(5);
    } finally {
      release?.();
      await otherReplica.close();
    }
  }, 60_000);
});
