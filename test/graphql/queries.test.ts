import { TestIdp } from '../saml/idp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, startHarness, type Harness } from './harness.js';
import { buildGroup, buildLock, buildMember } from '../factories/index.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

async function scene() {
  const o = await h.org();
  const d = h.t.domain;
  const place = await d.places.createPlace(o.actor, { name: 'HQ', timeZone: 'Europe/Paris' });
  const front = await buildLock(d, o.actor, place.id);
  const boss = await buildMember(d, o.actor, { userName: 'boss@example.com', displayName: 'The Boss' });
  const alice = await buildMember(d, o.actor, {
    userName: 'alice@example.com',
    displayName: 'Alice Martin',
    name: { givenName: 'Alice', familyName: 'Martin' },
    emails: [{ value: 'alice@example.com', type: 'work', primary: true }],
    enterprise: { department: 'R&D', employeeNumber: '42', managerId: boss.id },
    metadata: { city: 'Lyon' },
  });
  const bob = await buildMember(d, o.actor, { userName: 'bob@example.com', active: false });
  const staff = await buildGroup(d, o.actor, [alice.id, bob.id], 'Staff');
  const share = await d.shares.grant(o.actor, { groupId: staff.id, placeId: place.id });
  const direct = await d.shares.grant(o.actor, { memberId: alice.id, lockId: front.id, validUntil: new Date(Date.now() + 3600_000) });
  return { ...o, place, front, boss, alice, bob, staff, share, direct };
}

