// The console's guard and SCIM rotation endpoints over HTTP: admin session and
// CSRF required; bad input is a 400 that changes nothing, never a 5xx.
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../setup/test-app.js';
import { buildOrg } from '../factories/index.js';
import { csrfTokenFor } from '../../src/http/csrf.js';
import type { Actor } from '../../src/domain/index.js';

let s: TestApp;
beforeAll(async () => {
  s = await createTestApp();
});
afterAll(async () => {
  await s.close();
});

async function signIn(orgId: string): Promise<{ cookie: string; csrf: string }> {
  const link = await s.t.domain.admins.createBootstrapLink(orgId);
  const res = await fetch(`${s.url}/admin/bootstrap`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: link.token }).toString(),
    redirect: 'manual',
  });
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('gatehouse_session='))!.split(';')[0]!;
  return { cookie, csrf: csrfTokenFor(decodeURIComponent(cookie.split('=')[1]!)) };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function call(who: { cookie: string; csrf: string } | null, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${s.url}/admin/api${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(who ? { cookie: who.cookie, 'x-csrf-token': who.csrf } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

describe('console API: guard', () => {
  it('lists held changes, edits settings, approves and discards; refuses bad input, no session, no CSRF token', async () => {
    const org = await buildOrg(s.t.domain);
    const scim: Actor = { kind: 'scim', organizationId: org.id, label: 'scim' };
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await s.t.domain.members.create(scim, { userName: `p${i}-${crypto.randomBytes(3).toString('hex')}@contoso.com` })).id);
    await s.t.domain.guard.updateSettings(org.actor, { minCount: 1, thresholdPercent: 10 });
    for (const id of ids.slice(0, 4)) await s.t.domain.members.update(scim, id, { active: false });
    const admin = await signIn(org.id);

    // The console reads what is held through GraphQL (as an app with an admin key would); there is no JSON read of it.
    expect((await call(admin, 'GET', '/guard')).status).toBe(404);
    const read = await fetch(`${s.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: admin.cookie, 'x-csrf-token': admin.csrf },
      body: JSON.stringify({
        query: '{ deprovisionGuard { enabled thresholdPercent minCount windowMinutes held } heldChanges { id source kind actorLabel memberLabel lastAskedAt group { displayName } } }',
      }),
    });
    const view = (await read.json()) as { data: { deprovisionGuard: Record<string, unknown>; heldChanges: Record<string, unknown>[] } };
    expect(view.data.deprovisionGuard).toEqual({ enabled: true, thresholdPercent: 10, minCount: 1, windowMinutes: 60, held: 3 });
    expect(view.data.heldChanges).toHaveLength(3);
    expect(view.data.heldChanges[0]).toMatchObject({ source: 'scim', kind: 'deactivate', actorLabel: 'scim', memberLabel: expect.stringMatching(/@contoso\.com$/), group: null });
    expect(Number.isNaN(Date.parse(String(view.data.heldChanges[0]!.lastAskedAt)))).toBe(false);

    // Without the CSRF header: refused, nothing decided.
    const noCsrf = await fetch(`${s.url}/admin/api/guard/approve`, { method: 'POST', headers: { 'content-type': 'application/json', cookie: admin.cookie }, body: '{}' });
    expect(noCsrf.status).toBe(403);
    for (const bad of [{ thresholdPercent: 0 }, { minCount: 'ten' }, { windowMinutes: 1.5 }, { enabled: 'yes' }, { thresholdPercent: 101 }]) {
      const r = await call(admin, 'POST', '/guard/settings', bad);
      expect(r.status, JSON.stringify(bad)).toBe(400);
      expect(r.body.error).toBe('invalid_guard_setting');
    }
    for (const bad of [{ ids: 'all' }, { ids: ['not-a-uuid'] }, { ids: [1] }]) {
      const r = await call(admin, 'POST', '/guard/approve', bad);
      expect(r.status, JSON.stringify(bad)).toBe(400);
      expect((await call(admin, 'POST', '/guard/discard', bad)).status).toBe(400);
    }
    expect(await s.t.domain.guard.heldCount(org.actor)).toBe(3);
    expect((await s.t.domain.guard.settings(org.actor)).thresholdPercent).toBe(10);

    const saved = await call(admin, 'POST', '/guard/settings', { windowMinutes: 90 });
    expect(saved.body.settings).toEqual({ enabled: true, thresholdPercent: 10, minCount: 1, windowMinutes: 90 });

    // Approve one by id, discard the rest.
    const one = view.data.heldChanges[0]!.id as string;
    const approved = await call(admin, 'POST', '/guard/approve', { ids: [one] });
    expect(approved.body.decision).toMatchObject({ approved: 1, deactivated: 1 });
    expect(approved.body.held).toHaveLength(2);
    const discarded = await call(admin, 'POST', '/guard/discard', {});
    expect(discarded.body.decision).toMatchObject({ discarded: 2 });
    expect(discarded.body.held).toHaveLength(0);
    const active = await Promise.all(ids.slice(0, 4).map(async (id) => (await s.t.domain.members.get(org.actor, id)).active));
    expect(active.filter((a) => !a)).toHaveLength(2); // the one admitted at once and the one approved
  });
});

describe('console API: SCIM rotation', () => {
  it('rotates with an overlap, revokes the previous; a bad overlap is a 400 that changes nothing', async () => {
    const org = await buildOrg(s.t.domain);
    const admin = await signIn(org.id);
    expect((await call(admin, 'POST', '/scim/rotate', { overlap: '1h' })).body.error).toBe('scim_disabled');
    const first = await call(admin, 'POST', '/scim/token');
    for (const overlap of ['nonsense', '0m', '31d', '']) {
      const r = await call(admin, 'POST', '/scim/rotate', { overlap });
      expect(r.status, overlap).toBe(400);
      expect(r.body.error).toBe('invalid_overlap');
    }
    expect((await s.t.domain.organizations.scimStatus(org.actor)).previousTokenPrefix).toBeNull();
    const rotated = await call(admin, 'POST', '/scim/rotate', { overlap: '1h' });
    expect(rotated.status).toBe(200);
    expect(rotated.body.status.previousTokenPrefix).toBe(first.body.token.slice(0, 14));
    expect((await s.t.domain.organizations.authenticateScim(first.body.token)).organizationId).toBe(org.id);
    const revoked = await call(admin, 'POST', '/scim/revoke-previous');
    expect(revoked.body).toMatchObject({ revoked: true, status: { previousTokenPrefix: null } });
    await expect(s.t.domain.organizations.authenticateScim(first.body.token)).rejects.toMatchObject({ kind: 'unauthenticated' });
    expect((await s.t.domain.organizations.authenticateScim(rotated.body.token)).organizationId).toBe(org.id);
  });
});
