import type { EvidenceCounts } from '@natlens/shared-analysis';
import type { FlowRecord } from '@natlens/shared-model';
import { flowRecord } from '../testing';
import { InvalidCursorError, type FlowRepository } from './flow-repository';
import { LATEST_SCHEMA_VERSION } from './migrations';

/*
 * The behaviour every FlowRepository must have. Run by sqlite-flow.repository.spec.ts and
 * postgres-flow.repository.spec.ts against real databases; `open` returns a fresh, migrated, empty store.
 */

const T0 = 1_700_000_040_000; // 40 s into a minute, so windows cross minute boundaries
const web = { namespace: 'default', name: 'web' };
const api = { namespace: 'default', name: 'api' };
const ALL = { from: 0, to: 2_000_000_000_000 };

function sorted(counts: EvidenceCounts): EvidenceCounts {
  return { ...counts, rows: [...counts.rows].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))) };
}

/** A mixed, deterministic workload over 5 minutes: 3 nodes, 4 pods, SNAT and not, both legs, 20 clients. */
function workload(): FlowRecord[] {
  const records: FlowRecord[] = [];
  const pods = [
    { pod: 'web-1', node: 'node1', ip: '198.19.1.11' },
    { pod: 'web-2', node: 'node1', ip: '198.19.1.12' },
    { pod: 'web-3', node: 'node2', ip: '198.19.2.11' },
    { pod: 'web-4', node: 'node2', ip: '198.19.2.12' },
  ];
  for (let i = 0; i < 240; i++) {
    const entryNode = `node${(i % 3) + 1}`;
    const endpoint = pods[(i * 7) % 4] ?? pods[0];
    const client = `198.51.100.${(i % 20) + 1}`;
    const seenAs = i % 2 === 0 ? `198.18.0.1${(i % 3) + 1}` : client;
    const firstSeen = T0 + i * 1250;
    records.push(flowRecord({ node: entryNode, firstSeen, endpoint, client, seenAs, dst: `198.18.0.1${(i % 3) + 1}` }));
    if (endpoint && endpoint.node !== entryNode) {
      records.push(flowRecord({ node: endpoint.node, firstSeen: firstSeen + 1, endpoint, client: seenAs, leg: 'forwarded', clientKind: seenAs === client ? 'external' : 'node' }));
    }
  }
  return records;
}

