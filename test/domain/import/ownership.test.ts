// One owner per member: SCIM, the Entra group import and an admin
// each keep what they own, and a deactivation (or deletion) stands until the
// source that made it undoes it. Every pair of sources, through the real SCIM
// edge and the real import against the Graph stand-in.
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_SECRET, type TestDb } from '../../setup/test-db.js';
import { unique } from '../../factories/index.js';
import { createDomain, type Actor, type Domain } from '../../../src/domain/index.js';
import type { EntraUser } from '../../../src/domain/import/import.model.js';
import { entraUser as standInUser, type GraphStandIn } from '../../setup/graph-stand-in.js';
import { entraDirectoryOn, graphSuite, importScene } from '../../setup/entra.js';
import { patchOp, ScimClient, startServer, type ScimServer } from '../../scim/scim-client.js';

let t: TestDb;
let graph: GraphStandIn;
let d: Domain;
let server: ScimServer;

graphSuite((s) => ({ t, graph } = s));
beforeAll(async () => {
  d = createDomain(t.database.db, TEST_SECRET, undefined, { entraDirectory: entraDirectoryOn(graph, { maxRetries: 0, maxRetryAfterSeconds: 1 }) });
  server = await startServer({ ...t, domain: d });
});
afterAll(async () => {
  await server.close();
});

/** An Entra user with both a UPN and a mail. */
function entraUser(): EntraUser & { userPrincipalName: string; mail: string } {
  const u = standInUser();
  return { ...u, userPrincipalName: u.userPrincipalName!, mail: u.mail! };
}

/** An organisation with a lock shared through an import of `users`, SCIM enabled. */
async function scene(users: EntraUser[], identifier: 'upn' | 'mail' = 'upn') {
  const { org, a, place, lock, entraGroupId, integration } = await importScene(d, graph, { users, identifier });
  const { token } = await d.organizations.enableScim(org.actor);
  const scim = new ScimClient(server.url, token);
  const run = async () => {
    const r = await d.imports.run(a, integration.id);
    expect(r.status, JSON.stringify(r)).toBe('success');
    return r;
  };
  const who = async () => new Set((await d.access.whoCanOpen(a, lock.id, new Date(), { first: 1000 })).items.map((m) => m.member.userName.toLowerCase()));
  const member = async (userName: string) => (await d.members.findByUserName(a, userName))!;
  const admin: Actor = { kind: 'api_key', organizationId: org.id, id: crypto.randomUUID(), label: 'hr-app', role: 'admin' };
  return { org, a, admin, place, lock, entraGroupId, integration, scim, run, who, member };
}

describe('defect 1: the group import never re-opens a door SCIM closed', () => {
  it('SCIM deactivates an imported member; the next import run leaves it inactive and whoCanOpen leaves it out', async () => {
    const u = entraUser();
    const s = await scene([u, entraUser()]);
    await s.run();
    const upn = u.userPrincipalName.toLowerCase();
    expect(await s.who()).toContain(upn);

    // Entra's SCIM cycle matches the imported member by userName and unassigns it.
    const found = await s.scim.filter('Users', `userName eq "${u.userPrincipalName}"`);
    expect(found.body.totalResults).toBe(1);
    const off = await s.scim.patch(`/Users/${found.body.Resources[0].id}`, patchOp({ op: 'Replace', path: 'active', value: 'False' }));
    expect(off.status).toBe(200);
    expect(off.body.active).toBe(false);
    expect(await s.who()).not.toContain(upn);

    // The person is still enabled in the Entra group: the import runs again.
    await s.run();
    const m = await s.member(u.userPrincipalName);
    expect(m).toMatchObject({ active: false, source: 'scim', deactivatedBy: 'scim' });
    expect(await s.who()).not.toContain(upn);
    // …and the membership is still kept in step (Entra does not re-add memberships on re-enable).
    expect((await d.members.list(s.a, { groupId: s.integration.groupId })).items.map((x) => x.id)).toContain(m.id);
  });
});

