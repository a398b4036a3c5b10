// What the admin console shows, an app reads through GraphQL: the gaps issue
// 21 found (whoCanOpen without totalCount, auditEvents.totalCount always null,
// a member's own `viewer { shares }` refused).
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
});
