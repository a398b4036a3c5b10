// The mass-deprovision guard: Entra deactivating or deleting more
// than the threshold of an organisation's active members within the window is
// held, answered so that Entra neither retries forever nor quarantines, and
// applied only when an admin approves.
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { TestDb } from '../setup/test-db.js';
import { buildLock } from '../factories/index.js';
import type { Actor } from '../../src/domain/index.js';
import { patchOp, scimOrg, scimSuite, type ScimServer } from './scim-client.js';
import { consoleHealth } from '../../src/admin-console/health.js';

let t: TestDb;
let server: ScimServer;
scimSuite((s) => ({ t, server } = s));

/** `n` SCIM members (bulk-loaded), all in one group shared on a lock, one in ten with a direct share too. */
async function population(n: number) {
  const org = await scimOrg(t, server);
  const ids = Array.from({ length: n }, () => crypto.randomUUID());
  await t.domain.db.sql.run(
    `insert into members (organization_id, id, source, user_name, active) select $1, x.id, 'scim', 'person' || x.n || '@contoso.com', true
     from unnest($2::uuid[]) with ordinality as x(id, n)`,
    [org.id, ids],
  );
  const lock = await buildLock(t.domain, org.actor);
  const group = await t.domain.groups.create(org.actor, { displayName: 'Everyone', memberIds: ids });
  await t.domain.shares.grant(org.actor, { groupId: group.id, lockId: lock.id });
  for (const id of ids.filter((_, i) => i % 10 === 0)) await t.domain.shares.grant(org.actor, { memberId: id, lockId: lock.id });
  const who = async (): Promise<Set<string>> => {
    const out = new Set<string>();
    let after: string | undefined;
    for (;;) {
      const page = await t.domain.access.whoCanOpen(org.actor, lock.id, new Date(), { first: 1000, after });
      for (const m of page.items) out.add(m.member.id);
      if (!page.hasNextPage) return out;
      after = page.cursors.at(-1);
    }
  };
  return { ...org, ids, lock, who };
}

/** Runs `fn` over `items`, `width` at a time (Entra sends several requests at once). */
async function inParallel<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

