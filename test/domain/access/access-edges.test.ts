// Effective access at its edges: rows added or removed after a share was
// granted, several groups granting the same lock, and deletions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from '../../setup/test-db.js';
import { buildGroup, buildLock, buildMember, buildOrg } from '../../factories/index.js';
import { countStatements } from '../../../src/infra/postgres/statement-count.js';

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb();
});
afterAll(async () => {
  await t.close();
});

const ids = (xs: { member: { id: string } }[]) => xs.map((x) => x.member.id).sort();

describe('effective access: edge cases', () => {
  it('a share on a place covers locks added to it later, and not locks of another place', async () => {
    const { actor: a } = await buildOrg(t.domain);
    const place = await t.domain.places.createPlace(a, { name: 'HQ' });
    const m = await buildMember(t.domain, a);
    const share = await t.domain.shares.grant(a, { memberId: m.id, placeId: place.id });
    expect(await t.domain.access.accessOf(a, m.id)).toEqual([]);
    const later = await buildLock(t.domain, a, place.id);
    const elsewhere = await buildLock(t.domain, a);
    const access = await t.domain.access.accessOf(a, m.id);
    expect(access).toEqual([
      expect.objectContaining({ lockId: later.id, placeId: place.id, placeName: 'HQ', grants: [expect.objectContaining({ shareId: share.id, scope: 'place' })] }),
    ]);
    expect(ids((await t.domain.access.whoCanOpen(a, later.id)).items)).toEqual([m.id]);
    expect((await t.domain.access.whoCanOpen(a, elsewhere.id)).items).toEqual([]);
  });

  it('shares of several groups on one lock: one lock, one grant per group, each member once in whoCanOpen', async () => {
    const { actor: a } = await buildOrg(t.domain);
    const lock = await buildLock(t.domain, a);
    const m = await buildMember(t.domain, a);
    const n = await buildMember(t.domain, a);
    const g1 = await buildGroup(t.domain, a, [m.id, n.id]);
    const g2 = await buildGroup(t.domain, a, [m.id]);
    const g3 = await buildGroup(t.domain, a, [m.id]);
    const s1 = await t.domain.shares.grant(a, { groupId: g1.id, lockId: lock.id });
    const s2 = await t.domain.shares.grant(a, { groupId: g2.id, placeId: lock.placeId, role: 'manager' });
    const s3 = await t.domain.shares.grant(a, { groupId: g3.id, lockId: lock.id });
    const direct = await t.domain.shares.grant(a, { memberId: m.id, lockId: lock.id });

    const [only, ...none] = await t.domain.access.accessOf(a, m.id);
    expect(none).toEqual([]);
    expect(only!.lockId).toBe(lock.id);
    expect(only!.grants.map((g) => [g.shareId, g.groupId]).sort()).toEqual(
      [
        [s1.id, g1.id],
        [s2.id, g2.id],
        [s3.id, g3.id],
        [direct.id, null],
      ].sort(),
    );
    expect(only!.grants.find((g) => g.shareId === s2.id)).toMatchObject({ role: 'manager', scope: 'place', groupName: g2.displayName });

    const who = await t.domain.access.whoCanOpen(a, lock.id);
    expect(ids(who.items)).toEqual([m.id, n.id].sort());
    expect(who.items.find((x) => x.member.id === m.id)!.grants).toHaveLength(4);
    expect(who.items.find((x) => x.member.id === n.id)!.grants).toEqual([expect.objectContaining({ shareId: s1.id, groupId: g1.id })]);

    // Still one statement each, with four grants through three groups.
    for (const fn of [() => t.domain.access.accessOf(a, m.id), () => t.domain.access.whoCanOpen(a, lock.id)]) {
      expect((await countStatements(fn as () => Promise<unknown>)).statements).toBe(1);
    }
  });

  it('a deleted group, member, lock or place takes its access with it', async () => {
    const { actor: a } = await buildOrg(t.domain);
    const place = await t.domain.places.createPlace(a, { name: 'P' });
    const lock = await buildLock(t.domain, a, place.id);
    const lock2 = await buildLock(t.domain, a, place.id);
    const m = await buildMember(t.domain, a);
    const n = await buildMember(t.domain, a);
    const g = await buildGroup(t.domain, a, [m.id, n.id]);
    await t.domain.shares.grant(a, { groupId: g.id, lockId: lock.id });
    await t.domain.shares.grant(a, { memberId: n.id, placeId: place.id });
    expect(ids((await t.domain.access.whoCanOpen(a, lock.id)).items)).toEqual([m.id, n.id].sort());

    await t.domain.groups.delete(a, g.id);
    expect(await t.domain.access.accessOf(a, m.id)).toEqual([]);
    expect(ids((await t.domain.access.whoCanOpen(a, lock.id)).items)).toEqual([n.id]);
    expect((await t.domain.shares.list(a, { groupId: g.id })).items).toEqual([]);

    await t.domain.places.deleteLock(a, lock.id);
    expect((await t.domain.access.accessOf(a, n.id)).map((l) => l.lockId)).toEqual([lock2.id]);
    await expect(t.domain.access.whoCanOpen(a, lock.id)).rejects.toMatchObject({ code: 'lock_not_found' });

    await t.domain.members.delete(a, n.id);
    await expect(t.domain.access.accessOf(a, n.id)).rejects.toMatchObject({ code: 'member_not_found' });
    expect((await t.domain.access.whoCanOpen(a, lock2.id)).items).toEqual([]);

    const o = await buildMember(t.domain, a);
    await t.domain.shares.grant(a, { memberId: o.id, lockId: lock2.id });
    await t.domain.places.deletePlace(a, place.id);
    expect(await t.domain.access.accessOf(a, o.id)).toEqual([]);
    expect((await t.domain.shares.list(a)).items).toEqual([]);
  });

  it('shares.list is a Page: first and after page by id, a foreign cursor is invalid_cursor', async () => {
    const { actor: a } = await buildOrg(t.domain);
    const lock = await buildLock(t.domain, a);
    const granted: string[] = [];
    for (let i = 0; i < 3; i++) granted.push((await t.domain.shares.grant(a, { memberId: (await buildMember(t.domain, a)).id, lockId: lock.id })).id);
    const p1 = await t.domain.shares.list(a, { lockId: lock.id }, { first: 2 });
    expect(p1.hasNextPage).toBe(true);
    expect(p1.cursors).toHaveLength(2);
    const p2 = await t.domain.shares.list(a, { lockId: lock.id }, { first: 2, after: p1.cursors[1] });
    expect(p2.hasNextPage).toBe(false);
    expect([...p1.items, ...p2.items].map((s) => s.id)).toEqual(granted.sort());
    expect(await t.domain.shares.list(a, {}, { first: 0 })).toEqual({ items: [], cursors: [], hasNextPage: false });
    await expect(t.domain.shares.list(a, {}, { after: 'nope' })).rejects.toMatchObject({ code: 'invalid_cursor' });
  });

  it('leaving a group ends the access it gave; a revoked share ends at once', async () => {
    const { actor: a } = await buildOrg(t.domain);
    const lock = await buildLock(t.domain, a);
    const m = await buildMember(t.domain, a);
    const g = await buildGroup(t.domain, a, [m.id]);
    const s = await t.domain.shares.grant(a, { groupId: g.id, lockId: lock.id });
    await t.domain.groups.update(a, g.id, { removeMembers: [m.id] });
    expect(await t.domain.access.accessOf(a, m.id)).toEqual([]);
    await t.domain.groups.update(a, g.id, { addMembers: [m.id] });
    expect(await t.domain.access.accessOf(a, m.id)).toHaveLength(1);
    await t.domain.shares.revoke(a, s.id);
    expect(await t.domain.access.accessOf(a, m.id)).toEqual([]);
    await expect(t.domain.shares.revoke(a, s.id)).rejects.toMatchObject({ code: 'share_not_found' });
  });

  it('an inactive member with an open window and a member with only a future window', async () => {
    const { actor: a } = await buildOrg(t.domain);
    const lock = await buildLock(t.domain, a);
    const inactive = await buildMember(t.domain, a, { active: false });
    const future = await buildMember(t.domain, a);
    const soon = new Date(Date.now() + 60_000);
    await t.domain.shares.grant(a, { memberId: inactive.id, lockId: lock.id });
    await t.domain.shares.grant(a, { memberId: future.id, lockId: lock.id, validFrom: soon });
    expect((await t.domain.access.whoCanOpen(a, lock.id)).items).toEqual([]);
    expect(ids((await t.domain.access.whoCanOpen(a, lock.id, soon)).items)).toEqual([future.id]);
    expect(await t.domain.access.accessOf(a, inactive.id)).toEqual([]);
    // Past windows: until is exclusive, an open-ended share stays.
    const past = new Date(Date.now() - 60_000);
    const expired = await buildMember(t.domain, a);
    await t.domain.shares.grant(a, { memberId: expired.id, lockId: lock.id, validUntil: past });
    expect(await t.domain.access.canAccess(a, expired.id, lock.id)).toMatchObject({ allowed: false, reason: 'outside_validity_window' });
    expect(await t.domain.access.canAccess(a, expired.id, lock.id, new Date(past.getTime() - 1))).toMatchObject({ allowed: true });
  });
});
