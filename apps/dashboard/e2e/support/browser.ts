import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { ROOT } from './demo-stack';

/* Debian's chromium driven by playwright-core (no browser download), with the flags these machines need as root. */
export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
export const SCREENSHOTS = join(ROOT, 'artifacts', 'screenshots');
export const WIDTHS = { desktop: { width: 1280, height: 900 }, phone: { width: 390, height: 844 } } as const;

export interface TestBrowser {
  browser: Browser;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<TestBrowser> {
  // playwright refuses --user-data-dir in args: launch() itself starts Chromium on a fresh temporary profile (its
  // `--user-data-dir=/tmp/playwright_chromiumdev_profile-*`), removed on close; TMPDIR points it at our own dir.
  const profile = mkdtempSync(join(tmpdir(), 'natlens-chromium-'));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    env: { ...process.env, TMPDIR: profile },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
  return {
    browser,
    close: async () => {
      await browser.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const file = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/**
 * A browser context signed in to the dashboard through its sign-in form with a hub read token: every page opened in
 * it carries the session cookie.
 */
export async function signedIn(browser: Browser, dashboardUrl: string, token: string): Promise<BrowserContext> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${dashboardUrl}/signin`, { waitUntil: 'load' });
  await page.locator('[data-testid="signin-token"]').fill(token);
  await Promise.all([page.waitForURL((url) => !url.pathname.startsWith('/signin'), { timeout: 30_000 }), page.locator('[data-testid="signin-submit"]').click()]);
  if ((await context.cookies()).every((c) => c.name !== 'natlens_session')) throw new Error(`signing in to ${dashboardUrl} set no session cookie`);
  await page.close();
  return context;
}

/** A page of a signed-in context at the given size. */
export async function newPageIn(context: BrowserContext, viewport: { width: number; height: number }): Promise<Page> {
  const page = await context.newPage();
  await page.setViewportSize(viewport);
  return page;
}
