// The console's pages walked in Chromium (Debian's, via playwright-core)
// at 1280 px and 390 px: a member's page, "who can open this lock" at a chosen
// time, the admin activity log, the SAML settings that were CLI-only, the
// guided Entra set-up with its self-ticking checklist, and one full set-up
// done with the keyboard only. Every walk fails on a console error, a script
// error, a failed request or an unexpected 4xx/5xx (watch()), and saves
// screenshots under test-artifacts/admin/.
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { TestApp } from '../setup/test-app.js';
import { buildOrg } from '../factories/index.js';
import type { Actor } from '../../src/domain/index.js';
import { TestIdp } from '../saml/idp.js';
import type { Browser } from './browser.js';
import { consoleSuite, newAdminPage, noHorizontalScroll, noProblems, shot, watch } from './console-helpers.js';

let s: TestApp;
let browser: Browser;

consoleSuite((c) => ({ s, browser } = c));

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
    it(`shows profile, source, groups, what the member can open and why, windows, history and sign-ins (${width} px)`, async () => {
      const x = await seeded(`Member page ${width}`);
      // Ada has signed in once through Entra.
      const idp = new TestIdp();
      await s.t.domain.saml.importMetadataXml(x.org.actor, idp.metadataXml());
      await firstSignIn(idp, x.org.domain, x.ada.userName);
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
      // Recent sign-ins: the one through Entra.
      expect(await page.locator('#member-signins li').evaluateAll((li) => li.map((e) => [e.getAttribute('data-action'), e.getAttribute('data-outcome')]))).toEqual([['saml.login', 'success']]);
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
    }, 90_000);
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
    }, 90_000);
  }
});

