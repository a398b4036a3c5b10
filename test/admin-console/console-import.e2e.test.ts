// The console's Group import in Chromium, against the
// local Graph/consent stand-in (test/setup/graph-stand-in.ts): Authorize with
// Microsoft (Microsoft's admin consent page, Accept) → pick a group by search
// → Add → Run now → the members are imported; the client-secret path with
// pause, resume and delete; and a declined consent, whose page says what to
// do. At 1280 and 390 px; every walk fails on a console error, a script error,
// a failed request or an unexpected 4xx/5xx; screenshots in test-artifacts/admin/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Domain } from '../../src/domain/index.js';
import { startTestApp, type TestApp } from '../setup/test-app.js';
import { buildOrg } from '../factories/index.js';
import { entraUser, type GraphStandIn } from '../setup/graph-stand-in.js';
import { CONSENT_TENANT_APP, startConsentStandIn } from '../setup/entra.js';
import type { Browser } from './browser.js';
import { consoleSuite, newAdminPage, noHorizontalScroll, noProblems, shot } from './console-helpers.js';

const { tenantId: TENANT, clientId: OWN_CLIENT } = CONSENT_TENANT_APP;
const FINANCE = 'f0000000-0000-4000-8000-000000000001';
const HQ = 'f0000000-0000-4000-8000-000000000003';

let graph: GraphStandIn;
let s: TestApp;
let domain: Domain;
let browser: Browser;

// Registered before the suite, so it runs after the app and browser are closed.
afterAll(async () => {
  await graph?.stop();
});
consoleSuite(
  (c) => ({ s, browser } = c),
  async () => {
    let env: Record<string, string>;
    ({ graph, env } = await startConsentStandIn());
    const names = ['Finance', 'Facilities Team', 'HQ Staff', 'Engineering', 'Marketing', 'Sales', 'Support', 'Warehouse'];
    const ids = [FINANCE, crypto.randomUUID(), HQ, ...names.slice(3).map(() => crypto.randomUUID())];
    names.forEach((n, i) => graph.groupInfo.set(ids[i]!, { displayName: n, description: `${n} people` }));
    graph.groups.set(FINANCE, [
      entraUser({ userPrincipalName: 'fiona@contoso.com', displayName: 'Fiona Finch' }),
      entraUser({ userPrincipalName: 'frank@contoso.com', displayName: 'Frank Fields' }),
    ]);
    graph.groups.set(HQ, [entraUser({ userPrincipalName: 'hana@contoso.com', mail: 'hana.hart@contoso.com', displayName: 'Hana Hart' })]);
    return startTestApp({ env });
  },
);
beforeAll(() => {
  domain = s.domain;
});

