// The mass-deprovision guard and SCIM token rotation in the console,
// walked in Chromium as an admin would: the red health item leads to the guard
// page, which lists what is held (who, what, which source, when); Approve all
// and Discard all ask first and apply; the settings are editable (bad values
// refused with a message, nothing saved). On the SCIM page, Rotate shows the
// new token once, says which token Entra still uses, and revokes the previous.
// Each walk runs at 1280 px and 390 px and fails on any console error or
// failed request it did not provoke on purpose.
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { TestApp } from '../setup/test-app.js';
import { buildOrg } from '../factories/index.js';
import type { Actor } from '../../src/domain/index.js';
import type { Browser } from './browser.js';
import { consoleSuite, newAdminPage, noHorizontalScroll, noProblems, shot } from './console-helpers.js';

let s: TestApp;
let browser: Browser;

consoleSuite((c) => ({ s, browser } = c));

/** An organisation with `n` members Entra provisioned, and Entra's actor. */
async function scimPopulation(n: number, name: string) {
  const org = await buildOrg(s.t.domain, name);
  const scim: Actor = { kind: 'scim', organizationId: org.id, label: 'scim' };
  const members = [];
  for (let i = 0; i < n; i++) members.push(await s.t.domain.members.create(scim, { userName: `person${i}-${crypto.randomBytes(3).toString('hex')}@contoso.com` }));
  return { org, scim, members };
}