describe('SAML settings in the console and the admin activity log', () => {
  for (const width of WIDTHS) {
    it(`admin grant and removal, token rotation, certificate rollover and removal, sign-in from My Apps off, each in the admin activity log with who did it (${width} px)`, async () => {
      const x = await seeded(`Admin activity ${width}`);
      const { page, w } = await newAdminPage(s, browser.context, x.org.id, { width });
      // An admin grant and a removal from People & access: Bob made admin and his role removed, then Ada made admin.
      await page.click('#tab-people');
      await page.getByRole('button', { name: `Make admin ${x.bob.userName}` }).click();
      await page.locator(`tr[data-user-name="${x.bob.userName}"] .badge-admin`).waitFor();
      await page.getByRole('button', { name: `Remove admin role from ${x.bob.userName}` }).click();
      await page.locator(`tr[data-user-name="${x.bob.userName}"] .badge-admin`).waitFor({ state: 'detached' });
      await page.getByRole('button', { name: `Make admin ${x.ada.userName}` }).click();
      await page.locator(`tr[data-user-name="${x.ada.userName}"] .badge-admin`).waitFor();
      // A token rotation from the SCIM page.
      await page.click('#tab-scim');
      await page.click('#scim-generate');
      await page.locator('#scim-token').waitFor();
      await page.click('#scim-token-done');

      // SAML: metadata uploaded, a certificate, the next one prepared, promoted, the old one removed.
      const idp = new TestIdp();
      await page.click('#tab-saml');
      await page.setInputFiles('#saml-metadata-file', { name: 'federationmetadata.xml', mimeType: 'application/xml', buffer: Buffer.from(idp.metadataXml()) });
      await page.getByRole('button', { name: 'Upload XML' }).click();
      await page.locator('#saml-imported').waitFor();
      await page.click('#saml-generate-cert');
      await page.locator('#saml-generate-next').click();
      const spRows = page.locator('#saml-sp-title ~ .table-wrap table.certs tbody tr');
      await spRows.nth(1).waitFor();
      expect(await spRows.count()).toBe(2);
      // What each certificate is for (read through GraphQL, as an app with an admin key would).
      expect(await spRows.locator('.cert-use').allTextContents()).toEqual(['signing', 'next (published, not yet in use)']);
      const first = (await s.t.domain.saml.settings(x.org.actor)).spCertificates.find((c) => c.active)!;
      await page.getByRole('button', { name: /^Use certificate .* for signing$/ }).click();
      await page.getByRole('button', { name: `Remove certificate ${first.fingerprint.slice(0, 11)}…` }).waitFor();
      expect(await spRows.locator('.cert-use').allTextContents()).toEqual(['signing', 'retired (signed before)']);
      await shot(page, `saml-rollover-${width}`);
      await page.getByRole('button', { name: `Remove certificate ${first.fingerprint.slice(0, 11)}…` }).click();
      await page.locator('#saml-sp-title ~ .table-wrap table.certs tbody tr').nth(1).waitFor({ state: 'detached' });
      const after = await s.t.domain.saml.settings(x.org.actor);
      expect(after.spCertificates).toHaveLength(1);
      expect(after.spCertificates[0]!.id).not.toBe(first.id);
      expect(after.spCertificates[0]!.active).toBe(true);
      // Sign-in from My Apps (IdP-initiated): on by default, turned off here.
      expect(await page.isChecked('#saml-idp-initiated')).toBe(true);
      await page.uncheck('#saml-idp-initiated');
      await page.locator('#toast', { hasText: 'turned off' }).waitFor();
      expect(await page.isChecked('#saml-idp-initiated')).toBe(false);
      expect((await s.t.domain.saml.settings(x.org.actor)).allowIdpInitiated).toBe(false);
      await shot(page, `saml-options-${width}`);
      if (width === 390) expect(await noHorizontalScroll(page)).toBe(true);

      // The admin activity log: each of these, with who did it; not what Entra provisioned.
      await page.click('#tab-logs');
      await page.selectOption('#logs-kind', 'admin');
      const entries = page.locator('#logs-entries .log-entry');
      await entries.first().waitFor();
      await page.locator('#logs-entries .log-entry[data-action="saml.idp_initiated"]').waitFor();
      const seen = await entries.evaluateAll((els) => els.map((e) => [e.getAttribute('data-action'), e.querySelector('summary')?.textContent ?? '']));
      const actions = seen.map(([a]) => a);
      for (const a of [
        'admin.bootstrap_link.create',
        'admin.bootstrap_link.use',
        'admin.grant',
        'admin.revoke',
        'scim.enable',
        'scim.token.rotate',
        'saml.metadata.import',
        'saml.certificate.generate',
        'saml.certificate.generate_next',
        'saml.certificate.promote',
        'saml.certificate.remove',
        'saml.idp_initiated',
      ]) {
        expect(actions, a).toContain(a);
      }
      expect(actions).not.toContain('scim.user.create');
      const summary = (a: string) => seen.find(([x]) => x === a)![1];
      expect(summary('admin.grant')).toContain('Made admin');
      expect(summary('admin.grant')).toContain(x.ada.userName);
      expect(summary('admin.grant')).toContain('by admin bootstrap-admin');
      expect(summary('admin.revoke')).toContain('Admin role removed');
      expect(summary('admin.revoke')).toContain(x.bob.userName);
      expect(summary('admin.revoke')).toContain('by admin bootstrap-admin');
      expect(summary('scim.token.rotate')).toContain('by admin bootstrap-admin');
      await shot(page, `admin-activity-${width}`);
      if (width === 390) expect(await noHorizontalScroll(page)).toBe(true);
      noProblems(w);
      await page.close();
    }, 120_000);
  }
});

