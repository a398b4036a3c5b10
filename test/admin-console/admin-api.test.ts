// The console's backend over HTTP: bootstrap links, admin sessions, CSRF, and
// the admin actions, on a real database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../setup/test-app.js';
import { buildMember, buildOrg } from '../factories/index.js';
import { csrfTokenFor } from '../../src/http/csrf.js';

let s: TestApp;
beforeAll(async () => {
  s = await createTestApp();
});
afterAll(async () => {
  await s.close();
});

function sessionCookie(res: Response): string {
  const set = res.headers.getSetCookie().find((c) => c.startsWith('gatehouse_session='));
  if (!set) throw new Error('no session cookie set');
  return set.split(';')[0]!;
}

/** The button of the link's page: a form POST of the token. */
function redeem(token: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${s.url}/admin/bootstrap`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams({ token }).toString(),
    redirect: 'manual',
  });
}

async function signIn(orgId: string, userName?: string): Promise<{ cookie: string; csrf: string; memberId: string }> {
  const link = await s.t.domain.admins.createBootstrapLink(orgId, { userName });
  const res = await redeem(link.token);
  expect(res.status).toBe(303);
  expect(res.headers.get('location')).toBe('/admin');
  const cookie = sessionCookie(res);
  return { cookie, csrf: csrfTokenFor(decodeURIComponent(cookie.split('=')[1]!)), memberId: link.memberId };
}

describe('bootstrap link', () => {
  it('is not spent by opening it (GET or HEAD, as link scanners do): only the button of its page spends it', async () => {
    const org = await buildOrg(s.t.domain);
    const link = await s.t.domain.admins.createBootstrapLink(org.id);
    const url = `${s.url}/admin/bootstrap?token=${encodeURIComponent(link.token)}`;
    for (const method of ['GET', 'HEAD', 'GET'] as const) {
      const res = await fetch(url, { method, redirect: 'manual' });
      expect(res.status).toBe(200);
      expect(res.headers.getSetCookie()).toEqual([]);
      if (method === 'GET') {
        const page = await res.text();
        expect(page).toContain('<form method="post" action="/admin/bootstrap">');
        expect(page).toContain('Sign in to the admin console');
      }
    }
    const used = await s.t.domain.db.sql.one<{ used_at: string | null }>(`select used_at from admin_bootstrap_links where organization_id = $1`, [org.id]);
    expect(used.used_at).toBeNull();
    // A post from another site is refused and spends nothing.
    expect((await redeem(link.token, { origin: 'https://evil.example' })).status).toBe(403);
    expect((await redeem(link.token, { origin: new URL(s.url).origin })).status).toBe(303);
  });

  it('finds the organisation to sign in to from an email address or its domain', async () => {
    const org = await buildOrg(s.t.domain);
    await s.t.domain.admins.createBootstrapLink(org.id, { userName: `alice@${org.domain}.example` });
    for (const q of [`alice@${org.domain}.example`, `ALICE@${org.domain}.example`, `${org.domain}.example`, `bob@${org.domain}.example`, org.domain]) {
      const res = await fetch(`${s.url}/admin/sign-in?org=${encodeURIComponent(q)}`, { redirect: 'manual' });
      expect(res.status, q).toBe(303);
      expect(res.headers.get('location')).toBe(`/saml/${org.domain}/login?RelayState=%2Fadmin`);
    }
    const none = await fetch(`${s.url}/admin/sign-in?org=${encodeURIComponent('carol@nowhere.example')}`, { redirect: 'manual' });
    expect(none.status).toBe(404);
    expect(await none.text()).toContain('Organisation not found');
  });

  it('signs in once, then is refused; the session is an admin session', async () => {
    const org = await buildOrg(s.t.domain);
    const link = await s.t.domain.admins.createBootstrapLink(org.id);
    expect(link.memberCreated).toBe(true);
    expect(link.userName).toBe('bootstrap-admin');
    const first = await redeem(link.token);
    expect(first.status).toBe(303);
    const cookie = sessionCookie(first);
    expect(first.headers.getSetCookie()[0]).toMatch(/HttpOnly/i);
    expect(first.headers.getSetCookie()[0]).toMatch(/SameSite=Lax/i);

    const again = await redeem(link.token);
    expect(again.status).toBe(401);
    const refusal = await again.text();
    expect(refusal).toContain('unknown, expired or already used');
    // In the console's look, in words (no command to type).
    expect(refusal).toContain('/admin/app.css');
    expect(refusal).not.toMatch(/`|admin link --|npm run/);

    const me = await fetch(`${s.url}/admin/api/session`, { headers: { cookie } });
    expect(me.status).toBe(200);
    const body = (await me.json()) as { admin: { userName: string }; organization: { domain: string }; csrfToken: string };
    expect(body.admin.userName).toBe('bootstrap-admin');
    expect(body.organization.domain).toBe(org.domain);
    expect(body.csrfToken).toBe(csrfTokenFor(decodeURIComponent(cookie.split('=')[1]!)));

    const events = await s.t.domain.audit.list(org.actor, { actionPrefix: 'admin.' });
    expect(events.map((e) => e.action).sort()).toEqual(['admin.bootstrap_link.create', 'admin.bootstrap_link.use']);
  });

  it('refuses an expired link and a made-up one', async () => {
    const org = await buildOrg(s.t.domain);
    const link = await s.t.domain.admins.createBootstrapLink(org.id);
    await s.t.domain.db.sql.run(`update admin_bootstrap_links set expires_at = now() - interval '1 second' where organization_id = $1`, [org.id]);
    const expired = await redeem(link.token);
    expect(expired.status).toBe(401);
    const madeUp = await redeem('gh_adm_nope');
    expect(madeUp.status).toBe(401);
    expect(madeUp.headers.getSetCookie()).toEqual([]);
  });

  it('answers 429 once a client keeps guessing links', async () => {
    let status = 0;
    for (let i = 0; i < 25 && status !== 429; i++) {
      status = (await redeem(`gh_adm_guess${i}`)).status;
    }
    expect(status).toBe(429);
    // Only failures count: a valid link still works (then the counters are cleared for the other tests).
    const org = await buildOrg(s.t.domain);
    const link = await s.t.domain.admins.createBootstrapLink(org.id);
    expect((await redeem(link.token)).status).toBe(303);
    await s.t.domain.db.sql.run(`delete from rate_limits`);
  });

  it('designates an existing member named with --member', async () => {
    const org = await buildOrg(s.t.domain);
    const alice = await buildMember(s.t.domain, org.actor, { userName: 'alice@example.com' });
    const link = await s.t.domain.admins.createBootstrapLink(org.id, { userName: 'ALICE@example.com' });
    expect(link.memberCreated).toBe(false);
    expect(link.memberId).toBe(alice.id);
    expect((await s.t.domain.admins.list(org.actor)).map((a) => a.userName)).toEqual(['alice@example.com']);
  });
});