describe('console: the mass-deprovision guard page', () => {
  for (const width of [1280, 390]) {
    it(`health links to it; lists held changes; settings edit; Approve all and Discard all ask first and apply (${width} px)`, async () => {
      const { org, scim, members } = await scimPopulation(10, `Acme Doors ${width}`);
      // 10 % of 10 members, at least 1: Entra's second deactivation within the hour is held.
      await s.t.domain.guard.updateSettings(org.actor, { thresholdPercent: 10, minCount: 1 });
      for (const m of members.slice(0, 4)) await s.t.domain.members.update(scim, m.id, { active: false });
      const held = await s.t.domain.guard.list(org.actor);
      expect(held.length).toBe(3);

      const { page, w } = await newAdminPage(s, browser.context, org.id, { width });
      const dialogs: string[] = [];
      page.on('dialog', (d) => dialogs.push(d.message()));
      const item = page.locator('[data-health="guard"]');
      await item.waitFor();
      expect(await item.getAttribute('data-status')).toBe('error');
      expect(await item.textContent()).toMatch(/3 changes held/);
      await item.locator('a').click();
      await page.locator('#guard-held-table').waitFor();
      expect(page.url()).toMatch(/#guard$/);
      const rows = page.locator('#guard-held-table tbody tr');
      expect(await rows.count()).toBe(3);
      const text = await page.textContent('#guard-held-table');
      for (const h of held) expect(text).toContain(h.memberLabel!);
      expect(text).toContain('Deactivate');
      expect(text).toContain('SCIM (Entra provisioning)');
      await shot(page, `guard-held-${width}`);
      if (width === 390) expect(await noHorizontalScroll(page)).toBe(true);

      // Settings: a bad value is refused with a message and nothing is saved; a good one is saved.
      w.expect(400, /\/admin\/api\/guard\/settings$/);
      await page.fill('#guard-threshold', '0');
      await page.evaluate("document.getElementById('guard-threshold').removeAttribute('min')");
      await page.click('#guard-save');
      await page.locator('#toast.toast-error').waitFor();
      expect(await page.textContent('#toast')).toMatch(/thresholdPercent must be a whole number/);
      expect((await s.t.domain.guard.settings(org.actor)).thresholdPercent).toBe(10);
      await page.fill('#guard-threshold', '20');
      await page.fill('#guard-min', '2');
      await page.fill('#guard-window', '30');
      await page.click('#guard-save');
      await page.locator('#toast', { hasText: 'Guard settings saved' }).waitFor();
      expect(await s.t.domain.guard.settings(org.actor)).toEqual({ enabled: true, thresholdPercent: 20, minCount: 2, windowMinutes: 30 });

      // Approve all: asked first, then every held member loses access at once.
      await page.click('#guard-approve');
      await page.locator('#toast', { hasText: 'Approved 3' }).waitFor();
      expect(dialogs.some((d) => /Approve all 3 held changes\?/.test(d))).toBe(true);
      expect(await s.t.domain.guard.heldCount(org.actor)).toBe(0);
      for (const h of held) expect((await s.t.domain.members.get(org.actor, h.memberId)).active).toBe(false);
      expect((await s.t.domain.audit.list(org.actor, { actionPrefix: 'guard.approve' }))[0]).toMatchObject({ actorLabel: 'bootstrap-admin' });
      await page.locator('#guard-held', { hasText: 'Nothing is held' }).waitFor();

      // More held, then Discard all: asked first, nobody loses access.
      for (const m of members.slice(4, 9)) await s.t.domain.members.update(scim, m.id, { active: false });
      const more = await s.t.domain.guard.list(org.actor);
      expect(more.length).toBeGreaterThan(0);
      await page.reload();
      await page.locator('#guard-discard').click();
      await page.locator('#toast', { hasText: `Discarded ${more.length}` }).waitFor();
      expect(dialogs.some((d) => /^Discard all/.test(d))).toBe(true);
      expect(await s.t.domain.guard.heldCount(org.actor)).toBe(0);
      for (const h of more) expect((await s.t.domain.members.get(org.actor, h.memberId)).active).toBe(true);
      await page.locator('[data-health="guard"][data-status="ok"]').waitFor();

      // Turning the guard off asks first and saves.
      await page.uncheck('#guard-enabled');
      await page.click('#guard-save');
      await page.locator('#toast', { hasText: 'Guard settings saved' }).waitFor();
      expect(dialogs.some((d) => /Turn the guard off\?/.test(d))).toBe(true);
      expect((await s.t.domain.guard.settings(org.actor)).enabled).toBe(false);
      noProblems(w);
      await page.close();
    });
  }
});

describe('console: SCIM token rotation', () => {
  for (const width of [1280, 390]) {
    it(`Rotate shows the new token once while the old one keeps working, says which token Entra uses, Revoke previous ends the old one (${width} px)`, async () => {
      const org = await buildOrg(s.t.domain, `Acme Rotation ${width}`);
      const first = await s.t.domain.organizations.enableScim(org.actor);
      await s.t.domain.organizations.authenticateScim(first.token);
      const { page, w } = await newAdminPage(s, browser.context, org.id, { width });
      await page.locator('#scim-rotate').waitFor();
      await page.selectOption('#scim-overlap', '3d');
      await page.click('#scim-rotate');
      const token = await page.locator('#scim-token').inputValue();
      expect(token).toMatch(/^gh_scim_/);
      expect(await page.textContent('#scim-token-reveal')).toMatch(/previous token keeps working until/);
      const status = await s.t.domain.organizations.scimStatus(org.actor);
      expect(status.previousTokenExpiresAt!.getTime() - Date.now()).toBeGreaterThan(3 * 86_400_000 - 120_000);
      // Both work; Entra has not used the new one yet.
      expect((await s.t.domain.organizations.authenticateScim(first.token)).organizationId).toBe(org.id);
      expect(await page.textContent('#scim-token-in-use')).toMatch(/still using the previous token/);
      await page.locator('[data-health="scim"]', { hasText: 'Entra still uses the previous token' }).waitFor();
      await shot(page, `scim-rotated-${width}`);
      if (width === 390) expect(await noHorizontalScroll(page)).toBe(true);
      await page.click('#scim-token-done');
      expect(await page.locator('#scim-token').count()).toBe(0);

      // Entra uses the new token: the page says so after a reload (and never shows the token again).
      await s.t.domain.organizations.authenticateScim(token);
      await page.reload();
      await page.locator('#scim-token-in-use', { hasText: 'Entra is using the new token' }).waitFor();
      expect(await page.content()).not.toContain(token);
      await page.click('#scim-revoke-previous');
      await page.locator('#toast', { hasText: 'The previous token no longer works' }).waitFor();
      expect(await page.locator('#scim-revoke-previous').count()).toBe(0);
      await expect(s.t.domain.organizations.authenticateScim(first.token)).rejects.toMatchObject({ kind: 'unauthenticated' });
      expect((await s.t.domain.organizations.authenticateScim(token)).organizationId).toBe(org.id);
      noProblems(w);
      await page.close();
    });
  }
});