/** What Entra does once the admin pasted the Tenant URL and token: Test Connection, then a provisioning cycle. */
async function entraProvisions(token: string, userName: string): Promise<void> {
  const call = (method: string, path: string, body?: unknown) =>
    fetch(`${s.url}/scim/v2${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/scim+json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
  const test = await call('GET', `/Users?filter=${encodeURIComponent(`userName eq "${crypto.randomUUID()}"`)}`);
  expect(test.status).toBe(200);
  const created = await call('POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName, displayName: 'Kim Provisioned', active: true });
  expect(created.status).toBe(201);
}

/**
 * A person assigned in Entra signs in (SP-initiated, from the Sign-on URL):
 * Gatehouse's AuthnRequest, Entra's signed answer posted to the Reply URL.
 */
async function firstSignIn(idp: TestIdp, orgDomain: string, userName: string): Promise<void> {
  const start = await fetch(`${s.url}/saml/${orgDomain}/login?RelayState=%2Fme`, { redirect: 'manual' });
  expect(start.status).toBe(302);
  const location = new URL(start.headers.get('location')!);
  expect(location.href.startsWith(idp.ssoUrl)).toBe(true);
  const requestXml = zlib.inflateRawSync(Buffer.from(location.searchParams.get('SAMLRequest')!, 'base64')).toString('utf8');
  const requestId = /\sID="([^"]+)"/.exec(requestXml)![1]!;
  const acsUrl = /AssertionConsumerServiceURL="([^"]+)"/.exec(requestXml)![1]!;
  const samlResponse = idp.response({ acsUrl, audience: `${s.url}/saml/${orgDomain}/metadata`, nameId: userName, inResponseTo: requestId });
  const acs = await fetch(acsUrl, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ SAMLResponse: samlResponse, RelayState: '/me' }).toString(),
  });
  expect(acs.status).toBe(303);
  expect(acs.headers.get('set-cookie')).toContain('gatehouse_session=');
}

describe('the guided Entra set-up', () => {
  for (const width of WIDTHS) {
    it(`numbered steps with every value to copy, the claims and mappings, and a checklist that ticks itself (${width} px)`, async () => {
      const org = await buildOrg(s.t.domain, `Set-up ${width}`);
      const { page, w } = await newAdminPage(s, browser.context, org.id, { width });
      await page.click('#tab-setup');
      await page.locator('#setup-count', { hasText: '0 of 6 done' }).waitFor();
      // Every value with its Copy button, each as Entra names it.
      expect(await page.inputValue('#setup-tenant-url')).toBe(`${s.url}/scim/v2`);
      expect(await page.inputValue('#setup-identifier')).toBe(`${s.url}/saml/${org.domain}/metadata`);
      expect(await page.inputValue('#setup-reply-url')).toBe(`${s.url}/saml/${org.domain}/acs`);
      expect(await page.inputValue('#setup-sign-on-url')).toBe(`${s.url}/saml/${org.domain}/login`);
      expect(await page.inputValue('#setup-nameid')).toBe('user.userprincipalname');
      for (const id of ['setup-tenant-url', 'setup-identifier', 'setup-reply-url', 'setup-sign-on-url', 'setup-nameid']) {
        await page.locator(`button[data-copy="${id}"]`).waitFor();
      }
      const text = await page.textContent('#panel');
      for (const words of ['Enterprise applications', 'New application', 'Create your own application', 'Test Connection', 'Attributes & Claims', 'App Federation Metadata Url']) {
        expect(text).toContain(words);
      }
      expect(await page.textContent('#setup-mappings')).toContain('userPrincipalName');
      // A deep link into the Entra admin center, in a new tab.
      const entra = page.getByRole('link', { name: 'Enterprise applications' });
      expect(await entra.getAttribute('href')).toMatch(/^https:\/\/entra\.microsoft\.com\/#view\//);
      expect(await entra.getAttribute('target')).toBe('_blank');
      await shot(page, `setup-start-${width}`);
      if (width === 390) expect(await noHorizontalScroll(page)).toBe(true);

      // What the admin and Entra do meanwhile; the open page ticks itself (it reads again every 15 s).
      const { token } = await s.t.domain.organizations.enableScim(org.actor);
      await entraProvisions(token, `kim.${width}@contoso.example`);
      const idp = new TestIdp();
      await s.t.domain.saml.importMetadataXml(org.actor, idp.metadataXml());
      await s.t.domain.saml.generateCertificate(org.actor, 'test');
      await firstSignIn(idp, org.domain, `kim.${width}@contoso.example`);
      await page.locator('#setup-count', { hasText: '6 of 6 done' }).waitFor({ timeout: 25_000 });
      expect(await page.locator('#setup-checklist li[data-done="true"]').count()).toBe(6);
      await shot(page, `setup-done-${width}`);
      noProblems(w);
      await page.close();
    }, 60_000);
  }
});

/** The focused element shows a visible focus ring (the console's :focus-visible outline). */
async function focusVisible(page: Page): Promise<string> {
  return page.evaluate(() => {
    const a = document.activeElement as HTMLElement | null;
    if (!a || a === document.body) return 'body';
    // A date field's focus sits on its segment (day, month…), which Chromium highlights itself.
    if (a.matches('input[type="datetime-local"]')) return 'ok';
    const cs = getComputedStyle(a);
    // Text, date and select fields show the ring on any focus; the others on keyboard focus (:focus-visible).
    const ring = (a.matches(':focus-visible') || a.matches('input:focus, select:focus, textarea:focus')) && cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 2;
    return ring ? 'ok' : `${a.tagName.toLowerCase()}#${a.id}.${a.className} f=${a.matches(':focus')} has no focus ring`;
  });
}

/** Presses Tab until the focus is on `selector`, checking the focus ring at every stop. */
async function tabTo(page: Page, selector: string, max = 150): Promise<void> {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    expect(['ok', 'body']).toContain(await focusVisible(page));
    if (await page.evaluate((sel) => document.activeElement?.matches(sel) ?? false, selector)) return;
  }
  throw new Error(`Tab never reached ${selector}`);
}