describe('SCIM takes ownership of members the import created', () => {
  it('a SCIM PATCH of an imported member makes SCIM its owner; the import then changes neither profile nor active', async () => {
    const u = entraUser();
    const s = await scene([u]);
    await s.run();
    const m0 = await s.member(u.userPrincipalName);
    expect(m0.source).toBe('import');
    const r = await s.scim.patch(`/Users/${m0.id}`, patchOp({ op: 'Replace', path: 'displayName', value: 'Named By Entra' }));
    expect(r.status).toBe(200);
    expect((await s.member(u.userPrincipalName)).source).toBe('scim');
    // Entra renames and disables the user in the group; the import must leave both alone now.
    graph.groups.set(s.entraGroupId, [{ ...u, displayName: 'Renamed In Graph', accountEnabled: false }]);
    await s.run();
    expect(await s.member(u.userPrincipalName)).toMatchObject({ displayName: 'Named By Entra', active: true, source: 'scim' });
    expect(await s.who()).toContain(u.userPrincipalName.toLowerCase());
    // Membership still follows the group: removed from the Entra group, the import removes it from its group.
    graph.groups.set(s.entraGroupId, []);
    await s.run();
    expect(await s.who()).not.toContain(u.userPrincipalName.toLowerCase());
  });

  it('a SCIM POST of the same userName takes the imported member over (201, same id, no duplicate)', async () => {
    const u = entraUser();
    const s = await scene([u]);
    await s.run();
    const m0 = await s.member(u.userPrincipalName);
    const c = await s.scim.post('/Users', { userName: u.userPrincipalName, externalId: 'ext-1', active: true, displayName: 'From SCIM' });
    expect(c.status, JSON.stringify(c.body)).toBe(201);
    expect(c.body.id).toBe(m0.id);
    expect(await s.member(u.userPrincipalName)).toMatchObject({ id: m0.id, source: 'scim', externalId: 'ext-1', displayName: 'From SCIM' });
    const audit = await d.audit.list(s.a, { resourceId: m0.id });
    expect(audit.some((e) => e.action === 'scim.user.create' && (e.detail as { adoptedFromImport?: boolean }).adoptedFromImport === true)).toBe(true);
  });

  it('with --identifier mail, a SCIM POST whose work email is the imported userName takes it over', async () => {
    const u = entraUser();
    const s = await scene([u], 'mail');
    await s.run();
    const m0 = await s.member(u.mail);
    const c = await s.scim.post('/Users', { userName: u.userPrincipalName, active: true, emails: [{ type: 'work', value: u.mail, primary: true }] });
    expect(c.status, JSON.stringify(c.body)).toBe(201);
    expect(c.body.id).toBe(m0.id);
    expect((await d.members.get(s.a, m0.id)).userName).toBe(u.userPrincipalName);
    // The import still finds it by email, keeps the membership, and no longer renames it back.
    const r = await s.run();
    expect(r).toMatchObject({ created: 0, updated: 0 });
    expect((await d.members.get(s.a, m0.id)).userName).toBe(u.userPrincipalName);
    expect(await s.who()).toContain(u.userPrincipalName.toLowerCase());
  });

  it('a SCIM POST of a userName an admin created is still a 409', async () => {
    const s = await scene([]);
    await d.members.create(s.admin, { userName: 'admin.made@contoso.com' });
    const c = await s.scim.post('/Users', { userName: 'admin.made@contoso.com', active: true });
    expect(c.status).toBe(409);
  });
});

