// Scale properties: a membership batch costs a constant number of statements
// whatever the group's size, and a big group's members stream page by page.
import { describe, expect, it } from 'vitest';
import type { TestDb } from '../setup/test-db.js';
import { countStatements } from '../../src/infra/postgres/statement-count.js';
import { patchOp, scimOrg, scimSuite, type ScimServer } from './scim-client.js';

let t: TestDb;
let server: ScimServer;
scimSuite((s) => ({ t, server } = s));

async function seedMembers(orgId: string, n: number, prefix: string): Promise<string[]> {
  const rows = await t.domain.db.sql.all<{ id: string }>(
    `insert into members (organization_id, id, user_name, source) select $1, gen_random_uuid(), $2 || i || '@x.test', 'scim' from generate_series(1, $3::int) i returning id`,
    [orgId, prefix, n],
  );
  return rows.map((r) => r.id);
}

describe('group membership at scale', () => {
  it('adds and removes a batch in one statement, audited with the access feed, whatever the size', async () => {
    const org = await scimOrg(t, server);
    const ids = await seedMembers(org.id, 600, 'batch');
    const g = await t.domain.groups.create(org.actor, { displayName: 'Big' });
    const one = await countStatements(() => t.domain.groups.update(org.actor, g.id, { addMembers: ids.slice(0, 1) }));
    const many = await countStatements(() => t.domain.groups.update(org.actor, g.id, { addMembers: ids.slice(1, 500) }));
    const removal = await countStatements(() => t.domain.groups.update(org.actor, g.id, { removeMembers: ids.slice(0, 250), addMembers: ids.slice(500) }));
    expect(one.statements).toBe(1);
    expect(many.statements).toBe(one.statements);
    expect(removal.statements).toBe(one.statements);
    const count = await t.domain.db.sql.one<{ n: number }>(`select count(*)::int as n from group_members where organization_id = $1 and group_id = $2`, [org.id, g.id]);
    expect(count.n).toBe(350);
    const feed = await t.domain.db.sql.one<{ added: number; removed: number }>(
      `select count(*) filter (where kind = 'group_member_added')::int as added, count(*) filter (where kind = 'group_member_removed')::int as removed
       from access_changes where organization_id = $1 and group_id = $2`,
      [org.id, g.id],
    );
    expect(feed).toEqual({ added: 600, removed: 250 });
    const [last] = await t.domain.audit.list(org.actor, { resourceId: g.id, limit: 1 });
    expect(last!.detail).toMatchObject({ membersAdded: 100, membersRemoved: 250 });
    expect(last!.resourceLabel).toBe('Big');
    expect((await t.domain.groups.get(org.actor, g.id)).version).toBe(4);
  });

  it('writes nothing when a member is unknown or the actor may not edit a SCIM group', async () => {
    const org = await scimOrg(t, server);
    const ids = await seedMembers(org.id, 3, 'guard');
    const scimActor = await t.domain.organizations.authenticateScim(org.token);
    const g = await t.domain.groups.create(scimActor, { displayName: 'Guarded' });
    const before = await t.domain.db.sql.one<{ n: number }>(`select count(*)::int as n from audit_events where organization_id = $1`, [org.id]);
    await expect(t.domain.groups.update(scimActor, g.id, { addMembers: [ids[0]!, '00000000-0000-4000-8000-000000000000'] })).rejects.toMatchObject({ code: 'unknown_member' });
    const key = await t.domain.apiKeys.create(org.actor, { name: 'app', role: 'admin' });
    const appActor = await t.domain.apiKeys.authenticate(key.key);
    await expect(t.domain.groups.update(appActor, g.id, { addMembers: [ids[1]!] })).rejects.toMatchObject({ kind: 'forbidden', code: 'group_managed_by_scim' });
    await expect(t.domain.groups.update(scimActor, '00000000-0000-4000-8000-000000000000', { removeMembers: [ids[1]!] })).rejects.toMatchObject({ kind: 'not_found' });
    const after = await t.domain.db.sql.one<{ n: number }>(`select count(*)::int as n from audit_events where organization_id = $1`, [org.id]);
    expect(after.n).toBe(before.n + 1); // the API key's creation only
    expect((await t.domain.groups.get(org.actor, g.id)).version).toBe(1);
    expect(await t.domain.groups.members(org.actor, g.id)).toEqual([]);
    await t.domain.groups.update(scimActor, g.id, { addMembers: ids });
    expect(await t.domain.groups.members(org.actor, g.id)).toHaveLength(3);
  });

  it('streams a 12,000-member group across pages, and omits them with excludedAttributes=members', async () => {
    const org = await scimOrg(t, server);
    const ids = await seedMembers(org.id, 12_000, 'stream');
    const g = (await org.scim.post('/Groups', { displayName: 'Huge' })).body.id as string;
    for (let k = 0; k < ids.length; k += 4000) {
      expect((await org.scim.patch(`/Groups/${g}`, patchOp({ op: 'Add', path: 'members', value: ids.slice(k, k + 4000).map((value) => ({ value })) }))).status).toBe(204);
    }
    const full = await org.scim.get(`/Groups/${g}`);
    expect(full.status).toBe(200);
    expect(full.body.members).toHaveLength(12_000);
    expect(new Set(full.body.members.map((m: { value: string }) => m.value))).toEqual(new Set(ids));
    const lean = await org.scim.get(`/Groups/${g}?excludedAttributes=members`);
    expect(lean.text.length).toBeLessThan(1000);
    const list = await org.scim.get(`/Groups?filter=${encodeURIComponent('displayName eq "Huge"')}`);
    expect(list.body.Resources[0].members).toHaveLength(12_000);
    // 12,000 members seeded and added: about 20 s when the whole suite runs on two cores.
  }, 120_000);
});
