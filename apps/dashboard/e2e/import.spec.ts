import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { launchChromium, newPageIn, screenshot, signedIn, type TestBrowser, WIDTHS } from './support/browser';
import { ROOT } from './support/demo-stack';

/*
 * The Import page in real headless Chromium: the dashboard (`next start`, as `natlens demo` runs it) in front of a
 * real hub (SQLite, the seeds lab's inventory), uploading captures made in the lab (libs/agent/pcap fixtures). The
 * numbers on the page must be the hub's: its import answer, and the records it then serves.
 */
jest.setTimeout(300_000);

const FIXTURES = join(ROOT, 'libs', 'agent', 'pcap', 'src', 'fixtures');
const INVENTORY = join(ROOT, 'libs', 'shared', 'cluster', 'src', 'fixtures', 'lab-seeds-inventory.json');

type RunningHub = import('@natlens/hub-server').RunningHub;
type DemoStackModule = typeof import('@natlens/dashboard-launcher');

let workDir: string;
let hub: RunningHub;
let dashboard: InstanceType<DemoStackModule['DashboardProcess']>;
let dashboardUrl: string;
let chromium: TestBrowser;
/** Signed in through the dashboard's sign-in page with a hub read token: every page opens in it. */
let session: BrowserContext;
const ingestToken = randomBytes(24).toString('hex');
const readToken = randomBytes(24).toString('hex');

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'natlens-import-e2e-'));
  // Loaded by path, as `natlens demo` loads them: the hub and the demo's dashboard runner are other apps.
  const hubApp = await import('@natlens/hub-server');
  const stack = await import('@natlens/dashboard-launcher');
  const pino = (await import('pino')).default;
  hub = await hubApp.startHub(
    hubApp.hubConfigSchema.parse({ store: `sqlite://${join(workDir, 'natlens.db')}`, port: 0, host: '127.0.0.1', inventory: INVENTORY, ingestTokens: [ingestToken], readTokens: [readToken], logLevel: 'warn' }),
  );
  dashboard = new stack.DashboardProcess(workDir, pino({ level: 'warn' }));
  dashboardUrl = await dashboard.start({ port: 0, hubUrl: hub.url, hubToken: readToken, importToken: ingestToken });
  chromium = await launchChromium();
  session = await signedIn(chromium.browser, dashboardUrl, readToken);
}, 300_000);

afterAll(async () => {
  await chromium?.close();
  await dashboard?.stop();
  await hub?.close();
  rmSync(workDir, { recursive: true, force: true });
}, 60_000);

async function hubGet<T>(path: string): Promise<T> {
  const res = await fetch(`${hub.url}${path}`, { headers: { Authorization: `Bearer ${readToken}` } });
  if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function importThroughPage(file: string, node: string, viewport: { width: number; height: number } = WIDTHS.desktop): Promise<{ page: Page; errors: string[] }> {
  const page = await newPageIn(session, viewport);
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  const res = await page.goto(`${dashboardUrl}/import`, { waitUntil: 'load' });
  expect(res?.status()).toBe(200);
  expect(await page.locator('h1').textContent()).toContain('Import');
  expect(await page.locator('[data-testid="import-disabled"]').count()).toBe(0);
  await page.locator('[data-testid="import-file"]').setInputFiles(file);
  await page.locator('[data-testid="import-node"]').fill(node);
  await page.locator('[data-testid="import-submit"]').click();
  await page.locator('[data-testid="import-result"], [data-testid="import-error"]').first().waitFor({ timeout: 60_000 });
  return { page, errors };
}

const text = async (page: Page, selector: string) => ((await page.locator(selector).first().textContent()) ?? '').trim();

describe('the Import page', () => {
  it('uploads a PROXY protocol capture and shows what the hub stored: one proxied record with the real client', async () => {
    const { page, errors } = await importThroughPage(join(FIXTURES, 'lb-proxy-protocol-node1-any.pcap'), 'node1');
    try {
      expect(await page.locator('[data-testid="import-error"]').count()).toBe(0);
      const flows = await hubGet<{ flows: { verdict: string; realClient?: { ip: string }; source: string }[] }>('/api/flows?node=node1&limit=100');
      expect(flows.flows).toEqual([expect.objectContaining({ verdict: 'proxied', source: 'pcap', realClient: expect.objectContaining({ ip: '198.51.100.79' }) })]);
      expect(await text(page, '[data-result="records"]')).toBe(String(flows.flows.length));
      expect(await text(page, '[data-result="inserted"]')).toBe('1');
      expect(await text(page, '[data-result="connections"]')).toBe('1');
      expect(await text(page, '[data-result="packets"]')).toBe('36');
      expect(await text(page, '[data-testid="import-verdicts"] tr[data-verdict="proxied"] [data-col="count"]')).toBe('1');
      expect(await page.locator('[data-testid="import-file-errors"]').count()).toBe(0);
      const overflow = await page.evaluate('document.documentElement.scrollWidth - window.innerWidth');
      expect(overflow).toBeLessThanOrEqual(1);
      await screenshot(page, 'import-1280');
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('lists a damaged file\'s errors with their byte offsets and imports the rest (390 px)', async () => {
    const bytes = readFileSync(join(FIXTURES, 'np-local-node3-any-drop.pcap'));
    const damaged = join(workDir, 'cut.pcap');
    writeFileSync(damaged, bytes.subarray(0, bytes.length - 20));
    const { page, errors } = await importThroughPage(damaged, 'node3', WIDTHS.phone);
    try {
      expect(await page.locator('[data-testid="import-file-errors"] li').count()).toBe(1);
      expect(await page.locator('[data-testid="import-file-errors"] li').first().getAttribute('data-offset')).toBe(String(bytes.length - 20));
      expect(await text(page, '[data-testid="import-file-errors"] li')).toMatch(new RegExp(`^at byte ${(bytes.length - 20).toLocaleString('en-US')}: `));
      expect(await text(page, '[data-testid="import-verdicts"] tr[data-verdict="dropped-no-local-endpoint"] [data-col="count"]')).toBe('1');
      const stored = await hubGet<{ flows: { verdict: string }[] }>('/api/flows?node=node3&limit=100');
      expect(stored.flows.map((f) => f.verdict)).toEqual(['dropped-no-local-endpoint']);
      await screenshot(page, 'import-390');
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('says what to fix when the hub refuses the upload', async () => {
    const { page } = await importThroughPage(join(FIXTURES, 'lb-proxy-protocol-node1-any.pcap'), 'Not_A_Node');
    try {
      expect(await page.locator('[data-testid="import-error"]').getAttribute('data-code')).toBe('invalid-import-query');
      expect(await text(page, '[data-testid="import-error"]')).toMatch(/not a Kubernetes node name/);
    } finally {
      await page.close();
    }
  });
});
