import crypto from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { TEST_SECRET, type TestDb } from '../../setup/test-db.js';
import { buildMember, buildOrg } from '../../factories/index.js';
import { countStatements } from '../../../src/infra/postgres/statement-count.js';
import { createDomain, type Actor, type Domain } from '../../../src/domain/index.js';
import { entraUser, type GraphStandIn } from '../../setup/graph-stand-in.js';
import { ENTRA_APP, entraDirectoryOn, graphSuite, importScene } from '../../setup/entra.js';

let t: TestDb;
let graph: GraphStandIn;
let d: Domain;
const sleeps: number[] = [];

graphSuite((s) => ({ t, graph } = s));
beforeAll(() => {
  d = createDomain(t.database.db, TEST_SECRET, undefined, {
    entraDirectory: entraDirectoryOn(graph, {
      maxRetries: 2,
      maxRetryAfterSeconds: 5,
      // Records what Retry-After asked for, and waits a little for real.
      sleep: async (ms) => {
        sleeps.push(ms);
        await new Promise((r) => setTimeout(r, Math.min(ms, 50)));
      },
    }),
  });
});

async function count(table: string, organizationId: string): Promise<number> {
  const r = await d.db.sql.one<{ n: number }>(`select count(*)::int as n from ${table} where organization_id = $1`, [organizationId]);
  return r.n;
}

const scene = (opts: { users?: number; identifier?: 'upn' | 'mail'; usersOnly?: boolean } = {}) => importScene(d, graph, opts);

describe('Entra group import: first sync', () => {
  it('creates members (source import), adds them to the integration group and so shares the place', async () => {
    const s = await scene({ users: 3 });
    expect(s.integration).toMatchObject({ mode: 'grant_shares', identifier: 'upn', paused: false, lastRun: { status: null } });
    const group = await d.groups.get(s.a, s.integration.groupId);
    expect(group.source).toBe('import');

    const r = await d.imports.run(s.a, s.integration.id);
    expect(r).toMatchObject({ status: 'success', total: 3, added: 3, created: 3, updated: 0, removed: 0, skipped: 0 });

    const page = await d.members.list(s.a, { groupId: s.integration.groupId });
    expect(page.items.map((m) => m.userName).sort()).toEqual(s.users.map((u) => u.userPrincipalName).sort());
    const first = page.items.find((m) => m.userName === s.users[0]!.userPrincipalName)!;
    expect(first).toMatchObject({
      source: 'import',
      displayName: s.users[0]!.displayName,
      name: expect.objectContaining({ givenName: 'User', familyName: s.users[0]!.surname }),
      emails: [{ value: s.users[0]!.userPrincipalName, type: 'work', primary: true }],
      active: true,
    });
    // Shared through the group: the member can open the place's lock.
    expect(await d.access.canAccess(s.a, first.id, s.lock.id)).toMatchObject({ allowed: true });

    const shown = await d.imports.get(s.a, s.integration.id);
    expect(shown.lastRun).toMatchObject({ status: 'success', total: 3, added: 3, updated: 0, removed: 0, errorCode: null });
    expect(shown.lastRun.finishedAt).toBeInstanceOf(Date);
    const audit = await d.audit.list(s.a, { limit: 100 });
    expect(audit.filter((e) => e.action === 'member.create' && e.actorKind === 'import')).toHaveLength(3);
    expect(audit.find((e) => e.action === 'import.run')).toMatchObject({ actorKind: 'import', actorId: s.integration.id, outcome: 'success', detail: expect.objectContaining({ added: 3 }) });
    // The token was asked for with the client-credentials grant, the members with only the needed fields.
    const req = graph.requests.filter((q) => q.path === `/v1.0/groups/${s.entraGroupId}/members/microsoft.graph.user`);
    expect(req[0]!.query.get('$select')).toBe('id,userPrincipalName,mail,displayName,givenName,surname,accountEnabled');
    expect(req[0]!.query.get('$top')).toBe('999');
  });

  it('follows @odata.nextLink across pages', async () => {
    const s = await scene({ users: 7 });
    graph.pageSize = 3;
    graph.resetCounters();
    try {
      const r = await d.imports.run(s.a, s.integration.id);
      expect(r).toMatchObject({ status: 'success', total: 7, added: 7 });
      expect(graph.memberRequests).toBe(3);
      expect(graph.requests.filter((q) => q.query.get('$skiptoken')).map((q) => q.query.get('$skiptoken'))).toEqual(['3', '6']);
    } finally {
      graph.pageSize = 999;
    }
    expect((await d.members.list(s.a, { groupId: s.integration.groupId, first: 100 })).totalCount).toBe(7);
  });

  it('keeps the secret encrypted at rest and never returns it', async () => {
    const s = await scene();
    const row = await d.db.sql.one<{ client_secret_sealed: string }>(`select client_secret_sealed from import_integrations where organization_id = $1 and id = $2`, [
      s.org.id,
      s.integration.id,
    ]);
    expect(row.client_secret_sealed).not.toContain(ENTRA_APP.clientSecret);
    expect(d.cipher.decrypt(row.client_secret_sealed)).toBe(ENTRA_APP.clientSecret);
    expect(JSON.stringify(await d.imports.list(s.a))).not.toContain(ENTRA_APP.clientSecret);
    const audit = await d.audit.list(s.a, { actionPrefix: 'import.create' });
    expect(audit).toHaveLength(1);
    expect(JSON.stringify(audit)).not.toContain(ENTRA_APP.clientSecret);
  });
});

