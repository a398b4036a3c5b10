// RFC 7644 filters (every operator, and/or/not, grouping, value paths) and
// PATCH forms (add/replace/remove, with and without paths and value filters).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from '../setup/test-db.js';
import { parseFilter, parsePatchPath } from '../../src/scim/filter.js';
import { ENTERPRISE, patchOp, scimOrg, startServer, type ScimClient, type ScimServer } from './scim-client.js';

let t: TestDb;
let server: ScimServer;
let scim: ScimClient;
const id: Record<string, string> = {};

beforeAll(async () => {
  t = await createTestDb();
  server = await startServer(t);
  const org = await scimOrg(t, server);
  scim = org.scim;
  const users = [
    { userName: 'Alice@Example.com', externalId: 'ext-A', displayName: 'Alice Smith', title: 'Engineer', active: true, emails: [{ value: 'alice@work.example', type: 'work', primary: true }, { value: 'alice@home.example', type: 'home' }], [ENTERPRISE]: { department: 'R&D' }, metadata: { city: 'Berlin' } },
    { userName: 'bob@example.com', externalId: 'ext-b', displayName: 'Bob Jones', active: false, emails: [{ value: 'bob@x.example', type: 'work' }], phoneNumbers: [{ value: '+49 30 1', type: 'mobile' }] },
    { userName: 'carol@other.org', displayName: 'Carol', title: 'Manager', active: true, name: { givenName: 'Carol', familyName: 'Zed' } },
  ];
  for (const u of users) {
    const r = await scim.post('/Users', u);
    expect(r.status).toBe(201);
    id[u.userName.split('@')[0]!.toLowerCase()] = r.body.id;
  }
  const g = await scim.post('/Groups', { displayName: 'Staff', externalId: 'G-1', members: [{ value: id.alice }, { value: id.bob }] });
  id.staff = g.body.id;
  await scim.post('/Groups', { displayName: 'Empty' });
});
afterAll(async () => {
  await server.close();
  await t.close();
});

async function users(filter: string): Promise<string[]> {
  const r = await scim.filter('Users', filter, '&sortBy=userName');
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.Resources.map((u: { userName: string }) => u.userName.split('@')[0]!.toLowerCase());
}