describe('a deactivation stands until the source that made it re-activates', () => {
  it('import deactivates (accountEnabled false): an admin may not re-activate; the import does when Entra re-enables', async () => {
    const u = entraUser();
    const s = await scene([u]);
    graph.groups.set(s.entraGroupId, [{ ...u, accountEnabled: false }]);
    await s.run();
    const m = await s.member(u.userPrincipalName);
    expect(m).toMatchObject({ active: false, deactivatedBy: 'import' });
    await expect(d.members.update(s.admin, m.id, { active: true })).rejects.toMatchObject({ code: 'deactivated_by_other_source' });
    graph.groups.set(s.entraGroupId, [u]);
    await s.run();
    expect(await s.member(u.userPrincipalName)).toMatchObject({ active: true, deactivatedBy: null });
    expect(await s.who()).toContain(u.userPrincipalName.toLowerCase());
  });

  it('import deactivates; SCIM taking the member over becomes its owner and may re-activate it', async () => {
    const u = entraUser();
    const s = await scene([{ ...u, accountEnabled: false }]);
    await s.run();
    const m = await s.member(u.userPrincipalName);
    const on = await s.scim.patch(`/Users/${m.id}`, patchOp({ op: 'Replace', path: 'active', value: 'True' }));
    expect(on.status, JSON.stringify(on.body)).toBe(200);
    expect(await s.member(u.userPrincipalName)).toMatchObject({ active: true, source: 'scim', deactivatedBy: null });
  });

  it('admin deactivates an imported member: the import does not re-activate it, SCIM may not either, the admin may', async () => {
    const u = entraUser();
    const s = await scene([u]);
    await s.run();
    const m = await s.member(u.userPrincipalName);
    await d.members.update(s.admin, m.id, { active: false });
    await s.run();
    expect(await s.member(u.userPrincipalName)).toMatchObject({ active: false, deactivatedBy: 'admin' });
    expect(await s.who()).not.toContain(u.userPrincipalName.toLowerCase());
    const on = await s.scim.patch(`/Users/${m.id}`, patchOp({ op: 'Replace', path: 'active', value: 'True' }));
    expect(on.status).toBe(403);
    expect((await s.member(u.userPrincipalName)).active).toBe(false);
    await d.members.update(s.admin, m.id, { active: true });
    await s.run();
    expect(await s.member(u.userPrincipalName)).toMatchObject({ active: true, deactivatedBy: null });
  });

  it('admin deactivates an admin-created member: SCIM may not re-activate it', async () => {
    const s = await scene([]);
    const m = await d.members.create(s.admin, { userName: unique('shared') + '@contoso.com' });
    await d.members.update(s.admin, m.id, { active: false });
    const on = await s.scim.patch(`/Users/${m.id}`, patchOp({ op: 'Replace', path: 'active', value: 'True' }));
    expect(on.status).toBe(403);
    expect(on.body.detail).toMatch(/administrator/);
    expect((await d.members.get(s.a, m.id)).active).toBe(false);
  });

  it('SCIM deactivates its own member: neither the import nor an admin re-activates it; SCIM does', async () => {
    const u = entraUser();
    const s = await scene([u]);
    const c = await s.scim.post('/Users', { userName: u.userPrincipalName, active: true });
    await s.scim.patch(`/Users/${c.body.id}`, patchOp({ op: 'Replace', path: 'active', value: 'False' }));
    await s.run();
    expect(await s.member(u.userPrincipalName)).toMatchObject({ active: false, source: 'scim', deactivatedBy: 'scim' });
    await expect(d.members.update(s.admin, c.body.id, { active: true })).rejects.toMatchObject({ code: 'field_owned_by_entra' });
    expect((await s.scim.patch(`/Users/${c.body.id}`, patchOp({ op: 'Replace', path: 'active', value: 'True' }))).body.active).toBe(true);
  });

  it('the import never deactivates a member SCIM owns (accountEnabled false is SCIM\'s to send)', async () => {
    const u = entraUser();
    const s = await scene([{ ...u, accountEnabled: false }]);
    await s.scim.post('/Users', { userName: u.userPrincipalName, active: true });
    await s.run();
    expect(await s.member(u.userPrincipalName)).toMatchObject({ active: true, source: 'scim' });
  });
});

describe('a deletion stands: the import does not create the member again', () => {
  it('SCIM DELETE of an imported member: the next run skips the person; every access and feed entry is gone', async () => {
    const u = entraUser();
    const s = await scene([u, entraUser()]);
    await s.run();
    const m = await s.member(u.userPrincipalName);
    expect((await s.scim.delete(`/Users/${m.id}`)).status).toBe(204);
    // The feed's table itself (the feed's reader waits for every older transaction of the server, other tests' too).
    const feed = await d.db.sql.all<{ kind: string }>(`select kind from access_changes where organization_id = $1 and member_id = $2 order by id`, [s.org.id, m.id]);
    expect(feed.map((f) => f.kind)).toEqual(['group_member_added', 'member_deleted']);
    const r = await s.run();
    expect(r).toMatchObject({ created: 0, skipped: 1 });
    expect(await d.members.findByUserName(s.a, u.userPrincipalName)).toBeUndefined();
    expect(await s.who()).not.toContain(u.userPrincipalName.toLowerCase());
  });

  it('an admin deleting an imported member: the import does not create it again; SCIM re-creating it is the owner\'s call', async () => {
    const u = entraUser();
    const s = await scene([u]);
    await s.run();
    await d.members.delete(s.admin, (await s.member(u.userPrincipalName)).id);
    expect(await s.run()).toMatchObject({ created: 0, skipped: 1 });
    expect(await d.members.findByUserName(s.a, u.userPrincipalName)).toBeUndefined();
    const c = await s.scim.post('/Users', { userName: u.userPrincipalName, active: true });
    expect(c.status).toBe(201);
    expect(await s.run()).toMatchObject({ created: 0, added: 1 });
    expect(await s.who()).toContain(u.userPrincipalName.toLowerCase());
  });
});

