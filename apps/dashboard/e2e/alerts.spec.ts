import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { launchChromium, newPageIn, screenshot, signedIn, type TestBrowser, WIDTHS } from './support/browser';
import { ROOT } from './support/demo-stack';

/*
 * The Alerts page and the Services page's alert badges in real headless Chromium: the dashboard (`next start`, as
 * `natlens demo` runs it) in front of a real hub (SQLite, the seeds lab's inventory) whose alerts come from records
 * sent through its ingest API: default/web fires UnexpectedSNAT and holds LoadImbalance in pending; default/api fires
 * TrafficToNodeWithoutEndpoints and resolves. What the pages show must be what GET /api/alerts says.
 */
jest.setTimeout(300_000);

const INVENTORY = join(ROOT, 'libs', 'shared', 'cluster', 'src', 'fixtures', 'lab-seeds-inventory.json');
const WINDOW_MS = 60_000;

type RunningHub = import('@natlens/hub-server').RunningHub;
type DemoStackModule = typeof import('@natlens/dashboard-launcher');
type AlertsResponse = import('../app/alerts/alerts-types').AlertsResponse;

let workDir: string;
let hub: RunningHub;
let dashboard: InstanceType<DemoStackModule['DashboardProcess']>;
let dashboardUrl: string;
let chromium: TestBrowser;
/** Signed in through the dashboard's sign-in page with a hub read token: every page opens in it. */
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

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'natlens-alerts-e2e-'));
  const hubApp = await import('@natlens/hub-server');
  const { flowRecord } = await import('@natlens/hub-server/testing');
  const stack = await import('@natlens/dashboard-launcher');
  const pino = (await import('pino')).default;
  hub = await hubApp.startHub(
    hubApp.hubConfigSchema.parse({
      store: `sqlite://${join(workDir, 'natlens.db')}`, port: 0, host: '127.0.0.1', inventory: INVENTORY, ingestTokens: [ingestToken], readTokens: [readToken], logLevel: 'warn',
      alertIntervalMs: 200, alertWindowMs: WINDOW_MS,
      alertRules: { LoadImbalance: { forMs: 3600_000 }, TrafficToNodeWithoutEndpoints: { forMs: 0 } },
    }),
  );
  const now = Date.now();
  const web = { namespace: 'default', name: 'web', policy: 'Local' as const, type: 'LoadBalancer' as const, entry: 'loadBalancer' as const };
  const api = { namespace: 'default', name: 'api', policy: 'Cluster' as const, type: 'NodePort' as const, entry: 'nodePort' as const };
  // web: 60 connections, all served by web-3 and SNAT'd (Local policy): UnexpectedSNAT fires, LoadImbalance (3×) waits its hour
  const webRecords = Array.from({ length: 60 }, (_, i) => flowRecord({ node: 'node2', service: web, endpoint: { pod: 'web-3', node: 'node2', ip: '198.19.2.11' }, seenAs: '198.18.0.12', verdict: 'snat-unexpected', firstSeen: now - i }));
  // api: entered node2, which runs none of its pods, near the end of the window: fires, then resolves as it leaves it
  const apiRecords = Array.from({ length: 5 }, (_, i) => flowRecord({ node: 'node2', service: api, endpoint: { pod: 'api-1', node: 'node1', ip: '198.19.1.13' }, seenAs: '198.18.0.12', firstSeen: now - WINDOW_MS + 4000 + i }));
  await hubRequest('POST', '/api/ingest', { node: 'node2', sentAt: now, records: [...webRecords, ...apiRecords] });
  await waitFor('the alerts to settle', async () => {
    const a = await hubRequest<AlertsResponse>('GET', '/api/alerts');
    const state = (key: string) => a.alerts.find((x) => x.key === key)?.state;
    return state('UnexpectedSNAT|default/web') === 'firing' && state('LoadImbalance|default/web') === 'pending' && state('TrafficToNodeWithoutEndpoints|default/api') === 'resolved' ? true : undefined;
  });
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

