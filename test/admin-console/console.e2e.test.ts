// The admin console in a real browser (Debian's Chromium via playwright-core):
// bootstrap link → enable SCIM → token shown once → a SCIM client provisions a
// member → it appears in the provisioning log and the people list. Screenshots
// of each panel, at 1280 px and phone width, go to test-artifacts/admin/.
// Each walk fails on any console error, script error, failed request or error
// answer it did not provoke on purpose (watch in console-helpers.ts).
import { beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { TestApp } from '../setup/test-app.js';
import { buildOrg } from '../factories/index.js';
import { artifactPath, type Browser } from './browser.js';
import { consoleSuite, noHorizontalScroll, noProblems, signInWithLink, watch } from './console-helpers.js';

let s: TestApp;
let browser: Browser;
let org: Awaited<ReturnType<typeof buildOrg>>;

consoleSuite((c) => ({ s, browser } = c));
beforeAll(async () => {
  org = await buildOrg(s.t.domain, 'Acme Doors');
});

/** The browser never leaves the test server (no CDN, no fonts, no scripts elsewhere). */
function recordForeignRequests(page: Page, base: string): string[] {
  const foreign: string[] = [];
  page.on('request', (r) => {
    if (!r.url().startsWith(base) && !r.url().startsWith('data:')) foreign.push(r.url());
  });
  return foreign;
}

/** Provisions a member as Entra would, through the SCIM edge with the token; Entra's retry of the create is refused (409) and logged. */
async function provision(token: string, userName: string): Promise<void> {
  const body = {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
    userName,
    active: true,
    displayName: 'Ada Lovelace',
    name: { givenName: 'Ada', familyName: 'Lovelace' },
    emails: [{ value: userName, type: 'work', primary: true }],
  };
  const post = () =>
    fetch(`${s.url}/scim/v2/Users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
      body: JSON.stringify(body),
    });
  expect((await post()).status).toBe(201);
  expect((await post()).status).toBe(409);
}

describe('admin console in Chromium', () => {
  it('shows the sign-in page without a session', async () => {
    const page = await browser.context.newPage();
    const w = watch(page);
    // Without a session the console asks for one and is refused: that is how it knows to show the sign-in page.
    w.expect(401, /\/admin\/api\/session$/);
    await page.goto(`${s.url}/admin`);
    await page.getByRole('button', { name: 'Sign in with SSO' }).waitFor();
    expect(await page.textContent('body')).toContain('Ask whoever runs Gatehouse for a one-time admin link');
    await page.screenshot({ path: artifactPath('00-sign-in.png'), fullPage: true });
    noProblems(w);
    await page.close();
  });

  it('bootstrap link → enable SCIM → token once → provisioned member in the log and people list', async () => {
    const page = await browser.context.newPage();
    const foreign = recordForeignRequests(page, s.url);
    page.on('dialog', (d) => void d.accept());
    // No script error, Content-Security-Policy violation, failed request or error answer on the way.
    const w = watch(page);

    // 1. The operator's one-time link signs the first admin in.
    const link = await s.t.domain.admins.createBootstrapLink(org.id);
    await page.goto(`${s.url}/admin/bootstrap?token=${encodeURIComponent(link.token)}`);
    await page.screenshot({ path: artifactPath('00-bootstrap-link.png'), fullPage: true });
    await page.getByRole('button', { name: 'Sign in to the admin console' }).click();
    await page.waitForURL(`${s.url}/admin`);
    expect(new URL(page.url()).pathname).toBe('/admin');
    await page.locator('.health-item[data-health="scim"]').waitFor();
    expect(await page.getAttribute('.health-item[data-health="scim"]', 'data-status')).toBe('off');
    await expect(page.locator('#scim-tenant-url').inputValue()).resolves.toBe(`${s.url}/scim/v2`);
    await page.locator('#scim-log-entries .state-empty').waitFor();
    await page.screenshot({ path: artifactPath('01-scim-disabled.png'), fullPage: true });

    // The link was for one use.
    const reuse = await fetch(`${s.url}/admin/bootstrap`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: link.token }).toString(),
      redirect: 'manual',
    });
    expect(reuse.status).toBe(401);

    // 2. Enable SCIM: the token is shown once, with its warning.
    await page.click('#scim-enable');
    const tokenInput = page.locator('#scim-token');
    await tokenInput.waitFor();
    const token = await tokenInput.inputValue();
    expect(token).toMatch(/^gh_scim_/);
    expect(await page.textContent('#scim-token-reveal')).toContain('it will not be shown again');
    await expect(page.locator('#scim-token-facts').textContent()).resolves.toContain(token.slice(0, 14));
    await page.screenshot({ path: artifactPath('02-scim-token-shown-once.png'), fullPage: true });

    // Once hidden (or after a reload) it is nowhere on the page.
    await page.click('#scim-token-done');
    expect(await page.locator('#scim-token').count()).toBe(0);
    await page.reload();
    await page.locator('#scim-token-facts').waitFor();
    expect(await page.content()).not.toContain(token);
    expect(await page.getAttribute('.health-item[data-health="scim"]', 'data-status')).toBe('warn');

    // 3. A SCIM client provisions a member with that token.
    const userName = 'ada.lovelace@acme.example';
    await provision(token, userName);

    // 4. The provisioning log shows it, filters by member and by failures.
    await page.reload();
    const created = page.locator('#scim-log-entries .log-entry[data-outcome="success"]', { hasText: userName });
    await created.first().waitFor();
    expect(await page.getAttribute('.health-item[data-health="scim"]', 'data-status')).toBe('error');
    await page.fill('#scim-log-member', userName);
    await page.check('#scim-log-failures');
    const refused = page.locator('#scim-log-entries .log-entry[data-outcome="failure"]');
    await refused.first().waitFor();
    expect(await page.locator('#scim-log-entries .log-entry[data-outcome="success"]').count()).toBe(0);
    await refused.first().locator('summary').first().click();
    await expect(refused.first().locator('.why').textContent()).resolves.toMatch(/Why refused/);
    await page.screenshot({ path: artifactPath('03-scim-provisioning-log.png'), fullPage: true });
    await page.uncheck('#scim-log-failures');
    await created.first().waitFor();

    // 5. The people list shows the member with its SCIM badge, active.
    await s.t.domain.places.createPlace(org.actor, { name: 'Head office', address: '1 Main St' }).then(async (place) => {
      const lock = await s.t.domain.places.createLock(org.actor, { placeId: place.id, name: 'Front door' });
      const ada = await s.t.domain.members.findByUserName(org.actor, userName);
      await s.t.domain.shares.grant(org.actor, { memberId: ada!.id, lockId: lock.id });
    });
    await page.click('#tab-people');
    const row = page.locator(`tr[data-user-name="${userName}"]`);
    await row.waitFor();
    expect(await row.locator('.badge-source-scim').textContent()).toBe('SCIM');
    expect(await row.locator('.badge-ok').textContent()).toBe('Active');
    expect(await page.locator('tr[data-user-name="bootstrap-admin"] .badge-admin').textContent()).toBe('Console admin');
    await page.getByRole('button', { name: 'Who can open this lock?' }).click();
    await page.locator('.who-list li', { hasText: userName }).waitFor();
    await page.screenshot({ path: artifactPath('04-people-and-access.png'), fullPage: true });

    // 6. The SAML panel: the three URLs with copy buttons, Test sign-in.
    await page.click('#tab-saml');
    await page.locator('#saml-identifier').waitFor();
    expect(await page.locator('#saml-identifier').inputValue()).toBe(`${s.url}/saml/${org.domain}/metadata`);
    expect(await page.locator('#saml-reply-url').inputValue()).toBe(`${s.url}/saml/${org.domain}/acs`);
    expect(await page.locator('#saml-sign-on-url').inputValue()).toBe(`${s.url}/saml/${org.domain}/login`);
    expect(await page.getAttribute('#saml-test', 'href')).toBe(`/saml/${org.domain}/test`);
    await page.locator('#saml-log-entries').locator('.state-empty, .log-list').first().waitFor();
    await page.screenshot({ path: artifactPath('05-saml.png'), fullPage: true });

    expect(foreign).toEqual([]);
    noProblems(w);
    await page.close();
  }, 120_000);

  it('copies the Tenant URL to the clipboard', async () => {
    await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: s.url });
    const page = await browser.context.newPage();
    const w = watch(page);
    await signInWithLink(s, page, org.id);
    await page.getByRole('button', { name: 'Copy Tenant URL' }).click();
    await page.locator('#toast', { hasText: 'Tenant URL copied' }).waitFor();
    expect(await page.evaluate<string>('navigator.clipboard.readText()')).toBe(`${s.url}/scim/v2`);
    noProblems(w);
    await page.close();
  });

  it('is reachable by keyboard and fits a phone-width screen', async () => {
    const page = await browser.context.newPage();
    await page.setViewportSize({ width: 390, height: 844 });
    const w = watch(page);
    await signInWithLink(s, page, org.id);
    await page.locator('#scim-tenant-url').waitFor();

    // Tab from the top of the page reaches the SCIM actions, then the People tab is opened with Enter.
    let reached = false;
    for (let i = 0; i < 40 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate<boolean>("document.activeElement?.id === 'scim-generate'");
    }
    expect(reached).toBe(true);
    await page.focus('#tab-people');
    await page.keyboard.press('Enter');
    await page.locator('#people-members table, #people-members .state-empty').first().waitFor();

    for (const tab of ['scim', 'saml', 'people'] as const) {
      await page.click(`#tab-${tab}`);
      await page.locator(`#tab-${tab}[aria-current="page"]`).waitFor();
      await page.waitForLoadState('networkidle');
      expect(await noHorizontalScroll(page)).toBe(true);
      await page.screenshot({ path: artifactPath(`06-phone-${tab}.png`), fullPage: true });
    }
    noProblems(w);
    await page.close();
  });

  it('shows an error state with a retry when the server refuses', async () => {
    const page = await browser.context.newPage();
    const w = watch(page);
    await signInWithLink(s, page, org.id);
    await page.locator('#scim-tenant-url').waitFor();
    // The groups are read through GraphQL (operation ConsoleGroups): that one read fails as a database outage answers.
    // The People tab reads the groups twice (the groups list, and the places' share pickers): both are refused.
    w.expect(503, /\/graphql$/);
    w.expect(503, /\/graphql$/);
    await page.route('**/graphql', (route) =>
      route.request().postData()?.includes('query ConsoleGroups')
        ? route.fulfill({ status: 503, contentType: 'application/json', body: '{"errors":[{"message":"The database is not reachable; retry shortly","extensions":{"code":"SERVICE_UNAVAILABLE"}}]}' })
        : route.continue(),
    );
    await page.click('#tab-people');
    const error = page.locator('#people-groups .state-error');
    await error.waitFor();
    expect(await error.textContent()).toContain('The database is not reachable');
    await page.unroute('**/graphql');
    await error.getByRole('button', { name: 'Try again' }).click();
    await page.locator('#people-groups .state-empty').waitFor();
    noProblems(w);
    await page.close();
  });
});