describe('defect 3: a missing User.Read.All consent empties no door', () => {
  it('Graph answering members reduced to their ids fails the run with entra_consent_missing and changes nothing', async () => {
    const users = Array.from({ length: 5 }, () => entraUser());
    const s = await scene(users);
    await s.run();
    const before = await s.who();
    expect(before.size).toBe(5);
    const members = await d.members.list(s.a, { groupId: s.integration.groupId });
    graph.idsOnly = true;
    try {
      const r = await d.imports.run(s.a, s.integration.id);
      expect(r).toMatchObject({ status: 'failed', errorCode: 'entra_consent_missing', removed: 0, added: 0, updated: 0 });
      expect(r.error).toMatch(/User\.Read\.All/);
    } finally {
      graph.idsOnly = false;
    }
    expect(await s.who()).toEqual(before);
    expect((await d.members.list(s.a, { groupId: s.integration.groupId })).items.map((m) => m.id)).toEqual(members.items.map((m) => m.id));
    expect(await d.imports.get(s.a, s.integration.id)).toMatchObject({ lastRun: { status: 'failed', errorCode: 'entra_consent_missing' } });
  });

  it('a few users without the identifying attribute are skipped as before (not a consent problem)', async () => {
    const users = [...Array.from({ length: 4 }, () => entraUser()), { ...entraUser(), mail: null as unknown as string }];
    const s = await scene(users, 'mail');
    const r = await s.run();
    expect(r).toMatchObject({ created: 4, skipped: 1 });
  });
});

describe('the mass-deprovision guard holds an import run that would empty the doors', () => {
  it('a run removing most members from a group that grants access is held (detection or not); approval applies it', async () => {
    const users = Array.from({ length: 40 }, () => entraUser());
    const s = await scene(users);
    await s.run();
    expect((await s.who()).size).toBe(40);
    // The Entra group comes back nearly empty (the wrong group, a scoping mistake): no consent problem to detect.
    graph.groups.set(s.entraGroupId, users.slice(0, 2));
    const r = await s.run();
    expect(r).toMatchObject({ status: 'success', removed: 0, held: 38 });
    expect((await s.who()).size).toBe(40);
    // The next run asks again: held again, not duplicated.
    await s.run();
    const held = await d.guard.list(s.a);
    expect(held).toHaveLength(38);
    expect(held.every((h) => h.kind === 'group_remove' && h.source === 'import' && h.groupId === s.integration.groupId && h.repeats === 1)).toBe(true);
    expect(await d.guard.approve(s.admin)).toMatchObject({ approved: 38, membershipsRemoved: 38 });
    expect((await s.who()).size).toBe(2);
    const feed = await d.db.sql.all<{ n: number }>(`select count(*)::int as n from access_changes where organization_id = $1 and kind = 'group_member_removed'`, [s.org.id]);
    expect(feed[0]!.n).toBe(38);
  });
});