describe('Group import: Authorize with Microsoft → pick a group by search → Run now', () => {
  for (const width of [1280, 390]) {
    it(`imports the picked group's members with Gatehouse's application (${width} px)`, async () => {
      const org = await buildOrg(domain, `Acme ${width}`);
      const place = await domain.places.createPlace(org.actor, { name: 'Head office' });
      await domain.places.createLock(org.actor, { placeId: place.id, name: 'Front door' });
      const { page, w } = await newAdminPage(s, browser.context, org.id, { width });
      await page.locator('#tab-import').click();
      await page.getByRole('heading', { name: 'Connect an Entra group' }).waitFor();
      await shot(page, `import-${width}-1-start`);

      // Microsoft's admin consent page (the stand-in), as a Global Administrator: Accept.
      await page.getByRole('button', { name: 'Authorize with Microsoft' }).click();
      await page.getByRole('heading', { name: 'Permissions requested' }).waitFor();
      expect(page.url()).toContain(`${graph.url}/organizations/v2.0/adminconsent?`);
      await shot(page, `import-${width}-2-microsoft-consent`);
      await page.getByRole('button', { name: 'Accept' }).click();

      // Back in the console: the preview shows a few groups; typing searches the rest.
      await page.waitForURL(/\/admin#import/);
      const results = page.locator('#import-group-results');
      await results.getByText('Engineering', { exact: true }).waitFor();
      expect(await results.locator('input[type=radio]').count()).toBe(5);
      expect(await results.getByText('Warehouse', { exact: true }).count()).toBe(0);
      await shot(page, `import-${width}-3-preview`);
      await page.locator('#import-group-search').fill('ware');
      await results.getByText('Warehouse', { exact: true }).waitFor();
      expect(await results.locator('input[type=radio]').count()).toBe(1);
      await page.locator('#import-group-search').fill('fin');
      await results.getByText('Finance', { exact: true }).waitFor();
      await results.getByText('Finance', { exact: true }).click();

      // Options: UPN (default), share the place.
      await page.locator('#import-picked', { hasText: 'Finance' }).waitFor();
      await page.getByLabel('Head office').check();
      await shot(page, `import-${width}-4-options`);
      await page.getByRole('button', { name: 'Add', exact: true }).click();

      const card = page.locator('.import-item', { hasText: 'Finance' });
      await card.waitFor();
      await expect(card.textContent()).resolves.toContain('Authorized with Microsoft');
      await card.getByRole('button', { name: 'Run now' }).click();
      await card.locator('.import-last-run', { hasText: '2 added' }).waitFor();
      await card.locator('.import-runs', { hasText: 'Succeeded' }).waitFor();
      await shot(page, `import-${width}-5-run`);
      if (width === 390) expect(await noHorizontalScroll(page)).toBe(true);

      // The members are in the directory, with the place's access through the import's group.
      await card.getByRole('link', { name: 'See the members in People & access' }).click();
      await page.locator('#people-members').getByText('fiona@contoso.com').waitFor();
      await page.locator('#people-members').getByText('frank@contoso.com').waitFor();
      const who = await domain.access.whoCanOpen(org.actor, (await domain.places.listLocks(org.actor, { first: 10 })).items[0]!.id, new Date(), { first: 10 });
      expect(who.items.map((m) => m.member.userName).sort()).toEqual(['fiona@contoso.com', 'frank@contoso.com']);
      noProblems(w);
      await page.close();
    }, 120_000);
  }
});

describe('Group import: own app registration (client secret), pause, resume, delete', () => {
  it('connects with tenant, client id and secret, imports, pauses, resumes and deletes', async () => {
    const org = await buildOrg(domain, 'Fabrikam');
    const { page, w } = await newAdminPage(s, browser.context, org.id, { width: 1280 });
    await page.goto(`${s.url}/admin#import`);
    await page.getByRole('heading', { name: 'Connect an Entra group' }).waitFor();
    await page.getByText('Or use your own app registration (client secret)').click();
    await page.locator('#import-own-tenant').fill(TENANT);
    await page.locator('#import-own-client').fill(OWN_CLIENT);
    await page.locator('#import-own-secret').fill(CONSENT_TENANT_APP.clientSecret);
    await page.getByRole('button', { name: 'Use this registration' }).click();
    const results = page.locator('#import-group-results');
    await results.getByText('Engineering', { exact: true }).waitFor();
    await page.locator('#import-group-search').fill('hq');
    await results.getByText('HQ Staff', { exact: true }).click();

    // Sharing nothing without "Import as users only" is refused with what to do.
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.locator('#import-add-status', { hasText: 'Choose at least one place or lock' }).waitFor();
    await page.getByLabel('Import as users only').check();
    await page.getByLabel('Mail', { exact: true }).check();
    await page.locator('#import-name').fill('Head office staff');
    await shot(page, 'import-own-1-options');
    await page.getByRole('button', { name: 'Add', exact: true }).click();

    const card = page.locator('.import-item', { hasText: 'Head office staff' });
    await card.waitFor();
    expect(await card.textContent()).toContain('Own app registration');
    expect(await card.textContent()).toContain('Import as users only');
    await card.getByRole('button', { name: 'Run now' }).click();
    await card.locator('.import-last-run', { hasText: '1 added' }).waitFor();

    await card.getByRole('button', { name: 'Pause' }).click();
    await page.locator('.import-item', { hasText: 'Head office staff' }).getByText('Paused', { exact: true }).waitFor();
    await page.locator('.import-item').getByRole('button', { name: 'Resume' }).click();
    await page.locator('.import-item', { hasText: 'Head office staff' }).getByText('Active', { exact: true }).waitFor();
    await shot(page, 'import-own-2-active');
    await page.locator('.import-item').getByRole('button', { name: 'Delete' }).click();
    await page.getByText('No Entra group connected yet').waitFor();
    // The member profile stays (README, Entra group import).
    expect((await domain.members.list(org.actor, { text: 'hana', first: 5 })).items.map((m) => m.userName)).toEqual(['hana.hart@contoso.com']);
    const audit = await domain.audit.list(org.actor, { actionPrefix: 'import.' });
    expect(audit.map((e) => e.action).sort()).toEqual(['import.create', 'import.delete', 'import.pause', 'import.resume', 'import.run']);
    noProblems(w);
    await page.close();
  }, 120_000);
});

describe('Group import: the Entra admin declines', () => {
  it('shows a page that says what to do, and connects nothing (390 px)', async () => {
    const org = await buildOrg(domain, 'Northwind');
    const { page, w } = await newAdminPage(s, browser.context, org.id, { width: 390 });
    await page.goto(`${s.url}/admin#import`);
    await page.getByRole('button', { name: 'Authorize with Microsoft' }).click();
    await page.getByRole('heading', { name: 'Permissions requested' }).waitFor();
    w.expect(403, /\/admin\/entra\/consent\/callback\?/);
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('heading', { name: 'Microsoft authorization not given' }).waitFor();
    const text = (await page.textContent('main')) ?? '';
    expect(text).toContain('Global Administrator');
    expect(text).toContain('own app registration');
    expect(text).not.toMatch(/npm run|--org/);
    expect(await noHorizontalScroll(page)).toBe(true);
    await shot(page, 'import-denied-390');
    await page.getByRole('link', { name: 'Back to Group import' }).click();
    await page.getByRole('heading', { name: 'Connect an Entra group' }).waitFor();
    expect(await page.locator('input[name=import-tenant]').count()).toBe(0);
    noProblems(w);
    await page.close();
  }, 120_000);
});
