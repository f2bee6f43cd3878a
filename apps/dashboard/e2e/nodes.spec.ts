import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import type { ConntrackStats, FlowRecord, NodeReport, SnatPortUsage } from '@natlens/shared-model';
import { launchChromium, newPageIn, screenshot, signedIn, type TestBrowser, WIDTHS } from './support/browser';
import { ROOT } from './support/demo-stack';

/*
 * Issue 20 in real headless Chromium: the Nodes page (conntrack entries vs max, failure rates, busiest SNAT pairs,
 * each node's history charted with chart.js) and the NAT failures on a Service's page, from the dashboard
 * (`next start`) in front of a real hub (SQLite, the seeds lab's inventory) fed through its own APIs: node reports
 * (POST /api/nodes/report) and records with verdict dropped-nat-failure (POST /api/ingest). What the pages show
 * must be what GET /api/nodes and the evidence say.
 */
jest.setTimeout(300_000);

const INVENTORY = join(ROOT, 'libs', 'shared', 'cluster', 'src', 'fixtures', 'lab-seeds-inventory.json');

type RunningHub = import('@natlens/hub-server').RunningHub;
type DemoStackModule = typeof import('@natlens/dashboard-launcher');
type NodesResponse = import('@natlens/shared-api').NodesResponse;

let workDir: string;
let hub: RunningHub;
let dashboard: InstanceType<DemoStackModule['DashboardProcess']>;
let dashboardUrl: string;
let chromium: TestBrowser;
let session: BrowserContext;
const ingestToken = randomBytes(24).toString('hex');
const readToken = randomBytes(24).toString('hex');

async function hubRequest<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${hub.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${method === 'GET' ? readToken : ingestToken}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

const stats = (at: number, insertFailed: number, entries: number): ConntrackStats => ({
  at,
  entries,
  max: 1000,
  buckets: 256,
  counters: { found: 0, invalid: 0, insert: 0, insertFailed, drop: 0, earlyDrop: 0, error: 0, searchRestart: 0, clashResolve: 0, chainTooLong: 0 },
});
const pair = (inUse: number, destination: string): SnatPortUsage => ({ snatAddress: '198.18.0.12', destination, destinationPort: 8080, protocol: 'tcp', inUse, range: { min: 40000, max: 40063 }, rangeBasis: 'nat-rule' });
const report = (node: string, at: number, conntrack: ConntrackStats, snatPorts: SnatPortUsage[] = []): NodeReport => ({ version: 1, node, at, intervalMs: 60_000, addresses: [], healthChecks: [], conntrack, snatPorts });

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'natlens-nodes-e2e-'));
  const hubApp = await import('@natlens/hub-server');
  const { flowRecord } = await import('@natlens/hub-server/testing');
  const stack = await import('@natlens/dashboard-launcher');
  const pino = (await import('pino')).default;
  hub = await hubApp.startHub(
    hubApp.hubConfigSchema.parse({ store: `sqlite://${join(workDir, 'natlens.db')}`, port: 0, host: '127.0.0.1', inventory: INVENTORY, ingestTokens: [ingestToken], readTokens: [readToken], logLevel: 'warn' }),
  );
  const now = Date.now();
  // node2: a table filling up (900 → 950 of 1000), insert_failed +10 every 20 s, one SNAT pair at 60 of 64 ports
  for (const [i, at] of [now - 40_000, now - 20_000, now].entries()) {
    await hubRequest('POST', '/api/nodes/report', report('node2', at, stats(at, 100 + i * 10, 900 + i * 25), [pair(20 + i * 20, '198.19.1.11'), pair(8, '198.19.2.11')]));
  }
  await hubRequest('POST', '/api/nodes/report', report('node1', now - 20_000, stats(now - 20_000, 0, 40)));
  await hubRequest('POST', '/api/nodes/report', report('node1', now, stats(now, 0, 50)));
  // default/web: 4 connections dropped on node2 (3 seen by eBPF for want of a SNAT port, 1 estimated), 6 served
  const web = { namespace: 'default', name: 'web', policy: 'Local' as const, type: 'LoadBalancer' as const, entry: 'loadBalancer' as const };
  const failed = (i: number, natFailure: FlowRecord['natFailure']): FlowRecord => ({ ...flowRecord({ node: 'node2', service: web, firstSeen: now - 5000 - i }), verdict: 'dropped-nat-failure', ...(natFailure ? { natFailure } : {}) });
  const records = [
    ...[0, 1, 2].map((i) => failed(i, { reason: 'nat-port-exhausted', kernelReason: 'NETFILTER_DROP', observed: true })),
    failed(3, { reason: 'insert-failed', observed: false }),
    ...Array.from({ length: 6 }, (_, i) => flowRecord({ node: 'node1', service: web, endpoint: { pod: 'web-1', node: 'node1', ip: '198.19.1.11' }, firstSeen: now - 4000 - i })),
  ];
  await hubRequest('POST', '/api/ingest', { node: 'node2', sentAt: now, records: records.filter((r) => r.node === 'node2') });
  await hubRequest('POST', '/api/ingest', { node: 'node1', sentAt: now, records: records.filter((r) => r.node === 'node1') });
  dashboard = new stack.DashboardProcess(workDir, pino({ level: 'warn' }));
  dashboardUrl = await dashboard.start({ port: 0, hubUrl: hub.url, hubToken: readToken });
  chromium = await launchChromium();
  session = await signedIn(chromium.browser, dashboardUrl, readToken);
}, 300_000);