describe('Entra group import: resync', () => {
  it('writes nothing when nothing changed in Entra (no audit rows, no member or group updates)', async () => {
    const s = await scene({ users: 20 });
    await d.imports.run(s.a, s.integration.id);
    const before = {
      audit: await count('audit_events', s.org.id),
      feed: await count('access_changes', s.org.id),
      group: (await d.groups.get(s.a, s.integration.groupId)).version,
      members: await d.db.sql.all<{ id: string; version: number; updated_at: string }>(`select id, version, updated_at from members where organization_id = $1 order by id`, [s.org.id]),
    };
    const { result, statements } = await countStatements(() => d.imports.run(s.a, s.integration.id));
    expect(result).toMatchObject({ status: 'success', total: 20, added: 0, created: 0, updated: 0, removed: 0 });
    // The lease, two planning reads (links, group members) and the run's own status: nothing else.
    expect(statements).toBe(4);
    expect(await count('audit_events', s.org.id)).toBe(before.audit);
    expect(await count('access_changes', s.org.id)).toBe(before.feed);
    expect((await d.groups.get(s.a, s.integration.groupId)).version).toBe(before.group);
    expect(
      await d.db.sql.all<{ id: string; version: number; updated_at: string }>(`select id, version, updated_at from members where organization_id = $1 order by id`, [s.org.id]),
    ).toEqual(before.members);
  });

  it('updates changed profiles only', async () => {
    const s = await scene({ users: 3 });
    await d.imports.run(s.a, s.integration.id);
    const renamed = { ...s.users[1]!, displayName: 'Renamed In Entra', surname: 'Renamed' };
    graph.groups.set(s.entraGroupId, [s.users[0]!, renamed, s.users[2]!]);
    const r = await d.imports.run(s.a, s.integration.id);
    expect(r).toMatchObject({ status: 'success', added: 0, updated: 1, removed: 0 });
    const m = await d.members.findByUserName(s.a, renamed.userPrincipalName!);
    expect(m).toMatchObject({ displayName: 'Renamed In Entra', name: expect.objectContaining({ familyName: 'Renamed' }), version: 2 });
    const updates = await d.audit.list(s.a, { actionPrefix: 'member.update' });
    expect(updates).toHaveLength(1);
    expect(updates[0]!.detail).toMatchObject({ changes: { displayName: { from: s.users[1]!.displayName, to: 'Renamed In Entra' } } });
  });

  it('follows a UPN change through the Entra object id (the member is renamed, not duplicated)', async () => {
    const s = await scene({ users: 2 });
    await d.imports.run(s.a, s.integration.id);
    const moved = { ...s.users[0]!, userPrincipalName: `moved-${s.users[0]!.userPrincipalName}` };
    graph.groups.set(s.entraGroupId, [moved, s.users[1]!]);
    const r = await d.imports.run(s.a, s.integration.id);
    expect(r).toMatchObject({ added: 0, created: 0, updated: 1, removed: 0 });
    expect(await d.members.findByUserName(s.a, s.users[0]!.userPrincipalName!)).toBeUndefined();
    expect(await d.members.findByUserName(s.a, moved.userPrincipalName)).toBeDefined();
    expect(await count('members', s.org.id)).toBe(2);
  });

  it('a new UPN already taken by another member leaves that profile unchanged (skipped) and writes nothing', async () => {
    const s = await scene({ users: 2 });
    await d.imports.run(s.a, s.integration.id);
    const other = await buildMember(d, s.a);
    graph.groups.set(s.entraGroupId, [{ ...s.users[0]!, userPrincipalName: other.userName }, s.users[1]!]);
    const before = await count('audit_events', s.org.id);
    expect(await d.imports.run(s.a, s.integration.id)).toMatchObject({ status: 'success', added: 0, updated: 0, removed: 0, skipped: 1 });
    expect(await d.members.findByUserName(s.a, s.users[0]!.userPrincipalName!)).toMatchObject({ version: 1 });
    expect(await count('audit_events', s.org.id)).toBe(before);
  });

  it('removed from the Entra group: only the membership (and so the share) goes, the profile stays', async () => {
    const s = await scene({ users: 3 });
    await d.imports.run(s.a, s.integration.id);
    const gone = (await d.members.findByUserName(s.a, s.users[2]!.userPrincipalName!))!;
    expect(await d.access.canAccess(s.a, gone.id, s.lock.id)).toMatchObject({ allowed: true });
    graph.groups.set(s.entraGroupId, s.users.slice(0, 2));
    const r = await d.imports.run(s.a, s.integration.id);
    expect(r).toMatchObject({ status: 'success', total: 2, added: 0, updated: 0, removed: 1 });
    expect(await d.members.get(s.a, gone.id)).toMatchObject({ id: gone.id, active: true });
    expect(await d.access.canAccess(s.a, gone.id, s.lock.id)).toMatchObject({ allowed: false });
    const members = await d.members.list(s.a, { groupId: s.integration.groupId });
    expect(members.items.map((m) => m.userName).sort()).toEqual(s.users.slice(0, 2).map((u) => u.userPrincipalName).sort());
    expect((await d.audit.list(s.a, { actionPrefix: 'group.update' }))[0]!.detail).toMatchObject({ membersRemoved: 1 });

    // Back in the group: the same profile is shared again, not a new one.
    graph.groups.set(s.entraGroupId, s.users);
    expect(await d.imports.run(s.a, s.integration.id)).toMatchObject({ added: 1, created: 0, removed: 0 });
    expect(await d.access.canAccess(s.a, gone.id, s.lock.id)).toMatchObject({ allowed: true });
  });

  it('deleted in Entra: the share goes, the member stays (and a disabled account deactivates the member)', async () => {
    const s = await scene({ users: 3 });
    await d.imports.run(s.a, s.integration.id);
    const deleted = (await d.members.findByUserName(s.a, s.users[0]!.userPrincipalName!))!;
    const disabled = (await d.members.findByUserName(s.a, s.users[1]!.userPrincipalName!))!;
    // A deleted user disappears from every group listing; a disabled one stays with accountEnabled false.
    graph.groups.set(s.entraGroupId, [{ ...s.users[1]!, accountEnabled: false }, s.users[2]!]);
    const r = await d.imports.run(s.a, s.integration.id);
    expect(r).toMatchObject({ removed: 1, updated: 1, added: 0 });
    expect(await d.members.get(s.a, deleted.id)).toMatchObject({ userName: s.users[0]!.userPrincipalName });
    expect(await d.access.canAccess(s.a, deleted.id, s.lock.id)).toMatchObject({ allowed: false });
    expect(await d.members.get(s.a, disabled.id)).toMatchObject({ active: false });
    expect(await d.access.canAccess(s.a, disabled.id, s.lock.id)).toMatchObject({ allowed: false, reason: 'member_inactive' });
  });
});