export function flowRepositoryContract(open: () => Promise<FlowRepository>): void {
  let sut: FlowRepository;
  beforeEach(async () => {
    sut = await open();
  });
  afterEach(async () => {
    await sut.close();
  });

  it('migrates idempotently', async () => {
    expect(await sut.migrate()).toBe(LATEST_SCHEMA_VERSION);
    expect(await sut.migrate()).toBe(LATEST_SCHEMA_VERSION);
  });

  it('stores a batch and counts entry legs only', async () => {
    const entry = flowRecord({ node: 'node3', firstSeen: T0, seenAs: '198.18.0.13', endpoint: { pod: 'web-1', node: 'node1', ip: '198.19.1.11' } });
    const forwarded = flowRecord({ node: 'node1', firstSeen: T0 + 1, client: '198.18.0.13', clientKind: 'node', leg: 'forwarded', endpoint: { pod: 'web-1', node: 'node1', ip: '198.19.1.11' } });
    expect(await sut.ingest([entry, forwarded])).toEqual({ records: 2, inserted: 2 });
    expect(await sut.countFlows()).toBe(2);
    const counts = await sut.evidenceCounts(web, ALL);
    expect(counts).toEqual({
      rows: [{ node: 'node3', entry: 'nodePort', verdict: 'snat-expected', clientKind: 'external', snat: true, snatAddress: '198.18.0.13', endpoint: { namespace: 'default', pod: 'web-1', node: 'node1' }, connections: 1 }],
      distinctOriginal: 1,
      distinctSeenByPods: 1,
    });
  });

  it('reports the addresses the pods saw for proxied connections, in the window, entry legs only', async () => {
    // two proxies (their addresses are what the pods see) naming clients in headers, one direct client, and a
    // forwarded leg whose source is the entry node: only the proxies are proxy addresses
    const proxied = (seenAs: string, firstSeen: number): FlowRecord => ({ ...flowRecord({ firstSeen, client: seenAs }), verdict: 'proxied', realClient: { ip: '203.0.113.77' } });
    await sut.ingest([
      proxied('192.0.2.10', T0),
      proxied('192.0.2.10', T0 + 10),
      proxied('192.0.2.11', T0 + 20),
      flowRecord({ firstSeen: T0 + 30, client: '198.51.100.5' }),
      { ...flowRecord({ node: 'node2', firstSeen: T0 + 40, client: '198.18.0.11', clientKind: 'node', leg: 'forwarded' }), realClient: { ip: '203.0.113.77' } },
      proxied('192.0.2.12', T0 + 60_000),
      { ...proxied('192.0.2.13', T0 + 50), service: { ...(flowRecord().service as NonNullable<FlowRecord['service']>), name: 'api' } },
    ]);
    expect(await sut.proxyAddresses(web, { from: T0, to: T0 + 1000 })).toEqual(['192.0.2.10', '192.0.2.11']);
    expect(await sut.proxyAddresses(web, ALL)).toEqual(['192.0.2.10', '192.0.2.11', '192.0.2.12']);
    expect(await sut.proxyAddresses(api, ALL)).toEqual(['192.0.2.13']);
    expect(await sut.proxyAddresses(web, { from: 0, to: T0 })).toEqual([]);
  });

  it('gives back the NAT failures of the window with their reasons, per Service or all, re-sent ones once', async () => {
    const failed = (node: string, firstSeen: number, natFailure?: FlowRecord['natFailure'], name = 'web'): FlowRecord => ({
      ...flowRecord({ node, firstSeen }),
      verdict: 'dropped-nat-failure',
      service: { ...(flowRecord().service as NonNullable<FlowRecord['service']>), name },
      ...(natFailure ? { natFailure } : {}),
    });
    const batch = [
      failed('node1', T0, { reason: 'nat-port-exhausted', kernelReason: 'NETFILTER_DROP', observed: true }),
      failed('node1', T0 + 10, { reason: 'insert-failed', observed: false }),
      failed('node2', T0 + 20),
      failed('node1', T0 + 30, { reason: 'insert-failed', observed: true }, 'api'),
      flowRecord({ firstSeen: T0 + 40 }),
      failed('node1', T0 + 120_000, { reason: 'table-full', observed: true }),
    ];
    await sut.ingest(batch);
    await sut.ingest(batch);
    const window = { from: T0, to: T0 + 1000 };
    const rows = (list: Awaited<ReturnType<FlowRepository['natFailures']>>) => list.map((r) => [r.service.name, r.node, r.natFailure?.reason, r.natFailure?.observed]).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    expect(rows(await sut.natFailures(window, web))).toEqual([
      ['web', 'node1', 'insert-failed', false],
      ['web', 'node1', 'nat-port-exhausted', true],
      ['web', 'node2', undefined, undefined],
    ]);
    expect(rows(await sut.natFailures(window))).toEqual([['api', 'node1', 'insert-failed', true], ...rows(await sut.natFailures(window, web))]);
    expect((await sut.natFailures(ALL, web)).find((r) => r.natFailure?.reason === 'nat-port-exhausted')?.natFailure).toEqual({ reason: 'nat-port-exhausted', kernelReason: 'NETFILTER_DROP', observed: true });
    expect((await sut.evidenceCounts(web, window, 'raw')).rows.filter((r) => r.verdict === 'dropped-nat-failure').reduce((n, r) => n + r.connections, 0)).toBe(3);
  });

  it('a re-sent batch changes nothing', async () => {
    const batch = workload();
    await sut.ingest(batch);
    const before = await sut.evidenceCounts(web, ALL);
    expect(await sut.ingest(batch)).toEqual({ records: batch.length, inserted: 0 });
    expect(await sut.countFlows()).toBe(batch.length);
    expect(await sut.evidenceCounts(web, ALL)).toEqual(before);
  });

  it('duplicates inside one batch count once', async () => {
    const record = flowRecord({ firstSeen: T0 });
    expect(await sut.ingest([record, record, { ...record, lastSeen: record.lastSeen + 10 }])).toEqual({ records: 1, inserted: 1 });
    expect((await sut.evidenceCounts(web, ALL)).rows.map((r) => r.connections)).toEqual([1]);
  });

  it('an updated record replaces the stored one and keeps its count', async () => {
    const record = flowRecord({ firstSeen: T0 });
    await sut.ingest([record]);
    const ended: FlowRecord = { ...record, lastSeen: record.lastSeen + 30_000, ended: true, state: 'TIME_WAIT', counters: { original: { packets: 6, bytes: 420 }, reply: { packets: 4, bytes: 900 } } };
    expect(await sut.ingest([ended])).toEqual({ records: 1, inserted: 0 });
    expect((await sut.flows({ limit: 10 })).flows).toEqual([ended]);
    expect((await sut.evidenceCounts(web, ALL)).rows.map((r) => r.connections)).toEqual([1]);
  });

  it('a re-sent record whose dimensions changed moves its count instead of adding one', async () => {
    const record = flowRecord({ firstSeen: T0 });
    await sut.ingest([record]);
    await sut.ingest([{ ...record, verdict: 'proxied', firstSeen: T0 + 60_000 }]);
    const counts = await sut.evidenceCounts(web, ALL);
    expect(counts.rows.map((r) => [r.verdict, r.connections])).toEqual([['proxied', 1]]);
  });

  it.each([
    ['the whole range', ALL],
    ['whole minutes only', { from: Math.ceil(T0 / 60_000) * 60_000, to: Math.ceil(T0 / 60_000) * 60_000 + 120_000 }],
    ['partial minutes at both edges', { from: T0 + 10_000, to: T0 + 200_000 }],
    ['inside one minute', { from: T0 + 1_000, to: T0 + 15_000 }],
  ])('rollup evidence equals a raw scan: %s', async (_name, window) => {
    await sut.ingest(workload());
    const fromRollups = sorted(await sut.evidenceCounts(web, window, 'rollups'));
    const fromRaw = sorted(await sut.evidenceCounts(web, window, 'raw'));
    expect(fromRollups).toEqual(fromRaw);
    expect(fromRaw.rows.length).toBeGreaterThan(0);
  });

  describe('long windows (whole hours from flow_hour, distinct clients from their latest hour)', () => {
    const HOUR = 3_600_000;
    // ≈ 68 hours of records every 10m17s: 30 clients, half SNATed, four pods on two nodes
    const spread = () =>
      Array.from({ length: 400 }, (_, i) => {
        const client = `198.51.100.${(i % 30) + 1}`;
        const endpoint = { pod: `web-${(i % 4) + 1}`, node: `node${(i % 2) + 1}`, ip: `198.19.${(i % 2) + 1}.${11 + (i % 4)}` };
        return flowRecord({ node: `node${(i % 3) + 1}`, firstSeen: T0 + i * 617_000, client, seenAs: i % 2 === 0 ? '198.18.0.11' : client, endpoint });
      });
    const newest = T0 + 399 * 617_000;
    const hourStart = Math.ceil(T0 / HOUR) * HOUR;

    it.each([
      ['every hour, ending after the newest record', { from: T0 - HOUR, to: T0 + 80 * HOUR }],
      ['hours and minutes cut at both edges', { from: T0 + 5 * HOUR + 17_000, to: T0 + 50 * HOUR + 33_000 }],
      ['ending just after the newest record', { from: T0 + 90_000, to: newest + 1 }],
      ['ending at the newest record (which is outside)', { from: T0 + 2 * HOUR + 1, to: newest }],
      ['ending inside the newest minute, before its record', { from: T0, to: newest - 1 }],
      ['a whole day of whole hours', { from: hourStart, to: hourStart + 24 * HOUR }],
    ])('%s: evidence and the Service list equal a raw scan', async (_name, window) => {
      await sut.ingest(spread());
      const fromRollups = sorted(await sut.evidenceCounts(web, window, 'rollups'));
      const fromRaw = sorted(await sut.evidenceCounts(web, window, 'raw'));
      expect(fromRollups).toEqual(fromRaw);
      expect(fromRaw.distinctOriginal).toBeGreaterThan(0);
      const [listed] = await sut.serviceCounts(window);
      expect(listed?.connections).toBe(fromRaw.rows.reduce((sum, r) => sum + r.connections, 0));
    });

    it('a re-sent record that takes a client\'s only connection of its latest hour away: counts stay exact, before and after retention recomputes that hour', async () => {
      const early = flowRecord({ firstSeen: T0, client: '198.51.100.1' });
      const late = flowRecord({ firstSeen: T0 + 3 * HOUR, client: '198.51.100.1' });
      const other = flowRecord({ firstSeen: T0 + 3 * HOUR + 1000, client: '198.51.100.2' });
      await sut.ingest([early, late, other]);
      // the late connection re-sent as another client's (its header was read later, say): .1's latest hour empties
      await sut.ingest([{ ...late, lastSeen: late.lastSeen + 1000, original: { ...late.original, src: '198.51.100.3' }, translated: { ...late.translated, src: '198.51.100.3' } }]);
      const windows = [ALL, { from: T0 + HOUR, to: ALL.to }, { from: T0 - 30_000, to: T0 + 4 * HOUR }];
      const check = async (expected: number[]) => {
        for (const window of windows) expect(sorted(await sut.evidenceCounts(web, window, 'rollups'))).toEqual(sorted(await sut.evidenceCounts(web, window, 'raw')));
        expect(await Promise.all(windows.map(async (w) => (await sut.evidenceCounts(web, w)).distinctOriginal))).toEqual(expected);
      };
      await check([3, 2, 3]);
      await sut.deleteExpired({ rawBefore: 0, rollupsBefore: 0 });
      await check([3, 2, 3]);
    });

    it('proxy addresses from whole hours (proxy_hour) and raw edges equal a raw scan, through re-sends and retention', async () => {
      // every 13 minutes for ≈ 10 hours a proxied connection through one of five proxies (changing every ~90 min),
      // between them direct clients and forwarded legs, which name no proxy
      const proxied = (i: number): FlowRecord => ({ ...flowRecord({ firstSeen: T0 + i * 780_000, client: `192.0.2.${10 + (Math.floor(i / 7) % 5)}` }), verdict: 'proxied', realClient: { ip: '203.0.113.77' } });
      const records = Array.from({ length: 46 }, (_, i) => proxied(i));
      const others = [flowRecord({ firstSeen: T0 + 100_000, client: '198.51.100.5' }), { ...flowRecord({ node: 'node2', firstSeen: T0 + 200_000, client: '198.18.0.11', clientKind: 'node', leg: 'forwarded' }), realClient: { ip: '203.0.113.77' } }];
      // and one connection, alone in its hour, through a proxy seen nowhere else
      const lonely = { ...flowRecord({ firstSeen: hourStart + 20 * HOUR + 600_000, client: '192.0.2.50' }), verdict: 'proxied' as const, realClient: { ip: '203.0.113.78' } };
      await sut.ingest([...records, ...others, lonely]);
      // re-sent: the only connection of proxy .14 in its first hour no longer proxied, and one of .10's now seen from .99
      const first14 = records[28] as FlowRecord;
      const moved = records[3] as FlowRecord;
      const { realClient: _dropped, ...unproxied } = first14;
      const { realClient: _alsoDropped, ...lonelyUnproxied } = lonely;
      await sut.ingest([
        { ...unproxied, verdict: 'preserved', lastSeen: first14.lastSeen + 1 },
        { ...lonelyUnproxied, verdict: 'preserved', lastSeen: lonely.lastSeen + 1 },
        { ...moved, lastSeen: moved.lastSeen + 1, translated: { ...moved.translated, src: '192.0.2.99' } },
      ]);
      const windows = [
        ALL,
        { from: T0 + 5_000, to: T0 + 6 * HOUR + 77_000 },
        { from: hourStart, to: hourStart + 3 * HOUR },
        { from: hourStart + 4 * HOUR + 1_000, to: hourStart + 4 * HOUR + 20 * 60_000 },
        { from: T0 + 22 * 780_000, to: T0 + 29 * 780_000 },
        { from: hourStart + 20 * HOUR, to: hourStart + 21 * HOUR },
      ];
      const answers = async () => Promise.all(windows.map((w) => sut.proxyAddresses(web, w)));
      const before = await answers();
      expect(before).toEqual(await Promise.all(windows.map((w) => sut.proxyAddresses(web, w, 'raw'))));
      expect(before[0]).toEqual(['192.0.2.10', '192.0.2.11', '192.0.2.12', '192.0.2.13', '192.0.2.14', '192.0.2.99']);
      expect(before[4]).toEqual(['192.0.2.13']); // .14's first connection was re-sent unproxied
      expect(before[5]).toEqual([]); // so was .50's only one: its hour row holds no connection
      // raw records expire first: whole hours still know their proxies, and raw scans no longer do
      await sut.deleteExpired({ rawBefore: hourStart + 3 * HOUR, rollupsBefore: 0 });
      expect(await sut.proxyAddresses(web, windows[2] as { from: number; to: number })).toEqual(before[2]);
      expect(await sut.proxyAddresses(web, windows[2] as { from: number; to: number }, 'raw')).toEqual([]);
      // rollups expire by whole hours: the hour the cutoff falls in stays
      const removed = await sut.deleteExpired({ rawBefore: 0, rollupsBefore: hourStart + HOUR + 30 * 60_000 });
      expect(removed.rollups).toBeGreaterThan(0);
      const fromCutoffHour = await sut.proxyAddresses(web, { from: hourStart + HOUR, to: hourStart + 2 * HOUR });
      expect(fromCutoffHour.length).toBeGreaterThan(0);
      expect(await sut.proxyAddresses(web, { from: hourStart - HOUR, to: hourStart + HOUR })).toEqual([]);
    });

    it('expiring rollups keeps the hour the cutoff falls in equal to its remaining minutes', async () => {
      const minute5 = flowRecord({ firstSeen: hourStart + 5 * 60_000, client: '198.51.100.5' });
      const minute50 = flowRecord({ firstSeen: hourStart + 50 * 60_000, client: '198.51.100.50' });
      const later = flowRecord({ firstSeen: hourStart + 2 * HOUR + 60_000, client: '198.51.100.50' });
      await sut.ingest([minute5, minute50, later]);
      const removed = await sut.deleteExpired({ rawBefore: 0, rollupsBefore: hourStart + 30 * 60_000 });
      // minute 5's flow_minute row and its two client_minute rows (its client's latest hour is the cutoff's own hour)
      expect(removed.rollups).toBe(3);
      const wholeHours = { from: hourStart, to: hourStart + 3 * HOUR };
      const counts = await sut.evidenceCounts(web, wholeHours);
      expect(counts.rows.reduce((sum, r) => sum + r.connections, 0)).toBe(2);
      expect([counts.distinctOriginal, counts.distinctSeenByPods]).toEqual([1, 1]);
      expect((await sut.serviceCounts(wholeHours))[0]?.connections).toBe(2);
    });
  });

  it('counts distinct clients as sent and as seen by pods', async () => {
    await sut.ingest(workload());
    const counts = await sut.evidenceCounts(web, ALL);
    expect(counts.distinctOriginal).toBe(20);
    // odd i keep the client (10 odd clients of 20), even i are SNATed to one of 3 node addresses
    expect(counts.distinctSeenByPods).toBe(13);
    expect(counts.rows.reduce((sum, r) => sum + r.connections, 0)).toBe(240);
  });

  it('counts the real client a proxy named as the client as sent, the same from rollups and raw records', async () => {
    // A proxying LB (198.18.0.254) opens every connection; 15 of 45 name one of 5 real clients in a PROXY header.
    const LB = '198.18.0.254';
    const batch: FlowRecord[] = [];
    for (let i = 0; i < 45; i++) {
      const record = flowRecord({ firstSeen: T0 + i * 4000, client: LB, service: { namespace: 'default', name: 'web', entry: 'loadBalancer' } });
      batch.push(i % 3 === 0 ? { ...record, verdict: 'proxied', realClient: { ip: `198.51.100.${100 + (i % 5)}`, port: 40_000 + i } } : record);
    }
    await sut.ingest(batch);
    for (const window of [ALL, { from: T0 + 10_000, to: T0 + 150_000 }]) {
      expect(sorted(await sut.evidenceCounts(web, window, 'rollups'))).toEqual(sorted(await sut.evidenceCounts(web, window, 'raw')));
    }
    const counts = await sut.evidenceCounts(web, ALL);
    expect([counts.distinctOriginal, counts.distinctSeenByPods]).toEqual([6, 1]); // the LB itself for the other 30
    expect(counts.rows.map((r) => [r.verdict, r.connections]).sort()).toEqual([['preserved', 30], ['proxied', 15]]);
    // the real client is kept in the record and found by the client filter
    const named = batch.filter((r) => r.realClient?.ip === '198.51.100.103').reverse();
    expect(named).toHaveLength(3);
    expect((await sut.flows({ client: '198.51.100.103', limit: 10 })).flows).toEqual(named);
    // a re-send without the header (say, the capture's view was lost) moves the count back to the LB
    await sut.ingest(batch.map((r) => ({ ...r, verdict: 'preserved' as const, realClient: undefined })).map(({ realClient: _, ...r }) => r));
    const after = await sut.evidenceCounts(web, ALL);
    expect([after.distinctOriginal, after.distinctSeenByPods]).toEqual([1, 1]);
    expect(sorted(await sut.evidenceCounts(web, ALL, 'rollups'))).toEqual(sorted(await sut.evidenceCounts(web, ALL, 'raw')));
  });

  it('pages through flows newest first with filters and a cursor', async () => {
    const batch = workload();
    await sut.ingest(batch);
    const expected = batch.filter((r) => r.node === 'node2').sort((a, b) => b.firstSeen - a.firstSeen || b.flowId.localeCompare(a.flowId));
    const seen: FlowRecord[] = [];
    let cursor: string | undefined;
    do {
      const page = await sut.flows({ node: 'node2', limit: 7, ...(cursor ? { cursor } : {}) });
      expect(page.flows.length).toBeLessThanOrEqual(7);
      seen.push(...page.flows);
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen.map((r) => r.flowId)).toEqual(expected.map((r) => r.flowId));
  });

  it.each([
    ['service', { service: api }, (r: FlowRecord) => r.service?.name === 'api'],
    ['client', { client: '198.51.100.3' }, (r: FlowRecord) => r.original.src === '198.51.100.3'],
    ['verdict', { verdict: 'snat-expected' as const }, (r: FlowRecord) => r.verdict === 'snat-expected'],
    ['window', { from: T0 + 10_000, to: T0 + 20_000 }, (r: FlowRecord) => r.firstSeen >= T0 + 10_000 && r.firstSeen < T0 + 20_000],
  ])('filters flows by %s', async (_name, filter, predicate) => {
    const batch = [...workload(), flowRecord({ firstSeen: T0, service: api }), flowRecord({ firstSeen: T0 + 5, service: api })];
    await sut.ingest(batch);
    const page = await sut.flows({ ...filter, limit: 1000 });
    expect(page.flows.map((r) => r.flowId).sort()).toEqual(batch.filter(predicate).map((r) => r.flowId).sort());
    expect(page.nextCursor).toBeUndefined();
  });

  it('gives back every field of a record, optional ones included', async () => {
    const base = flowRecord({ firstSeen: T0, ended: true, service: { ...web, type: 'LoadBalancer', policy: 'Local', entry: 'loadBalancer' } });
    const full: FlowRecord = {
      ...base,
      source: 'ebpf',
      portRemap: true,
      counters: { original: { packets: 3, bytes: 180 }, reply: { packets: 2, bytes: 4096 } },
      service: { ...(base.service as NonNullable<FlowRecord['service']>), portName: 'http', expectClientIP: true, via: 'nodePort', viaBasis: 'health-check-prober' },
      endpoint: { namespace: 'other', pod: 'web-9', ip: '198.19.9.9', port: 8443 },
      client: { ip: '198.51.100.7', kind: 'pod', name: 'client-0' },
      realClient: { ip: '203.0.113.5', port: 51000 },
      entryNode: 'node2',
      zone: 7,
    };
    const bare: FlowRecord = { ...flowRecord({ firstSeen: T0 + 1, verdict: 'not-service' }), service: undefined, endpoint: undefined, state: undefined };
    delete bare.service;
    delete bare.endpoint;
    delete bare.state;
    await sut.ingest([full, bare]);
    const page = await sut.flows({ limit: 10 });
    expect(page.flows).toEqual([bare, full]);
    // absent optional fields come back absent, not as undefined or null
    expect(page.flows.map((r) => Object.keys(r).sort())).toEqual([Object.keys(bare).sort(), Object.keys(full).sort()]);
  });

  it('keeps one UDP tuple in two conntrack zones as two connections, each with its zone, counted like TCP', async () => {
    const inZone = (zone: number): FlowRecord => {
      const record = flowRecord({ firstSeen: T0, dport: 30053 });
      return {
        ...record,
        flowId: `conntrack:x:${zone}:udp:198.51.100.79:20000>198.18.0.11:30053${zone === 0 ? '' : `@z${zone}`}`,
        original: { ...record.original, sport: 20000, proto: 'udp' },
        translated: { ...record.translated, dport: 5353, proto: 'udp' },
        zone,
      };
    };
    const [zone0, zone7] = [inZone(0), inZone(7)];
    expect(await sut.ingest([zone0, zone7])).toEqual({ records: 2, inserted: 2 });
    expect(await sut.ingest([zone7])).toEqual({ records: 1, inserted: 0 }); // idempotent by (node, flowId)
    const stored = (await sut.flows({ limit: 10 })).flows;
    expect(stored.map((r) => r.zone).sort()).toEqual([0, 7]);
    expect(stored.find((r) => r.zone === 7)).toEqual(zone7);
    expect((await sut.evidenceCounts(web, ALL)).rows.reduce((sum, r) => sum + r.connections, 0)).toBe(2);
  });

  it('takes concurrent batches from several nodes that touch the same rollup rows', async () => {
    // Same Service, minutes and client addresses on every node, in a different order per node.
    const batches = [1, 2, 3].map((n) => {
      const batch = Array.from({ length: 200 }, (_, i) => flowRecord({ node: `node${n}`, firstSeen: T0 + i * 1000, client: `198.51.100.${(i % 20) + 1}`, seenAs: `198.18.0.1${n}` }));
      return n === 2 ? batch.reverse() : batch;
    });
    await Promise.all(batches.map((batch) => sut.ingest(batch)));
    const counts = await sut.evidenceCounts(web, ALL);
    expect(counts.rows.reduce((sum, r) => sum + r.connections, 0)).toBe(600);
    expect(sorted(counts)).toEqual(sorted(await sut.evidenceCounts(web, ALL, 'raw')));
  });

  it('rejects a cursor it did not issue', async () => {
    await expect(sut.flows({ limit: 5, cursor: 'bm90IGEgY3Vyc29y' })).rejects.toBeInstanceOf(InvalidCursorError);
  });

  it('remembers each Service with the type and policy of its latest record', async () => {
    await sut.ingest([
      flowRecord({ firstSeen: T0, lastSeen: T0 + 10, service: { ...web, type: 'NodePort', policy: 'Cluster' } }),
      flowRecord({ firstSeen: T0, lastSeen: T0 + 20, service: { ...web, type: 'LoadBalancer', policy: 'Local' } }),
      flowRecord({ firstSeen: T0, service: api }),
    ]);
    await sut.ingest([flowRecord({ firstSeen: T0, lastSeen: T0 + 15, service: { ...web, type: 'NodePort', policy: 'Cluster' } })]);
    expect((await sut.services()).map((s) => `${s.name}:${s.type}:${s.externalTrafficPolicy}`)).toEqual(['api:NodePort:Cluster', 'web:LoadBalancer:Local']);
    expect(await sut.service(web)).toEqual({ ...web, type: 'LoadBalancer', externalTrafficPolicy: 'Local', expectClientIP: false, lastSeen: T0 + 20 });
    expect(await sut.service({ namespace: 'default', name: 'nope' })).toBeUndefined();
  });

  it('summarises every Service from rollups', async () => {
    await sut.ingest([...workload(), flowRecord({ firstSeen: T0, service: api, seenAs: '198.18.0.12' })]);
    const counts = await sut.serviceCounts(ALL);
    expect(counts.map((c) => [c.name, c.connections, c.external, c.snatted])).toEqual([
      ['api', 1, 1, 1],
      ['web', 240, 240, 120],
    ]);
    expect(counts[1]?.byVerdict).toEqual({ 'snat-expected': 120, preserved: 120 });
  });

  it('keeps the newest version of a flow when an older one arrives later (batches out of order)', async () => {
    const newer = flowRecord({ flowId: 'ooo-1', firstSeen: T0, lastSeen: T0 + 9000, ended: true, verdict: 'snat-expected', seenAs: '198.18.0.12' });
    const older = flowRecord({ flowId: 'ooo-1', firstSeen: T0, lastSeen: T0 + 1000, verdict: 'preserved' });
    await sut.ingest([newer]);
    await sut.ingest([older]);
    await sut.ingest([older, newer, older]);
    const page = await sut.flows({ limit: 10 });
    expect(page.flows).toEqual([newer]);
    const rows = (await sut.evidenceCounts(web, ALL)).rows;
    expect(rows.map((r) => [r.verdict, r.connections])).toEqual([['snat-expected', 1]]);
    expect(sorted(await sut.evidenceCounts(web, ALL))).toEqual(sorted(await sut.evidenceCounts(web, ALL, 'raw')));
  });

  it('counts a Service the same in the list as in its evidence when the window cuts minutes in half', async () => {
    // records every 7 s over 5 minutes; a window from 1m30s to 3m20s keeps whole minutes and two partial ones
    const start = Math.floor(T0 / 60_000) * 60_000;
    await sut.ingest(Array.from({ length: 43 }, (_, i) => flowRecord({ firstSeen: start + i * 7000, client: `198.51.100.${(i % 9) + 1}` })));
    const window = { from: start + 90_000, to: start + 200_000 };
    const inWindow = Array.from({ length: 43 }, (_, i) => start + i * 7000).filter((t) => t >= window.from && t < window.to).length;
    const [listed] = await sut.serviceCounts(window);
    const evidence = (await sut.evidenceCounts(web, window)).rows.reduce((sum, r) => sum + r.connections, 0);
    expect(listed?.connections).toBe(inWindow);
    expect(evidence).toBe(inWindow);
  });

  it('expires raw records and rollups by their own cutoffs', async () => {
    const old = flowRecord({ firstSeen: T0, lastSeen: T0 + 1 });
    const recent = flowRecord({ firstSeen: T0 + 600_000, lastSeen: T0 + 600_001 });
    await sut.ingest([old, recent]);
    expect(await sut.deleteExpired({ rawBefore: T0 + 300_000, rollupsBefore: 0 })).toEqual({ raw: 1, rollups: 0, services: 0 });
    expect((await sut.flows({ limit: 10 })).flows.map((r) => r.flowId)).toEqual([recent.flowId]);
    // rollups outlive the raw record: the old minute still counts
    expect((await sut.evidenceCounts(web, { from: Math.floor(T0 / 60_000) * 60_000, to: Math.floor(T0 / 60_000) * 60_000 + 60_000 })).rows.map((r) => r.connections)).toEqual([1]);
    const removed = await sut.deleteExpired({ rawBefore: 0, rollupsBefore: T0 + 300_000 });
    expect(removed.rollups).toBe(3); // one flow_minute row, two client_minute rows
    expect(removed.services).toBe(0); // web was last seen after the cutoff
    expect((await sut.evidenceCounts(web, ALL)).rows.map((r) => r.connections)).toEqual([1]);
  });

  it('forgets a Service whose latest record is older than the rollups are kept', async () => {
    await sut.ingest([flowRecord({ firstSeen: T0, lastSeen: T0 + 1, service: api }), flowRecord({ firstSeen: T0 + 600_000, lastSeen: T0 + 600_001 })]);
    expect(await sut.deleteExpired({ rawBefore: 0, rollupsBefore: T0 + 300_000 })).toMatchObject({ services: 1 });
    expect((await sut.services()).map((s) => s.name)).toEqual(['web']);
    expect(await sut.service(api)).toBeUndefined();
  });
}
