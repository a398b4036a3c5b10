// Shared steps of the console's browser walks: sign in with a one-time link
// (open it, press its button), watch for console errors and failed requests,
// save screenshots as artifacts (test-artifacts/admin, gitignored).
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect } from 'vitest';
import { createTestApp, type TestApp } from '../setup/test-app.js';
import { artifactPath, launchBrowser, type Browser } from './browser.js';

/**
 * A test file's app (`start`, default createTestApp) and Chromium, started
 * before its tests (handed to `use`) and closed after them, the browser first.
 * `let s; let browser; consoleSuite((c) => ({ s, browser } = c));`
 */
export function consoleSuite(use: (c: { s: TestApp; browser: Browser }) => void, start: () => Promise<TestApp> = () => createTestApp()): void {
  let s: TestApp | undefined;
  let browser: Browser | undefined;
  beforeAll(async () => {
    s = await start();
    browser = await launchBrowser();
    use({ s, browser });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await s?.close();
  });
}

export interface Watch {
  /** Console errors, page errors, failed requests and 4xx/5xx answers seen so far. */
  readonly problems: string[];
  /** Allows one more answer matching `pattern` with `status` (a refusal the walk provokes on purpose). */
  expect(status: number, pattern: RegExp): void;
}

/** Records every console error, script error, failed request and error status on `page`. */
export function watch(page: Page): Watch {
  const problems: string[] = [];
  const expected: { status: number; pattern: RegExp }[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    // The browser logs every 4xx as "Failed to load resource"; the response handler below judges those.
    if (m.text().startsWith('Failed to load resource: the server responded with a status of')) return;
    problems.push(`console: ${m.text()} (${m.location().url})`);
  });
  page.on('requestfailed', (r) => {
    const why = r.failure()?.errorText ?? '';
    // A navigation away aborts what the old page was still loading.
    if (why === 'net::ERR_ABORTED') return;
    problems.push(`requestfailed: ${r.url()} ${why}`);
  });
  page.on('response', (r) => {
    if (r.status() < 400) return;
    const i = expected.findIndex((e) => e.status === r.status() && e.pattern.test(r.url()));
    if (i >= 0) expected.splice(i, 1);
    else problems.push(`HTTP ${r.status()}: ${r.request().method()} ${r.url()}`);
  });
  return { problems, expect: (status, pattern) => expected.push({ status, pattern }) };
}

/** Opens a fresh one-time link as the admin would and presses its button: the console loads. */
export async function signInWithLink(s: TestApp, page: Page, organizationId: string, userName?: string): Promise<void> {
  const link = await s.t.domain.admins.createBootstrapLink(organizationId, { userName });
  await page.goto(`${s.url}/admin/bootstrap?token=${encodeURIComponent(link.token)}`);
  await page.getByRole('button', { name: 'Sign in to the admin console' }).click();
  await page.locator('.topbar .user').waitFor();
}

export async function newAdminPage(s: TestApp, context: BrowserContext, organizationId: string, opts: { width?: number } = {}): Promise<{ page: Page; w: Watch }> {
  const page = await context.newPage();
  if (opts.width) await page.setViewportSize({ width: opts.width, height: 844 });
  page.on('dialog', (d) => void d.accept());
  const w = watch(page);
  await signInWithLink(s, page, organizationId);
  return { page, w };
}

export async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: artifactPath(`${name}.png`), fullPage: true });
}

export async function noHorizontalScroll(page: Page): Promise<boolean> {
  return page.evaluate<boolean>('document.documentElement.scrollWidth <= window.innerWidth + 1');
}

/** Whether the element's right edge is inside the viewport (not clipped off-screen). */
export async function fitsViewport(page: Page, selector: string): Promise<boolean> {
  return page.evaluate<boolean>(
    `(() => { const el = document.querySelector(${JSON.stringify(selector)}); if (!el) return false; const r = el.getBoundingClientRect();
      let p = el.parentElement; while (p) { const pr = p.getBoundingClientRect(); const cs = getComputedStyle(p);
        if ((cs.overflowX === 'auto' || cs.overflowX === 'hidden' || cs.overflowX === 'scroll') && r.right > pr.right + 1) return false; p = p.parentElement; }
      return r.right <= window.innerWidth + 1 && r.left >= -1; })()`,
  );
}

export function noProblems(w: Watch): void {
  expect(w.problems).toEqual([]);
}