describe('mass-deprovision guard', () => {
  it('30 % of 2,000 members deactivated through SCIM: the excess is held, GET tells the truth, approval revokes every access and writes every feed entry', async () => {
    const p = await population(2000);
    expect((await p.who()).size).toBe(2000);
    const leavers = p.ids.slice(0, 600);
    const answers: number[] = [];
    await inParallel(leavers, 8, async (id) => {
      const send = () => p.scim.patch(`/Users/${id}`, patchOp({ op: 'Replace', path: 'active', value: 'False' }));
      // A kept-alive connection the loaded server closed may reset once (the PATCH is idempotent): send again.
      const r = await send().catch(send);
      answers.push(r.status);
    });
    // Entra sees success for every request (no retry storm, no quarantine)…
    expect(answers.every((s) => s === 200)).toBe(true);
    // …the threshold (10 % of 2,000) went through, the rest is held.
    const held = await t.domain.guard.list(p.actor);
    expect(held).toHaveLength(400);
    expect(held.every((h) => h.kind === 'deactivate' && h.source === 'scim')).toBe(true);
    const heldIds = new Set(held.map((h) => h.memberId));
    const applied = leavers.filter((id) => !heldIds.has(id));
    expect(applied).toHaveLength(200);
    expect((await p.who()).size).toBe(1800);

    // GET tells the truth: a held member is still active; Entra asking again is held again, not duplicated.
    const one = [...heldIds][0]!;
    expect((await p.scim.get(`/Users/${one}`)).body.active).toBe(true);
    const again = await p.scim.patch(`/Users/${one}`, patchOp({ op: 'Replace', path: 'active', value: 'False' }));
    expect(again.status).toBe(200);
    expect(again.body.active).toBe(true);
    const afterRepeat = await t.domain.guard.list(p.actor);
    expect(afterRepeat).toHaveLength(400);
    expect(afterRepeat.find((h) => h.memberId === one)!.repeats).toBe(1);
    // Once tripped, later revocations of the same source wait too (as Entra's own quarantine).
    expect(await t.domain.guard.heldCount(p.actor)).toBe(400);
    // Held changes are in the provisioning log.
    expect((await t.domain.audit.list(p.actor, { actionPrefix: 'guard.hold', limit: 1000 })).length).toBe(401);

    // An admin approves: everything held applies in one transaction, audited with who.
    const admin: Actor = { kind: 'admin', organizationId: p.id, id: crypto.randomUUID(), label: 'ada@contoso.com' };
    const decision = await t.domain.guard.approve(admin);
    expect(decision).toMatchObject({ approved: 400, deactivated: 400 });
    expect(await t.domain.guard.heldCount(p.actor)).toBe(0);
    const who = await p.who();
    expect(who.size).toBe(1400);
    for (const id of leavers) expect(who.has(id)).toBe(false);
    const feed = await t.domain.db.sql.all<{ member_id: string }>(`select member_id from access_changes where organization_id = $1 and kind = 'member_deactivated'`, [p.id]);
    expect(new Set(feed.map((f) => f.member_id))).toEqual(new Set(leavers));
    const approvals = await t.domain.audit.list(p.actor, { actionPrefix: 'guard.approve' });
    expect(approvals[0]).toMatchObject({ actorLabel: 'ada@contoso.com', detail: { approved: 400, by: 'ada@contoso.com' } });
    expect((await t.domain.guard.list(p.actor, 'approved')).every((h) => h.decidedBy === 'ada@contoso.com')).toBe(true);
  }, 300_000);

  it('a held DELETE answers 204, the member stays (GET 200); discard keeps everyone, audited', async () => {
    const p = await population(60);
    await t.domain.guard.updateSettings(p.actor, { minCount: 5, thresholdPercent: 10 });
        for (const id of p.ids.slice(0, 10)) {
      const r = await p.scim.delete(`/Users/${id}`);
      expect(r.status).toBe(204);
    }
    const held = await t.domain.guard.list(p.actor);
    // The limit is max(5, 10 % of 60) = 6 deletions; the other 4 wait.
    expect(held.map((h) => h.kind)).toEqual(Array(4).fill('delete'));
    for (const h of held) expect((await p.scim.get(`/Users/${h.memberId}`)).status).toBe(200);
    // The console's health strip is red with the count.
    const admin = { kind: 'admin' as const, organizationId: p.id, id: crypto.randomUUID(), label: 'ada' };
    expect((await consoleHealth(t.domain, admin)).find((i) => i.key === 'guard')).toMatchObject({ status: 'error', summary: expect.stringMatching(/^4 changes held/) });
    const d = await t.domain.guard.discard(p.actor);
    expect(d.discarded).toBe(4);
    expect(await t.domain.guard.heldCount(p.actor)).toBe(0);
    expect((await p.who()).size).toBe(54);
    expect((await t.domain.audit.list(p.actor, { actionPrefix: 'guard.discard' })).length).toBe(1);
    expect((await consoleHealth(t.domain, admin)).find((i) => i.key === 'guard')).toMatchObject({ status: 'ok' });
  }, 120_000);

  it('an admin deactivating one named person is never held, whatever the window holds', async () => {
    const p = await population(30);
    await t.domain.guard.updateSettings(p.actor, { minCount: 1, thresholdPercent: 1 });
    await p.scim.patch(`/Users/${p.ids[0]}`, patchOp({ op: 'Replace', path: 'active', value: 'False' }));
    await p.scim.patch(`/Users/${p.ids[1]}`, patchOp({ op: 'Replace', path: 'active', value: 'False' }));
    expect(await t.domain.guard.heldCount(p.actor)).toBe(1);
    const m = await t.domain.members.create(p.actor, { userName: 'walk.in@contoso.com' });
    const off = await t.domain.members.update({ kind: 'admin', organizationId: p.id, id: crypto.randomUUID(), label: 'ada' }, m.id, { active: false });
    expect(off.active).toBe(false);
  }, 120_000);

  it('Entra removing members from a shared group beyond the threshold is held (PATCH 204/200, GET tells the truth); approval removes them with feed entries', async () => {
    const p = await population(50);
    await t.domain.guard.updateSettings(p.actor, { minCount: 5, thresholdPercent: 10 });
    // A group Entra provisions (source scim), shared on the lock, with 20 of the members.
    const created = await p.scim.post('/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Night shift', members: p.ids.slice(0, 20).map((value) => ({ value })) });
    expect(created.status).toBe(201);
    const groupId = created.body.id as string;
    await t.domain.shares.grant(p.actor, { groupId, lockId: p.lock.id });
    // Within the threshold (5): applied at once.
    const small = await p.scim.patch(`/Groups/${groupId}`, patchOp({ op: 'Remove', path: 'members', value: p.ids.slice(0, 2).map((value) => ({ value })) }));
    expect(small.status).toBeLessThan(300);
    expect(await t.domain.guard.heldCount(p.actor)).toBe(0);
    // Beyond it: Entra sees success, nothing is removed, GET still lists them.
    const removing = p.ids.slice(2, 14);
    const big = await p.scim.patch(`/Groups/${groupId}`, patchOp({ op: 'Remove', path: 'members', value: removing.map((value) => ({ value })) }));
    expect(big.status).toBeLessThan(300);
    const held = await t.domain.guard.list(p.actor);
    expect(held).toHaveLength(12);
    expect(held.every((h) => h.kind === 'group_remove' && h.source === 'scim' && h.groupId === groupId)).toBe(true);
    const get = await p.scim.get(`/Groups/${groupId}`);
    expect((get.body.members as { value: string }[]).map((m) => m.value).sort()).toEqual(p.ids.slice(2, 20).sort());
    // Asked again: held again, not duplicated.
    await p.scim.patch(`/Groups/${groupId}`, patchOp({ op: 'Remove', path: 'members', value: removing.map((value) => ({ value })) }));
    expect(await t.domain.guard.heldCount(p.actor)).toBe(12);
    const admin: Actor = { kind: 'admin', organizationId: p.id, id: crypto.randomUUID(), label: 'ada@contoso.com' };
    expect(await t.domain.guard.approve(admin)).toMatchObject({ approved: 12, membershipsRemoved: 12 });
    const after = await p.scim.get(`/Groups/${groupId}`);
    expect((after.body.members as { value: string }[]).map((m) => m.value).sort()).toEqual(p.ids.slice(14, 20).sort());
    const feed = await t.domain.db.sql.all<{ member_id: string }>(`select member_id from access_changes where organization_id = $1 and group_id = $2 and kind = 'group_member_removed'`, [p.id, groupId]);
    expect(new Set(feed.map((f) => f.member_id))).toEqual(new Set(p.ids.slice(0, 14)));
  }, 120_000);

  it('Entra deleting a shared group beyond the threshold is held (204, the group stays); an unshared group is never held', async () => {
    const p = await population(50);
    await t.domain.guard.updateSettings(p.actor, { minCount: 5, thresholdPercent: 10 });
    const group = (members: string[], name: string) =>
      p.scim.post('/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: name, members: members.map((value) => ({ value })) });
    const shared = (await group(p.ids.slice(0, 10), 'Cleaners')).body.id as string;
    await t.domain.shares.grant(p.actor, { groupId: shared, lockId: p.lock.id });
    const unshared = (await group(p.ids.slice(10, 40), 'Newsletter')).body.id as string;
    // Removing 30 from a group that grants nothing revokes nothing: applied.
    expect((await p.scim.delete(`/Groups/${unshared}`)).status).toBe(204);
    expect((await p.scim.get(`/Groups/${unshared}`)).status).toBe(404);
    expect(await t.domain.guard.heldCount(p.actor)).toBe(0);
    // The shared one: 204 for Entra, the group and its members stay until an admin decides.
    expect((await p.scim.delete(`/Groups/${shared}`)).status).toBe(204);
    expect((await p.scim.get(`/Groups/${shared}`)).status).toBe(200);
    expect(await t.domain.guard.heldCount(p.actor)).toBe(10);
    const admin: Actor = { kind: 'admin', organizationId: p.id, id: crypto.randomUUID(), label: 'ada@contoso.com' };
    expect(await t.domain.guard.approve(admin)).toMatchObject({ membershipsRemoved: 10 });
    expect((await p.scim.get(`/Groups/${shared}`)).body.members ?? []).toEqual([]);
  }, 120_000);

  it('settings: on by default (10 %, 25, 60 min); bad values are refused; off lets everything through', async () => {
    const p = await population(40);
    expect(await t.domain.guard.settings(p.actor)).toEqual({ enabled: true, thresholdPercent: 10, minCount: 25, windowMinutes: 60 });
    for (const bad of [{ thresholdPercent: 0 }, { thresholdPercent: 101 }, { minCount: 0 }, { windowMinutes: 0 }, { windowMinutes: 1.5 }]) {
      await expect(t.domain.guard.updateSettings(p.actor, bad)).rejects.toMatchObject({ code: 'invalid_guard_setting' });
    }
    await t.domain.guard.updateSettings(p.actor, { enabled: false });
    await inParallel(p.ids.slice(0, 30), 4, async (id) => {
      await p.scim.patch(`/Users/${id}`, patchOp({ op: 'Replace', path: 'active', value: 'False' }));
    });
    expect(await t.domain.guard.heldCount(p.actor)).toBe(0);
    expect((await p.who()).size).toBe(10);
  }, 120_000);
});
