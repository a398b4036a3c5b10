// An id of another organisation is NotFound (or simply absent from a batch or
// a list), for every service: tenancy is a rule of the domain, not of an edge.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from '../setup/test-db.js';
import { buildGroup, buildLock, buildMember, buildOrg } from '../factories/index.js';
import type { Actor } from '../../src/domain/index.js';

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb();
});
afterAll(async () => {
  await t.close();
});

async function world() {
  const org = await buildOrg(t.domain);
  const a = org.actor;
  const member = await buildMember(t.domain, a);
  const group = await buildGroup(t.domain, a, [member.id]);
  const place = await t.domain.places.createPlace(a, { name: 'HQ' });
  const lock = await buildLock(t.domain, a, place.id);
  const share = await t.domain.shares.grant(a, { memberId: member.id, lockId: lock.id });
  const { apiKey } = await t.domain.apiKeys.create(a, { name: 'app', role: 'admin' });
  return { org, a, member, group, place, lock, share, apiKey };
}

describe('tenant isolation', () => {
  let mine: Awaited<ReturnType<typeof world>>;
  let theirs: Awaited<ReturnType<typeof world>>;
  let me: Actor;
  beforeAll(async () => {
    mine = await world();
    theirs = await world();
    me = mine.a;
  });

  const notFound = (code: string) => expect.objectContaining({ kind: 'not_found', code });

  it('members: get, update, delete are NotFound; getMany, findByUserName and list leave them out', async () => {
    const id = theirs.member.id;
    await expect(t.domain.members.get(me, id)).rejects.toEqual(notFound('member_not_found'));
    await expect(t.domain.members.update(me, id, { displayName: 'x' })).rejects.toEqual(notFound('member_not_found'));
    await expect(t.domain.members.delete(me, id)).rejects.toEqual(notFound('member_not_found'));
    expect(await t.domain.members.getMany(me, [id, mine.member.id])).toEqual([expect.objectContaining({ id: mine.member.id })]);
    expect(await t.domain.members.findByUserName(me, theirs.member.userName)).toBeUndefined();
    const page = await t.domain.members.list(me, { first: 500 });
    expect(page.items.map((m) => m.id)).toEqual([mine.member.id]);
    expect(page.totalCount).toBe(1);
    expect((await t.domain.members.list(me, { groupId: theirs.group.id })).items).toEqual([]);
    // Their member is untouched.
    expect((await t.domain.members.get(theirs.a, id)).displayName).toBe(theirs.member.displayName);
  });

  it('members: a manager of another organisation is refused as unknown', async () => {
    await expect(t.domain.members.update(me, mine.member.id, { enterprise: { ...mine.member.enterprise, managerId: theirs.member.id } })).rejects.toMatchObject({
      kind: 'invalid',
      code: 'unknown_manager',
    });
  });

  it('groups: get, update, delete are NotFound; getMany and members leave them out; their members cannot be added', async () => {
    const id = theirs.group.id;
    await expect(t.domain.groups.get(me, id)).rejects.toEqual(notFound('group_not_found'));
    await expect(t.domain.groups.update(me, id, { displayName: 'x' })).rejects.toEqual(notFound('group_not_found'));
    await expect(t.domain.groups.delete(me, id)).rejects.toEqual(notFound('group_not_found'));
    expect(await t.domain.groups.getMany(me, [id])).toEqual([]);
    expect(await t.domain.groups.members(me, id)).toEqual([]);
    await expect(t.domain.groups.update(me, mine.group.id, { addMembers: [theirs.member.id] })).rejects.toMatchObject({ kind: 'invalid', code: 'unknown_member' });
    await expect(t.domain.groups.create(me, { displayName: 'new', memberIds: [theirs.member.id] })).rejects.toMatchObject({ code: 'unknown_member' });
    expect((await t.domain.groups.members(theirs.a, id)).map((m) => m.id)).toEqual([theirs.member.id]);
  });

  it('places and locks: delete is NotFound; get and list leave them out; no lock in their place', async () => {
    await expect(t.domain.places.deletePlace(me, theirs.place.id)).rejects.toEqual(notFound('place_not_found'));
    await expect(t.domain.places.deleteLock(me, theirs.lock.id)).rejects.toEqual(notFound('lock_not_found'));
    await expect(t.domain.places.createLock(me, { placeId: theirs.place.id, name: 'door' })).rejects.toEqual(notFound('place_not_found'));
    expect(await t.domain.places.getPlaces(me, [theirs.place.id])).toEqual([]);
    expect(await t.domain.places.getLocks(me, [theirs.lock.id])).toEqual([]);
    expect((await t.domain.places.listPlaces(me)).items.map((p) => p.id)).toEqual([mine.place.id]);
    expect((await t.domain.places.listLocks(me)).items.map((l) => l.id)).toEqual([mine.lock.id]);
    expect((await t.domain.places.listLocks(me, { placeId: theirs.place.id })).items).toEqual([]);
  });

  it('shares: revoke is NotFound; grants naming their rows are NotFound; lists leave them out', async () => {
    await expect(t.domain.shares.revoke(me, theirs.share.id)).rejects.toEqual(notFound('share_not_found'));
    await expect(t.domain.shares.grant(me, { memberId: theirs.member.id, lockId: mine.lock.id })).rejects.toEqual(notFound('member_not_found'));
    await expect(t.domain.shares.grant(me, { groupId: theirs.group.id, lockId: mine.lock.id })).rejects.toEqual(notFound('group_not_found'));
    await expect(t.domain.shares.grant(me, { memberId: mine.member.id, placeId: theirs.place.id })).rejects.toEqual(notFound('place_not_found'));
    await expect(t.domain.shares.grant(me, { memberId: mine.member.id, lockId: theirs.lock.id })).rejects.toEqual(notFound('lock_not_found'));
    expect((await t.domain.shares.list(me)).items.map((s) => s.id)).toEqual([mine.share.id]);
    expect((await t.domain.shares.list(me, { memberId: theirs.member.id })).items).toEqual([]);
    expect(await t.domain.shares.forGrantees(me, [theirs.member.id], [theirs.group.id])).toEqual([]);
    expect((await t.domain.shares.list(theirs.a)).items).toHaveLength(1);
  });

  it('api keys: revoke is NotFound; list leaves them out; their key authenticates into their organisation only', async () => {
    await expect(t.domain.apiKeys.revoke(me, theirs.apiKey.id)).rejects.toEqual(notFound('api_key_not_found'));
    expect((await t.domain.apiKeys.list(me)).map((k) => k.id)).toEqual([mine.apiKey.id]);
    expect((await t.domain.apiKeys.list(theirs.a))[0]!.revokedAt).toBeNull();
  });

  it('audit: lists only its own events', async () => {
    const events = await t.domain.audit.list(me, { limit: 500 });
    expect(events.length).toBeGreaterThan(0);
    const theirIds = new Set([theirs.member.id, theirs.group.id, theirs.place.id, theirs.lock.id, theirs.share.id, theirs.apiKey.id, theirs.org.id]);
    expect(events.filter((e) => theirIds.has(e.resourceId ?? ''))).toEqual([]);
    expect(await t.domain.audit.list(me, { resourceId: theirs.member.id })).toEqual([]);
  });

  it('access: accessOf, whoCanOpen and canAccess are NotFound', async () => {
    await expect(t.domain.access.accessOf(me, theirs.member.id)).rejects.toEqual(notFound('member_not_found'));
    await expect(t.domain.access.whoCanOpen(me, theirs.lock.id)).rejects.toEqual(notFound('lock_not_found'));
    await expect(t.domain.access.canAccess(me, theirs.member.id, mine.lock.id)).rejects.toEqual(notFound('member_not_found'));
    await expect(t.domain.access.canAccess(me, mine.member.id, theirs.lock.id)).rejects.toEqual(notFound('lock_not_found'));
  });

  it('a member actor sees itself only', async () => {
    const self: Actor = { kind: 'member', organizationId: mine.org.id, id: mine.member.id, label: mine.member.userName };
    expect((await t.domain.members.get(self, mine.member.id)).id).toBe(mine.member.id);
    const other = await buildMember(t.domain, me);
    await expect(t.domain.members.get(self, other.id)).rejects.toEqual(notFound('member_not_found'));
    await expect(t.domain.access.accessOf(self, other.id)).rejects.toEqual(notFound('member_not_found'));
    await expect(t.domain.members.list(self)).rejects.toMatchObject({ kind: 'forbidden' });
    // The same member id in another organisation's actor is unknown there.
    const foreignSelf: Actor = { kind: 'member', organizationId: theirs.org.id, id: mine.member.id, label: 'x' };
    await expect(t.domain.members.get(foreignSelf, mine.member.id)).rejects.toEqual(notFound('member_not_found'));
  });

  it('ids that are not UUIDs are NotFound, never a database error', async () => {
    await expect(t.domain.members.get(me, 'not-a-uuid')).rejects.toEqual(notFound('member_not_found'));
    await expect(t.domain.members.update(me, "'; drop table members; --", {})).rejects.toEqual(notFound('member_not_found'));
    await expect(t.domain.groups.delete(me, '42')).rejects.toEqual(notFound('group_not_found'));
    await expect(t.domain.places.deleteLock(me, '')).rejects.toEqual(notFound('lock_not_found'));
    await expect(t.domain.shares.revoke(me, 'x')).rejects.toEqual(notFound('share_not_found'));
    await expect(t.domain.apiKeys.revoke(me, 'x')).rejects.toEqual(notFound('api_key_not_found'));
    await expect(t.domain.access.whoCanOpen(me, 'x')).rejects.toEqual(notFound('lock_not_found'));
  });
});