describe('Entra group import: UPN vs Mail', () => {
  it('UPN: matches an existing member by userName and leaves a non-import profile untouched', async () => {
    const org = await buildOrg(d);
    const u = entraUser();
    const existing = await buildMember(d, org.actor, { userName: u.userPrincipalName!.toUpperCase(), displayName: 'Set by an admin' });
    const entraGroupId = crypto.randomUUID();
    graph.groups.set(entraGroupId, [u, entraUser()]);
    const i = await d.imports.create(org.actor, { name: 'upn', ...ENTRA_APP, entraGroupId });
    expect(i.identifier).toBe('upn');
    expect(i.mode).toBe('users_only');
    const r = await d.imports.run(org.actor, i.id);
    expect(r).toMatchObject({ added: 2, created: 1, updated: 0 });
    expect(await d.members.get(org.actor, existing.id)).toMatchObject({ displayName: 'Set by an admin', source: 'admin', version: 1 });
    expect(await count('members', org.id)).toBe(2);
    expect((await d.members.list(org.actor, { groupId: i.groupId })).items.map((m) => m.id)).toContain(existing.id);
  });

  it('Mail: userName and email are the mail; matches by userName or by email; users without mail are skipped', async () => {
    const org = await buildOrg(d);
    const byName = entraUser();
    const byEmail = entraUser();
    const fresh = entraUser();
    const noMail = entraUser({ mail: null });
    const a = await buildMember(d, org.actor, { userName: byName.mail! });
    const b = await buildMember(d, org.actor, { userName: 'someone-else', emails: [{ value: byEmail.mail!.toUpperCase(), type: 'work' }] });
    const entraGroupId = crypto.randomUUID();
    graph.groups.set(entraGroupId, [byName, byEmail, fresh, noMail]);
    const i = await d.imports.create(org.actor, { name: 'mail', ...ENTRA_APP, entraGroupId, identifier: 'mail', mode: 'users_only' });
    const r = await d.imports.run(org.actor, i.id);
    expect(r).toMatchObject({ total: 4, added: 3, created: 1, skipped: 1 });
    const ids = (await d.members.list(org.actor, { groupId: i.groupId })).items.map((m) => m.id);
    expect(ids).toEqual(expect.arrayContaining([a.id, b.id]));
    const created = await d.members.findByUserName(org.actor, fresh.mail!);
    expect(created).toMatchObject({ source: 'import', emails: [{ value: fresh.mail, type: 'work', primary: true }] });
    expect(await d.members.findByUserName(org.actor, fresh.userPrincipalName!)).toBeUndefined();
    // Resync: still nothing to write.
    expect(await d.imports.run(org.actor, i.id)).toMatchObject({ added: 0, updated: 0, removed: 0, skipped: 1 });
  });
});

