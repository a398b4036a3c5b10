// What the console's member page, "who can open this lock" at a time, the
// admin activity log and the Entra set-up checklist show, an app reads through
// GraphQL with an admin key: the same queries the console sends.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGroup, buildMember } from '../factories/index.js';
import { startHarness, type Harness } from './harness.js';
import { MEMBER_PAGE_QUERY, SETUP_QUERY, WHO_AT_QUERY } from '../../admin/src/api.js';
import type { Actor } from '../../src/domain/index.js';

let hs: Harness;

/** A request as Entra's provisioning service sends it. */
async function scimCall(token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${hs.url.replace(/\/graphql$/, '')}/scim/v2${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/scim+json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

beforeAll(async () => {
  hs = await startHarness();
});
afterAll(async () => {
  await hs.close();
});

describe("the console's member page through GraphQL", () => {
  it('profile, groups, what the member can open and why at a time, validity windows, and a history with the group changes that name the member', async () => {
    const org = await hs.org();
    const d = hs.t.domain;
    const scim: Actor = { kind: 'scim', organizationId: org.id, label: 'scim' };
    const place = await d.places.createPlace(org.actor, { name: 'HQ' });
    const front = await d.places.createLock(org.actor, { placeId: place.id, name: 'Front door' });
    const lab = await d.places.createLock(org.actor, { placeId: place.id, name: 'Lab' });
    const ada = await d.members.create(scim, { userName: 'ada@contoso.example', displayName: 'Ada Lovelace' }, { action: 'scim.user.create' });
    const other = await buildMember(d, org.actor);
    // The group and its membership come from Entra, through the SCIM edge (the history names the member).
    const { token } = await d.organizations.enableScim(org.actor);
    const created = await scimCall(token, 'POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Night shift' });
    expect(created.status).toBe(201);
    const g = { id: String(created.body.id) };
    const patched = await scimCall(token, 'PATCH', `/Groups/${g.id}`, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'Add', path: 'members', value: [{ value: ada.id }] }],
    });
    expect(patched.status).toBe(204);
    await buildGroup(d, org.actor, [other.id], 'Day shift');
    await d.shares.grant(org.actor, { groupId: g.id, placeId: place.id, validFrom: new Date('2030-01-01T00:00:00Z') });
    await d.shares.grant(org.actor, { memberId: ada.id, lockId: lab.id, validUntil: new Date('2031-01-01T00:00:00Z') });
    await d.shares.grant(org.actor, { memberId: other.id, lockId: front.id });

    const now = await hs.gql(MEMBER_PAGE_QUERY, { id: ada.id }, { apiKey: org.admin });
    expect(now.body.errors).toBeUndefined();
    const m = (now.body.data as { member: { userName: string; source: string; groups: { displayName: string; shares: unknown[] }[]; access: { lockName: string; grants: { groupName: string | null }[] }[]; shares: unknown[] } }).member;
    expect(m.userName).toBe('ada@contoso.example');
    expect(m.source).toBe('SCIM');
    expect(m.groups.map((x) => x.displayName)).toEqual(['Night shift']);
    expect(m.groups[0]!.shares).toHaveLength(1); // the future window shows although it is not open now
    expect(m.access.map((a) => a.lockName)).toEqual(['Lab']);
    expect(m.shares).toHaveLength(1);

    // In 2030 the group's place share is open too: both locks, and why.
    const later = await hs.gql(MEMBER_PAGE_QUERY, { id: ada.id, at: '2030-06-01T00:00:00Z' }, { apiKey: org.admin });
    const access = (later.body.data as { member: { access: { lockName: string; grants: { groupName: string | null; scope: string }[] }[] } }).member.access;
    expect(access.map((a) => a.lockName).sort()).toEqual(['Front door', 'Lab']);
    expect(access.find((a) => a.lockName === 'Front door')!.grants).toEqual([expect.objectContaining({ groupName: 'Night shift', scope: 'PLACE' })]);

    // The history: the SCIM create, the group change naming the member, its share; not the other member's share.
    const history = (now.body.data as { history: { totalCount: number; edges: { node: { action: string } }[] } }).history;
    const actions = history.edges.map((e) => e.node.action);
    expect(actions).toContain('scim.user.create');
    expect(actions).toContain('scim.group.patch');
    expect(actions.filter((a) => a === 'share.grant')).toHaveLength(1);
    expect(history.totalCount).toBe(history.edges.length);

    // A member id that is not one: NOT_FOUND, never a 5xx.
    const bad = await hs.gql(`{ auditEvents(filter: { memberId: "x'--" }) { totalCount } }`, {}, { apiKey: org.admin });
    expect(bad.status).toBeLessThan(500);
    expect(bad.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });
});

