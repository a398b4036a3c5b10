// What the admin console shows, an app reads through GraphQL: the gaps issue
// 21 found (whoCanOpen without totalCount, auditEvents.totalCount always null,
// a member's own `viewer { shares }` refused, the SP certificate list, the
// admin badge, group membership changes recorded as counts only).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGroup, buildMember } from '../factories/index.js';
import { startHarness, type Harness } from './harness.js';

let hs: Harness;
beforeAll(async () => {
  hs = await startHarness();
});
afterAll(async () => {
  await hs.close();
});

describe('GraphQL gaps found by the console', () => {
  it('whoCanOpen counts every member over all pages, at the time asked', async () => {
    const org = await hs.org();
    const d = hs.t.domain;
    const place = await d.places.createPlace(org.actor, { name: 'HQ' });
    const lock = await d.places.createLock(org.actor, { placeId: place.id, name: 'Door' });
    const a = await buildMember(d, org.actor);
    const b = await buildMember(d, org.actor);
    const c = await buildMember(d, org.actor);
    const g = await buildGroup(d, org.actor, [b.id, c.id]);
    await d.shares.grant(org.actor, { memberId: a.id, lockId: lock.id, validUntil: new Date('2030-01-01T00:00:00Z') });
    await d.shares.grant(org.actor, { groupId: g.id, placeId: place.id });
    await d.shares.grant(org.actor, { memberId: b.id, lockId: lock.id });
    const q = `query($l: ID!, $at: DateTimeISO) { whoCanOpen(lockId: $l, first: 1, at: $at) { totalCount pageInfo { hasNextPage } edges { node { id } } } }`;
    const now = await hs.gql(q, { l: lock.id }, { apiKey: org.reader });
    expect(now.body.errors).toBeUndefined();
    expect(now.body.data).toMatchObject({ whoCanOpen: { totalCount: 3, pageInfo: { hasNextPage: true } } });
    const later = await hs.gql(q, { l: lock.id, at: '2031-01-01T00:00:00Z' }, { apiKey: org.reader });
    expect((later.body.data as { whoCanOpen: { totalCount: number } }).whoCanOpen.totalCount).toBe(2);
  });

  it('auditEvents.totalCount counts the events matching the filter', async () => {
    const org = await hs.org();
    for (let i = 0; i < 3; i++) await buildMember(hs.t.domain, org.actor);
    const res = await hs.gql(`{ all: auditEvents(first: 1) { totalCount } members: auditEvents(first: 1, filter: { actionPrefix: "member." }) { totalCount edges { node { action } } } }`, {}, { apiKey: org.admin });
    expect(res.body.errors).toBeUndefined();
    const data = res.body.data as { all: { totalCount: number }; members: { totalCount: number } };
    expect(data.members.totalCount).toBe(3);
    expect(data.all.totalCount).toBeGreaterThan(3);
  });

  it('a signed-in member reads its own shares through viewer, and no one else’s', async () => {
    const org = await hs.org();
    const d = hs.t.domain;
    const place = await d.places.createPlace(org.actor, { name: 'HQ' });
    const lock = await d.places.createLock(org.actor, { placeId: place.id, name: 'Door' });
    const me = await buildMember(d, org.actor);
    const other = await buildMember(d, org.actor);
    await d.shares.grant(org.actor, { memberId: me.id, lockId: lock.id });
    await d.shares.grant(org.actor, { memberId: other.id, lockId: lock.id });
    const session = (await d.sessions.start(org.id, me.id)).token;
    const mine = await hs.gql(`{ viewer { userName shares { lock { name } } } }`, {}, { session });
    expect(mine.body.errors).toBeUndefined();
    expect(mine.body.data).toEqual({ viewer: { userName: me.userName, shares: [{ lock: { name: 'Door' } }] } });
    const theirs = await hs.gql(`query($id: ID!) { member(id: $id) { shares { id } } }`, { id: other.id }, { session });
    expect(theirs.body.errors?.[0]?.extensions?.code).toMatch(/FORBIDDEN|NOT_FOUND/);
  });

  it('samlSettings lists every SP certificate: signing, next and retired, with expiry', async () => {
    const org = await hs.org();
    const d = hs.t.domain;
    const first = await d.saml.generateCertificate(org.actor, 'first');
    const second = await d.saml.generateCertificate(org.actor, 'second');
    const next = await d.saml.generateCertificate(org.actor, 'next', { next: true });
    const res = await hs.gql(
      `{ samlSettings { configured idpSsoUrls warnings encryptionRequired spCertificate { fingerprintSha256 } spCertificates { id use fingerprintSha256 notAfter daysLeft warning } } }`,
      {},
      { apiKey: org.admin },
    );
    expect(res.body.errors).toBeUndefined();
    const s = (res.body.data as { samlSettings: { configured: boolean; spCertificate: { fingerprintSha256: string }; spCertificates: { id: string; use: string; daysLeft: number; notAfter: string; warning: string | null }[] } }).samlSettings;
    expect(s.configured).toBe(false);
    expect(s.spCertificate.fingerprintSha256).toBe(second.fingerprint);
    expect(s.spCertificates.map((c) => [c.id, c.use])).toEqual([
      [second.id, 'SIGNING'],
      [next.id, 'NEXT'],
      [first.id, 'RETIRED'],
    ]);
    expect(s.spCertificates[0]!.daysLeft).toBeGreaterThan(300);
    expect(new Date(s.spCertificates[0]!.notAfter).getTime()).toBeGreaterThan(Date.now());
    // Promoting the next one retires the one that signed.
    await d.saml.promoteSpCertificate(org.actor, next.id);
    const after = await hs.gql(`{ samlSettings { spCertificates { id use } } }`, {}, { apiKey: org.admin });
    expect((after.body.data as { samlSettings: { spCertificates: { id: string; use: string }[] } }).samlSettings.spCertificates).toEqual([
      { id: next.id, use: 'SIGNING' },
      { id: second.id, use: 'RETIRED' },
      { id: first.id, use: 'RETIRED' },
    ]);
    const reader = await hs.gql(`{ samlSettings { spCertificates { id } } }`, {}, { apiKey: org.reader });
    expect(reader.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  }, 60_000); // three RSA key pairs: seconds each on a loaded machine

  it('Member.organizationAdmin says who may open the admin console (admin keys; a member about itself)', async () => {
    const org = await hs.org();
    const d = hs.t.domain;
    const admin = await buildMember(d, org.actor);
    const plain = await buildMember(d, org.actor);
    await d.admins.grant(org.actor, admin.id);
    const q = `{ members(first: 10) { edges { node { id organizationAdmin } } } }`;
    const res = await hs.gql(q, {}, { apiKey: org.admin });
    expect(res.body.errors).toBeUndefined();
    const flags = Object.fromEntries((res.body.data as { members: { edges: { node: { id: string; organizationAdmin: boolean } }[] } }).members.edges.map((e) => [e.node.id, e.node.organizationAdmin]));
    expect(flags).toEqual({ [admin.id]: true, [plain.id]: false });
    const reader = await hs.gql(q, {}, { apiKey: org.reader });
    expect(reader.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const session = (await d.sessions.start(org.id, admin.id)).token;
    const self = await hs.gql(`{ viewer { organizationAdmin } }`, {}, { session });
    expect(self.body.errors).toBeUndefined();
    expect(self.body.data).toEqual({ viewer: { organizationAdmin: true } });
  });

  it('group membership changes through GraphQL record the member ids, as SCIM does, and appear in each member’s history', async () => {
    const org = await hs.org();
    const d = hs.t.domain;
    const a = await buildMember(d, org.actor);
    const b = await buildMember(d, org.actor);
    const g = await buildGroup(d, org.actor);
    const add = await hs.gql(`mutation($g: ID!, $m: [ID!]!) { addGroupMembers(id: $g, memberIds: $m) { id } }`, { g: g.id, m: [a.id, b.id] }, { apiKey: org.admin });
    expect(add.body.errors).toBeUndefined();
    const remove = await hs.gql(`mutation($g: ID!, $m: [ID!]!) { removeGroupMembers(id: $g, memberIds: $m) { id } }`, { g: g.id, m: [b.id] }, { apiKey: org.admin });
    expect(remove.body.errors).toBeUndefined();
    const log = await hs.gql(
      `query($g: String) { auditEvents(first: 5, filter: { resourceId: $g, actionPrefix: "group.update" }) { edges { node { detail subjects { id kind label } } } } }`,
      { g: g.id },
      { apiKey: org.admin },
    );
    const nodes = (log.body.data as { auditEvents: { edges: { node: { detail: Record<string, unknown>; subjects: { id: string; kind: string; label: string }[] } }[] } }).auditEvents.edges.map((e) => e.node);
    const details = nodes.map((n) => n.detail);
    // Each entry names what it carries: the group, and the members who joined or left (as the console shows them).
    expect(nodes[0]!.subjects).toEqual([
      { id: g.id, kind: 'group', label: g.displayName },
      { id: b.id, kind: 'member', label: b.userName },
    ]);
    expect(details[0]).toMatchObject({ membersAdded: 0, membersRemoved: 1, addedMemberIds: [], removedMemberIds: [b.id] });
    expect(details[1]).toMatchObject({ membersAdded: 2, membersRemoved: 0, removedMemberIds: [] });
    expect([...(details[1]!.addedMemberIds as string[])].sort()).toEqual([a.id, b.id].sort());
    // A change with a rename goes the transactional way: the same shape.
    const both = await d.groups.update(org.actor, g.id, { displayName: `${g.displayName} renamed`, addMembers: [b.id] });
    expect(both.id).toBe(g.id);
    const history = await hs.gql(
      `query($m: ID!) { auditEvents(first: 10, filter: { memberId: $m, actionPrefix: "group." }) { edges { node { detail } } } }`,
      { m: b.id },
      { apiKey: org.admin },
    );
    const ofB = (history.body.data as { auditEvents: { edges: { node: { detail: Record<string, unknown> } }[] } }).auditEvents.edges.map((e) => e.node.detail);
    expect(ofB).toHaveLength(3);
    expect(ofB[0]).toMatchObject({ addedMemberIds: [b.id], removedMemberIds: [], displayName: { to: `${g.displayName} renamed` } });
  });

  it('shares lists every share with its grantee, paged and counted (the console’s shares table)', async () => {
    const org = await hs.org();
    const d = hs.t.domain;
    const place = await d.places.createPlace(org.actor, { name: 'Depot' });
    const lock = await d.places.createLock(org.actor, { placeId: place.id, name: 'Gate' });
    const m = await buildMember(d, org.actor);
    const g = await buildGroup(d, org.actor);
    await d.shares.grant(org.actor, { memberId: m.id, lockId: lock.id });
    await d.shares.grant(org.actor, { groupId: g.id, placeId: place.id });
    const q = `query($after: String, $lock: ID) { shares(first: 1, after: $after, filter: { lockId: $lock }) {
      totalCount pageInfo { hasNextPage endCursor } edges { node { id member { userName } group { displayName } place { name } lock { name } } } } }`;
    const first = await hs.gql(q, {}, { apiKey: org.reader });
    expect(first.body.errors).toBeUndefined();
    type Page = { shares: { totalCount: number; pageInfo: { hasNextPage: boolean; endCursor: string }; edges: { node: { member: { userName: string } | null; group: { displayName: string } | null } }[] } };
    const p1 = (first.body.data as Page).shares;
    expect(p1.totalCount).toBe(2);
    expect(p1.pageInfo.hasNextPage).toBe(true);
    const second = (await hs.gql(q, { after: p1.pageInfo.endCursor }, { apiKey: org.reader })).body.data as Page;
    expect(second.shares.pageInfo.hasNextPage).toBe(false);
    const grantees = [...p1.edges, ...second.shares.edges].map((e) => e.node.member?.userName ?? e.node.group?.displayName).sort();
    expect(grantees).toEqual([m.userName, g.displayName].sort());
    const ofLock = (await hs.gql(q, { lock: lock.id }, { apiKey: org.reader })).body.data as Page;
    expect(ofLock.shares.totalCount).toBe(1);
    const bad = await hs.gql(q, { after: 'nope' }, { apiKey: org.reader });
    expect(bad.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});