describe('Entra group import: limits and Entra failures', () => {
  it('refuses a group of more than 5,000 users with a clear error and writes no member', async () => {
    const s = await scene({ users: 5001 });
    const r = await d.imports.run(s.a, s.integration.id);
    expect(r).toMatchObject({ status: 'failed', errorCode: 'import_too_many_users' });
    expect(r.error).toMatch(/more than 5000 users/);
    expect(await count('members', s.org.id)).toBe(0);
    const shown = await d.imports.get(s.a, s.integration.id);
    expect(shown.lastRun).toMatchObject({ status: 'failed', errorCode: 'import_too_many_users' });
    expect((await d.audit.list(s.a, { actionPrefix: 'import.run' }))[0]).toMatchObject({ outcome: 'failure', reason: expect.stringMatching(/5000/) });
  });

  it('imports exactly 5,000 users', async () => {
    const s = await scene({ users: 5000, usersOnly: true });
    const { result, statements } = await countStatements(() => d.imports.run(s.a, s.integration.id));
    expect(result).toMatchObject({ status: 'success', total: 5000, added: 5000, created: 5000 });
    // Set-based: a handful of statements per batch of 1,000, not per user.
    expect(statements).toBeLessThan(50);
  });

  it('401 invalid_client: "secret expired or wrong", nothing written', async () => {
    const s = await scene();
    graph.app.clientSecret = 'rotated';
    try {
      const r = await d.imports.run(s.a, s.integration.id);
      expect(r).toMatchObject({ status: 'failed', errorCode: 'entra_secret_invalid', added: 0 });
      expect(r.error).toMatch(/secret expired or wrong/);
      expect(r.error).toMatch(/AADSTS7000215/);
      graph.secretExpired = true;
      expect((await d.imports.run(s.a, s.integration.id)).error).toMatch(/secret expired or wrong.*AADSTS7000222/);
    } finally {
      graph.app.clientSecret = ENTRA_APP.clientSecret;
      graph.secretExpired = false;
    }
    expect(await count('members', s.org.id)).toBe(0);
    expect((await d.imports.get(s.a, s.integration.id)).lastRun).toMatchObject({ status: 'failed', errorCode: 'entra_secret_invalid' });
    // A new secret in Entra: the admin replaces it, the next run succeeds and says so in the audit trail.
    graph.app.clientSecret = 'renewed-secret';
    try {
      await d.imports.setClientSecret(s.a, s.integration.id, 'renewed-secret');
      expect(await d.imports.run(s.a, s.integration.id)).toMatchObject({ status: 'success', added: 3 });
    } finally {
      graph.app.clientSecret = ENTRA_APP.clientSecret;
    }
    expect((await d.audit.list(s.a, { actionPrefix: 'import.' })).map((e) => `${e.action}:${e.outcome}`).slice(0, 2)).toEqual(['import.run:success', 'import.secret:success']);
  });

  it('403: "missing GroupMember.Read.All / User.Read.All consent"', async () => {
    const s = await scene();
    graph.forbidden = true;
    try {
      const r = await d.imports.run(s.a, s.integration.id);
      expect(r).toMatchObject({ status: 'failed', errorCode: 'entra_consent_missing' });
      expect(r.error).toMatch(/missing GroupMember\.Read\.All \/ User\.Read\.All consent/);
    } finally {
      graph.forbidden = false;
    }
  });

  it('429: waits as Retry-After says, then goes on; gives up after the bounded retries', async () => {
    const s = await scene();
    graph.throttle = { times: 2, retryAfter: '3' };
    sleeps.length = 0;
    expect(await d.imports.run(s.a, s.integration.id)).toMatchObject({ status: 'success', added: 3 });
    expect(sleeps).toEqual([3000, 3000]);

    graph.throttle = { times: 10, retryAfter: '1' };
    try {
      const r = await d.imports.run(s.a, s.integration.id);
      expect(r).toMatchObject({ status: 'failed', errorCode: 'entra_throttled' });
      expect(r.error).toMatch(/429/);
      // A Retry-After longer than allowed ends the run at once instead of waiting.
      graph.throttle = { times: 1, retryAfter: '3600' };
      sleeps.length = 0;
      expect(await d.imports.run(s.a, s.integration.id)).toMatchObject({ status: 'failed', errorCode: 'entra_throttled' });
      expect(sleeps).toEqual([]);
    } finally {
      graph.throttle = { times: 0, retryAfter: '1' };
    }
  });

  it('a secret sealed with another master key is a clear error', async () => {
    const s = await scene();
    const otherKey = createDomain(t.database.db, 'another-master-secret-0123456789abcdef', undefined, {
      entraDirectory: entraDirectoryOn(graph),
    });
    expect(await otherKey.imports.run(s.a, s.integration.id)).toMatchObject({ status: 'failed', errorCode: 'import_secret_unreadable' });
    expect(await d.imports.run(s.a, s.integration.id)).toMatchObject({ status: 'success', added: 3 });
  });

  it('a group unknown to Entra is a clear error', async () => {
    const s = await scene();
    graph.groups.delete(s.entraGroupId);
    expect(await d.imports.run(s.a, s.integration.id)).toMatchObject({ status: 'failed', errorCode: 'entra_group_not_found' });
  });
});

