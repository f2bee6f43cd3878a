import type { ServiceEvidence } from '@natlens/shared-analysis';
import type { BrowserContext, Page } from 'playwright-core';
import { launchChromium, newPageIn, screenshot, signedIn, type TestBrowser, WIDTHS } from './support/browser';
import { type DemoStack, hubGet, startDemo, uniqueName, waitFor } from './support/demo-stack';

/*
 * The dashboard in real headless Chromium against `natlens demo` on the lab: real agents, real hub, real traffic
 * (seeds topology: default/web is a Local-policy LoadBalancer, default/api a Cluster-policy NodePort).
 */
jest.setTimeout(300_000);

let stack: DemoStack;
let chromium: TestBrowser;
/** Signed in through the dashboard's sign-in page with a hub read token: every page opens in it. */
let session: BrowserContext;

interface ServicesList {
  services: { namespace: string; name: string; connections: number; external: number; snatted: number }[];
}

beforeAll(async () => {
  stack = await startDemo(uniqueName('tdash'));
  chromium = await launchChromium();
  session = await signedIn(chromium.browser, stack.dashboardUrl, stack.readToken);
  // both Services have evidence before any page is judged
  await waitFor('evidence for default/web and default/api', async () => {
    const list = await hubGet<ServicesList>(stack, '/api/services');
    return list.services.filter((s) => s.connections >= 10).length >= 2 ? true : undefined;
  });
}, 300_000);

afterAll(async () => {
  await chromium?.close();
  await stack?.stop();
}, 60_000);

async function open(path: string, viewport: { width: number; height: number } = WIDTHS.desktop): Promise<{ page: Page; errors: string[] }> {
  const page = await newPageIn(session, viewport);
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  const res = await page.goto(`${stack.dashboardUrl}${path}`, { waitUntil: 'load' });
  expect(res?.status()).toBe(200);
  return { page, errors };
}

/**
 * A closed window in the past, read from the API before and after the page loads: the page must show the numbers of
 * an API answer that did not change meanwhile (records of a window keep arriving for a few seconds after it ends).
 */
async function stableWindow<T>(read: (from: number, to: number) => Promise<T>, ready: (value: T) => boolean, path: (from: number, to: number) => string): Promise<{ api: T; page: Page }> {
  for (let attempt = 0; ; attempt++) {
    const to = Date.now() - 15_000;
    const from = to - 3600_000;
    const before = await read(from, to);
    if (!ready(before)) {
      if (attempt > 60) throw new Error(`no data in the window after ${attempt} attempts: ${JSON.stringify(before).slice(0, 300)}`);
      await new Promise((r) => setTimeout(r, 1000));
      continue;
    }
    const { page } = await open(path(from, to));
    const after = await read(from, to);
    if (JSON.stringify(after) === JSON.stringify(before)) return { api: after, page };
    await page.close();
    if (attempt > 60) throw new Error('the API never gave the same answer twice for a closed window');
  }
}

const text = async (page: Page, selector: string) => ((await page.locator(selector).first().textContent()) ?? '').trim();
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const num = (n: number) => n.toLocaleString('en-US');

describe('every page, at 1280 and 390 px', () => {
  const pages = [
    ['services', '/services', 'Services'],
    ['service-web', '/services/default/web', 'default/web'],
    ['service-api', '/services/default/api', 'default/api'],
    ['live', '/live', 'Live'],
    ['history', '/history', 'History'],
  ] as const;
  it.each(pages.flatMap(([name, path, heading]) => Object.entries(WIDTHS).map(([width, viewport]) => [name, path, heading, width, viewport] as const)))(
    '%s loads (%s, %s)',
    async (name, path, heading, width, viewport) => {
      const { page, errors } = await open(path, viewport);
      try {
        await expect(page.locator('h1').textContent()).resolves.toContain(heading);
        expect(await page.locator('[data-testid="hub-error"]').count()).toBe(0);
        if (name.startsWith('service-')) await page.locator('[data-testid="series-chart"]').waitFor({ timeout: 30_000 });
        if (name === 'history') await page.locator('[data-testid="series-chart"]').waitFor({ timeout: 30_000 });
        if (name === 'live') await page.locator('[data-testid="live-row"]').first().waitFor({ timeout: 30_000 });
        if (name === 'services') await page.locator('[data-col="imbalance"]:not(:has-text("…"))').first().waitFor();
        // nothing wider than the screen: wide tables scroll inside their panel, not the page
        const overflow = await page.evaluate('document.documentElement.scrollWidth - window.innerWidth');
        expect(overflow).toBeLessThanOrEqual(1);
        await screenshot(page, `${name}-${viewport.width}`);
        expect(errors).toEqual([]);
      } finally {
        await page.close();
      }
    },
  );
});