/** Tabs through the whole page once and returns the controls never reached (with a focus ring checked at every stop). */
async function unreachable(page: Page): Promise<string[]> {
  const all = await page.evaluate(() => {
    const sel = 'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), select:not([disabled]), textarea:not([disabled]), summary, [tabindex="0"]';
    const els = Array.from(document.querySelectorAll<HTMLElement>(sel)).filter((e) => e.checkVisibility() && e.tabIndex >= 0);
    els.forEach((e, i) => (e.dataset.kbd = String(i)));
    return els.map((e) => `${e.tagName.toLowerCase()}#${e.id}[${e.textContent?.trim().slice(0, 30) ?? ''}]`);
  });
  const reached = new Set<string>();
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  // Date fields take one Tab per segment: room for them, and for wrapping past the address bar.
  for (let i = 0; i < all.length + 60; i++) {
    await page.keyboard.press('Tab');
    expect(['ok', 'body']).toContain(await focusVisible(page));
    const k = await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.kbd ?? null);
    if (k !== null) reached.add(k);
  }
  return all.filter((_, i) => !reached.has(String(i)));
}

describe('one full set-up with the keyboard only', () => {
  it('Tab, Enter and Space reach every control with a visible focus: SCIM token, SAML metadata, certificate, sign-in option, checklist', async () => {
    const org = await buildOrg(s.t.domain, 'Keyboard only');
    const idp = new TestIdp();
    await idp.start();
    const page = await browser.context.newPage();
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.bringToFront();
    page.on('dialog', (d) => void d.accept());
    const w = watch(page);
    try {
      // The one-time link's page: Tab to its button, Enter.
      const link = await s.t.domain.admins.createBootstrapLink(org.id);
      await page.goto(`${s.url}/admin/bootstrap?token=${encodeURIComponent(link.token)}`);
      await tabTo(page, '#bootstrap-continue');
      await page.keyboard.press('Enter');
      await page.locator('.topbar .user').waitFor();

      // The set-up guide: every control reachable.
      await tabTo(page, '#tab-setup');
      await page.keyboard.press('Enter');
      await page.locator('#setup-count', { hasText: '0 of 6 done' }).waitFor();
      expect(await unreachable(page)).toEqual([]);

      // SCIM: enable and generate the token (Enter), then hide it (Enter).
      await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
      await tabTo(page, '#tab-scim');
      await page.keyboard.press('Enter');
      await page.locator('#scim-enable').waitFor();
      expect(await unreachable(page)).toEqual([]);
      await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
      await tabTo(page, '#scim-enable');
      await page.keyboard.press('Enter');
      await page.locator('#scim-token').waitFor();
      const token = await page.inputValue('#scim-token');
      await tabTo(page, '#scim-token-done');
      await page.keyboard.press('Enter');
      expect(await focusVisible(page)).not.toBe('body');
      await entraProvisions(token, 'kim.keyboard@contoso.example');

      // SAML: type the metadata URL and press Enter; Generate Certificate; Space turns sign-in from My Apps off.
      await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
      await tabTo(page, '#tab-saml');
      await page.keyboard.press('Enter');
      await page.locator('#saml-metadata-url').waitFor();
      await tabTo(page, '#saml-metadata-url');
      await page.keyboard.type(idp.metadataUrl);
      await page.keyboard.press('Enter');
      await page.locator('#saml-imported', { hasText: 'from the URL' }).waitFor();
      await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
      await tabTo(page, '#saml-generate-cert');
      await page.keyboard.press('Enter');
      await page.locator('#saml-sp-title ~ .table-wrap table.certs tbody tr', { hasText: 'signing' }).waitFor();
      await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
      await tabTo(page, '#saml-idp-initiated');
      await page.keyboard.press('Space');
      await page.locator('#toast', { hasText: 'turned off' }).waitFor();
      expect((await s.t.domain.saml.settings(org.actor)).allowIdpInitiated).toBe(false);
      expect(await unreachable(page)).toEqual([]);
      await shot(page, 'keyboard-saml');

      // An assigned person signs in; the checklist is complete.
      await firstSignIn(idp, org.domain, 'kim.keyboard@contoso.example');
      await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
      await tabTo(page, '#tab-setup');
      await page.keyboard.press('Enter');
      await page.locator('#setup-count', { hasText: '6 of 6 done' }).waitFor();
      await shot(page, 'keyboard-setup-done');
      noProblems(w);
    } finally {
      await idp.stop();
      await page.close();
    }
  }, 120_000);
});
