// Issue 21's console pages walked in Chromium (Debian's, via playwright-core)
// at 1280 px and 390 px: a member's page, "who can open this lock" at a chosen
// time, the admin activity log, the SAML settings that were CLI-only, the
// guided Entra set-up with its self-ticking checklist, and one full set-up
// done with the keyboard only. Every walk fails on a console error, a script
// error, a failed request or an unexpected 4xx/5xx (watch()), and saves
// screenshots under test-artifacts/admin/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { createTestApp, type TestApp } from '../setup/test-app.js';
import { buildOrg } from '../factories/index.js';
import type { Actor } from '../../src/domain/index.js';
import { launchBrowser, type Browser } from './browser.js';
import { newAdminPage, noHorizontalScroll, noProblems, shot } from './console-helpers.js';

let s: TestApp;
let browser: Browser;

beforeAll(async () => {
  s = await createTestApp();
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await s?.close();
});

const WIDTHS = [1280, 390] as const;

/** An organisation as Entra leaves it after a provisioning cycle: members, a group, a place with two locks, shares. */
async function seeded(name: string) {
  const org = await buildOrg(s.t.domain, name);
  const d = s.t.domain;
  const scim: Actor = { kind: 'scim', organizationId: org.id, label: 'scim' };
  const place = await d.places.createPlace(org.actor, { name: 'Head office' });
  const front = await d.places.createLock(org.actor, { placeId: place.id, name: 'Front door' });
  const lab = await d.places.createLock(org.actor, { placeId: place.id, name: 'Lab' });
  const ada = await d.members.create(scim, { userName: 'ada@contoso.example', displayName: 'Ada Lovelace', title: 'Engineer', emails: [{ value: 'ada@contoso.example', type: 'work', primary: true }] }, { action: 'scim.user.create' });
  const anna = await d.members.create(scim, { userName: 'anna@contoso.example', displayName: 'Anna North' }, { action: 'scim.user.create' });
  const bob = await d.members.create(scim, { userName: 'bob@contoso.example', displayName: 'Bob South' }, { action: 'scim.user.create' });
  // The group comes through the SCIM edge, as Entra sends it (its log entry names the members).
  const { token } = await d.organizations.enableScim(org.actor);
  const res = await fetch(`${s.url}/scim/v2/Groups`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
    body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Night shift', members: [{ value: ada.id }, { value: anna.id }] }),
  });
  expect(res.status).toBe(201);
  const night = (await res.json()) as { id: string };
  await d.shares.grant(org.actor, { groupId: night.id, placeId: place.id, validFrom: new Date('2030-01-01T00:00:00Z') });
  await d.shares.grant(org.actor, { memberId: ada.id, lockId: lab.id, validUntil: new Date('2031-01-01T00:00:00Z') });
  await d.shares.grant(org.actor, { memberId: anna.id, lockId: front.id, validUntil: new Date('2029-06-01T00:00:00Z') });
  await d.shares.grant(org.actor, { memberId: bob.id, lockId: front.id });
  return { org, place, front, lab, ada, anna, bob, night };
}

async function setAt(page: Page, selector: string, isoLocal: string): Promise<void> {
  await page.locator(selector).fill(isoLocal);
}

