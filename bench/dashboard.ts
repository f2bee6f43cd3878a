/*
 * bench/dashboard: how fast the dashboard renders, measured by the browser's own performance timing.
 *   1. the Services page with 1,000 Services, and a Service detail page (cold page loads in fresh browser contexts);
 *   2. the Live page while 2,000 records/s stream through the hub: frame rate, longest main-thread task, and how long
 *      the Pause button takes to answer.
 * A test hub (SQLite in memory, apps/hub/src/testing.ts) is filled with synthetic records; the dashboard runs as
 * `next start` (built first when the build is missing or stale); Debian's chromium is driven by playwright-core.
 *   NEXT_TELEMETRY_DISABLED=1 SWC_NODE_PROJECT=$PWD/tsconfig.base.json node -r @swc-node/register bench/dashboard.ts \
 *       [--services 1000] [--runs 5] [--live-rate 2000] [--live-seconds 15]
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import type { FlowRecord } from '@natlens/shared-model';
import { chromium, type Browser } from 'playwright-core';
import { dashboardBuildStale } from '../libs/dashboard/launcher/src';
import { flowRecord, startTestHub, TEST_READ_TOKEN, type TestHub } from '../libs/hub/server/src/testing';

const ROOT = join(__dirname, '..');
const DASHBOARD = join(ROOT, 'apps', 'dashboard');
const NEXT = realpathSync(join(ROOT, 'node_modules', '.bin', 'next'));
const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const SERVICES = option('services', 1000);
const RUNS = option('runs', 5);
const LIVE_RATE = option('live-rate', 2000);
const LIVE_SECONDS = option('live-seconds', 15);
const log = (msg: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${msg}\n`);

const services = Array.from({ length: SERVICES }, (_, k) => ({ namespace: `team-${k % 25}`, name: `svc-${String(k).padStart(4, '0')}`, type: k % 3 === 0 ? ('LoadBalancer' as const) : ('NodePort' as const), policy: k % 4 === 0 ? ('Local' as const) : ('Cluster' as const) }));
const pods = Array.from({ length: 4 }, (_, k) => ({ pod: `pod-${k + 1}`, node: `node${(k % 3) + 1}`, ip: `198.19.${(k % 3) + 1}.${11 + k}` }));

function record(i: number, service: (typeof services)[number], firstSeen: number): FlowRecord {
  const node = `node${(i % 3) + 1}`;
  const snat = service.policy === 'Cluster' && i % 5 !== 0;
  return flowRecord({
    node,
    firstSeen,
    service: { namespace: service.namespace, name: service.name, type: service.type, policy: service.policy, entry: service.type === 'LoadBalancer' ? 'loadBalancer' : 'nodePort' },
    endpoint: { ...(pods[(i * 7) % pods.length] ?? pods[0]!), namespace: service.namespace },
    client: `198.51.100.${(i % 200) + 10}`,
    ...(snat ? { seenAs: `198.18.0.1${(i % 3) + 1}` } : {}),
    verdict: snat ? 'snat-expected' : 'preserved',
  });
}

async function fill(hub: TestHub): Promise<number> {
  const perService = 20;
  const now = Date.now();
  let total = 0;
  let batch: FlowRecord[] = [];
  for (let s = 0; s < services.length; s++) {
    for (let i = 0; i < perService; i++) batch.push(record(s * perService + i, services[s]!, now - 50 * 60_000 + ((s * perService + i) % 2900) * 1000));
    if (batch.length >= 2000 || s === services.length - 1) {
      const res = await hub.ingest(batch);
      if (res.status !== 200) throw new Error(`ingest failed: ${res.status} ${JSON.stringify(res.body)}`);
      total += batch.length;
      batch = [];
    }
  }
  return total;
}

async function startDashboard(hubUrl: string): Promise<{ url: string; child: ChildProcess }> {
  const env = { ...process.env, NEXT_TELEMETRY_DISABLED: '1' };
  if (dashboardBuildStale()) {
    log('building the dashboard (next build)');
    const built = spawnSync(process.execPath, [NEXT, 'build'], { cwd: DASHBOARD, env, stdio: ['ignore', 'ignore', 'inherit'] });
    if (built.status !== 0) throw new Error('next build failed');
  }
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  // the dashboard's own server (sessions); a fixed session secret for the run
  const child = spawn(process.execPath, [join(DASHBOARD, 'server', 'serve.mjs'), '--port', String(port), '--hostname', '127.0.0.1'], {
    cwd: DASHBOARD,
    env: { ...env, NATLENS_HUB_URL: hubUrl, NATLENS_HUB_TOKEN: TEST_READ_TOKEN, NATLENS_DASHBOARD_SESSION_SECRET: 'bench-dashboard-session-secret-0123456789' },
    stdio: 'ignore',
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 240; i++) {
    if (await fetch(`${url}/api/healthz`).then((res) => res.ok, () => false)) return { url, child };
    await new Promise((r) => setTimeout(r, 250));
  }
  child.kill('SIGKILL');
  throw new Error(`the dashboard did not answer on ${url}`);
}

/** A session cookie for the bench's browser contexts: signed in with the hub's read token, as a user would. */
async function signIn(url: string): Promise<{ name: string; value: string; url: string }> {
  const res = await fetch(`${url}/api/auth/signin`, { method: 'POST', body: new URLSearchParams({ token: TEST_READ_TOKEN, next: '/services' }), redirect: 'manual' });
  const value = /natlens_session=([^;]+)/.exec(res.headers.get('set-cookie') ?? '')?.[1];
  if (res.status !== 303 || !value) throw new Error(`signing in to the dashboard failed: ${res.status}`);
  return { name: 'natlens_session', value, url };
}