describe('Entra group import: one run at a time', () => {
  it('a second run while one is in progress is skipped; Graph sees one run', async () => {
    const s = await scene({ users: 5 });
    graph.delayMs = 300;
    graph.resetCounters();
    try {
      const results = await Promise.all([d.imports.run(s.a, s.integration.id), d.imports.run(s.a, s.integration.id)]);
      expect(results.map((r) => r.status).sort()).toEqual(['skipped', 'success']);
      expect(results.find((r) => r.status === 'skipped')).toMatchObject({ skippedReason: 'already_running' });
      expect(graph.tokenRequests).toBe(1);
      expect(graph.maxInFlight).toBe(1);
    } finally {
      graph.delayMs = 0;
    }
  });

  it('a lease left by a crashed process expires and the next run takes over', async () => {
    const s = await scene();
    await d.db.sql.run(`update import_integrations set lease_token = $1, lease_until = now() - interval '1 second' where organization_id = $2 and id = $3`, [
      crypto.randomUUID(),
      s.org.id,
      s.integration.id,
    ]);
    expect(await d.imports.run(s.a, s.integration.id)).toMatchObject({ status: 'success', added: 3 });
  });

  it('scheduled runs skip paused integrations and those that ran recently; a manual run still runs', async () => {
    const s = await scene();
    await d.imports.pause(s.a, s.integration.id);
    expect((await d.imports.due(15)).map((x) => x.id)).not.toContain(s.integration.id);
    expect(await d.imports.runScheduled(s.org.id, s.integration.id, 15)).toMatchObject({ status: 'skipped', skippedReason: 'paused' });
    expect(await d.imports.run(s.a, s.integration.id)).toMatchObject({ status: 'success' });
    await d.imports.resume(s.a, s.integration.id);
    expect(await d.imports.runScheduled(s.org.id, s.integration.id, 15)).toMatchObject({ status: 'skipped', skippedReason: 'not_due' });
    expect((await d.imports.due(15)).map((x) => x.id)).not.toContain(s.integration.id);
    expect((await d.audit.list(s.a, { actionPrefix: 'import.' })).map((e) => e.action)).toEqual(expect.arrayContaining(['import.pause', 'import.resume']));
  });
});