describe('filter grammar', () => {
  it('parses precedence: not > and > or', () => {
    expect(parseFilter('a eq 1 or b eq 2 and not (c pr)')).toEqual({
      type: 'or',
      left: { type: 'compare', path: { attr: 'a' }, op: 'eq', value: 1 },
      right: { type: 'and', left: { type: 'compare', path: { attr: 'b' }, op: 'eq', value: 2 }, right: { type: 'not', filter: { type: 'present', path: { attr: 'c' } } } },
    });
    expect(parseFilter('emails[type eq "work"].value eq "x"')).toMatchObject({ type: 'valuePath', path: { attr: 'emails' } });
    expect(parsePatchPath('members[value eq "1"]')).toMatchObject({ attr: 'members', filter: { type: 'compare' } });
    expect(parsePatchPath(`${ENTERPRISE}:manager`)).toEqual({ uri: ENTERPRISE, attr: 'manager' });
    expect(parsePatchPath('emails[type eq "work"].value')).toMatchObject({ attr: 'emails', sub: 'value' });
  });

  it.each(['userName eq', 'userName xx "a"', '(userName eq "a"', 'userName eq "a" and', 'emails[type eq "w"', 'userName eq unquoted', '"a" eq userName', 'userName eq "a" )', ''])(
    'rejects %j with 400 invalidFilter',
    async (f) => {
      const r = await scim.get(`/Users?filter=${encodeURIComponent(f)}`);
      if (f === '') {
        expect(r.status).toBe(200); // an empty filter is no filter
        return;
      }
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({ status: '400', scimType: 'invalidFilter' });
    },
  );

  it('rejects unknown attributes and wrong operand types with invalidFilter', async () => {
    for (const f of ['nosuch eq "x"', 'name eq "x"', 'active gt true', 'active eq "maybe"', 'meta.created eq "yesterday"', 'emails[nosuch eq "x"]', 'userName.sub eq "x"']) {
      const r = await scim.filter('Users', f);
      expect(r.status, f).toBe(400);
      expect(r.body.scimType, f).toBe('invalidFilter');
    }
    expect((await scim.filter('Groups', 'nosuch eq "x"')).body.scimType).toBe('invalidFilter');
  });

  it('supports every comparison operator, case-insensitive where the schema says so', async () => {
    expect(await users('userName eq "alice@example.com"')).toEqual(['alice']);
    expect(await users('userName ne "alice@example.com"')).toEqual(['bob', 'carol']);
    expect(await users('userName co "EXAMPLE"')).toEqual(['alice', 'bob']);
    expect(await users('userName sw "Car"')).toEqual(['carol']);
    expect(await users('userName ew ".ORG"')).toEqual(['carol']);
    expect(await users('userName gt "bob@example.com"')).toEqual(['carol']);
    expect(await users('userName ge "bob@example.com"')).toEqual(['bob', 'carol']);
    expect(await users('userName lt "bob@example.com"')).toEqual(['alice']);
    expect(await users('userName le "bob@example.com"')).toEqual(['alice', 'bob']);
    expect(await users('title pr')).toEqual(['alice', 'carol']);
    expect(await users('externalId eq "ext-a"')).toEqual([]); // caseExact
    expect(await users('externalId eq "ext-A"')).toEqual(['alice']);
    expect(await users('active eq false')).toEqual(['bob']);
    expect(await users('active eq "True"')).toEqual(['alice', 'carol']);
    expect(await users(`id eq "${id.carol}"`)).toEqual(['carol']);
    expect(await users('id eq "not-a-uuid"')).toEqual([]);
    expect(await users('meta.created gt "2000-01-01T00:00:00Z"')).toEqual(['alice', 'bob', 'carol']);
    expect(await users('meta.lastModified lt "2000-01-01T00:00:00Z"')).toEqual([]);
    expect(await users('title eq null')).toEqual(['bob']);
  });

  it('combines with and, or, not and parentheses; value paths and multi-valued attributes', async () => {
    expect(await users('title pr and (userName sw "a" or userName sw "c")')).toEqual(['alice', 'carol']);
    expect(await users('not (title pr)')).toEqual(['bob']);
    expect(await users('not (title eq "Engineer") and active eq true')).toEqual(['carol']);
    expect(await users('emails[type eq "work" and value co "@work."]')).toEqual(['alice']);
    expect(await users('emails[type eq "home"]')).toEqual(['alice']);
    expect(await users('emails co "x.example"')).toEqual(['bob']);
    expect(await users('emails.type eq "work"')).toEqual(['alice', 'bob']);
    expect(await users('emails[primary eq true]')).toEqual(['alice']);
    expect(await users('emails pr')).toEqual(['alice', 'bob']);
    expect(await users('phoneNumbers[type eq "mobile"].value sw "+49"')).toEqual(['bob']);
    expect(await users('name.familyName eq "zed"')).toEqual(['carol']);
    expect(await users(`${ENTERPRISE}:department eq "r&d"`)).toEqual(['alice']);
    expect(await users('metadata.city eq "berlin"')).toEqual(['alice']);
    expect(await users(`groups.value eq "${id.staff}"`)).toEqual(['alice', 'bob']);
    expect(await users('USERNAME EQ "BOB@EXAMPLE.COM"')).toEqual(['bob']);
  });

  it('filters groups by displayName, externalId and members without loading them', async () => {
    const g = async (f: string) => (await scim.filter('Groups', f, '&excludedAttributes=members')).body.Resources.map((x: { displayName: string }) => x.displayName);
    expect(await g('displayName eq "staff"')).toEqual(['Staff']);
    expect(await g('externalId eq "G-1"')).toEqual(['Staff']);
    expect(await g(`members[value eq "${id.alice}"]`)).toEqual(['Staff']);
    expect(await g(`members.value eq "${id.carol}"`)).toEqual([]);
    expect(await g('not (members pr)')).toEqual(['Empty']);
  });
});