describe('GraphQL queries', () => {
  it('reads a member with every SCIM attribute and its relations', async () => {
    const s = await scene();
    const res = await h.gql(
      `query($id: ID!) { member(id: $id) {
        id userName active displayName name { givenName familyName } emails { value type primary }
        enterprise { department employeeNumber managerId } manager { userName } metadata extensions source version
        groups { displayName managed source } shares { role validUntil lock { name place { name timeZone } } }
      } }`,
      { id: s.alice.id },
      { apiKey: s.reader },
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.member).toMatchObject({
      id: s.alice.id,
      userName: 'alice@example.com',
      active: true,
      name: { givenName: 'Alice', familyName: 'Martin' },
      emails: [{ value: 'alice@example.com', type: 'work', primary: true }],
      enterprise: { department: 'R&D', employeeNumber: '42', managerId: s.boss.id },
      manager: { userName: 'boss@example.com' },
      metadata: { city: 'Lyon' },
      extensions: {},
      source: 'ADMIN',
      groups: [{ displayName: 'Staff', managed: false, source: 'ADMIN' }],
      shares: [{ role: 'USER', validUntil: s.direct.validUntil!.toISOString(), lock: { name: s.front.name, place: { name: 'HQ', timeZone: 'Europe/Paris' } } }],
    });
  });

  it('lists members with filters, order and Relay paging', async () => {
    const s = await scene();
    const q = `query($f: MemberFilter, $first: Int, $after: String, $o: MemberOrder) {
      members(filter: $f, first: $first, after: $after, orderBy: $o) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { userName } } } }`;
    const p1 = await h.gql(q, { first: 2 }, { apiKey: s.reader });
    const c1 = p1.body.data!.members as { totalCount: number; pageInfo: { hasNextPage: boolean; endCursor: string }; edges: { node: { userName: string } }[] };
    expect(c1.totalCount).toBe(3);
    expect(c1.edges.map((e) => e.node.userName)).toEqual(['alice@example.com', 'bob@example.com']);
    expect(c1.pageInfo.hasNextPage).toBe(true);
    const p2 = await h.gql(q, { first: 2, after: c1.pageInfo.endCursor }, { apiKey: s.reader });
    expect((p2.body.data!.members as typeof c1).edges.map((e) => e.node.userName)).toEqual(['boss@example.com']);
    expect((p2.body.data!.members as typeof c1).pageInfo.hasNextPage).toBe(false);

    const active = await h.gql(q, { f: { active: false } }, { apiKey: s.reader });
    expect((active.body.data!.members as typeof c1).edges.map((e) => e.node.userName)).toEqual(['bob@example.com']);
    const text = await h.gql(q, { f: { text: 'MARTIN' } }, { apiKey: s.reader });
    expect((text.body.data!.members as typeof c1).edges.map((e) => e.node.userName)).toEqual(['alice@example.com']);
    const inGroup = await h.gql(q, { f: { groupId: s.staff.id, source: 'ADMIN' } }, { apiKey: s.reader });
    expect((inGroup.body.data!.members as typeof c1).totalCount).toBe(2);
    const byDate = await h.gql(q, { o: 'CREATED_AT' }, { apiKey: s.reader });
    expect((byDate.body.data!.members as typeof c1).edges[0]!.node.userName).toBe('boss@example.com');
  });

  it('refuses a page larger than the maximum with BAD_USER_INPUT on first', async () => {
    const s = await scene();
    const res = await h.gql(`{ members(first: 501) { totalCount } }`, {}, { apiKey: s.reader });
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.body.errors![0]!.extensions!.field).toBe('first');
    const bad = await h.gql(`{ members(after: "nonsense") { totalCount } }`, {}, { apiKey: s.reader });
    expect(codes(bad)).toEqual(['BAD_USER_INPUT']);
  });

  it('reads groups with their paged members and shares', async () => {
    const s = await scene();
    const res = await h.gql(
      `query($id: ID!) { group(id: $id) { displayName members(first: 1) { totalCount pageInfo { hasNextPage endCursor } edges { node { userName } } }
         shares { place { name locks { name } } } }
         groups(filter: { text: "sta" }) { totalCount edges { node { id } } } }`,
      { id: s.staff.id },
      { apiKey: s.reader },
    );
    expect(res.body.errors).toBeUndefined();
    const g = res.body.data!.group as { members: { totalCount: number; pageInfo: { hasNextPage: boolean; endCursor: string }; edges: unknown[] } };
    expect(g).toMatchObject({ displayName: 'Staff', shares: [{ place: { name: 'HQ', locks: [{ name: s.front.name }] } }] });
    expect(g.members.totalCount).toBe(2);
    expect(g.members.edges).toHaveLength(1);
    expect(g.members.pageInfo.hasNextPage).toBe(true);
    const next = await h.gql(`query($id: ID!, $a: String) { group(id: $id) { members(first: 5, after: $a) { edges { node { id } } pageInfo { hasNextPage } } } }`, {
      id: s.staff.id,
      a: g.members.pageInfo.endCursor,
    }, { apiKey: s.reader });
    expect((next.body.data!.group as { members: { edges: unknown[]; pageInfo: { hasNextPage: boolean } } }).members).toMatchObject({ edges: [expect.anything()], pageInfo: { hasNextPage: false } });
    expect(res.body.data!.groups).toEqual({ totalCount: 1, edges: [{ node: { id: s.staff.id } }] });
    const forged = await h.gql(`query($id: ID!) { group(id: $id) { members(after: "bm9wZQ") { totalCount } } }`, { id: s.staff.id }, { apiKey: s.reader });
    expect(forged.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'invalid_cursor' });
  });

  it('lists places and locks with counts', async () => {
    const s = await scene();
    const res = await h.gql(`{ places { totalCount edges { node { name locks { id } } } } locks(first: 1) { totalCount edges { node { name place { name } } } } }`, {}, { apiKey: s.reader });
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data).toEqual({
      places: { totalCount: 1, edges: [{ node: { name: 'HQ', locks: [{ id: s.front.id }] } }] },
      locks: { totalCount: 1, edges: [{ node: { name: s.front.name, place: { name: 'HQ' } } }] },
    });
  });

  it('answers canAccess, accessOf and whoCanOpen with reasons and grants', async () => {
    const s = await scene();
    const later = new Date(Date.now() + 7200_000).toISOString();
    const res = await h.gql(
      `query($m: ID!, $b: ID!, $l: ID!, $later: DateTimeISO) {
        yes: canAccess(memberId: $m, lockId: $l) { allowed reason grants { scope groupName } }
        inactive: canAccess(memberId: $b, lockId: $l) { allowed reason }
        accessOf(memberId: $m, at: $later) { lockId placeName grants { scope groupId } }
        whoCanOpen(lockId: $l) { pageInfo { hasNextPage } edges { node { userName } grants { scope } } } }`,
      { m: s.alice.id, b: s.bob.id, l: s.front.id, later },
      { apiKey: s.reader },
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.yes).toMatchObject({ allowed: true, reason: 'GRANTED' });
    expect((res.body.data!.yes as { grants: unknown[] }).grants).toHaveLength(2);
    expect(res.body.data!.inactive).toEqual({ allowed: false, reason: 'MEMBER_INACTIVE' });
    // Two hours later the direct share has ended; the group share on the place remains.
    expect(res.body.data!.accessOf).toEqual([{ lockId: s.front.id, placeName: 'HQ', grants: [{ scope: 'PLACE', groupId: s.staff.id }] }]);
    expect(res.body.data!.whoCanOpen).toMatchObject({ pageInfo: { hasNextPage: false }, edges: [{ node: { userName: 'alice@example.com' } }] });
  });

  it('shows the SAML settings an admin pastes into Entra, and what was imported, never private keys', async () => {
    const s = await scene();
    const idp = new TestIdp();
    await h.t.domain.saml.importMetadataXml(s.actor, idp.metadataXml());
    // The IdP offers single logout, but no SP certificate can sign the LogoutRequest yet: off, and a warning says why.
    const before = await h.gql(`{ samlSettings { idpLogoutUrl singleLogoutActive warnings } }`, {}, { apiKey: s.admin });
    expect(before.body.data!.samlSettings).toMatchObject({ idpLogoutUrl: idp.sloUrl, singleLogoutActive: false, warnings: expect.arrayContaining([expect.stringMatching(/single logout/)]) });
    await h.t.domain.saml.generateCertificate(s.actor, 'gatehouse');
    const res = await h.gql(
      `{ organization { domain } samlSettings { entityId replyUrl signOnUrl metadataUrl idpEntityId idpSsoUrl idpInitiatedAllowed
          logoutUrl idpLogoutUrl idpLogoutBinding singleLogoutActive
          idpCertificates { fingerprintSha256 notAfter } spCertificate { fingerprintSha256 notAfter } } }`,
      {},
      { apiKey: s.admin },
    );
    expect(res.body.errors).toBeUndefined();
    const domain = (res.body.data!.organization as { domain: string }).domain;
    const saml = res.body.data!.samlSettings as Record<string, unknown>;
    expect(saml).toMatchObject({
      entityId: expect.stringMatching(new RegExp(`/saml/${domain}/metadata$`)),
      replyUrl: expect.stringMatching(new RegExp(`/saml/${domain}/acs$`)),
      signOnUrl: expect.stringMatching(new RegExp(`/saml/${domain}/login$`)),
      idpEntityId: idp.entityId,
      idpSsoUrl: idp.ssoUrl,
      idpInitiatedAllowed: true,
      logoutUrl: expect.stringMatching(new RegExp(`/saml/${domain}/slo$`)),
      idpLogoutUrl: idp.sloUrl,
      idpLogoutBinding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect',
      singleLogoutActive: true,
    });
    // An IdP whose metadata lists no SingleLogoutService: single logout is off, and nothing is shown for it.
    const plain = new TestIdp(idp.keys);
    plain.offersLogout = false;
    await h.t.domain.saml.importMetadataXml(s.actor, plain.metadataXml());
    const off = await h.gql(`{ samlSettings { idpLogoutUrl idpLogoutBinding singleLogoutActive } }`, {}, { apiKey: s.admin });
    expect(off.body.data!.samlSettings).toEqual({ idpLogoutUrl: null, idpLogoutBinding: null, singleLogoutActive: false });
    expect(saml.idpCertificates).toHaveLength(1);
    expect(saml.spCertificate).toMatchObject({ fingerprintSha256: expect.any(String) });
    expect(JSON.stringify(res.body)).not.toMatch(/PRIVATE KEY/);
    expect(codes(await h.gql(`{ samlSettings { entityId } }`, {}, { apiKey: s.reader }))).toEqual(['FORBIDDEN']);
  });

  it('shows the organisation, SCIM status and audit log to admin keys only', async () => {
    const s = await scene();
    await h.t.domain.organizations.enableScim(s.actor);
    const q = `{ organization { id } scimStatus { enabled tokenPrefix } samlSettings { entityId } auditEvents(first: 2, filter: { actionPrefix: "share." }) { edges { node { action outcome detail } } pageInfo { hasNextPage } } }`;
    const admin = await h.gql(q, {}, { apiKey: s.admin });
    expect(admin.body.errors).toBeUndefined();
    expect(admin.body.data!.organization).toEqual({ id: s.id });
    expect(admin.body.data!.scimStatus).toMatchObject({ enabled: true, tokenPrefix: expect.stringMatching(/^gh_scim_/) });
    expect(JSON.stringify(admin.body.data)).not.toMatch(/token"?:\s*"gh_scim_[A-Za-z0-9_-]{20,}/);
    expect(admin.body.data!.samlSettings).toEqual({ entityId: expect.stringMatching(/\/saml\/[a-z0-9-]+\/metadata$/) });
    const audit = admin.body.data!.auditEvents as { edges: { node: { action: string } }[]; pageInfo: { hasNextPage: boolean } };
    expect(audit.edges.map((e) => e.node.action)).toEqual(['share.grant', 'share.grant']);
    expect(audit.pageInfo.hasNextPage).toBe(false);
    // A cursor past bigint is no cursor this API handed out (PostgreSQL's range error was a 500).
    const huge = await h.gql(`query($a: String) { auditEvents(after: $a) { edges { cursor } } }`, { a: Buffer.from('9999999999999999999').toString('base64url') }, { apiKey: s.admin });
    expect(codes(huge)).toEqual(['BAD_USER_INPUT']);

    const reader = await h.gql(`{ scimStatus { enabled } }`, {}, { apiKey: s.reader });
    expect(codes(reader)).toEqual(['FORBIDDEN']);
    const readerAudit = await h.gql(`{ auditEvents { edges { node { id } } } }`, {}, { apiKey: s.reader });
    expect(codes(readerAudit)).toEqual(['FORBIDDEN']);
  });

  it('treats ids of another organisation as not found, in every field and argument', async () => {
    const s = await scene();
    const other = await h.org();
    const k = { apiKey: other.admin };
    const cases: [string, Record<string, unknown>][] = [
      ['query($id: ID!) { member(id: $id) { id } }', { id: s.alice.id }],
      ['query($id: ID!) { group(id: $id) { id } }', { id: s.staff.id }],
      ['query($m: ID!, $l: ID!) { canAccess(memberId: $m, lockId: $l) { allowed } }', { m: s.alice.id, l: s.front.id }],
      ['query($l: ID!) { whoCanOpen(lockId: $l) { edges { cursor } } }', { l: s.front.id }],
      ['query($m: ID!) { accessOf(memberId: $m) { lockId } }', { m: s.alice.id }],
      ['mutation($id: ID!) { updateMember(id: $id, input: { displayName: "x" }) { id } }', { id: s.alice.id }],
      ['mutation($id: ID!) { deactivateMember(id: $id) { id } }', { id: s.alice.id }],
      ['mutation($id: ID!) { setMemberMetadata(id: $id, metadata: {}) { id } }', { id: s.alice.id }],
      ['mutation($id: ID!) { deleteMember(id: $id) }', { id: s.alice.id }],
      ['mutation($id: ID!) { updateGroup(id: $id, input: { displayName: "x" }) { id } }', { id: s.staff.id }],
      ['mutation($id: ID!) { addGroupMembers(id: $id, memberIds: []) { id } }', { id: s.staff.id }],
      ['mutation($id: ID!) { deleteGroup(id: $id) }', { id: s.staff.id }],
      ['mutation($id: ID!) { deletePlace(id: $id) }', { id: s.place.id }],
      ['mutation($id: ID!) { deleteLock(id: $id) }', { id: s.front.id }],
      ['mutation($id: ID!) { createLock(input: { placeId: $id, name: "x" }) { id } }', { id: s.place.id }],
      ['mutation($id: ID!) { revokeShare(id: $id) { id } }', { id: s.share.id }],
      ['mutation($m: ID!, $l: ID!) { grantShare(input: { memberId: $m, lockId: $l }) { id } }', { m: s.alice.id, l: s.front.id }],
    ];
    for (const [q, v] of cases) {
      const res = await h.gql(q, v, k);
      expect({ q, codes: codes(res) }).toEqual({ q, codes: ['NOT_FOUND'] });
    }
    // Own member with a foreign group: no leak through a grant either.
    const mine = await buildMember(h.t.domain, other.actor);
    const viaGroup = await h.gql('mutation($m: ID!, $g: ID!) { addGroupMembers(id: $g, memberIds: [$m]) { id } }', { m: mine.id, g: s.staff.id }, k);
    expect(codes(viaGroup)).toEqual(['NOT_FOUND']);
    // Lists and filters never show the other organisation's rows.
    const lists = await h.gql(
      `query($g: ID!, $p: ID!) { members(filter: { groupId: $g }) { totalCount } groups { totalCount } places { totalCount } locks(placeId: $p) { totalCount } }`,
      { g: s.staff.id, p: s.place.id },
      k,
    );
    expect(lists.body.data).toEqual({ members: { totalCount: 0 }, groups: { totalCount: 0 }, places: { totalCount: 0 }, locks: { totalCount: 0 } });
    // The untouched rows are still there for their own organisation.
    const still = await h.gql('query($id: ID!) { member(id: $id) { displayName active } }', { id: s.alice.id }, { apiKey: s.reader });
    expect(still.body.data!.member).toEqual({ displayName: 'Alice Martin', active: true });
  });
});
