// Defects the console once had, each walked in Chromium (Debian's, via playwright-core)
// as an admin would meet it. Every walk fails on a console error, a script
// error, a failed request or an unexpected 4xx/5xx (watch()), and saves
// screenshots under test-artifacts/admin/.
import { describe, expect, it } from 'vitest';
import type { TestApp } from '../setup/test-app.js';
import { buildMember, buildOrg } from '../factories/index.js';
import { launchBrowser, type Browser } from './browser.js';
import { consoleSuite, fitsViewport, newAdminPage, noHorizontalScroll, noProblems, shot, watch } from './console-helpers.js';

let s: TestApp;
let browser: Browser;

consoleSuite((c) => ({ s, browser } = c));

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

/** An organisation with SCIM on, its token, and a SCIM request helper (as Entra sends them). */
async function scimOrg(name: string) {
  const org = await buildOrg(s.t.domain, name);
  const { token } = await s.t.domain.organizations.enableScim(org.actor);
  const scim = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${s.url}/scim/v2${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as { id?: string }) : {} };
  };
  const user = (userName: string, displayName: string) => ({
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
    userName,
    displayName,
    active: true,
    emails: [{ primary: true, type: 'work', value: userName }],
    phoneNumbers: [{ type: 'mobile', value: '+1 555 0100' }],
  });
  return { org, token, scim, user };
}

const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const UUID_RE = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

describe('defect 3: logs page to the oldest entry, filter by part of a name, fit their empty state, name group members', () => {
  it('walks the provisioning log back to its first entry, searches by substring and shows membership changes with names', async () => {
    const { org, scim, user } = await scimOrg('Logs Inc');
    for (let i = 0; i < 56; i++) expect((await scim('POST', '/Users', user(`person${String(i).padStart(2, '0')}@logs.example`, `Person ${i}`))).status).toBe(201);
    const ada = await scim('POST', '/Users', user('ada.lovelace@logs.example', 'Ada Lovelace'));
    const group = await scim('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Night shift', members: [] });
    expect(group.status).toBe(201);
    expect((await scim('PATCH', `/Groups/${group.body.id}`, { schemas: [PATCH], Operations: [{ op: 'Add', path: 'members', value: [{ value: ada.body.id }] }] })).status).toBe(204);
    const total = await s.t.domain.audit.count(org.actor, { provisioning: true });
    expect(total).toBeGreaterThan(57);

    // At 1280 px, then on a phone (390 px).
    for (const width of [1280, 390]) {
      const { page, w } = await newAdminPage(s, browser.context, org.id, { width });
      await page.goto(`${s.url}/admin#logs?log=provisioning`);
      const entries = page.locator('#logs-entries .log-entry');
      await entries.first().waitFor();
      while ((await page.locator('#logs-end').count()) === 0) {
        const n = await entries.count();
        await page.click('#logs-older');
        await expect.poll(() => entries.count()).toBeGreaterThan(n);
      }
      expect(await entries.count()).toBe(total);
      expect(await entries.last().getAttribute('data-action')).toBe('scim.enable');

      // Part of a userName, and part of a display name, find the member; the group's membership change is in its history.
      await page.fill('#logs-member', 'lovel');
      await page.click('#logs form button[type="submit"]');
      const patch = page.locator('#logs-entries .log-entry[data-action="scim.group.patch"]');
      await patch.waitFor();
      expect(await page.locator('#logs-entries .log-entry[data-action="scim.user.create"]', { hasText: 'ada.lovelace@logs.example' }).count()).toBe(1);
      await patch.locator('summary').first().click();
      expect(await patch.locator('[data-membership="added"]').textContent()).toBe('Added: ada.lovelace@logs.example');
      expect(await patch.locator('.log-body > p').first().textContent()).toContain('Night shift');
      expect(await patch.locator('.membership').textContent()).not.toMatch(UUID_RE);
      await shot(page, `d3-log-member-history-${width}`);
      await page.fill('#logs-member', 'Ada Love');
      await page.click('#logs form button[type="submit"]');
      await page.locator('#logs-entries .log-entry[data-action="scim.user.create"]', { hasText: 'ada.lovelace@logs.example' }).waitFor();
      // Part of a group's name finds the group's entries.
      await page.fill('#logs-member', 'night sh');
      await page.click('#logs form button[type="submit"]');
      await page.locator('#logs-entries .log-entry[data-action="scim.group.create"]').waitFor();
      expect(await page.locator('#logs-entries .log-entry[data-action="scim.user.create"]').count()).toBe(0);
      if (width === 390) expect(await noHorizontalScroll(page)).toBe(true);

      // A filter that matches nothing says so (not "Nothing provisioned yet").
      await page.fill('#logs-member', 'nobody-like-this');
      await page.click('#logs form button[type="submit"]');
      const none = page.locator('#logs-entries .state-empty');
      await none.waitFor();
      expect(await none.textContent()).toContain('No entries match these filters');
      expect(page.url()).toContain('q=nobody-like-this');
      noProblems(w);
      await page.close();
    }
  }, 180_000);
});