describe('a member page', () => {
  for (const width of WIDTHS) {
    it(`shows profile, source, groups, what the member can open and why, windows and history (${width} px)`, async () => {
      const x = await seeded(`Member page ${width}`);
      const { page, w } = await newAdminPage(s, browser.context, x.org.id, { width });
      // From the people list.
      await page.click('#tab-people');
      await page.locator(`tr[data-user-name="${x.ada.userName}"] a.name`).click();
      await page.locator('#member-title', { hasText: 'Ada Lovelace' }).waitFor();
      expect(await page.textContent('#member-profile')).toContain('Engineer');
      expect(await page.textContent('#member-owner')).toContain('Owned by Microsoft Entra');
      expect(await page.locator('#member-groups li').allTextContents()).toEqual([expect.stringContaining('Night shift')]);
      // Now: the Lab (a direct share); the group's place share opens in 2030.
      expect(await page.locator('#member-access tbody tr').count()).toBe(1);
      expect(await page.textContent('#member-access')).toContain('via a direct share, on the lock Lab');
      expect(await page.locator('#member-windows tbody tr').count()).toBe(2);
      expect(await page.textContent('#member-windows')).toContain('starts');
      // History: the SCIM create and the group that names her.
      await page.locator('#member-history li[data-action="scim.user.create"]').waitFor();
      await page.locator('#member-history li[data-action="scim.group.create"]', { hasText: 'Night shift' }).waitFor();
      await shot(page, `member-page-${width}`);
      if (width === 390) expect(await noHorizontalScroll(page)).toBe(true);

      // At another time: both locks, and why.
      await setAt(page, '#member-at', '2030-06-01T12:00:00');
      await page.locator('#member-access-title ~ form button[type="submit"]').click();
      await page.locator('#member-access tbody tr[data-lock="Front door"]').waitFor();
      expect(await page.textContent('#member-access tr[data-lock="Front door"]')).toContain('via group Night shift, on the place Head office');
      expect(await page.textContent('#member-access-count')).toContain('2 locks');
      await shot(page, `member-page-2030-${width}`);

      // From the logs: the entry's member is a link to the page.
      await page.goto(`${s.url}/admin#logs?log=all&q=anna`);
      const link = page.locator('#logs-entries .log-entry a.resource', { hasText: x.anna.userName }).first();
      await link.click();
      await page.locator('#member-title', { hasText: 'Anna North' }).waitFor();
      noProblems(w);
      await page.close();
    });
  }
});

describe('who can open this lock, at a chosen date and time', () => {
  for (const width of WIDTHS) {
    it(`counts, searches and sorts at the time asked (${width} px)`, async () => {
      const x = await seeded(`Who at ${width}`);
      const { page, w } = await newAdminPage(s, browser.context, x.org.id, { width });
      await page.click('#tab-people');
      await page.locator('.lock', { hasText: 'Front door' }).getByRole('link', { name: 'At a date…' }).click();
      await page.locator('#lock-title', { hasText: 'Who can open Front door?' }).waitFor();
      // Now: Anna (until 2029) and Bob.
      await page.locator('#lock-count', { hasText: '2 people can open Front door' }).waitFor();
      expect(await page.locator('#lock-who-table tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-user-name')))).toEqual([
        'anna@contoso.example',
        'bob@contoso.example',
      ]);
      // Sorted by when access ends: Anna (2029) before Bob (no end); then by userName descending is not offered.
      await page.selectOption('#lock-sort', 'until');
      expect(await page.locator('#lock-who-table tbody tr').first().getAttribute('data-user-name')).toBe('anna@contoso.example');
      await shot(page, `lock-who-now-${width}`);

      // In 2030: Anna's share ended; the Night shift's place share (Ada, Anna) opened.
      await setAt(page, '#lock-at', '2030-06-01T12:00:00');
      await page.click('#lock-check');
      await page.locator('#lock-count', { hasText: '3 people can open Front door' }).waitFor();
      const why = await page.textContent('#lock-who-table tr[data-user-name="ada@contoso.example"]');
      expect(why).toContain('via group Night shift on the place');
      // Search: part of a name.
      await page.fill('#lock-search', 'ann');
      await page.click('#lock-check');
      await page.locator('#lock-count', { hasText: '1 person matches “ann”' }).waitFor();
      expect(await page.locator('#lock-who-table tbody tr').count()).toBe(1);
      await shot(page, `lock-who-2030-search-${width}`);
      if (width === 390) expect(await noHorizontalScroll(page)).toBe(true);
      // The filter is in the address: a reload shows the same.
      await page.reload();
      await page.locator('#lock-count', { hasText: '1 person matches “ann”' }).waitFor();
      // A person is a link to their page.
      await page.locator('#lock-who-table a.name', { hasText: 'Anna North' }).click();
      await page.locator('#member-title', { hasText: 'Anna North' }).waitFor();
      noProblems(w);
      await page.close();
    });
  }
});