describe('who can open a lock at a chosen time, with a search', () => {
  it('counts the matches of the text at that time; bad text is a 4xx', async () => {
    const org = await hs.org();
    const d = hs.t.domain;
    const place = await d.places.createPlace(org.actor, { name: 'HQ' });
    const lock = await d.places.createLock(org.actor, { placeId: place.id, name: 'Door' });
    const a = await buildMember(d, org.actor, { userName: 'anna@x.example', displayName: 'Anna North' });
    const b = await buildMember(d, org.actor, { userName: 'bob@x.example', displayName: 'Bob South' });
    const c = await buildMember(d, org.actor, { userName: 'annabel@x.example', displayName: 'Annabel East' });
    await d.shares.grant(org.actor, { memberId: a.id, lockId: lock.id });
    await d.shares.grant(org.actor, { memberId: b.id, lockId: lock.id });
    await d.shares.grant(org.actor, { memberId: c.id, placeId: place.id, validFrom: new Date('2030-01-01T00:00:00Z') });
    type R = { whoCanOpen: { totalCount: number; edges: { node: { userName: string } }[] } };
    const ask = async (vars: Record<string, unknown>) => {
      const r = await hs.gql(WHO_AT_QUERY, { lockId: lock.id, counted: true, ...vars }, { apiKey: org.reader });
      expect(r.body.errors).toBeUndefined();
      return (r.body.data as R).whoCanOpen;
    };
    expect((await ask({})).totalCount).toBe(2);
    const ann = await ask({ text: 'ANN' });
    expect(ann.totalCount).toBe(1);
    expect(ann.edges.map((e) => e.node.userName)).toEqual(['anna@x.example']);
    const annLater = await ask({ text: 'ann', at: '2030-02-01T00:00:00Z' });
    expect(annLater.totalCount).toBe(2);
    expect(annLater.edges.map((e) => e.node.userName).sort()).toEqual(['anna@x.example', 'annabel@x.example']);
    expect((await ask({ text: 'South' })).edges.map((e) => e.node.userName)).toEqual(['bob@x.example']);
    // LIKE wildcards are literal.
    expect((await ask({ text: '%' })).totalCount).toBe(0);
    // The console counts with its first page only: the later pages leave the count out.
    const uncounted = await ask({ counted: false });
    expect(uncounted).not.toHaveProperty('totalCount');
    expect(uncounted.edges).toHaveLength(2);
    const long = await hs.gql(WHO_AT_QUERY, { lockId: lock.id, counted: true, text: 'x'.repeat(201) }, { apiKey: org.reader });
    expect(long.status).toBeLessThan(500);
    expect(long.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('the admin activity log through GraphQL', () => {
  it('admin grants and removals, link uses, token rotations and setting changes, with who did each; not provisioning', async () => {
    const org = await hs.org();
    const d = hs.t.domain;
    const link = await d.admins.createBootstrapLink(org.id, { userName: 'first.admin@contoso.example' });
    const session = await d.admins.redeemBootstrapLink(link.token);
    const adminActor = await d.admins.authenticate(session.token);
    const grace = await buildMember(d, org.actor, { userName: 'grace@contoso.example' });
    await d.admins.grant(adminActor, grace.id);
    await d.admins.revoke(adminActor, grace.id);
    await d.organizations.enableScim(org.actor);
    await d.organizations.enableScim(adminActor); // a rotation, by the console admin
    await d.saml.setIdpInitiated(adminActor, false);
    await d.members.create({ kind: 'scim', organizationId: org.id, label: 'scim' }, { userName: 'prov@contoso.example' }, { action: 'scim.user.create' });

    const res = await hs.gql(
      `{ auditEvents(first: 50, filter: { adminActivity: true }) { totalCount edges { node { action actorKind actorLabel resourceLabel } } } }`,
      {},
      { apiKey: org.admin },
    );
    expect(res.body.errors).toBeUndefined();
    const page = (res.body.data as { auditEvents: { totalCount: number; edges: { node: { action: string; actorKind: string; actorLabel: string | null; resourceLabel: string | null } }[] } }).auditEvents;
    const seen = page.edges.map((e) => e.node);
    const by = (action: string) => seen.filter((e) => e.action === action);
    expect(by('admin.grant')[0]).toMatchObject({ actorKind: 'admin', actorLabel: 'first.admin@contoso.example', resourceLabel: 'grace@contoso.example' });
    expect(by('admin.revoke')[0]).toMatchObject({ actorKind: 'admin', resourceLabel: 'grace@contoso.example' });
    expect(by('admin.bootstrap_link.create')).toHaveLength(1);
    expect(by('admin.bootstrap_link.use')).toHaveLength(1);
    expect(by('scim.enable')[0]).toMatchObject({ actorKind: 'system' });
    expect(by('scim.token.rotate')[0]).toMatchObject({ actorKind: 'admin', actorLabel: 'first.admin@contoso.example' });
    expect(by('saml.idp_initiated')[0]).toMatchObject({ actorKind: 'admin' });
    expect(by('scim.user.create')).toHaveLength(0);
    expect(page.totalCount).toBe(seen.length);
    // A reader key may not read the log.
    const reader = await hs.gql(`{ auditEvents(filter: { adminActivity: true }) { totalCount } }`, {}, { apiKey: org.reader });
    expect(reader.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('the Entra set-up checklist through GraphQL', () => {
  it('ticks each step from what Gatehouse has seen', async () => {
    const org = await hs.org();
    const d = hs.t.domain;
    type P = Record<string, string | null>;
    const progress = async () => {
      const r = await hs.gql(SETUP_QUERY, {}, { apiKey: org.admin });
      expect(r.body.errors).toBeUndefined();
      return (r.body.data as { setupProgress: P }).setupProgress;
    };
    expect(Object.values(await progress()).every((v) => v === null)).toBe(true);

    const { token } = await d.organizations.enableScim(org.actor);
    expect((await progress()).scimTokenCreatedAt).not.toBeNull();
    expect((await progress()).scimConnectedAt).toBeNull();
    // Entra's Test Connection: a filter that finds nobody.
    const test = await scimCall(token, 'GET', `/Users?filter=${encodeURIComponent('userName eq "6f1a0c7e-test"')}`);
    expect(test.status).toBe(200);
    expect(test.body.totalResults).toBe(0);
    expect((await progress()).scimConnectedAt).not.toBeNull();
    expect((await progress()).firstProvisionedAt).toBeNull();
    const created = await scimCall(token, 'POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'first@contoso.example', active: true });
    expect(created.status).toBe(201);
    const p = await progress();
    expect(p.firstProvisionedAt).not.toBeNull();
    expect(p.metadataImportedAt).toBeNull();
    expect(p.spCertificateAt).toBeNull();
    expect(p.firstSignInAt).toBeNull();

    await d.saml.generateCertificate(org.actor, 'test SP');
    expect((await progress()).spCertificateAt).not.toBeNull();
    // A member session reading it: refused (admins only).
    const member = await buildMember(d, org.actor);
    const session = (await d.sessions.start(org.id, member.id)).token;
    const refused = await hs.gql(SETUP_QUERY, {}, { session });
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