describe('listing', () => {
  it('pages with startIndex and count, sorts, and projects attributes', async () => {
    const p1 = await scim.get('/Users?startIndex=0&count=2&sortBy=userName&sortOrder=descending');
    expect(p1.body).toMatchObject({ totalResults: 3, startIndex: 1, itemsPerPage: 2 });
    expect(p1.body.Resources.map((u: { userName: string }) => u.userName)).toEqual(['carol@other.org', 'bob@example.com']);
    const p2 = await scim.get('/Users?startIndex=3&count=2&sortBy=userName&sortOrder=descending');
    expect(p2.body.Resources.map((u: { userName: string }) => u.userName)).toEqual(['Alice@Example.com']);
    const none = await scim.get('/Users?startIndex=10&count=2');
    expect(none.body).toMatchObject({ totalResults: 3, itemsPerPage: 0, Resources: [] });
    const zero = await scim.get('/Users?count=-5');
    expect(zero.body).toMatchObject({ totalResults: 3, itemsPerPage: 0 });
    const proj = await scim.get(`/Users/${id.alice}?attributes=userName,name.givenName,${ENTERPRISE}:department`);
    expect(Object.keys(proj.body).sort()).toEqual([ENTERPRISE, 'id', 'schemas', 'userName'].sort());
    expect(proj.body[ENTERPRISE]).toEqual({ department: 'R&D' });
    const ex = await scim.get(`/Users/${id.alice}?excludedAttributes=emails,meta`);
    expect(ex.body.emails).toBeUndefined();
    expect(ex.body.meta).toBeUndefined();
    expect(ex.body.userName).toBe('Alice@Example.com');
    const groups = await scim.get('/Groups?attributes=displayName&sortBy=displayName');
    expect(groups.body.Resources).toEqual([expect.objectContaining({ displayName: 'Empty' }), expect.objectContaining({ displayName: 'Staff' })]);
    expect(groups.body.Resources[1].members).toBeUndefined();
    const withMembers = await scim.get('/Groups?sortBy=displayName');
    expect(withMembers.body.Resources[1].members).toHaveLength(2);
    expect(withMembers.body.Resources[0]).not.toHaveProperty('members');
  });

  it('serves discovery that tells the truth', async () => {
    const spc = await scim.get('/ServiceProviderConfig');
    expect(spc.body).toMatchObject({ patch: { supported: true }, bulk: { supported: false }, filter: { supported: true, maxResults: 1000 }, sort: { supported: true } });
    const rt = await scim.get('/ResourceTypes');
    expect(rt.body.Resources.map((r: { endpoint: string }) => r.endpoint)).toEqual(['/Users', '/Groups']);
    expect((await scim.get(`/Schemas/${ENTERPRISE}`)).body.name).toBe('EnterpriseUser');
  });
});