describe('Service detail shows the evidence API\'s numbers', () => {
  it.each(['default/web', 'default/api'])('%s', async (service) => {
    const { evidence, page } = await stableWindow(
      (from, to) => hubGet<ServiceEvidence>(stack, `/api/services/${service}/evidence?from=${from}&to=${to}`),
      (e) => e.connections > 0,
      (from, to) => `/services/${service}?from=${from}&to=${to}`,
    ).then((r) => ({ evidence: r.api, page: r.page }));
    try {
      expect(await text(page, '[data-evidence="connections"]')).toBe(num(evidence.connections));
      expect(await text(page, '[data-evidence="snat-snatted"]')).toBe(num(evidence.snat.snatted));
      expect(await text(page, '[data-evidence="snat-external"]')).toBe(num(evidence.snat.external));
      expect(await text(page, '[data-evidence="snat-ratio"]')).toBe(evidence.snat.external > 0 ? pct(evidence.snat.ratio) : '–');
      expect(await text(page, '[data-evidence="clients-original"]')).toBe(num(evidence.clients.distinctOriginal));
      expect(await text(page, '[data-evidence="clients-seen"]')).toBe(num(evidence.clients.distinctSeenByPods));
      // the proxy-header lines appear exactly when the evidence has such connections
      expect(await page.locator('[data-evidence="clients-via-proxy"]').count()).toBe(evidence.clients.viaProxy > 0 ? 1 : 0);
      expect(await page.locator('[data-evidence="snat-carried"]').count()).toBe(evidence.snat.carried > 0 ? 1 : 0);
      expect(await text(page, '[data-evidence="imbalance"]')).toBe(`${evidence.imbalance.maxOverMean.toFixed(2)}×`);
      for (const [verdict, n] of Object.entries(evidence.byVerdict)) expect(await text(page, `[data-evidence="verdict-${verdict}"]`)).toBe(num(n ?? 0));

      const endpointRows = await page.locator('[data-testid="endpoints-table"] tbody tr').count();
      expect(endpointRows).toBe(evidence.endpoints.length);
      for (const e of evidence.endpoints) {
        const row = `[data-testid="endpoints-table"] tr[data-pod="${e.namespace}/${e.pod}"]`;
        expect(await text(page, `${row} [data-col="connections"]`)).toBe(num(e.connections));
        expect(await text(page, `${row} [data-col="share"]`)).toBe(pct(e.share));
        expect(await text(page, `${row} [data-col="expected"]`)).toBe(pct(e.expectedShare));
        const predicted = evidence.imbalance.predicted.find((p) => p.pod === `${e.namespace}/${e.pod}`);
        expect(await text(page, `${row} [data-col="predicted"]`)).toBe(predicted ? pct(predicted.share) : '–');
      }
      expect(await page.locator('[data-testid="nodes-table"] tbody tr').count()).toBe(evidence.nodes.length);
      for (const n of evidence.nodes) {
        const row = `[data-testid="nodes-table"] tr[data-node="${n.node}"]`;
        expect(await text(page, `${row} [data-col="received"]`)).toBe(num(n.received));
        expect(await text(page, `${row} [data-col="forwarded"]`)).toBe(num(n.forwarded));
        expect(await text(page, `${row} [data-col="dropped"]`)).toBe(num(n.dropped));
        expect(await text(page, `${row} [data-col="localEndpoints"]`)).toBe(String(n.localEndpoints));
        if (n.healthCheck) {
          // derived from the endpoints, and observed by the node's agent: both as the API gives them
          expect(await text(page, `${row} [data-health="expected"]`)).toBe(`${n.healthCheck.healthy ? 200 : 503} (${n.healthCheck.localEndpoints})`);
          const observed = n.healthCheck.observed;
          expect(await text(page, `${row} [data-health="observed"]`)).toBe(!observed ? 'not reported' : observed.httpStatus === null ? 'no answer' : `${observed.httpStatus}${observed.localEndpoints !== null ? ` (${observed.localEndpoints})` : ''}`);
        }
      }
      const codes = await page.locator('[data-testid="findings"] [data-code]').evaluateAll((els) => els.map((el) => el.getAttribute('data-code')));
      expect(codes).toEqual(evidence.findings.map((f) => f.code));

      // the drawn path is a real record of this Service: SNAT'd for the Cluster-policy NodePort, not for Local
      const original = await text(page, '[data-testid="tuple-original"]');
      const translated = await text(page, '[data-testid="tuple-translated"]');
      expect(original).toMatch(/^198\.51\.100\.\d+:\d+ → [\d.]+:\d+ \(tcp\)$/);
      expect(translated).toMatch(/^[\d.]+:\d+ → 198\.19\.\d+\.\d+:\d+$/);
      expect(await text(page, '[data-testid="path-snat"] .what')).toBe(evidence.snat.snatted > 0 ? 'SNAT' : 'no SNAT');
      if (service === 'default/api') expect(await page.locator('[data-testid="remedy-yaml"]').first().textContent()).toContain('externalTrafficPolicy: Local');

      // every figure group is labelled with where it comes from, as the evidence API says: observed in the records,
      // or derived from the cluster's objects (the demo's hub reads the lab's inventory)
      const labels = Object.fromEntries(
        await page.locator('[data-provenance]').evaluateAll((els) => els.map((el) => [el.getAttribute('data-provenance'), el.getAttribute('data-source')])),
      ) as Record<string, string>;
      const shown = ['connections', 'snat', 'clients', 'imbalance.observed', 'endpoints.connections', 'endpoints.expectedShare', 'imbalance.predicted', 'nodes.localEndpoints', 'nodes.traffic', 'nodes.healthCheck'] as const;
      for (const figure of shown) expect([figure, labels[figure]]).toEqual([figure, evidence.provenance[figure]]);
      expect(labels).toMatchObject({ connections: 'observed', 'nodes.traffic': 'observed', 'endpoints.expectedShare': 'cluster', 'imbalance.predicted': 'cluster', 'nodes.localEndpoints': 'cluster' });
      expect(await text(page, '[data-provenance="connections"]')).toBe('observed');
      expect(await text(page, '[data-provenance="endpoints.expectedShare"]')).toBe('from cluster objects');
      // the LoadBalancer's distribution model: its value and its source (inferred from the demo's traffic, or assumed)
      // a Local LoadBalancer's health check: expected from the endpoints, observed by the agents' probes
      if (service === 'default/web') expect([labels['nodes.healthCheck.observed'], evidence.provenance['nodes.healthCheck.observed']]).toEqual(['observed', 'observed']);
      else expect(labels['nodes.healthCheck.observed']).toBeUndefined();
      if (service === 'default/web') {
        expect(await text(page, '[data-evidence="lb-distribution"]')).toBe(evidence.imbalance.model?.distribution);
        expect(labels['imbalance.model']).toBe(evidence.provenance['imbalance.model']);
        expect(['inferred', 'assumed']).toContain(labels['imbalance.model']);
      } else {
        expect(await page.locator('[data-testid="lb-model"]').count()).toBe(0);
      }
    } finally {
      await page.close();
    }
  });

  it('shows the hub\'s error for a Service it does not know', async () => {
    const { page } = await open('/services/default/no-such-service');
    try {
      await expect(text(page, '[data-testid="hub-error"]')).resolves.toMatch(/service-unknown/);
    } finally {
      await page.close();
    }
  });
});