/** In-page: navigation timing, first and largest contentful paint, and the app's own marks (ms since navigation start). */
const TIMING = `(async () => {
  const nav = performance.getEntriesByType('navigation')[0];
  const fcp = performance.getEntriesByName('first-contentful-paint')[0];
  const lcp = await new Promise((resolve) => {
    new PerformanceObserver((list) => { const e = list.getEntries(); resolve(e[e.length - 1]); }).observe({ type: 'largest-contentful-paint', buffered: true });
    setTimeout(() => resolve(undefined), 500);
  });
  const marks = Object.fromEntries(performance.getEntriesByType('mark').filter((m) => m.name.startsWith('natlens:')).map((m) => [m.name.slice(8), Math.round(m.startTime)]));
  return { ttfb: Math.round(nav.responseStart), responseEnd: Math.round(nav.responseEnd), domContentLoaded: Math.round(nav.domContentLoadedEventEnd), load: Math.round(nav.loadEventEnd), fcp: fcp ? Math.round(fcp.startTime) : null, lcp: lcp ? Math.round(lcp.startTime) : null, htmlBytes: nav.encodedBodySize, marks };
})()`;

interface PageTiming {
  ttfb: number;
  responseEnd: number;
  domContentLoaded: number;
  load: number;
  fcp: number | null;
  lcp: number | null;
  htmlBytes: number;
  marks: Record<string, number>;
}

async function measure(browser: Browser, cookie: { name: string; value: string; url: string }, url: string, ready: string, readyMark: string): Promise<PageTiming & { rendered: number }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.addCookies([cookie]);
  const page = await context.newPage();
  await page.goto(url, { waitUntil: 'load' });
  await page.locator(ready).first().waitFor();
  await page.waitForFunction(`performance.getEntriesByName('natlens:${readyMark}').length > 0`);
  const timing = (await page.evaluate(TIMING)) as PageTiming;
  await context.close();
  // rendered: the content is painted and the page answers input (React hydrated the table / drew the chart)
  return { ...timing, rendered: Math.max(timing.lcp ?? timing.fcp ?? 0, timing.marks[readyMark] ?? 0) };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function liveUnderLoad(browser: Browser, cookie: { name: string; value: string; url: string }, hub: TestHub, url: string) {
  const streamed = services.slice(0, 10);
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.addCookies([cookie]);
  const page = await context.newPage();
  await page.goto(`${url}/live`, { waitUntil: 'load' });
  await page.waitForFunction(`document.querySelector('[data-testid="live-status"]')?.textContent.includes('following')`);
  await page.evaluate(`(() => {
    window.__frames = []; window.__long = [];
    new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__long.push(e.duration); }).observe({ type: 'longtask' });
    const tick = (t) => { window.__frames.push(t); requestAnimationFrame(tick); }; requestAnimationFrame(tick);
  })()`);
  let sent = 0;
  let i = 0;
  const started = Date.now();
  const perTick = LIVE_RATE / 10;
  // one batch every 100 ms on a fixed schedule, not waiting for the previous one (at most 4 in flight)
  const sender = (async () => {
    const inFlight = new Set<Promise<unknown>>();
    for (let tick = 0; Date.now() - started < LIVE_SECONDS * 1000; tick++) {
      const batch = Array.from({ length: perTick }, () => record(i, streamed[i++ % streamed.length]!, Date.now()));
      const sending = hub.ingest(batch).then(() => (sent += batch.length));
      inFlight.add(sending);
      void sending.finally(() => inFlight.delete(sending));
      if (inFlight.size >= 4) await Promise.race(inFlight);
      await new Promise((r) => setTimeout(r, Math.max(0, started + (tick + 1) * 100 - Date.now())));
    }
    await Promise.all(inFlight);
  })();
  await new Promise((r) => setTimeout(r, (LIVE_SECONDS * 1000) / 2));
  // responsiveness under load: click Pause and time until the button shows it
  const pauseMs = (await page.evaluate(`(async () => {
    const button = document.querySelector('[data-testid="live-pause"]');
    const t0 = performance.now();
    button.click();
    await new Promise((resolve) => { const check = () => button.textContent.includes('Resume') ? resolve() : requestAnimationFrame(check); check(); });
    return performance.now() - t0;
  })()`)) as number;
  await page.locator('[data-testid="live-pause"]').click();
  await sender;
  const elapsed = (Date.now() - started) / 1000;
  await new Promise((r) => setTimeout(r, 1000));
  const result = (await page.evaluate(`(() => {
    const f = window.__frames; const gaps = f.slice(1).map((t, k) => t - f[k]).sort((a, b) => a - b);
    return { fps: f.length / ((f[f.length - 1] - f[0]) / 1000), p99FrameMs: gaps[Math.floor(gaps.length * 0.99)], longTasks: window.__long.length, longestTaskMs: Math.max(0, ...window.__long),
      rows: document.querySelectorAll('[data-testid="live-row"]').length, rate: document.querySelector('[data-testid="live-rate"]').textContent, matched: document.querySelector('[data-testid="live-matched"]').textContent };
  })()`)) as Record<string, unknown>;
  await context.close();
  return { sentPerSecond: Math.round(sent / elapsed), sent, pauseClickMs: Math.round(pauseMs), ...result };
}

