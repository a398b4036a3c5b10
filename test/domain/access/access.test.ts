import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from '../../setup/test-db.js';
import { buildGroup, buildLock, buildMember, buildOrg } from '../../factories/index.js';
import { countStatements } from '../../../src/infra/postgres/statement-count.js';
import type { Actor } from '../../../src/domain/index.js';

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb();
});
afterAll(async () => {
  await t.close();
});

const HOUR = 3600_000;

describe('effective access', () => {
  async function scene() {
    const org = await buildOrg(t.domain);
    const a: Actor = org.actor;
    const place = await t.domain.places.createPlace(a, { name: 'HQ' });
    const front = await buildLock(t.domain, a, place.id);
    const back = await buildLock(t.domain, a, place.id);
    const other = await buildLock(t.domain, a);
    const alice = await buildMember(t.domain, a);
    const bob = await buildMember(t.domain, a);
    const carol = await buildMember(t.domain, a);
    const staff = await buildGroup(t.domain, a, [bob.id, carol.id]);
    return { a, place, front, back, other, alice, bob, carol, staff };
  }

  it('combines direct shares, group shares and place shares covering their locks', async () => {
    const s = await scene();
    const direct = await t.domain.shares.grant(s.a, { memberId: s.alice.id, lockId: s.front.id });
    const viaGroup = await t.domain.shares.grant(s.a, { groupId: s.staff.id, placeId: s.place.id });

    const alice = await t.domain.access.accessOf(s.a, s.alice.id);
    expect(alice.map((l) => l.lockId)).toEqual([s.front.id]);
    expect(alice[0]!.grants).toEqual([expect.objectContaining({ shareId: direct.id, scope: 'lock', groupId: null })]);

    const bob = await t.domain.access.accessOf(s.a, s.bob.id);
    expect(bob.map((l) => l.lockId).sort()).toEqual([s.front.id, s.back.id].sort());
    for (const l of bob) expect(l.grants).toEqual([expect.objectContaining({ shareId: viaGroup.id, scope: 'place', groupId: s.staff.id, groupName: s.staff.displayName })]);

    const who = await t.domain.access.whoCanOpen(s.a, s.front.id);
    expect(who.items.map((m) => m.member.id).sort()).toEqual([s.alice.id, s.bob.id, s.carol.id].sort());
    const whoBack = await t.domain.access.whoCanOpen(s.a, s.back.id);
    expect(whoBack.items.map((m) => m.member.id).sort()).toEqual([s.bob.id, s.carol.id].sort());
    expect((await t.domain.access.whoCanOpen(s.a, s.other.id)).items).toEqual([]);

    expect(await t.domain.access.canAccess(s.a, s.alice.id, s.back.id)).toMatchObject({ allowed: false, reason: 'no_share' });
    expect(await t.domain.access.canAccess(s.a, s.carol.id, s.back.id)).toMatchObject({ allowed: true, reason: 'granted' });
  });

  it('drops inactive members and restores group access on re-activation', async () => {
    const s = await scene();
    await t.domain.shares.grant(s.a, { groupId: s.staff.id, lockId: s.front.id });
    await t.domain.members.update(s.a, s.bob.id, { active: false });
    expect(await t.domain.access.accessOf(s.a, s.bob.id)).toEqual([]);
    expect(await t.domain.access.canAccess(s.a, s.bob.id, s.front.id)).toMatchObject({ allowed: false, reason: 'member_inactive' });
    expect((await t.domain.access.whoCanOpen(s.a, s.front.id)).items.map((m) => m.member.id)).toEqual([s.carol.id]);
    await t.domain.members.update(s.a, s.bob.id, { active: true });
    expect((await t.domain.access.accessOf(s.a, s.bob.id)).map((l) => l.lockId)).toEqual([s.front.id]);
  });

  it('honours validity windows at their edges: from inclusive, until exclusive', async () => {
    const s = await scene();
    const from = new Date(Date.now() + HOUR);
    const until = new Date(Date.now() + 2 * HOUR);
    await t.domain.shares.grant(s.a, { memberId: s.alice.id, lockId: s.front.id, validFrom: from, validUntil: until });
    const at = (d: Date) => t.domain.access.canAccess(s.a, s.alice.id, s.front.id, d);
    expect(await at(new Date(from.getTime() - 1))).toMatchObject({ allowed: false, reason: 'outside_validity_window' });
    expect(await at(from)).toMatchObject({ allowed: true });
    expect(await at(new Date(until.getTime() - 1))).toMatchObject({ allowed: true });
    expect(await at(until)).toMatchObject({ allowed: false, reason: 'outside_validity_window' });
    expect(await t.domain.access.accessOf(s.a, s.alice.id, until)).toEqual([]);
    expect((await t.domain.access.whoCanOpen(s.a, s.front.id, from)).items).toHaveLength(1);
  });

  it('pages whoCanOpen by member id', async () => {
    const s = await scene();
    const more = await Promise.all([1, 2, 3, 4].map(() => buildMember(t.domain, s.a)));
    const g = await buildGroup(t.domain, s.a, more.map((m) => m.id));
    await t.domain.shares.grant(s.a, { groupId: g.id, lockId: s.other.id });
    await t.domain.shares.grant(s.a, { memberId: more[0]!.id, lockId: s.other.id });
    const p1 = await t.domain.access.whoCanOpen(s.a, s.other.id, new Date(), { first: 3 });
    expect(p1.items).toHaveLength(3);
    expect(p1.hasNextPage).toBe(true);
    const p2 = await t.domain.access.whoCanOpen(s.a, s.other.id, new Date(), { first: 3, after: p1.cursors.at(-1) });
    expect(p2.hasNextPage).toBe(false);
    const all = [...p1.items, ...p2.items].map((m) => m.member.id);
    expect(all).toEqual(more.map((m) => m.id).sort());
    const first = [...p1.items, ...p2.items].find((m) => m.member.id === more[0]!.id)!;
    expect(first.grants).toHaveLength(2);
  });

  it('answers each question with one statement whatever the data size', async () => {
    const s = await scene();
    const groups = await Promise.all([1, 2, 3, 4, 5].map(() => buildGroup(t.domain, s.a, [s.alice.id])));
    for (const g of groups) await t.domain.shares.grant(s.a, { groupId: g.id, placeId: s.place.id });
    for (const fn of [
      () => t.domain.access.accessOf(s.a, s.alice.id),
      () => t.domain.access.whoCanOpen(s.a, s.front.id),
      () => t.domain.access.canAccess(s.a, s.alice.id, s.front.id),
    ] as (() => Promise<unknown>)[]) {
      const { statements } = await countStatements(fn);
      expect(statements).toBe(1);
    }
  });

  it('treats ids of another organisation as not found', async () => {
    const s = await scene();
    const other = await buildOrg(t.domain);
    await expect(t.domain.access.accessOf(other.actor, s.alice.id)).rejects.toMatchObject({ kind: 'not_found', code: 'member_not_found' });
    await expect(t.domain.access.whoCanOpen(other.actor, s.front.id)).rejects.toMatchObject({ kind: 'not_found', code: 'lock_not_found' });
    await expect(t.domain.access.canAccess(other.actor, s.alice.id, s.front.id)).rejects.toMatchObject({ kind: 'not_found' });
    await expect(t.domain.shares.grant(other.actor, { memberId: s.alice.id, lockId: s.front.id })).rejects.toMatchObject({ kind: 'not_found' });
  });
});