describe('Services table', () => {
  it('lists the Services with the API\'s connection counts, and keeps filter and sort in the URL', async () => {
    const { api: list, page } = await stableWindow(
      (from, to) => hubGet<ServicesList>(stack, `/api/services?from=${from}&to=${to}`),
      (l) => l.services.every((s) => s.connections > 0),
      (from, to) => `/services?from=${from}&to=${to}`,
    );
    try {
      for (const s of list.services) expect(await text(page, `tr[data-service="${s.namespace}/${s.name}"] [data-col="connections"]`)).toBe(num(s.connections));
      await page.locator('[data-testid="filter-text"]').fill('api');
      await page.waitForFunction('location.search.includes("q=api")');
      expect(await page.locator('[data-testid="services-table"] tbody tr').count()).toBe(1);
      await page.getByRole('button', { name: /^Connections/ }).click();
      await page.waitForFunction('location.search.includes("sort=connections")');
      // the shared link shows the same view
      const shared = await open(`/services${new URL(page.url()).search}`);
      expect(await shared.page.locator('[data-testid="services-table"] tbody tr').count()).toBe(1);
      expect(await shared.page.locator('[data-testid="filter-text"]').inputValue()).toBe('api');
      await shared.page.close();
    } finally {
      await page.close();
    }
  });
});