describe('PATCH forms', () => {
  async function fresh(extra: Record<string, unknown> = {}) {
    const r = await scim.post('/Users', { userName: `p${Math.random().toString(36).slice(2)}@x.test`, emails: [{ value: 'w@x.test', type: 'work' }], ...extra });
    expect(r.status).toBe(201);
    return r.body.id as string;
  }
  const patch = (uid: string, ...ops: Record<string, unknown>[]) => scim.patch(`/Users/${uid}`, patchOp(...ops));

  it('add, replace and remove single-valued and complex attributes', async () => {
    const u = await fresh();
    expect((await patch(u, { op: 'add', path: 'nickName', value: 'Babs' })).body.nickName).toBe('Babs');
    expect((await patch(u, { op: 'replace', path: 'nickName', value: 'B' })).body.nickName).toBe('B');
    expect((await patch(u, { op: 'remove', path: 'nickName' })).body.nickName).toBeUndefined();
    const n = await patch(u, { op: 'add', path: 'name', value: { givenName: 'G', familyName: 'F' } }, { op: 'replace', path: 'name', value: { familyName: 'F2' } });
    expect(n.body.name).toEqual({ givenName: 'G', familyName: 'F2' });
    expect((await patch(u, { op: 'remove', path: 'name.givenName' })).body.name).toEqual({ familyName: 'F2' });
    const pathless = await patch(u, { op: 'add', value: { title: 'T', 'NAME.GIVENNAME': 'Gee', metadata: { floor: 2 } } });
    expect(pathless.body).toMatchObject({ title: 'T', name: { givenName: 'Gee' }, metadata: { floor: 2 } });
    expect((await patch(u, { op: 'replace', path: 'userName', value: 'renamed@x.test' })).body.userName).toBe('renamed@x.test');
  });

  it('multi-valued: add appends, replace swaps, filters target entries, remove by filter', async () => {
    const u = await fresh();
    let r = await patch(u, { op: 'add', path: 'emails', value: [{ value: 'h@x.test', type: 'home' }] });
    expect(r.body.emails).toEqual([{ value: 'w@x.test', type: 'work' }, { value: 'h@x.test', type: 'home' }]);
    r = await patch(u, { op: 'replace', path: 'emails[type eq "home"].value', value: 'h2@x.test' });
    expect(r.body.emails[1]).toEqual({ value: 'h2@x.test', type: 'home' });
    r = await patch(u, { op: 'replace', path: 'emails[type eq "work"]', value: { primary: 'True' } });
    expect(r.body.emails[0]).toEqual({ value: 'w@x.test', type: 'work', primary: true });
    r = await patch(u, { op: 'remove', path: 'emails[type eq "home"]' });
    expect(r.body.emails).toEqual([{ value: 'w@x.test', type: 'work', primary: true }]);
    r = await patch(u, { op: 'add', path: 'phoneNumbers[type eq "mobile"].value', value: '+1' });
    expect(r.body.phoneNumbers).toEqual([{ type: 'mobile', value: '+1' }]);
    r = await patch(u, { op: 'replace', path: 'emails', value: [{ value: 'only@x.test' }] });
    expect(r.body.emails).toEqual([{ value: 'only@x.test' }]);
    r = await patch(u, { op: 'remove', path: 'emails' });
    expect(r.body.emails).toBeUndefined();
    const nt = await patch(u, { op: 'replace', path: 'emails[value co "zzz"].display', value: 'x' });
    expect(nt.status).toBe(400);
    expect(nt.body.scimType).toBe('noTarget');
  });

  it('is atomic: a failing operation leaves every earlier one unapplied', async () => {
    const u = await fresh({ title: 'Before' });
    const r = await patch(u, { op: 'replace', path: 'title', value: 'After' }, { op: 'replace', path: 'active', value: 'maybe' });
    expect(r.status).toBe(400);
    expect(r.body.scimType).toBe('invalidValue');
    expect((await scim.get(`/Users/${u}`)).body.title).toBe('Before');
  });

  it('groups: replace members, remove all, path-less replace', async () => {
    const a = await fresh();
    const b = await fresh();
    const g = (await scim.post('/Groups', { displayName: `g-${a}` })).body.id;
    const members = async () => ((await scim.get(`/Groups/${g}`)).body.members ?? []).map((m: { value: string }) => m.value).sort();
    expect((await scim.patch(`/Groups/${g}`, patchOp({ op: 'add', value: { members: [{ value: a }, { value: b }] } }))).status).toBe(204);
    expect(await members()).toEqual([a, b].sort());
    await scim.patch(`/Groups/${g}`, patchOp({ op: 'replace', path: 'members', value: [{ value: b }] }));
    expect(await members()).toEqual([b]);
    await scim.patch(`/Groups/${g}`, patchOp({ op: 'remove', path: 'members' }));
    expect(await members()).toEqual([]);
    await scim.patch(`/Groups/${g}`, patchOp({ op: 'replace', value: { displayName: `renamed-${a}`, externalId: 'E' } }));
    expect((await scim.get(`/Groups/${g}?excludedAttributes=members`)).body).toMatchObject({ displayName: `renamed-${a}`, externalId: 'E' });
    // add then remove in one PATCH: the net change is nothing.
    await scim.patch(`/Groups/${g}`, patchOp({ op: 'add', path: 'members', value: [{ value: a }] }, { op: 'remove', path: `members[value eq "${a}"]` }));
    expect(await members()).toEqual([]);
    // An unknown member fails the whole PATCH.
    const bad = await scim.patch(`/Groups/${g}`, patchOp({ op: 'add', path: 'members', value: [{ value: a }, { value: '00000000-0000-4000-8000-000000000000' }] }));
    expect(bad.status).toBe(400);
    expect(await members()).toEqual([]);
  });
});
