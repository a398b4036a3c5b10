// The console's "Logs to browse", walked in Chromium at 1280 px and 390 px (in
// dark mode at 390 px): times with seconds and the time zone, failures only,
// a date range with an empty state that fits the filter, export to CSV and
// JSON lines of what the filter shows, and auto-refresh bringing in what
// Entra does meanwhile. Fails on any console error or failed request;
// screenshots under test-artifacts/admin/.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { TestApp } from '../setup/test-app.js';
import { buildOrg } from '../factories/index.js';
import type { Actor } from '../../src/domain/index.js';
import type { Browser } from './browser.js';
import { consoleSuite, newAdminPage, noHorizontalScroll, noProblems, shot } from './console-helpers.js';

let s: TestApp;
let browser: Browser;

consoleSuite((c) => ({ s, browser } = c));

describe('logs to browse', () => {
  for (const [width, scheme] of [
    [1280, 'light'],
    [390, 'dark'],
  ] as const) {
    it(`times with seconds and the time zone, failures only, a date range, CSV and JSON lines exports, auto-refresh (${width} px, ${scheme})`, async () => {
      const org = await buildOrg(s.t.domain, `Logs ${width}`);
      const scim: Actor = { kind: 'scim', organizationId: org.id, label: 'scim' };
      await s.t.domain.members.create(scim, { userName: `kim-${width}@logs.example`, displayName: 'Kim Lee' });
      await s.t.domain.members.create(scim, { userName: `lou-${width}@logs.example` });
      await s.t.domain.audit.recordFailure(scim, { action: 'scim.user.create', resourceLabel: `kim-${width}@logs.example`, reason: '409 uniqueness: userName taken' });

      const { page, w } = await newAdminPage(s, browser.context, org.id, { width });
      await page.emulateMedia({ colorScheme: scheme });
      await page.goto(`${s.url}/admin#logs?log=provisioning`);
      const entries = page.locator('#logs-entries .log-entry');
      await expect.poll(() => entries.count()).toBe(3);

      // Times with seconds and the time zone (an admin compares them with Entra's provisioning logs).
      const time = entries.first().locator('summary time');
      const shown = (await time.textContent()) ?? '';
      const at = JSON.stringify(await time.getAttribute('datetime'));
      const { ss, zone } = await page.evaluate<{ ss: string; zone: string }>(
        `(() => { const d = new Date(${at}); return { ss: String(d.getSeconds()).padStart(2, '0'),
          zone: new Intl.DateTimeFormat(undefined, { timeZoneName: 'short' }).formatToParts(d).find((p) => p.type === 'timeZoneName').value }; })()`,
      );
      expect(shown).toMatch(new RegExp(`\\d:\\d{2}:${ss}\\b`));
      expect(shown).toContain(zone);

      // Failures only: the refused request, with its reason; the route keeps the filter.
      await page.check('#logs-failures');
      await expect.poll(() => entries.count()).toBe(1);
      expect(await entries.first().getAttribute('data-outcome')).toBe('failure');
      expect(await entries.first().textContent()).toContain('409 uniqueness: userName taken');
      expect(page.url()).toContain('failures=1');
      await shot(page, `logs-failures-${width}`);

      // Exports: what the filter shows, as CSV and as JSON lines.
      for (const [button, check] of [
        ['#logs-csv', (t: string) => expect(t.trim().split('\r\n')).toHaveLength(2)],
        ['#logs-jsonl', (t: string) => expect(t.trim().split('\n').map((l) => (JSON.parse(l) as { outcome: string }).outcome)).toEqual(['failure'])],
      ] as const) {
        const [download] = await Promise.all([page.waitForEvent('download'), page.click(button)]);
        expect(download.suggestedFilename()).toMatch(button === '#logs-csv' ? /\.csv$/ : /\.jsonl$/);
        check(fs.readFileSync((await download.path())!, 'utf8'));
      }

      // A date range before anything happened: an empty state that says the filter hides entries.
      await page.uncheck('#logs-failures');
      await expect.poll(() => entries.count()).toBe(3);
      await page.fill('#logs-until', '2020-01-01T00:00:00');
      await page.locator('#logs-until').dispatchEvent('change');
      await page.locator('#logs-entries .state-empty', { hasText: 'No entries match these filters' }).waitFor();
      await page.fill('#logs-until', '');
      await page.locator('#logs-until').dispatchEvent('change');
      await expect.poll(() => entries.count()).toBe(3);

      // Auto-refresh: what Entra provisions meanwhile appears without a reload.
      await page.check('#logs-auto');
      await s.t.domain.members.create(scim, { userName: `new-${width}@logs.example` });
      await page.locator('#logs-entries .log-entry', { hasText: `new-${width}@logs.example` }).waitFor({ timeout: 30_000 });
      await page.uncheck('#logs-auto');

      if (scheme === 'dark') {
        // Dark mode: a dark page with light text.
        const [bg, fg] = await page.evaluate<[string, string]>('[getComputedStyle(document.body).backgroundColor, getComputedStyle(document.body).color]');
        const lum = (c: string) => (c.match(/\d+/g) ?? []).slice(0, 3).reduce((a, v) => a + Number(v), 0) / 3;
        expect(lum(bg)).toBeLessThan(60);
        expect(lum(fg)).toBeGreaterThan(180);
      }
      if (width === 390) expect(await noHorizontalScroll(page)).toBe(true);
      await shot(page, `logs-browse-${width}-${scheme}`);
      noProblems(w);
      await page.close();
    }, 120_000);
  }
});