describe('Live', () => {
  it('receives records while traffic runs; filters by Service; pause holds the table still', async () => {
    const { page } = await open('/live?service=default/web');
    try {
      await page.locator('[data-testid="live-row"]').first().waitFor({ timeout: 30_000 });
      const firstSeen = await page.locator('[data-testid="live-row"] td:first-child').first().textContent();
      // a newer record on top; 60 s, not 30: on a loaded CI machine (every suite shares 2 cores) the demo's traffic and
      // the agents' 1 s flushes were once seen to pause longer than 30 s
      await page.waitForFunction(`document.querySelector('[data-testid="live-row"] td')?.textContent !== ${JSON.stringify(firstSeen)}`, undefined, { timeout: 60_000 });
      const services = await page.locator('[data-testid="live-row"] td:nth-child(2)').allTextContents();
      expect(new Set(services)).toEqual(new Set(['default/web']));

      await page.locator('[data-testid="live-pause"]').click();
      const frozen = await page.locator('[data-testid="live-row"] td:first-child').allTextContents();
      // until records arrived while paused (the demo's traffic comes in rounds, seconds apart on a loaded machine),
      // then the table must still be the one frozen at the click
      await page.waitForFunction(`/paused · [1-9]\\d* arrived meanwhile/.test(document.querySelector('[data-testid="live-status"]')?.textContent ?? '')`, undefined, { timeout: 60_000 });
      expect(await page.locator('[data-testid="live-row"] td:first-child').allTextContents()).toEqual(frozen);
      await page.locator('[data-testid="live-pause"]').click();
      await page.waitForFunction(`document.querySelector('[data-testid="live-row"] td')?.textContent !== ${JSON.stringify(frozen[0])}`, undefined, { timeout: 30_000 });
    } finally {
      await page.close();
    }
  });
});

describe('History', () => {
  it('a preset applies to every page through the URL', async () => {
    const { page } = await open('/history');
    try {
      await page.getByRole('button', { name: 'Last 15 minutes' }).click();
      await page.waitForURL(/range=15m/);
      await page.getByRole('link', { name: 'Services', exact: true }).click();
      await page.waitForURL(/\/services\?range=15m/);
      await expect(text(page, '[data-testid="window"]')).resolves.toContain('Last 15 minutes');
      await page.locator('tr[data-service="default/api"] a[href^="/services/"]').click();
      await page.waitForURL(/\/services\/default\/api\?range=15m/);
      await expect(text(page, '[data-testid="window"]')).resolves.toContain('Last 15 minutes');
    } finally {
      await page.close();
    }
  });
});