/** The console's log read (GraphQL auditEvents with the session and its CSRF token), newest first. */
async function consoleLog(a: { cookie: string; csrf: string }, filter: Record<string, unknown>) {
  const res = await fetch(`${s.url}/graphql`, {
    method: 'POST',
    headers: { cookie: a.cookie, 'x-csrf-token': a.csrf, 'content-type': 'application/json' },
    body: JSON.stringify({ query: 'query($f: AuditFilterInput) { auditEvents(filter: $f, first: 50) { edges { node { action actorKind resourceLabel outcome subjects { kind label } } } } }', variables: { f: filter } }),
  });
  const body = (await res.json()) as { data: { auditEvents: { edges: { node: { action: string; actorKind: string; resourceLabel: string; outcome: string; subjects: { kind: string; label: string }[] } }[] } } };
  return body.data.auditEvents.edges.map((e) => e.node);
}

describe('/admin/api', () => {
  it('needs a session, and the session of an admin', async () => {
    expect((await fetch(`${s.url}/admin/api/session`)).status).toBe(401);
    const org = await buildOrg(s.t.domain);
    const bob = await buildMember(s.t.domain, org.actor);
    const plain = await s.t.domain.sessions.start(org.id, bob.id);
    const res = await fetch(`${s.url}/admin/api/session`, { headers: { cookie: `gatehouse_session=${plain.token}` } });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: string }).error).toBe('admin_role_required');
  });

  it('refuses a state change without the CSRF header, or with another session’s', async () => {
    const org = await buildOrg(s.t.domain);
    const a = await signIn(org.id);
    const b = await signIn((await buildOrg(s.t.domain)).id);
    const none = await fetch(`${s.url}/admin/api/scim/token`, { method: 'POST', headers: { cookie: a.cookie } });
    expect(none.status).toBe(403);
    expect(((await none.json()) as { error: string }).error).toBe('csrf_token_invalid');
    const wrong = await fetch(`${s.url}/admin/api/scim/token`, { method: 'POST', headers: { cookie: a.cookie, 'x-csrf-token': b.csrf } });
    expect(wrong.status).toBe(403);
    expect((await s.t.domain.organizations.scimStatus(org.actor)).enabled).toBe(false);
  });

  it('elevates a member session to admin only for admins (what GraphQL uses with a valid X-CSRF-Token)', async () => {
    const org = await buildOrg(s.t.domain);
    const a = await signIn(org.id);
    const bob = await buildMember(s.t.domain, org.actor);
    const bobSession = await s.t.domain.sessions.start(org.id, bob.id);
    const asAdmin = await s.t.domain.admins.elevate(await s.t.domain.sessions.authenticate(decodeURIComponent(a.cookie.split('=')[1]!)));
    expect(asAdmin).toMatchObject({ kind: 'admin', id: a.memberId, organizationId: org.id });
    expect(await s.t.domain.admins.elevate(await s.t.domain.sessions.authenticate(bobSession.token))).toMatchObject({ kind: 'member', id: bob.id });
  });

  it('enables SCIM with a token shown once, rotates it, disables it, and logs each step', async () => {
    const org = await buildOrg(s.t.domain);
    const a = await signIn(org.id);
    const post = (path: string, body?: unknown) =>
      fetch(`${s.url}/admin/api${path}`, {
        method: 'POST',
        headers: { cookie: a.cookie, 'x-csrf-token': a.csrf, 'content-type': 'application/json' },
        body: JSON.stringify(body ?? {}),
      });
    const first = (await (await post('/scim/token')).json()) as { token: string; tenantUrl: string; status: { tokenPrefix: string } };
    expect(first.tenantUrl).toBe(`${s.url}/scim/v2`);
    expect(first.token.startsWith(first.status.tokenPrefix)).toBe(true);
    expect((await s.t.domain.organizations.authenticateScim(first.token)).organizationId).toBe(org.id);

    // The console reads the status through GraphQL: never the token.
    const read = await fetch(`${s.url}/graphql`, {
      method: 'POST',
      headers: { cookie: a.cookie, 'x-csrf-token': a.csrf, 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ scimStatus { enabled tokenPrefix tenantUrl } }' }),
    });
    const view = (await read.json()) as { data: { scimStatus: { enabled: boolean; tokenPrefix: string; tenantUrl: string } } };
    expect(view.data.scimStatus).toEqual({ enabled: true, tokenPrefix: first.status.tokenPrefix, tenantUrl: first.tenantUrl });
    expect(JSON.stringify(view)).not.toContain(first.token);

    const second = (await (await post('/scim/token')).json()) as { token: string };
    expect(second.token).not.toBe(first.token);
    await expect(s.t.domain.organizations.authenticateScim(first.token)).rejects.toThrow(/SCIM token/);
    expect((await post('/scim/disable')).status).toBe(200);
    await expect(s.t.domain.organizations.authenticateScim(second.token)).rejects.toThrow(/SCIM token/);

    const log = await consoleLog(a, { provisioning: true });
    expect(log.map((e) => e.action)).toEqual(['scim.disable', 'scim.token.rotate', 'scim.enable']);
    expect(log.every((e) => e.actorKind === 'admin')).toBe(true);
  });

  it('filters the provisioning log by member and by failures', async () => {
    const org = await buildOrg(s.t.domain);
    const a = await signIn(org.id);
    const scim = { kind: 'scim' as const, organizationId: org.id, label: 'scim' };
    await s.t.domain.members.create(scim, { userName: 'one@example.com' });
    await s.t.domain.members.create(scim, { userName: 'two@example.com' });
    await s.t.domain.audit.recordFailure(scim, { action: 'scim.user.create', resourceLabel: 'two@example.com', reason: 'uniqueness', detail: { message: 'userName taken' } });
    // The console reads its logs through GraphQL (with the names of the ids each entry carries); there is no JSON read of them.
    expect((await fetch(`${s.url}/admin/api/scim/log`, { headers: { cookie: a.cookie } })).status).toBe(404);
    const one = await consoleLog(a, { provisioning: true, search: 'ONE@example' });
    expect(one.map((e) => e.resourceLabel)).toEqual(['one@example.com']);
    expect(one[0]!.subjects).toEqual([expect.objectContaining({ kind: 'member', label: 'one@example.com' })]);
    expect(await consoleLog(a, { provisioning: true, outcome: 'FAILURE' })).toEqual([expect.objectContaining({ resourceLabel: 'two@example.com', outcome: 'FAILURE' })]);
  });

  it('grants and revokes the admin role, but not one’s own', async () => {
    const org = await buildOrg(s.t.domain);
    const a = await signIn(org.id);
    const carol = await buildMember(s.t.domain, org.actor);
    const set = (id: string, admin: boolean) =>
      fetch(`${s.url}/admin/api/members/${id}/admin`, {
        method: 'POST',
        headers: { cookie: a.cookie, 'x-csrf-token': a.csrf, 'content-type': 'application/json' },
        body: JSON.stringify({ admin }),
      });
    expect((await set(carol.id, true)).status).toBe(200);
    // The console reads the badge through GraphQL, as an app with an admin key would.
    const read = await fetch(`${s.url}/graphql`, {
      method: 'POST',
      headers: { cookie: a.cookie, 'x-csrf-token': a.csrf, 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'query($id: ID!) { member(id: $id) { organizationAdmin } }', variables: { id: carol.id } }),
    });
    expect(await read.json()).toEqual({ data: { member: { organizationAdmin: true } } });
    // No console-only JSON for directory data.
    expect((await fetch(`${s.url}/admin/api/members`, { headers: { cookie: a.cookie } })).status).toBe(404);
    expect((await set(carol.id, false)).status).toBe(200);
    const self = await set(a.memberId, false);
    expect(self.status).toBe(400);
    expect(((await self.json()) as { error: string }).error).toBe('cannot_revoke_self');
    expect((await set('00000000-0000-0000-0000-000000000000', true)).status).toBe(404);
  });

  it('refuses to make an inactive member admin, and logs each grant and removal with the member’s name', async () => {
    const org = await buildOrg(s.t.domain);
    const a = await signIn(org.id);
    const ivy = await buildMember(s.t.domain, org.actor, { userName: 'ivy@example.com' });
    await s.t.domain.members.update(org.actor, ivy.id, { active: false });
    const set = (id: string, admin: boolean) =>
      fetch(`${s.url}/admin/api/members/${id}/admin`, {
        method: 'POST',
        headers: { cookie: a.cookie, 'x-csrf-token': a.csrf, 'content-type': 'application/json' },
        body: JSON.stringify({ admin }),
      });
    const refused = await set(ivy.id, true);
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: string; message: string })).toMatchObject({ error: 'member_inactive', message: expect.stringContaining('ivy@example.com is deactivated') });
    expect((await s.t.domain.admins.list(org.actor)).map((x) => x.userName)).toEqual(['bootstrap-admin']);
    await s.t.domain.members.update(org.actor, ivy.id, { active: true });
    expect((await set(ivy.id, true)).status).toBe(200);
    expect((await set(ivy.id, false)).status).toBe(200);
    const events = await s.t.domain.audit.list(org.actor, { actionPrefix: 'admin.' });
    expect(events.filter((e) => e.action === 'admin.grant' || e.action === 'admin.revoke').map((e) => [e.action, e.resourceLabel, e.actorLabel])).toEqual([
      ['admin.revoke', 'ivy@example.com', 'bootstrap-admin'],
      ['admin.grant', 'ivy@example.com', 'bootstrap-admin'],
    ]);
  });

  it('answers a metadata URL that does not work with a 4xx in words, and a web page with what to copy instead', async () => {
    const org = await buildOrg(s.t.domain);
    const a = await signIn(org.id);
    const post = (body: unknown) =>
      fetch(`${s.url}/admin/api/saml/metadata`, { method: 'POST', headers: { cookie: a.cookie, 'x-csrf-token': a.csrf, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const cases: [string, RegExp][] = [
      ['http://127.0.0.1:59999/federationmetadata.xml', /could not fetch .*refused the connection/],
      [`${s.url}/no-such-page`, /no page at that address/],
      [`${s.url}/admin`, /This is a web page, not federation metadata/],
      ['not a url', /is not a web address/],
    ];
    for (const [url, message] of cases) {
      const res = await post({ url });
      expect(res.status, url).toBeGreaterThanOrEqual(400);
      expect(res.status, url).toBeLessThan(500);
      const body = (await res.json()) as { message: string };
      expect(body.message, url).toMatch(message);
      expect(body.message, url).not.toMatch(/DOCTYPE|`|saml import/);
    }
    const html = await post({ xml: '<!DOCTYPE html><html><body>Sign in to your account</body></html>' });
    expect(html.status).toBe(400);
    expect(((await html.json()) as { error: string }).error).toBe('metadata_is_html');
  });

  it('exports a filtered log as CSV and JSON lines, and refuses a bad date with a 400', async () => {
    const org = await buildOrg(s.t.domain);
    const a = await signIn(org.id);
    const scim = { kind: 'scim' as const, organizationId: org.id, label: 'scim' };
    await s.t.domain.members.create(scim, { userName: 'one@example.com' });
    await s.t.domain.audit.recordFailure(scim, { action: 'scim.user.create', resourceLabel: '=cmd@example.com', reason: 'uniqueness', detail: { message: 'taken, "quoted"' } });
    const get = (q: string) => fetch(`${s.url}/admin/api/logs/export${q}`, { headers: { cookie: a.cookie } });
    const jsonl = await get('?log=provisioning&format=jsonl');
    expect(jsonl.headers.get('content-disposition')).toMatch(/attachment; filename="gatehouse-provisioning-log-.*\.jsonl"/);
    const lines = (await jsonl.text()).trim().split('\n').map((l) => JSON.parse(l) as { action: string; resourceLabel: string });
    expect(lines.map((l) => l.resourceLabel)).toEqual(['=cmd@example.com', 'one@example.com']);
    const csv = await (await get('?log=provisioning&format=csv&failures=1')).text();
    const rows = csv.trim().split('\r\n');
    expect(rows[0]).toBe('id,at,actorKind,actorLabel,action,outcome,resourceType,resourceId,resourceLabel,reason,detail');
    expect(rows).toHaveLength(2);
    // A formula-looking cell is defused; quotes are doubled.
    expect(rows[1]).toContain(`"'=cmd@example.com"`);
    expect(rows[1]).toContain('{""message"":');
    const bad = await fetch(`${s.url}/admin/api/logs/export?since=not-a-date&format=csv`, { headers: { cookie: a.cookie } });
    expect(bad.status).toBe(400);
  });

  it('leaves Entra-owned fields of SCIM members to Entra, for console admins too', async () => {
    const org = await buildOrg(s.t.domain);
    const link = await s.t.domain.admins.createBootstrapLink(org.id);
    const admin = { kind: 'admin' as const, organizationId: org.id, id: link.memberId, label: link.userName };
    const scim = { kind: 'scim' as const, organizationId: org.id, label: 'scim' };
    const m = await s.t.domain.members.create(scim, { userName: 'eve@example.com' });
    await expect(s.t.domain.members.update(admin, m.id, { displayName: 'Eve' })).rejects.toMatchObject({ code: 'field_owned_by_entra' });
    await expect(s.t.domain.members.delete(admin, m.id)).rejects.toMatchObject({ code: 'managed_by_scim' });
    expect((await s.t.domain.members.update(admin, m.id, { metadata: { city: 'Oslo' } })).metadata).toEqual({ city: 'Oslo' });
  });

  it('ends the admin session when the member is deactivated', async () => {
    const org = await buildOrg(s.t.domain);
    const a = await signIn(org.id, 'dave@example.com');
    await s.t.domain.members.update(org.actor, a.memberId, { active: false });
    expect((await fetch(`${s.url}/admin/api/session`, { headers: { cookie: a.cookie } })).status).toBe(401);
  });

  it('serves a favicon', async () => {
    const page = await (await fetch(`${s.url}/admin`)).text();
    expect(page).toContain('<link rel="icon" href="/admin/favicon.svg"');
    for (const path of ['/admin/favicon.svg', '/favicon.ico']) {
      const res = await fetch(`${s.url}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/svg+xml; charset=utf-8');
    }
  });

  it('serves the console page with a strict CSP and the bundle', async () => {
    const page = await fetch(`${s.url}/admin`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toContain('/admin/app.js');
    const js = await fetch(`${s.url}/admin/app.js`);
    expect(js.headers.get('content-type')).toContain('javascript');
    expect((await js.text()).length).toBeGreaterThan(1000);
  });
});