describe('Entra group import: deleting an integration', () => {
  it('revokes its shares and deletes its group; the member profiles remain', async () => {
    const s = await scene({ users: 3 });
    await d.imports.run(s.a, s.integration.id);
    const members = (await d.members.list(s.a, { groupId: s.integration.groupId })).items;
    expect((await d.shares.list(s.a, { groupId: s.integration.groupId })).items).toHaveLength(1);
    await d.imports.delete(s.a, s.integration.id);
    await expect(d.imports.get(s.a, s.integration.id)).rejects.toMatchObject({ code: 'import_integration_not_found' });
    await expect(d.groups.get(s.a, s.integration.groupId)).rejects.toMatchObject({ code: 'group_not_found' });
    expect(await count('shares', s.org.id)).toBe(0);
    expect(await count('import_links', s.org.id)).toBe(0);
    for (const m of members) {
      expect(await d.members.get(s.a, m.id)).toMatchObject({ id: m.id, source: 'import' });
      expect(await d.access.canAccess(s.a, m.id, s.lock.id)).toMatchObject({ allowed: false });
    }
    expect((await d.audit.list(s.a, { limit: 10 })).map((e) => e.action)).toEqual(expect.arrayContaining(['import.delete', 'share.revoke', 'group.delete']));
  });

  it('the imported group takes no manual membership edits', async () => {
    const s = await scene();
    const m = await buildMember(d, s.a);
    const key = await d.apiKeys.create(s.a, { name: 'app', role: 'admin' });
    const appActor: Actor = { kind: 'api_key', organizationId: s.org.id, id: key.apiKey.id, label: 'app', role: 'admin' };
    await expect(d.groups.update(appActor, s.integration.groupId, { addMembers: [m.id] })).rejects.toMatchObject({ code: 'group_managed_by_import' });
  });
});

