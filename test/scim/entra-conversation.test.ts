// Replays what Microsoft Entra's provisioning service sends (../shared/entra-scim.md):
// Test Connection, the initial cycle (users then groups), incremental PATCHes,
// deactivation, hard delete and provision on demand.
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { TestDb } from '../setup/test-db.js';
import { buildLock } from '../factories/index.js';
import { ENTERPRISE, entraUser, patchOp, PUBLIC_URL, scimOrg, scimSuite, type ScimServer } from './scim-client.js';

let t: TestDb;
let server: ScimServer;
scimSuite((s) => ({ t, server } = s));

describe('an Entra provisioning job', () => {
  it('passes Test Connection with a random GUID: 200 and an empty ListResponse', async () => {
    const { scim } = await scimOrg(t, server);
    const guid = crypto.randomUUID();
    const r = await scim.filter('Users', `userName eq "${guid}"`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^application\/scim\+json/);
    expect(r.body).toEqual({ schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: 0, startIndex: 1, itemsPerPage: 0, Resources: [] });
    const g = await scim.filter('Groups', `displayName eq "${guid}"`, '&excludedAttributes=members');
    expect(g.status).toBe(200);
    expect(g.body.totalResults).toBe(0);
    const s = await scim.get('/Schemas');
    expect(s.status).toBe(200);
    expect(s.body.Resources.map((x: { id: string }) => x.id)).toContain(ENTERPRISE);
  });

  it('runs the initial cycle, incremental updates, deactivation and delete', async () => {
    const org = await scimOrg(t, server);
    const { scim } = org;
    const upns = ['ada.lovelace@contoso.com', 'alan.turing@contoso.com', 'grace.hopper@contoso.com'];
    const ids: string[] = [];
    for (const upn of upns) {
      const q = await scim.filter('Users', `userName eq "${upn}"`);
      expect(q.body.totalResults).toBe(0);
      const c = await scim.post('/Users', entraUser(upn, { [ENTERPRISE]: { department: 'Research', employeeNumber: '7' }, 'metadata.city': 'London' }));
      expect(c.status).toBe(201);
      expect(c.headers.get('location')).toBe(`${PUBLIC_URL}/scim/v2/Users/${c.body.id}`);
      expect(c.body).toMatchObject({ userName: upn, active: true, metadata: { city: 'London' }, [ENTERPRISE]: { department: 'Research' } });
      expect(c.body.meta).toMatchObject({ resourceType: 'User', location: `${PUBLIC_URL}/scim/v2/Users/${c.body.id}`, version: 'W/"1"' });
      ids.push(c.body.id);
    }
    // Matching the second time finds the user (any case), and by externalId.
    const again = await scim.filter('Users', `userName eq "ADA.LOVELACE@contoso.com"`);
    expect(again.body.totalResults).toBe(1);
    expect(again.body.Resources[0].id).toBe(ids[0]);
    expect((await scim.filter('Users', 'externalId eq "alan.turing"')).body.Resources[0].id).toBe(ids[1]);
    expect((await scim.filter('Users', 'externalId eq "ALAN.TURING"')).body.totalResults).toBe(0); // caseExact
    expect((await scim.filter('Users', 'emails[type eq "work"].value eq "grace.hopper@contoso.com"')).body.Resources[0].id).toBe(ids[2]);

    // Manager reference in a later PATCH.
    const mgr = await scim.patch(`/Users/${ids[1]}`, patchOp({ op: 'Add', path: 'manager', value: [{ $ref: null, value: ids[0] }] }));
    expect(mgr.status).toBe(200);
    expect(mgr.body[ENTERPRISE].manager.value).toBe(ids[0]);

    // Groups after users.
    const gq = await scim.filter('Groups', 'displayName eq "Engineers"', '&excludedAttributes=members');
    expect(gq.body.totalResults).toBe(0);
    const g = await scim.post('/Groups', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group', 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group'],
      externalId: crypto.randomUUID(),
      displayName: 'Engineers',
      meta: { resourceType: 'Group' },
      members: [],
    });
    expect(g.status).toBe(201);
    const add = await scim.patch(`/Groups/${g.body.id}`, patchOp({ op: 'Add', path: 'members', value: ids.map((id) => ({ $ref: null, value: id })) }));
    expect(add.status).toBe(204);
    const full = await scim.get(`/Groups/${g.body.id}`);
    expect(full.body.members.map((m: { value: string }) => m.value).sort()).toEqual([...ids].sort());
    const lean = await scim.get(`/Groups/${g.body.id}?excludedAttributes=members`);
    expect(lean.body.members).toBeUndefined();
    expect(lean.body.displayName).toBe('Engineers');

    // Group grants access to a door.
    const lock = await buildLock(t.domain, org.actor);
    await t.domain.shares.grant(org.actor, { groupId: g.body.id, lockId: lock.id });
    expect(await t.domain.access.canAccess(org.actor, ids[2]!, lock.id)).toMatchObject({ allowed: true });

    // Incremental: one Replace per attribute (default dialect) and a path-less replace (compliant dialect).
    const inc = await scim.patch(
      `/Users/${ids[2]}`,
      patchOp(
        { op: 'Replace', path: 'displayName', value: 'Rear Admiral Hopper' },
        { op: 'Replace', path: 'name.familyName', value: 'Hopper-Murray' },
        { op: 'Replace', path: 'emails[type eq "work"].value', value: 'grace@contoso.com' },
        { op: 'Replace', path: `${ENTERPRISE}:employeeNumber`, value: '42' },
        { op: 'Add', path: 'phoneNumbers[type eq "work"].value', value: '+1 555 0100' },
        { op: 'Replace', path: 'metadata.city', value: 'Arlington' },
      ),
    );
    expect(inc.status).toBe(200);
    expect(inc.body).toMatchObject({
      displayName: 'Rear Admiral Hopper',
      name: { familyName: 'Hopper-Murray', givenName: 'grace' },
      emails: [{ type: 'work', value: 'grace@contoso.com', primary: true }],
      phoneNumbers: [{ type: 'work', value: '+1 555 0100' }],
      metadata: { city: 'Arlington' },
      [ENTERPRISE]: { employeeNumber: '42', department: 'Research' },
    });
    const pathless = await scim.patch(
      `/Users/${ids[2]}`,
      patchOp({ op: 'replace', value: { displayName: 'Grace', 'name.givenName': 'Grace', [`${ENTERPRISE}:department`]: 'Navy', 'metadata.city': 'NYC' } }),
    );
    expect(pathless.body).toMatchObject({ displayName: 'Grace', name: { givenName: 'Grace' }, metadata: { city: 'NYC' }, [ENTERPRISE]: { department: 'Navy' } });

    // Unassigned: active "False" keeps the member and its memberships, ends access and sessions.
    await t.domain.sessions.start(org.id, ids[2]!);
    expect(await t.domain.db.sql.all(`select 1 from sessions where organization_id = $1 and member_id = $2`, [org.id, ids[2]!])).toHaveLength(1);
    const off = await scim.patch(`/Users/${ids[2]}`, patchOp({ op: 'Replace', path: 'active', value: 'False' }));
    expect(off.status).toBe(200);
    expect(off.body.active).toBe(false);
    expect((await scim.get(`/Users/${ids[2]}`)).status).toBe(200);
    expect((await scim.filter('Users', `userName eq "${upns[2]}"`)).body.totalResults).toBe(1);
    expect(await t.domain.access.canAccess(org.actor, ids[2]!, lock.id)).toMatchObject({ allowed: false, reason: 'member_inactive' });
    const sessions = await t.domain.db.sql.all(`select 1 from sessions where organization_id = $1 and member_id = $2`, [org.id, ids[2]!]);
    expect(sessions).toHaveLength(0);
    // Re-enabled: group-based access comes back.
    const on = await scim.patch(`/Users/${ids[2]}`, patchOp({ op: 'Replace', path: 'active', value: 'True' }));
    expect(on.body.active).toBe(true);
    expect(await t.domain.access.canAccess(org.actor, ids[2]!, lock.id)).toMatchObject({ allowed: true });

    // Membership changes in both dialects; removing an absent member and re-adding a present one succeed.
    expect((await scim.patch(`/Groups/${g.body.id}`, patchOp({ op: 'Remove', path: 'members', value: [{ $ref: null, value: ids[0] }] }))).status).toBe(204);
    expect((await scim.patch(`/Groups/${g.body.id}`, patchOp({ op: 'remove', path: `members[value eq "${ids[1]}"]` }))).status).toBe(204);
    expect((await scim.patch(`/Groups/${g.body.id}`, patchOp({ op: 'Remove', path: 'members', value: [{ value: ids[1] }] }))).status).toBe(204);
    expect((await scim.patch(`/Groups/${g.body.id}`, patchOp({ op: 'Add', path: 'members', value: [{ value: ids[2] }] }))).status).toBe(204);
    expect((await scim.get(`/Groups/${g.body.id}`)).body.members.map((m: { value: string }) => m.value)).toEqual([ids[2]]);
    expect((await scim.patch(`/Groups/${g.body.id}`, patchOp({ op: 'Replace', path: 'displayName', value: 'Engineering' }))).status).toBe(204);
    expect((await scim.get(`/Groups/${g.body.id}?excludedAttributes=members`)).body.displayName).toBe('Engineering');

    // Hard delete: the member goes with its memberships and shares.
    await t.domain.shares.grant(org.actor, { memberId: ids[2]!, lockId: lock.id });
    expect((await scim.delete(`/Users/${ids[2]}`)).status).toBe(204);
    expect((await scim.get(`/Users/${ids[2]}`)).status).toBe(404);
    const left = await t.domain.db.sql.all(
      `select 1 from group_members where organization_id = $1 and member_id = $2 union all select 1 from shares where organization_id = $3 and member_id = $4`,
      [org.id, ids[2]!, org.id, ids[2]!],
    );
    expect(left).toHaveLength(0);
    expect((await scim.delete(`/Groups/${g.body.id}`)).status).toBe(204);
    expect((await scim.get(`/Groups/${g.body.id}`)).status).toBe(404);

    // The provisioning log has every change, newest first.
    const log = await t.domain.audit.list(org.actor, { actionPrefix: 'scim.', limit: 100 });
    const actions = log.map((e) => e.action);
    expect(actions[0]).toBe('scim.group.delete');
    expect(actions).toContain('scim.user.create');
    expect(actions).toContain('scim.group.patch');
    const deactivation = log.find((e) => e.action === 'scim.user.patch' && JSON.stringify(e.detail).includes('"False"'));
    expect(deactivation?.resourceLabel).toBe(upns[2]);
  });

  it('provisions one user on demand: match by userName, create, then update on a second run', async () => {
    const { scim } = await scimOrg(t, server);
    const upn = 'on.demand@contoso.com';
    expect((await scim.filter('Users', `userName eq "${upn}"`)).body.totalResults).toBe(0);
    const c = await scim.post('/Users', entraUser(upn, { active: 'True' }));
    expect(c.status).toBe(201);
    expect(c.body.active).toBe(true);
    const found = await scim.filter('Users', `userName eq "${upn}"`);
    expect(found.body.Resources[0].id).toBe(c.body.id);
    const u = await scim.patch(`/Users/${c.body.id}`, patchOp({ op: 'Replace', path: 'title', value: 'Engineer' }));
    expect(u.body.title).toBe('Engineer');
    expect(u.body.meta.version).toBe('W/"2"');
  });

  it('stores custom extension attributes under their URN even when schemas omits it', async () => {
    const { scim } = await scimOrg(t, server);
    const URN = 'urn:ietf:params:scim:schemas:extension:Contoso:2.0:User';
    const c = await scim.post('/Users', { ...entraUser('ext.user@contoso.com'), [URN]: { badge: 'B-17' }, [`${URN}:metadata.floor`]: '3' });
    expect(c.status).toBe(201);
    expect(c.body[URN]).toEqual({ badge: 'B-17' });
    expect(c.body.schemas).toContain(URN);
    expect(c.body.metadata).toEqual({ floor: '3' });
    const p = await scim.patch(`/Users/${c.body.id}`, patchOp({ op: 'Add', path: `${URN}:costCode`, value: 'CC-1' }, { op: 'Replace', path: `${URN}:metadata.city`, value: 'Oslo' }));
    expect(p.body[URN]).toEqual({ badge: 'B-17', costCode: 'CC-1' });
    expect(p.body.metadata).toEqual({ floor: '3', city: 'Oslo' });
    expect((await scim.filter('Users', `${URN}:badge eq "b-17"`)).body.totalResults).toBe(1);
    expect((await scim.filter('Users', 'metadata.city eq "oslo"')).body.totalResults).toBe(1);
  });
});
