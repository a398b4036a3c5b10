// The audit event and the access-change feed are written in the transaction
// of the change: a failed write leaves neither, nor any part of the change; a
// successful one leaves exactly one audit event.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from '../../setup/test-db.js';
import { buildGroup, buildLock, buildMember, buildOrg } from '../../factories/index.js';

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb();
});
afterAll(async () => {
  await t.close();
});

async function counts(orgId: string) {
  return t.domain.db.sql.one<{ audit: number; changes: number; members: number; groups: number; memberships: number; shares: number; locks: number }>(
    `select (select count(*)::int from audit_events where organization_id = $1) as audit,
            (select count(*)::int from access_changes where organization_id = $2) as changes,
            (select count(*)::int from members where organization_id = $3) as members,
            (select count(*)::int from groups where organization_id = $4) as groups,
            (select count(*)::int from group_members where organization_id = $5) as memberships,
            (select count(*)::int from shares where organization_id = $6) as shares,
            (select count(*)::int from locks where organization_id = $7) as locks`,
    [orgId, orgId, orgId, orgId, orgId, orgId, orgId],
  );
}

async function changes(orgId: string) {
  return t.domain.db.sql.all<{ kind: string; member_id: string | null; group_id: string | null; share_id: string | null; lock_id: string | null }>(
    `select kind, member_id, group_id, share_id, lock_id from access_changes where organization_id = $1 order by id`,
    [orgId],
  );
}