afterAll(async () => {
  await chromium?.close();
  await dashboard?.stop();
  await hub?.close();
  rmSync(workDir, { recursive: true, force: true });
}, 60_000);

async function open(path: string, viewport: { width: number; height: number } = WIDTHS.desktop): Promise<{ page: Page; errors: string[] }> {
  const page = await newPageIn(session, viewport);
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  const res = await page.goto(`${dashboardUrl}${path}`, { waitUntil: 'load' });
  expect(res?.status()).toBe(200);
  return { page, errors };
}

const text = async (page: Page, selector: string) => ((await page.locator(selector).first().textContent()) ?? '').trim();

describe('the Nodes page', () => {
  it.each(Object.entries(WIDTHS))('shows each node\'s table fill, failure rates and busiest SNAT pairs as GET /api/nodes says, and charts their history (%s)', async (width, viewport) => {
    const api = await hubRequest<NodesResponse>('GET', '/api/nodes');
    const node2 = api.nodes.find((n) => n.node === 'node2');
    expect([node2?.conntrack?.fill, node2?.conntrack?.rates.insertFailed, node2?.snatPorts[0]?.usage]).toEqual([0.95, 0.5, 60 / 64]);
    const { page, errors } = await open('/nodes', viewport);
    try {
      expect(await text(page, 'h1')).toBe('Nodes');
      expect(await page.locator('[data-testid="hub-error"]').count()).toBe(0);
      expect(await page.locator('[data-testid="nodes-conntrack"] tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-node')))).toEqual(['node1', 'node2']);
      const row = '[data-testid="nodes-conntrack"] tr[data-node="node2"]';
      expect(await text(page, `${row} [data-col="entries"]`)).toBe('950 / 1,000');
      expect(await text(page, `${row} [data-col="fill"]`)).toBe('95.0%');
      expect(await text(page, `${row} [data-col="insertFailed"]`)).toBe('0.5/s');
      expect(await text(page, `${row} [data-col="snatPeak"]`)).toBe('93.8%');
      expect(await text(page, `${row} [data-col="problems"]`)).toBe('conntrack table nearly full, insert failures, SNAT ports nearly exhausted');
      expect(await text(page, '[data-testid="nodes-conntrack"] tr[data-node="node1"] [data-col="problems"]')).toBe('–');
      expect(await page.locator('[data-testid="snat-pairs"] tbody tr').evaluateAll((rows) => rows.map((r) => [r.getAttribute('data-pair'), r.querySelector('[data-col="inUse"]')?.textContent, r.querySelector('[data-col="usage"]')?.textContent]))).toEqual([
        ['node2|198.18.0.12>198.19.1.11:8080/tcp', '60 / 64', '93.8%'],
        ['node2|198.18.0.12>198.19.2.11:8080/tcp', '8 / 64', '12.5%'],
      ]);
      // the history, one chart per node, from GET /api/nodes/conntrack through the dashboard's proxy
      await page.locator('[data-testid="conntrack-charts"]').waitFor({ timeout: 30_000 });
      expect(await page.locator('[data-testid="conntrack-chart"]').evaluateAll((charts) => charts.map((c) => [c.getAttribute('data-node'), c.getAttribute('data-points'), c.querySelectorAll('canvas').length]))).toEqual([
        ['node1', '2', 1],
        ['node2', '3', 1],
      ]);
      const overflow = await page.evaluate('document.documentElement.scrollWidth - window.innerWidth');
      expect(overflow).toBeLessThanOrEqual(1);
      await screenshot(page, `nodes-${viewport.width}`);
      expect(errors).toEqual([]);
      void width;
    } finally {
      await page.close();
    }
  });

  it('is linked from the navigation', async () => {
    const { page } = await open('/services');
    try {
      await page.locator('nav.main a', { hasText: 'Nodes' }).click();
      await page.waitForURL(/\/nodes/);
      expect(await text(page, 'h1')).toBe('Nodes');
    } finally {
      await page.close();
    }
  });
});

describe('the Service page', () => {
  it('shows the Service\'s NAT failures, observed apart from estimated, with the finding', async () => {
    const { page, errors } = await open('/services/default/web');
    try {
      const panel = '[data-testid="nat-failures"]';
      expect(await text(page, `${panel} [data-count="observed"]`)).toBe('3');
      expect(await text(page, `${panel} [data-count="estimated"]`)).toBe('1');
      expect(await page.locator(`${panel} tbody tr`).evaluateAll((rows) => rows.map((r) => [r.getAttribute('data-failure'), r.querySelector('[data-col="connections"]')?.textContent]))).toEqual([
        ['node2|nat-port-exhausted|observed', '3'],
        ['node2|insert-failed|estimated', '1'],
      ]);
      expect(await page.locator('text=were dropped by conntrack or NAT before reaching a pod').count()).toBeGreaterThan(0);
      await screenshot(page, 'service-nat-failures-1280');
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