describe('Entra group import: administration and tenant isolation', () => {
  it('only administrators set integrations up; bad input is refused clearly', async () => {
    const org = await buildOrg(d);
    const base = { name: 'x', ...ENTRA_APP, entraGroupId: crypto.randomUUID() };
    const reader: Actor = { kind: 'api_key', organizationId: org.id, id: crypto.randomUUID(), label: 'r', role: 'reader' };
    await expect(d.imports.create(reader, base)).rejects.toMatchObject({ kind: 'forbidden' });
    await expect(d.imports.list(reader)).rejects.toMatchObject({ kind: 'forbidden' });
    await expect(d.imports.create(org.actor, { ...base, entraGroupId: 'not-a-guid' })).rejects.toMatchObject({ kind: 'invalid', field: 'entraGroupId' });
    await expect(d.imports.create(org.actor, { ...base, tenantId: '../evil' })).rejects.toMatchObject({ kind: 'invalid', field: 'tenantId' });
    await expect(d.imports.create(org.actor, { ...base, identifier: 'email' as 'mail' })).rejects.toMatchObject({ kind: 'invalid' });
    await expect(d.imports.create(org.actor, { ...base, mode: 'grant_shares' })).rejects.toMatchObject({ code: 'targets_required' });
    await expect(d.imports.create(org.actor, { ...base, targets: [{ placeId: crypto.randomUUID() }] })).rejects.toMatchObject({ kind: 'not_found' });
    await d.imports.create(org.actor, base);
    await expect(d.imports.create(org.actor, { ...base, name: 'X' })).rejects.toMatchObject({ code: 'import_name_taken' });
    expect(await d.imports.list(org.actor)).toHaveLength(1);
    expect(await count('groups', org.id)).toBe(1);
  });

  it('one organisation never sees, runs or deletes another organisation\'s integration', async () => {
    const s = await scene({ users: 2 });
    const other = await buildOrg(d);
    await expect(d.imports.get(other.actor, s.integration.id)).rejects.toMatchObject({ kind: 'not_found' });
    await expect(d.imports.run(other.actor, s.integration.id)).rejects.toMatchObject({ kind: 'not_found' });
    await expect(d.imports.pause(other.actor, s.integration.id)).rejects.toMatchObject({ kind: 'not_found' });
    await expect(d.imports.delete(other.actor, s.integration.id)).rejects.toMatchObject({ kind: 'not_found' });
    expect(await d.imports.list(other.actor)).toEqual([]);

    // The same Entra group imported by both: separate members per organisation.
    const mine = await d.imports.create(other.actor, { name: 'same group', ...ENTRA_APP, entraGroupId: s.entraGroupId });
    await d.imports.run(s.a, s.integration.id);
    expect(await d.imports.run(other.actor, mine.id)).toMatchObject({ created: 2 });
    expect(await count('members', other.id)).toBe(2);
    expect(await count('members', s.org.id)).toBe(2);
    expect(await d.imports.get(s.a, s.integration.id)).toMatchObject({ id: s.integration.id });
  });
});