describe('the Alerts page', () => {
  it.each(Object.entries(WIDTHS))('shows firing, pending and history as the hub lists them, with links to the Service (%s)', async (width, viewport) => {
    const api = await hubRequest<AlertsResponse>('GET', '/api/alerts');
    const { page, errors } = await open('/alerts', viewport);
    try {
      expect(await text(page, 'h1')).toBe('Alerts');
      expect(await page.locator('[data-testid="hub-error"]').count()).toBe(0);
      const firing = api.alerts.filter((a) => a.state === 'firing');
      const pending = api.alerts.filter((a) => a.state === 'pending');
      expect(await text(page, '[data-count="firing"]')).toBe(String(firing.length));
      expect(await text(page, '[data-count="pending"]')).toBe(String(pending.length));
      expect(await page.locator('[data-testid="alerts-firing"] tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-alert')))).toEqual(firing.map((a) => a.key));
      expect(await page.locator('[data-testid="alerts-pending"] tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-alert')))).toEqual(pending.map((a) => a.key));

      const snat = '[data-testid="alerts-firing"] tr[data-alert="UnexpectedSNAT|default/web"]';
      expect(await text(page, `${snat} [data-col="value"]`)).toBe('60');
      expect(await text(page, `${snat} [data-col="severity"]`)).toBe('critical');
      expect(await page.locator(`${snat} a[data-col="service"]`).getAttribute('href')).toBe('/services/default/web');
      expect(await text(page, '[data-testid="alerts-pending"] tr[data-alert="LoadImbalance|default/web"] [data-col="value"]')).toBe('3');

      const history = await page.locator('[data-testid="alerts-history"] tbody tr').evaluateAll((rows) => rows.map((r) => [r.getAttribute('data-alert'), r.getAttribute('data-transition')]));
      expect(history).toEqual(api.history.map((h) => [`${h.rule}|${h.service.namespace}/${h.service.name}`, h.transition]));
      expect(history).toEqual(expect.arrayContaining([['TrafficToNodeWithoutEndpoints|default/api', 'firing'], ['TrafficToNodeWithoutEndpoints|default/api', 'resolved']]));
      expect(await text(page, '[data-testid="alert-rules"] tr[data-rule="LoadImbalance"] td:nth-child(3)')).toBe('1h');

      const overflow = await page.evaluate('document.documentElement.scrollWidth - window.innerWidth');
      expect(overflow).toBeLessThanOrEqual(1);
      await screenshot(page, `alerts-${viewport.width}`);
      expect(errors).toEqual([]);

      await page.locator(`${snat} a[data-col="service"]`).click();
      await page.waitForURL(/\/services\/default\/web/);
      expect(await text(page, 'h1')).toContain('default/web');
      void width;
    } finally {
      await page.close();
    }
  });

  it('filters by Service', async () => {
    const { page } = await open('/alerts?service=default/api');
    try {
      expect(await text(page, 'h1')).toBe('Alerts for default/api');
      expect(await page.locator('[data-testid="alerts-firing"]').count()).toBe(0);
      const transitions = await page.locator('[data-testid="alerts-history"] tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-transition')));
      expect(transitions).toEqual(['resolved', 'firing']);
    } finally {
      await page.close();
    }
  });
});

describe('the Services page', () => {
  it('badges each Service with its firing and pending alerts, linking to them', async () => {
    const { page, errors } = await open('/services');
    try {
      const web = 'tr[data-service="default/web"] [data-col="alerts"]';
      expect(await text(page, `${web} [data-badge="firing"]`)).toBe('1 firing');
      expect(await text(page, `${web} [data-badge="pending"]`)).toBe('1 pending');
      expect(await page.locator(`${web} a`).getAttribute('href')).toBe('/alerts?service=default%2Fweb');
      expect(await page.locator('tr[data-service="default/api"] [data-col="alerts"] [data-badge]').count()).toBe(0);
      expect(await text(page, 'tr[data-service="default/api"] [data-col="alerts"]')).toBe('–');
      await screenshot(page, 'services-alert-badges-1280');
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
