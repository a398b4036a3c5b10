// Door controller keys in the console (as in the CLI and GraphQL), walked in Chromium at 1280 px and 390 px: the admin
// picks a lock or a whole place, gets the key once with Copy, the key reads
// that allow-list and nothing else, and Revoke ends it at once. Fails on any
// console error or failed request; screenshots under test-artifacts/admin/.
import { describe, expect, it } from 'vitest';
import type { TestApp } from '../setup/test-app.js';
import { buildMember, buildOrg } from '../factories/index.js';
import type { Browser } from './browser.js';
import { consoleSuite, newAdminPage, noHorizontalScroll, noProblems, shot } from './console-helpers.js';

let s: TestApp;
let browser: Browser;

consoleSuite((c) => ({ s, browser } = c));

/** A GraphQL request as the door controller makes it, with its key. */
async function asController(key: string, query: string, variables: Record<string, unknown> = {}) {
  const res = await fetch(`${s.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, body: (await res.json()) as { data?: Record<string, unknown>; errors?: { extensions?: { code?: string } }[] } };
}

const SNAPSHOT = `query($locks: [ID!]) { lockSnapshot(lockIds: $locks) { cursor locks { lockId members { memberId } } } }`;

describe('console: door controller keys', () => {
  for (const width of [1280, 390]) {
    it(`creates a key for a lock or a place (shown once, with Copy), which reads only those; revokes it (${width} px)`, async () => {
      const org = await buildOrg(s.t.domain, `Controllers ${width}`);
      const d = s.t.domain;
      const depot = await d.places.createPlace(org.actor, { name: 'Depot' });
      const gate = await d.places.createLock(org.actor, { placeId: depot.id, name: 'Gate' });
      await d.places.createLock(org.actor, { placeId: depot.id, name: 'Back door' });
      const hq = await d.places.createPlace(org.actor, { name: 'Head office' });
      const front = await d.places.createLock(org.actor, { placeId: hq.id, name: 'Front door' });
      const ada = await buildMember(d, org.actor, { userName: `ada-${width}@controllers.example` });
      await d.shares.grant(org.actor, { memberId: ada.id, lockId: gate.id });

      await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: s.url });
      const { page, w } = await newAdminPage(s, browser.context, org.id, { width });
      await page.click('#tab-controllers');
      await page.locator('#controllers-keys .state-empty', { hasText: 'No controller keys yet' }).waitFor();

      // Nothing picked: said so, nothing created.
      await page.fill('#controller-name', 'Depot gate controller');
      await page.click('#controller-create');
      await page.locator('#controller-form-error', { hasText: 'Pick at least one lock or place' }).waitFor();
      expect(await d.apiKeys.list(org.actor)).toEqual([]);

      // One lock: the key is shown once, with Copy.
      await page.getByLabel('Gate', { exact: true }).check();
      await page.click('#controller-create');
      const keyInput = page.locator('#controller-key');
      await keyInput.waitFor();
      const key = await keyInput.inputValue();
      expect(key).toMatch(/^gh_key_/);
      await page.getByRole('button', { name: 'Copy controller key' }).click();
      await page.locator('#toast', { hasText: 'Key copied' }).waitFor();
      expect(await page.evaluate<string>('navigator.clipboard.readText()')).toBe(key);
      const row = page.locator('#controller-keys-table tr[data-key-name="Depot gate controller"]');
      expect(await row.locator('.controller-scope').textContent()).toBe('Gate (Depot)');
      await shot(page, `controllers-key-shown-${width}`);
      if (width === 390) expect(await noHorizontalScroll(page)).toBe(true);
      await page.click('#controller-key-done');
      expect(await page.locator('#controller-key').count()).toBe(0);
      expect(await page.evaluate<string | undefined>('document.activeElement?.id')).toBe('controllers-title');
      await page.reload();
      await row.waitFor();
      expect(await page.content()).not.toContain(key);

      // The key reads its lock's allow-list, and nothing else.
      const mine = await asController(key, SNAPSHOT, { locks: [gate.id] });
      expect(mine.body.errors).toBeUndefined();
      expect(mine.body.data).toMatchObject({ lockSnapshot: { locks: [{ lockId: gate.id, members: [{ memberId: ada.id }] }] } });
      expect((await asController(key, SNAPSHOT, { locks: [front.id] })).body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect((await asController(key, `{ members(first: 1) { totalCount } }`)).body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

      // A whole place: its locks are covered (their boxes checked and locked), the key names the place.
      await page.fill('#controller-name', 'Head office controller');
      await page.locator(`input[data-place="${hq.id}"]`).check();
      expect(await page.locator(`input[data-lock-of="${hq.id}"]`).isDisabled()).toBe(true);
      expect(await page.locator(`input[data-lock-of="${hq.id}"]`).isChecked()).toBe(true);
      await page.click('#controller-create');
      const second = await page.locator('#controller-key').inputValue();
      await page.click('#controller-key-done');
      const placeRow = page.locator('#controller-keys-table tr[data-key-name="Head office controller"]');
      expect(await placeRow.locator('.controller-scope').textContent()).toBe('Head office: all locks');
      const keys = await d.apiKeys.list(org.actor);
      expect(keys.map((k) => [k.name, k.role, k.lockIds, k.placeIds])).toEqual([
        ['Depot gate controller', 'controller', [gate.id], []],
        ['Head office controller', 'controller', [], [hq.id]],
      ]);
      expect((await asController(second, SNAPSHOT, { locks: [front.id] })).body.errors).toBeUndefined();
      expect((await asController(second, SNAPSHOT, { locks: [gate.id] })).body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      await shot(page, `controllers-list-${width}`);

      // Revoke (asked first): the controller is refused at once; the row says so.
      await page.getByRole('button', { name: 'Revoke key Depot gate controller' }).click();
      await page.locator('#toast', { hasText: 'Key of Depot gate controller revoked' }).waitFor();
      await row.locator('.badge', { hasText: 'Revoked' }).waitFor();
      expect(await row.getByRole('button', { name: /Revoke/ }).count()).toBe(0);
      expect((await asController(key, SNAPSHOT, { locks: [gate.id] })).status).toBe(401);
      expect((await asController(second, SNAPSHOT, { locks: [front.id] })).body.errors).toBeUndefined();

      // Each step is in the admin activity log, with who did it.
      const log = await d.audit.list(org.actor, { actionPrefix: 'apikey.' });
      expect(log.map((e) => [e.action, e.actorLabel])).toEqual([
        ['apikey.revoke', 'bootstrap-admin'],
        ['apikey.create', 'bootstrap-admin'],
        ['apikey.create', 'bootstrap-admin'],
      ]);
      if (width === 390) expect(await noHorizontalScroll(page)).toBe(true);
      await shot(page, `controllers-revoked-${width}`);
      noProblems(w);
      await page.close();
    }, 120_000);
  }
});