describe('sign-in and sessions', () => {
  const cookieOf = async (context: BrowserContext) => (await context.cookies()).find((c) => c.name === 'natlens_session');
  const get = (path: string, cookie?: string, signal?: AbortSignal) => fetch(`${stack.dashboardUrl}${path}`, { headers: cookie ? { Cookie: `natlens_session=${cookie}` } : {}, redirect: 'manual', ...(signal ? { signal } : {}) });

  it.each(Object.entries(WIDTHS))('sends an anonymous visitor to sign in, and back to the page asked for (%s)', async (_width, viewport) => {
    const context = await chromium.browser.newContext();
    try {
      const page = await newPageIn(context, viewport);
      await page.goto(`${stack.dashboardUrl}/services/default/web?range=15m`, { waitUntil: 'load' });
      expect(new URL(page.url()).pathname).toBe('/signin');
      expect(new URL(page.url()).searchParams.get('next')).toBe('/services/default/web?range=15m');
      expect(await page.locator('nav.main').count()).toBe(0);
      const overflow = await page.evaluate('document.documentElement.scrollWidth - window.innerWidth');
      expect(overflow).toBeLessThanOrEqual(1);
      await screenshot(page, `signin-${viewport.width}`);
      await page.locator('[data-testid="signin-token"]').fill(stack.readToken);
      await Promise.all([page.waitForURL(/\/services\/default\/web\?range=15m$/), page.locator('[data-testid="signin-submit"]').click()]);
      await expect(page.locator('h1').textContent()).resolves.toContain('default/web');
      await expect(text(page, '[data-testid="session-user"]')).resolves.toBe(`read token …${stack.readToken.slice(-4)}`);
      const cookie = await cookieOf(context);
      expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
      expect(cookie?.value).not.toContain(stack.readToken);
    } finally {
      await context.close();
    }
  });

  it('answers anonymous reads 401 with no data: the hub proxy, the live stream, the import', async () => {
    for (const res of [await get('/api/hub/flows?limit=5'), await get('/api/hub/services'), await get('/api/live')]) {
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ status: 401, code: 'sign-in-required', message: expect.any(String) });
    }
    const upload = await fetch(`${stack.dashboardUrl}/import/upload?node=node1`, { method: 'POST', body: 'x', redirect: 'manual' });
    expect(upload.status).toBe(401);
    // a forged session cookie is anonymous too
    expect((await get('/api/hub/flows?limit=5', 'AAAA' + 'x'.repeat(80))).status).toBe(401);
  });

  it('refuses a wrong token, and one a character off', async () => {
    const context = await chromium.browser.newContext();
    try {
      const page = await context.newPage();
      for (const token of ['not-a-natlens-token-0000000000', `${stack.readToken.slice(0, -1)}x`]) {
        await page.goto(`${stack.dashboardUrl}/signin?next=/services`, { waitUntil: 'load' });
        await page.locator('[data-testid="signin-token"]').fill(token);
        await Promise.all([page.waitForURL(/error=refused/), page.locator('[data-testid="signin-submit"]').click()]);
        await expect(text(page, '[data-testid="signin-error"]')).resolves.toMatch(/refused this token/);
        expect(await cookieOf(context)).toBeUndefined();
      }
    } finally {
      await context.close();
    }
  });

  it('refuses a POST to the import from a page on another origin, even one that gets the session cookie', async () => {
    // Another port of the same host: another origin but the same site, so the SameSite=Strict cookie IS sent.
    // Only the Origin check stands between that page and the import.
    const { createServer } = await import('node:http');
    const evil = createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><title>elsewhere</title>'));
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    const evilUrl = `http://127.0.0.1:${(evil.address() as { port: number }).port}`;
    const page = await session.newPage();
    try {
      await page.goto(evilUrl);
      const statuses: number[] = [];
      page.on('response', (res) => {
        if (res.url().includes('/import/upload')) statuses.push(res.status());
      });
      await page.evaluate(async (target) => {
        await fetch(target, { method: 'POST', mode: 'no-cors', credentials: 'include', body: 'conntrack v1.4.7 (conntrack-tools): 0 flow entries have been shown.\n' }).catch(() => undefined);
      }, `${stack.dashboardUrl}/import/upload?node=elsewhere-node&format=conntrack`);
      await waitFor('the refused upload', async () => (statuses.length > 0 ? true : undefined), 10_000);
      expect(statuses).toEqual([403]);
      const flows = await hubGet<{ flows: unknown[] }>(stack, '/api/flows?node=elsewhere-node&limit=1');
      expect(flows.flows).toEqual([]);
    } finally {
      await page.close();
      evil.close();
    }
  });

  it('caps the live streams of one session', async () => {
    const context = await signedIn(chromium.browser, stack.dashboardUrl, stack.readToken);
    const cookie = (await cookieOf(context))?.value as string;
    const streams: AbortController[] = [];
    try {
      for (let i = 0; i < 4; i++) {
        const abort = new AbortController();
        streams.push(abort);
        expect((await get('/api/live', cookie, abort.signal)).status).toBe(200);
      }
      const refused = await get('/api/live', cookie);
      expect(refused.status).toBe(429);
      expect(await refused.json()).toMatchObject({ code: 'too-many-streams' });
      // another session has its own streams
      expect((await get('/api/hub/services', (await cookieOf(session))?.value)).status).toBe(200);
      // closing one frees its place
      streams.shift()?.abort();
      const again = new AbortController();
      streams.push(again);
      await waitFor('a freed live stream', async () => ((await get('/api/live', cookie, again.signal)).status === 200 ? true : undefined), 15_000);
    } finally {
      streams.forEach((s) => s.abort());
      await context.close();
    }
  });

  it('signs out: the cookie it held opens nothing any more', async () => {
    const context = await signedIn(chromium.browser, stack.dashboardUrl, stack.readToken);
    try {
      const cookie = (await cookieOf(context))?.value as string;
      expect((await get('/api/hub/services', cookie)).status).toBe(200);
      const page = await context.newPage();
      await page.goto(`${stack.dashboardUrl}/services`, { waitUntil: 'load' });
      await Promise.all([page.waitForURL(/\/signin/), page.locator('[data-testid="signout"]').click()]);
      expect(await cookieOf(context)).toBeUndefined();
      expect((await get('/api/hub/services', cookie)).status).toBe(401);
    } finally {
      await context.close();
    }
  });
});