async function main(): Promise<void> {
  const hub = await startTestHub();
  let dashboard: { child: ChildProcess } | undefined;
  let browser: Browser | undefined;
  try {
    log(`filling the hub: ${SERVICES} Services`);
    const records = await fill(hub);
    const started = await startDashboard(hub.hub.url);
    dashboard = started;
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'] });
    const detailService = services[1]!;
    const pages = {
      services: { url: `${started.url}/services`, ready: 'tr[data-service]', mark: 'services-table-ready' },
      detail: { url: `${started.url}/services/${detailService.namespace}/${detailService.name}`, ready: '[data-testid="share-chart"] canvas', mark: 'share-chart-ready' },
    };
    // one warm-up load each (Next compiles nothing at run time, but the hub's and Node's first requests are slower)
    const cookie = await signIn(started.url);
    for (const p of Object.values(pages)) await measure(browser, cookie, p.url, p.ready, p.mark);
    const results: Record<string, (PageTiming & { rendered: number })[]> = { services: [], detail: [] };
    for (let run = 0; run < RUNS; run++) {
      for (const [name, p] of Object.entries(pages)) results[name]!.push(await measure(browser, cookie, p.url, p.ready, p.mark));
      log(`run ${run + 1}/${RUNS}: services ${results['services']!.at(-1)?.rendered} ms, detail ${results['detail']!.at(-1)?.rendered} ms`);
    }
    log(`live: ${LIVE_RATE} records/s for ${LIVE_SECONDS} s`);
    const live = await liveUnderLoad(browser, cookie, hub, started.url);
    const summary = Object.fromEntries(
      Object.entries(results).map(([name, runs]) => [
        name,
        { medianRenderedMs: median(runs.map((r) => r.rendered)), maxRenderedMs: Math.max(...runs.map((r) => r.rendered)), medianTtfbMs: median(runs.map((r) => r.ttfb)), medianFcpMs: median(runs.map((r) => r.fcp ?? NaN)), medianLoadMs: median(runs.map((r) => r.load)), htmlBytes: runs[0]?.htmlBytes, runs },
      ]),
    );
    const out = {
      bench: 'dashboard',
      date: new Date().toISOString(),
      command: `node -r @swc-node/register bench/dashboard.ts ${args.join(' ')}`.trim(),
      machine: { cores: cpus().length, cpuModel: cpus()[0]?.model, node: process.version, chromium: browser.version() },
      hub: { services: SERVICES, records },
      pages: summary,
      live,
    };
    mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
    writeFileSync(join(ROOT, 'bench', 'results', 'dashboard.json'), `${JSON.stringify(out, null, 2)}\n`);
    process.stdout.write(
      [
        `Services page, ${SERVICES} Services: rendered in ${summary['services']?.medianRenderedMs} ms (median of ${RUNS}; max ${summary['services']?.maxRenderedMs}; TTFB ${summary['services']?.medianTtfbMs}, FCP ${summary['services']?.medianFcpMs})`,
        `Service detail page: rendered in ${summary['detail']?.medianRenderedMs} ms (median of ${RUNS}; max ${summary['detail']?.maxRenderedMs}; TTFB ${summary['detail']?.medianTtfbMs}, FCP ${summary['detail']?.medianFcpMs})`,
        `Live at ${live.sentPerSecond} records/s: ${JSON.stringify(live)}`,
        JSON.stringify({ services: summary['services']?.medianRenderedMs, detail: summary['detail']?.medianRenderedMs, live }),
        '',
      ].join('\n'),
    );
  } finally {
    await browser?.close().catch(() => undefined);
    dashboard?.child.kill('SIGTERM');
    await hub.close();
  }
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(`${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
