// Issue 21's defects, each walked in Chromium (Debian's, via playwright-core)
// as an admin would meet it. Every walk fails on a console error, a script
// error, a failed request or an unexpected 4xx/5xx (watch()), and saves
// screenshots under test-artifacts/admin/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../setup/test-app.js';
import { buildMember, buildOrg } from '../factories/index.js';
import { launchBrowser, type Browser } from './browser.js';
import { fitsViewport, newAdminPage, noHorizontalScroll, noProblems, shot, watch } from './console-helpers.js';

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

describe('defect 2: the one-time link survives being opened by a link scanner', () => {
  it('opening it shows a page with a button; only the button spends it; a spent link gets a styled page', async () => {
    const org = await buildOrg(s.t.domain, 'Acme Doors');
    const link = await s.t.domain.admins.createBootstrapLink(org.id);
    const url = `${s.url}/admin/bootstrap?token=${encodeURIComponent(link.token)}`;
    // Safe Links / a chat preview fetch it first.
    expect((await fetch(url, { method: 'HEAD' })).status).toBe(200);
    expect((await fetch(url)).status).toBe(200);

    const page = await browser.context.newPage();
    const w = watch(page);
    await page.goto(url);
    await shot(page, 'd2-bootstrap-button');
    await page.getByRole('button', { name: 'Sign in to the admin console' }).click();
    await page.locator('.topbar .user', { hasText: 'bootstrap-admin' }).waitFor();

    // The same link again (another tab): refused, on a page in the console's look.
    const again = await browser.context.newPage();
    const w2 = watch(again);
    w2.expect(401, /\/admin\/bootstrap$/);
    await again.goto(url);
    await again.getByRole('button', { name: 'Sign in to the admin console' }).click();
    await again.getByRole('heading', { name: 'Admin link refused' }).waitFor();
    const bg = await again.evaluate<string>("getComputedStyle(document.querySelector('.card')).borderLeftStyle");
    expect(bg).toBe('solid');
    expect(await again.textContent('main')).not.toMatch(/`|admin link --|npm run/);
    await shot(again, 'd7-refused-link-styled');
    noProblems(w);
    noProblems(w2);
    await page.close();
    await again.close();
  });
});

describe('defect 6: the sign-in page asks for what the admin knows', () => {
  it('accepts an email address or a domain (a pattern Chromium compiles) and finds the organisation', async () => {
    const org = await buildOrg(s.t.domain, 'Contoso');
    await s.t.domain.admins.createBootstrapLink(org.id, { userName: `alice@${org.domain}.example` });
    const ctx = await launchBrowser();
    try {
      const page = await ctx.context.newPage();
      const w = watch(page);
      w.expect(401, /\/admin\/api\/session$/);
      await page.goto(`${s.url}/admin`);
      const input = page.locator('#signin-org');
      await input.waitFor();
      for (const [value, valid] of [
        [`alice@${org.domain}.example`, true],
        [`${org.domain}.example`, true],
        ['two words', false],
      ] as const) {
        await input.fill(value);
        expect(await input.evaluate((el) => (el as unknown as { validity: { valid: boolean } }).validity.valid), value).toBe(valid);
      }
      await shot(page, 'd6-sign-in');
      // SAML is not set up for this organisation yet: the sign-in reaches its SAML start, which says so (409).
      w.expect(409, new RegExp(`/saml/${org.domain}/login`));
      await input.fill(`bob@${org.domain}.example`);
      await page.getByRole('button', { name: 'Sign in with SSO' }).click();
      await page.waitForURL(new RegExp(`/saml/${org.domain}/login`));
      expect(await page.textContent('body')).toContain('Single sign-on is not set up');
      // A pattern Chromium cannot compile logs a console error: watch() would have it.
      noProblems(w);
    } finally {
      await ctx.close();
    }
  });
});

describe('defect 8: health, make admin, phone width, focus, favicon', () => {
  it('says nothing is OK before SAML, links advice with the filter applied, confirms Make admin and refuses inactive members', async () => {
    const org = await buildOrg(s.t.domain, 'Acme Doors');
    const carol = await buildMember(s.t.domain, org.actor, { userName: 'carol@acme.example', displayName: 'Carol' });
    const ivy = await buildMember(s.t.domain, org.actor, { userName: 'ivy@acme.example', displayName: 'Ivy' });
    await s.t.domain.members.update(org.actor, ivy.id, { active: false });
    const { page, w } = await newAdminPage(s, browser.context, org.id);
    await page.locator('.health-item[data-health="sign_in"]').waitFor();
    expect(await page.getAttribute('.health-item[data-health="sign_in"]', 'data-status')).toBe('off');
    expect(await page.textContent('.health-item[data-health="sign_in"]')).not.toContain('OK');

    // A refused SCIM request: the advice is a link to the provisioning log with failures only.
    const token = (await s.t.domain.organizations.enableScim(org.actor)).token;
    const scim = await s.t.domain.organizations.authenticateScim(token);
    await s.t.domain.db.sql.run(`update organizations set scim_token_last_used_at = now() where organization_id = $1`, [org.id]);
    await s.t.domain.audit.recordFailure(scim, { action: 'scim.user.create', resourceLabel: 'dup@acme.example', reason: 'uniqueness', detail: { message: 'taken' } });
    await page.reload();
    const advice = page.locator('.health-item[data-health="scim"] .health-action a');
    await advice.click();
    await page.waitForURL(/#scim\?failures=1$/);
    expect(await page.isChecked('#scim-log-failures')).toBe(true);
    await page.locator('#scim-log-entries .log-entry[data-outcome="failure"]', { hasText: 'dup@acme.example' }).waitFor();

    // Make admin asks first; dismissing changes nothing; an inactive member has no button.
    await page.click('#tab-people');
    const row = page.locator('tr[data-user-name="carol@acme.example"]');
    await row.waitFor();
    expect(await page.locator('tr[data-user-name="ivy@acme.example"]').textContent()).toContain('inactive: cannot be made admin');
    expect(await page.locator('tr[data-user-name="ivy@acme.example"] button').count()).toBe(0);
    page.removeAllListeners('dialog');
    const messages: string[] = [];
    page.once('dialog', (d) => {
      messages.push(d.message());
      void d.dismiss();
    });
    await row.getByRole('button', { name: 'Make admin carol@acme.example' }).click();
    await expect.poll(() => messages.length).toBe(1);
    expect(messages[0]).toContain('Make carol@acme.example an admin?');
    expect(await row.locator('.badge-admin').count()).toBe(0);
    page.once('dialog', (d) => void d.accept());
    await row.getByRole('button', { name: 'Make admin carol@acme.example' }).click();
    await page.locator('tr[data-user-name="carol@acme.example"] .badge-admin').waitFor();
    expect((await s.t.domain.audit.list(org.actor, { actionPrefix: 'admin.grant' }))[0]).toMatchObject({ resourceLabel: 'carol@acme.example', actorLabel: 'bootstrap-admin' });
    await shot(page, 'd8-make-admin');
    void carol;
    noProblems(w);
    await page.close();
  });

  it('keeps focus on the SCIM settings after hiding the token', async () => {
    const org = await buildOrg(s.t.domain, 'Acme Doors');
    const { page, w } = await newAdminPage(s, browser.context, org.id);
    await page.click('#scim-enable');
    await page.locator('#scim-token').waitFor();
    await page.focus('#scim-token-done');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.evaluate<string>('document.activeElement?.id ?? ""')).toBe('scim-generate');
    noProblems(w);
    await page.close();
  });

  it('shows the certificate expiry on a 390 px screen', async () => {
    const org = await buildOrg(s.t.domain, 'Acme Doors');
    await s.t.domain.saml.generateCertificate(org.actor, 'acme test');
    const { page, w } = await newAdminPage(s, browser.context, org.id, { width: 390 });
    await page.click('#tab-saml');
    const expiry = page.locator('.cert-expiry').first();
    await expiry.waitFor();
    expect(await fitsViewport(page, '.cert-expiry')).toBe(true);
    expect(await noHorizontalScroll(page)).toBe(true);
    await shot(page, 'd8-phone-certificate-expiry');
    noProblems(w);
    await page.close();
  }, 90_000);
});