describe('the mass-deprovision guard holds an import run disabling too many accounts', () => {
  it('accountEnabled false for most members: the excess deactivations are held (members stay active, other changes apply); approval deactivates them', async () => {
    const users = Array.from({ length: 40 }, () => entraUser());
    const s = await scene(users);
    await s.run();
    expect((await s.who()).size).toBe(40);
    // Entra disables 30 accounts at once (and renames one of them): 10 % of 40, at least 25 → 25 go through, 5 wait.
    const disabled = users.slice(0, 30).map((u, i) => ({ ...u, accountEnabled: false, displayName: i === 29 ? 'Renamed While Held' : u.displayName }));
    graph.groups.set(s.entraGroupId, [...disabled, ...users.slice(30)]);
    const r = await s.run();
    expect(r).toMatchObject({ status: 'success', held: 5 });
    expect((await s.who()).size).toBe(15);
    const held = await d.guard.list(s.a);
    expect(held).toHaveLength(5);
    expect(held.every((h) => h.kind === 'deactivate' && h.source === 'import')).toBe(true);
    // A held member stays active, yet the rest of its profile follows Entra.
    const renamed = await s.member(users[29]!.userPrincipalName);
    expect(renamed.active).toBe(true);
    expect(renamed.displayName).toBe('Renamed While Held');
    // The next run asks again: held again, not duplicated.
    expect(await s.run()).toMatchObject({ held: 5 });
    expect((await d.guard.list(s.a)).every((h) => h.repeats === 1)).toBe(true);
    expect(await d.guard.approve(s.admin)).toMatchObject({ approved: 5, deactivated: 5 });
    expect((await s.who()).size).toBe(10);
    for (const u of users.slice(0, 30)) expect((await s.member(u.userPrincipalName)).active).toBe(false);
    const feed = await d.db.sql.all<{ n: number }>(`select count(*)::int as n from access_changes where organization_id = $1 and kind = 'member_deactivated'`, [s.org.id]);
    expect(feed[0]!.n).toBe(30);
    // A later run keeps them inactive (the import owns their active) and holds nothing.
    expect((await s.run()) as { held?: number }).not.toHaveProperty('held');
    expect(await d.guard.heldCount(s.a)).toBe(0);
    expect((await s.who()).size).toBe(10);
  });
});

describe('migration path from the Entra group import to SCIM provisioning', () => {
  it('import running, SCIM enabled, Entra matches the imported members, the import is deleted: no access flickers, no leaver regains it', async () => {
    const users = Array.from({ length: 12 }, () => entraUser());
    const s = await scene(users);
    const everyone = users.map((u) => u.userPrincipalName.toLowerCase());
    const leaver = users[3]!;
    const history: Set<string>[] = [];
    const step = async () => history.push(await s.who());

    await s.run();
    await step();
    // Entra's initial SCIM cycle: every user matched by userName and patched; the group created and filled.
    const ids: string[] = [];
    for (const u of users) {
      const f = await s.scim.filter('Users', `userName eq "${u.userPrincipalName}"`);
      expect(f.body.totalResults).toBe(1);
      const id = f.body.Resources[0].id as string;
      ids.push(id);
      expect((await s.scim.patch(`/Users/${id}`, patchOp({ op: 'Replace', path: 'externalId', value: u.id }))).status).toBe(200);
      await step();
    }
    const g = await s.scim.post('/Groups', { displayName: 'Staff (SCIM)', externalId: s.entraGroupId, members: [] });
    expect((await s.scim.patch(`/Groups/${g.body.id}`, patchOp({ op: 'Add', path: 'members', value: ids.map((value) => ({ value })) }))).status).toBe(204);
    await d.shares.grant(s.a, { groupId: g.body.id, placeId: s.place.id });
    await step();
    // A person leaves during the migration: Entra unassigns them; the import (still running) sees them enabled.
    await s.scim.patch(`/Users/${ids[3]}`, patchOp({ op: 'Replace', path: 'active', value: 'False' }));
    await step();
    await s.run();
    await step();
    // The import is deleted: its group and shares go, the SCIM group's share carries on.
    await d.imports.delete(s.a, s.integration.id);
    await step();

    for (const [i, who] of history.entries()) {
      const stayers = everyone.filter((u) => u !== leaver.userPrincipalName.toLowerCase());
      for (const u of stayers) expect(who.has(u), `step ${i}: ${u}`).toBe(true);
    }
    const left = history.findIndex((w) => !w.has(leaver.userPrincipalName.toLowerCase()));
    expect(left).toBeGreaterThan(0);
    for (const who of history.slice(left)) expect(who.has(leaver.userPrincipalName.toLowerCase())).toBe(false);
    expect((await d.members.list(s.a, { source: 'scim', first: 100 })).items).toHaveLength(12);
  });
});