describe('defect 3: a membership change made through GraphQL is named as one made by Entra', () => {
  it('shows who was added and removed by userName, in the log and in the member’s history', async () => {
    const org = await buildOrg(s.t.domain, 'Api Groups');
    const d = s.t.domain;
    const grace = await buildMember(d, org.actor, { userName: 'grace.hopper@api.example' });
    const alan = await buildMember(d, org.actor, { userName: 'alan.turing@api.example' });
    const group = await d.groups.create(org.actor, { displayName: 'Day shift' });
    const key = (await d.apiKeys.create(org.actor, { name: 'hr app', role: 'admin' })).key;
    const gql = async (query: string, variables: Record<string, unknown>) => {
      const r = await fetch(`${s.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ query, variables }) });
      expect(((await r.json()) as { errors?: unknown }).errors).toBeUndefined();
    };
    await gql(`mutation($g: ID!, $m: [ID!]!) { addGroupMembers(id: $g, memberIds: $m) { id } }`, { g: group.id, m: [grace.id, alan.id] });
    await gql(`mutation($g: ID!, $m: [ID!]!) { removeGroupMembers(id: $g, memberIds: $m) { id } }`, { g: group.id, m: [alan.id] });

    const { page, w } = await newAdminPage(s, browser.context, org.id);
    await page.goto(`${s.url}/admin#logs?log=all&q=${encodeURIComponent('Day shift')}`);
    const updates = page.locator('#logs-entries .log-entry[data-action="group.update"]');
    await expect.poll(() => updates.count()).toBe(2);
    for (let i = 0; i < 2; i++) await updates.nth(i).locator('summary').first().click();
    expect(await updates.nth(0).locator('[data-membership="removed"]').textContent()).toBe('Removed: alan.turing@api.example');
    const added = (await updates.nth(1).locator('[data-membership="added"]').textContent()) ?? '';
    expect(added).toMatch(/^Added: /);
    expect(added.slice('Added: '.length).split(', ').sort()).toEqual(['alan.turing@api.example', 'grace.hopper@api.example']);
    expect(await page.locator('#logs-entries').textContent()).not.toMatch(UUID_RE);
    await shot(page, 'd3-graphql-membership-names');

    // The member's page: its history has the group change too.
    await page.goto(`${s.url}/admin#member?id=${alan.id}`);
    const history = page.locator('#member-history li[data-action="group.update"]');
    await history.first().waitFor();
    expect(await history.allTextContents()).toEqual([expect.stringContaining('Removed from group (Day shift)'), expect.stringContaining('Added to group (Day shift)')]);
    noProblems(w);
    await page.close();
  }, 120_000);
});

describe('defect 4: shares name their member, whatever page of members is loaded', () => {
  it('shows userNames for members beyond the first page of the people list', async () => {
    const org = await buildOrg(s.t.domain, 'Shares Inc');
    const place = await s.t.domain.places.createPlace(org.actor, { name: 'Depot' });
    const lock = await s.t.domain.places.createLock(org.actor, { placeId: place.id, name: 'Gate' });
    const members = [];
    for (let i = 0; i < 55; i++) members.push(await buildMember(s.t.domain, org.actor, { userName: `zz-member-${String(i).padStart(2, '0')}@shares.example` }));
    // The last ones by userName: beyond the first page of 50.
    await s.t.domain.shares.grant(org.actor, { memberId: members[54]!.id, lockId: lock.id });
    await s.t.domain.shares.grant(org.actor, { memberId: members[52]!.id, placeId: place.id });
    const { page, w } = await newAdminPage(s, browser.context, org.id);
    await page.click('#tab-people');
    const cells = page.locator('.share-grantee');
    await cells.first().waitFor();
    const texts = await cells.allTextContents();
    expect(texts.sort()).toEqual(['Member zz-member-52@shares.example', 'Member zz-member-54@shares.example']);
    for (const t of texts) expect(t).not.toMatch(UUID_RE);
    await shot(page, 'd4-shares-named');
    noProblems(w);
    await page.close();
  }, 90_000);
});

describe('defect 5: "what changed" shows the changed fields only, and fits the screen', () => {
  it('lists only the changed leaves; the After column stays on screen at 1280 and 390 px', async () => {
    const { org, scim, user } = await scimOrg('Changes Inc');
    const ada = await scim('POST', '/Users', user('ada@changes.example', 'Ada'));
    const long = `Ada ${'Augusta '.repeat(12)}King`;
    const res = await scim('PATCH', `/Users/${ada.body.id}`, {
      schemas: [PATCH],
      Operations: [
        { op: 'Replace', path: 'displayName', value: long },
        { op: 'Replace', path: 'emails[type eq "work"].value', value: 'ada@changes.example' },
        { op: 'Replace', path: 'phoneNumbers[type eq "mobile"].value', value: '+1 555 0199' },
      ],
    });
    expect(res.status).toBe(200);
    for (const width of [1280, 390]) {
      const { page, w } = await newAdminPage(s, browser.context, org.id, { width });
      const entry = page.locator('#scim-log-entries .log-entry[data-action="scim.user.patch"]');
      await entry.waitFor();
      // Click the summary's time: its middle holds a link to the member page (a long name is mostly link).
      await entry.locator('summary time').first().click();
      const fields = await entry.locator('table.changes tbody th').allTextContents();
      // Identical emails are no change (fixed where it is recorded); the phone number changed in one leaf.
      expect(fields).toEqual(['displayName', 'phoneNumbers[0].value']);
      expect(await entry.locator('table.changes tbody tr').nth(1).locator('.change-after').textContent()).toBe('+1 555 0199');
      expect(await fitsViewport(page, '#scim-log-entries table.changes .change-after')).toBe(true);
      expect(await noHorizontalScroll(page)).toBe(true);
      await shot(page, `d5-what-changed-${width}`);
      noProblems(w);
      await page.close();
    }
  }, 90_000);
});