describe('audit events and access changes in the same transaction', () => {
  it('a failed write leaves no audit row and no partial change', async () => {
    const org = await buildOrg(t.domain);
    const a = org.actor;
    const m = await buildMember(t.domain, a);
    const g = await buildGroup(t.domain, a, [m.id]);
    const lock = await buildLock(t.domain, a);
    const before = await counts(org.id);

    await expect(t.domain.members.create(a, { userName: m.userName.toUpperCase() })).rejects.toMatchObject({ code: 'user_name_taken' });
    await expect(t.domain.members.create(a, { userName: 'new@x', enterprise: { managerId: crypto.randomUUID() } })).rejects.toMatchObject({
      code: 'unknown_manager',
    });
    await expect(t.domain.members.update(a, m.id, { active: false, enterprise: { ...m.enterprise, managerId: crypto.randomUUID() } })).rejects.toMatchObject({
      code: 'unknown_manager',
    });
    // A rename that collides after the membership part of the change would have applied.
    const other = await buildGroup(t.domain, a);
    const afterOther = await counts(org.id);
    const n = await buildMember(t.domain, a);
    const afterN = await counts(org.id);
    await expect(t.domain.groups.update(a, g.id, { displayName: other.displayName.toLowerCase(), addMembers: [n.id] })).rejects.toMatchObject({
      code: 'display_name_taken',
    });
    // A membership batch with one unknown id adds none of the others.
    await expect(t.domain.groups.update(a, g.id, { addMembers: [n.id, crypto.randomUUID()] })).rejects.toMatchObject({ code: 'unknown_member' });
    await expect(t.domain.groups.create(a, { displayName: 'half', memberIds: [n.id, crypto.randomUUID()] })).rejects.toMatchObject({ code: 'unknown_member' });
    await expect(t.domain.shares.grant(a, { memberId: crypto.randomUUID(), lockId: lock.id })).rejects.toMatchObject({ code: 'member_not_found' });

    expect(before.audit).toBe(afterOther.audit - 1);
    expect(afterN.audit).toBe(afterOther.audit + 1);
    expect(await counts(org.id)).toEqual(afterN);
    expect((await t.domain.members.get(a, m.id)).active).toBe(true);
    expect((await t.domain.groups.get(a, g.id)).displayName).toBe(g.displayName);
    expect((await t.domain.groups.members(a, g.id)).map((x) => x.id)).toEqual([m.id]);
  });

  it('a forbidden change rolls back what its statements had already done', async () => {
    const org = await buildOrg(t.domain);
    const scim = { kind: 'scim' as const, organizationId: org.id, label: 'scim' };
    const key = { kind: 'api_key' as const, organizationId: org.id, id: 'k', label: 'app', role: 'admin' as const };
    const m = await buildMember(t.domain, scim);
    const g = await t.domain.groups.create(scim, { displayName: 'Entra group', memberIds: [m.id] });
    const before = await counts(org.id);
    // The delete statements run before the rule refuses: the rollback must restore the rows.
    await expect(t.domain.members.delete(key, m.id)).rejects.toMatchObject({ code: 'managed_by_scim' });
    await expect(t.domain.groups.delete(key, g.id)).rejects.toMatchObject({ code: 'group_managed_by_scim' });
    expect(await counts(org.id)).toEqual(before);
  });

  it('a successful write leaves exactly one audit event, with the actor and the change', async () => {
    const org = await buildOrg(t.domain);
    const key = { kind: 'api_key' as const, organizationId: org.id, id: crypto.randomUUID(), label: 'hr-tool', role: 'admin' as const };
    const c0 = await counts(org.id);
    const m = await t.domain.members.create(key, { userName: 'ann@example.com', displayName: 'Ann' });
    const c1 = await counts(org.id);
    expect(c1.audit).toBe(c0.audit + 1);
    await t.domain.members.update(key, m.id, { displayName: 'Ann B' });
    const c2 = await counts(org.id);
    expect(c2.audit).toBe(c1.audit + 1);
    // A no-op update writes nothing.
    await t.domain.members.update(key, m.id, { displayName: 'Ann B' });
    expect((await counts(org.id)).audit).toBe(c2.audit);

    const [update, create] = await t.domain.audit.list(org.actor, { resourceId: m.id });
    expect(create).toMatchObject({ action: 'member.create', actorKind: 'api_key', actorId: key.id, actorLabel: 'hr-tool', outcome: 'success', resourceLabel: 'ann@example.com' });
    expect(update).toMatchObject({ action: 'member.update', detail: { changes: { displayName: { from: 'Ann', to: 'Ann B' } } } });
    expect(Number(update!.id)).toBeGreaterThan(Number(create!.id));
  });

  it('lists newest first by numeric id, and pages with before', async () => {
    const org = await buildOrg(t.domain);
    // Make the ids cross 999 → 1000, where text order and numeric order differ.
    await t.domain.db.sql.all(`select setval(pg_get_serial_sequence('audit_events', 'id'), greatest(995, (select max(id) from audit_events)))`);
    for (let i = 0; i < 12; i++) await t.domain.places.createPlace(org.actor, { name: `p${i}` });
    const all = await t.domain.audit.list(org.actor, { actionPrefix: 'place.' });
    expect(all.map((e) => e.resourceLabel)).toEqual(Array.from({ length: 12 }, (_, i) => `p${11 - i}`));
    const ids = all.map((e) => BigInt(e.id));
    expect([...ids].sort((x, y) => (x > y ? -1 : 1))).toEqual(ids);
    const page2 = await t.domain.audit.list(org.actor, { actionPrefix: 'place.', before: all[4]!.id, limit: 3 });
    expect(page2.map((e) => e.resourceLabel)).toEqual(['p6', 'p5', 'p4']);
    await t.domain.audit.recordFailure(org.actor, { action: 'scim.user.create', reason: 'bad input' });
    expect(await t.domain.audit.list(org.actor, { outcome: 'failure' })).toEqual([expect.objectContaining({ action: 'scim.user.create', outcome: 'failure' })]);
  });

  it('access_changes rows are written with each change of access, and only then', async () => {
    const org = await buildOrg(t.domain);
    const a = org.actor;
    const m = await buildMember(t.domain, a);
    const n = await buildMember(t.domain, a);
    const place = await t.domain.places.createPlace(a, { name: 'P' });
    const lock = await buildLock(t.domain, a, place.id);
    expect(await changes(org.id)).toEqual([]);

    const g = await buildGroup(t.domain, a, [m.id]);
    const share = await t.domain.shares.grant(a, { groupId: g.id, lockId: lock.id });
    await t.domain.groups.update(a, g.id, { addMembers: [n.id], removeMembers: [m.id] });
    await t.domain.groups.update(a, g.id, { displayName: 'renamed' }); // no access change
    await t.domain.members.update(a, n.id, { active: false });
    await t.domain.members.update(a, n.id, { displayName: 'still inactive' }); // no access change
    await t.domain.members.update(a, n.id, { active: true });
    await t.domain.shares.revoke(a, share.id);
    await t.domain.groups.delete(a, g.id);
    await t.domain.places.deleteLock(a, lock.id);
    await t.domain.members.delete(a, m.id);
    await t.domain.places.deletePlace(a, place.id);

    expect(await changes(org.id)).toEqual([
      expect.objectContaining({ kind: 'group_member_added', group_id: g.id, member_id: m.id }),
      expect.objectContaining({ kind: 'share_granted', share_id: share.id, group_id: g.id, lock_id: lock.id }),
      expect.objectContaining({ kind: 'group_member_added', group_id: g.id, member_id: n.id }),
      expect.objectContaining({ kind: 'group_member_removed', group_id: g.id, member_id: m.id }),
      expect.objectContaining({ kind: 'member_deactivated', member_id: n.id }),
      expect.objectContaining({ kind: 'member_activated', member_id: n.id }),
      expect.objectContaining({ kind: 'share_revoked', share_id: share.id }),
      expect.objectContaining({ kind: 'group_deleted', group_id: g.id }),
      expect.objectContaining({ kind: 'lock_deleted', lock_id: lock.id }),
      expect.objectContaining({ kind: 'member_deleted', member_id: m.id }),
      expect.objectContaining({ kind: 'place_deleted' }),
    ]);
  });

  it('a failed membership change writes no access_changes row', async () => {
    const org = await buildOrg(t.domain);
    const m = await buildMember(t.domain, org.actor);
    const g = await buildGroup(t.domain, org.actor);
    await expect(t.domain.groups.update(org.actor, g.id, { addMembers: [m.id, crypto.randomUUID()] })).rejects.toMatchObject({ code: 'unknown_member' });
    await expect(t.domain.members.update(org.actor, m.id, { active: false, userName: '' })).rejects.toMatchObject({ kind: 'invalid' });
    expect(await changes(org.id)).toEqual([]);
  });
});
