// What independent SCIM implementations (a compliance suite, a client library)
// found: a /Schemas a generic client can read (RFC 7643 §7), User.groups
// returned read-only, search by POST (RFC 7644 §3.4.3), repeated
// attributes/excludedAttributes parameters, and empty groups without `members`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from '../setup/test-db.js';
import { ScimClient, scimOrg, startServer, type ScimServer } from './scim-client.js';

const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const CORE_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const SEARCH = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';

let t: TestDb;
let server: ScimServer;
let scim: ScimClient;
const id: Record<string, string> = {};

interface AttrDoc {
  name: string;
  type: string;
  mutability: string;
  returned: string;
  canonicalValues?: string[];
  subAttributes?: AttrDoc[];
}

beforeAll(async () => {
  t = await createTestDb();
  server = await startServer(t);
  scim = (await scimOrg(t, server)).scim;
  for (const [key, body] of Object.entries({
    ann: { userName: 'ann@x.test', 'urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User:metadata.city': 'Oslo' },
    ben: { userName: 'ben@x.test', metadata: { floor: '3' } },
    cid: { userName: 'cid@x.test' },
  })) {
    const r = await scim.post('/Users', body);
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    id[key] = r.body.id;
  }
  id.staff = (await scim.post('/Groups', { displayName: 'Staff', members: [{ value: id.ann }, { value: id.ben }] })).body.id;
  id.empty = (await scim.post('/Groups', { displayName: 'Empty' })).body.id;
});
afterAll(async () => {
  await server.close();
  await t.close();
});

/** Every complex attribute, at any depth, has sub-attributes (RFC 7643 §2.3.8). */
function complexWithoutSubs(attrs: AttrDoc[], path = ''): string[] {
  return attrs.flatMap((a) => [
    ...(a.type === 'complex' && !(a.subAttributes?.length) ? [`${path}${a.name}`] : []),
    ...complexWithoutSubs(a.subAttributes ?? [], `${path}${a.name}.`),
  ]);
}

describe('/Schemas', () => {
  it('publishes metadata with the organisation’s custom attribute names, and no complex attribute without sub-attributes', async () => {
    const user = (await scim.get(`/Schemas/${CORE_USER}`)).body as { attributes: AttrDoc[] };
    expect(complexWithoutSubs(user.attributes)).toEqual([]);
    const metadata = user.attributes.find((a) => a.name === 'metadata')!;
    expect(metadata.subAttributes!.map((s) => s.name)).toEqual(['city', 'floor']);
    // Anonymous discovery has no organisation: metadata is left out rather than published empty.
    const anonymous = (await new ScimClient(server.url, null).get('/Schemas')).body as { Resources: { id: string; attributes: AttrDoc[] }[] };
    for (const s of anonymous.Resources) expect(complexWithoutSubs(s.attributes)).toEqual([]);
    expect(anonymous.Resources.find((s) => s.id === CORE_USER)!.attributes.some((a) => a.name === 'metadata')).toBe(false);
    // metadata.X from Entra still works, and filters.
    const oslo = await scim.filter('Users', 'metadata.city eq "Oslo"');
    expect(oslo.body.Resources.map((u: { id: string }) => u.id)).toEqual([id.ann]);
  });

  it('advertises User.groups read-only and members.type with its canonical values', async () => {
    const user = (await scim.get(`/Schemas/${CORE_USER}`)).body as { attributes: AttrDoc[] };
    const groups = user.attributes.find((a) => a.name === 'groups')!;
    expect(groups).toMatchObject({ mutability: 'readOnly', returned: 'request' });
    expect(groups.subAttributes!.every((s) => s.mutability === 'readOnly')).toBe(true);
    const group = (await scim.get(`/Schemas/${CORE_GROUP}`)).body as { attributes: AttrDoc[] };
    const type = group.attributes.find((a) => a.name === 'members')!.subAttributes!.find((s) => s.name === 'type')!;
    expect(type.canonicalValues).toEqual(['User']);
  });
});

describe('User.groups', () => {
  it('is returned when asked for, on a GET by id and in a list, and never by default', async () => {
    const one = await scim.get(`/Users/${id.ann}?attributes=userName,groups`);
    expect(one.body.groups).toEqual([{ value: id.staff, $ref: expect.stringMatching(new RegExp(`/scim/v2/Groups/${id.staff}$`)), display: 'Staff', type: 'direct' }]);
    expect((await scim.get(`/Users/${id.ann}`)).body.groups).toBeUndefined();
    const list = await scim.get('/Users?attributes=groups&sortBy=userName');
    expect(list.body.Resources.map((u: { groups?: { display: string }[] }) => (u.groups ?? []).map((g) => g.display))).toEqual([['Staff'], ['Staff'], []]);
  });

  it('cannot be written', async () => {
    const r = await scim.put(`/Users/${id.cid}`, { userName: 'cid@x.test', groups: [{ value: id.staff }] });
    expect(r.status).toBe(200);
    const staff = await scim.get(`/Groups/${id.staff}`);
    expect(staff.body.members.map((m: { value: string }) => m.value).sort()).toEqual([id.ann, id.ben].sort());
  });
});

describe('attributes and excludedAttributes given more than once', () => {
  it('are read as one comma-separated list', async () => {
    const r = await scim.get(`/Users/${id.ann}?attributes=userName&attributes=metadata`);
    expect(r.status).toBe(200);
    expect(Object.keys(r.body).sort()).toEqual(['id', 'metadata', 'schemas', 'userName']);
    const ex = await scim.get(`/Users?excludedAttributes=meta&excludedAttributes=metadata&filter=${encodeURIComponent('userName eq "ann@x.test"')}`);
    expect(ex.status).toBe(200);
    expect(ex.body.Resources[0].meta).toBeUndefined();
    expect(ex.body.Resources[0].metadata).toBeUndefined();
    expect(ex.body.Resources[0].userName).toBe('ann@x.test');
    // Other parameters stay single-valued.
    expect((await scim.get('/Users?count=1&count=2')).status).toBe(400);
  });
});

describe('empty groups', () => {
  it('leave members out, by id and in lists', async () => {
    const one = await scim.get(`/Groups/${id.empty}`);
    expect(one.status).toBe(200);
    expect(one.body).not.toHaveProperty('members');
    expect(one.body.displayName).toBe('Empty');
    const list = await scim.get('/Groups?sortBy=displayName');
    expect(list.body.Resources[0]).not.toHaveProperty('members');
    expect(list.body.Resources[1].members).toHaveLength(2);
  });
});

describe('POST .search (RFC 7644 §3.4.3)', () => {
  it('searches Users and Groups with a SearchRequest body', async () => {
    const r = await scim.post('/Users/.search', { schemas: [SEARCH], filter: 'userName sw "a" or userName sw "b"', sortBy: 'userName', sortOrder: 'descending', attributes: ['userName', 'groups'], startIndex: 1, count: 10 });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.totalResults).toBe(2);
    expect(r.body.Resources.map((u: { userName: string }) => u.userName)).toEqual(['ben@x.test', 'ann@x.test']);
    expect(r.body.Resources[0].groups[0].display).toBe('Staff');
    expect(r.body.Resources[0].meta).toBeUndefined();
    const g = await scim.post('/Groups/.search', { schemas: [SEARCH], filter: 'displayName eq "Staff"', excludedAttributes: ['members'] });
    expect(g.status).toBe(200);
    expect(g.body.Resources).toEqual([expect.objectContaining({ id: id.staff, displayName: 'Staff' })]);
    expect(g.body.Resources[0].members).toBeUndefined();
    const paged = await scim.post('/Users/.search', { schemas: [SEARCH], sortBy: 'userName', startIndex: 2, count: 1 });
    expect(paged.body).toMatchObject({ totalResults: 3, startIndex: 2, itemsPerPage: 1 });
  });

  it('refuses bad search bodies with SCIM errors, and the root search with 501', async () => {
    expect((await scim.post('/Users/.search', { filter: 'userName eq "x"' })).body).toMatchObject({ status: '400', scimType: 'invalidSyntax' });
    expect((await scim.post('/Users/.search', { schemas: [SEARCH], filter: 'userName eq' })).body).toMatchObject({ status: '400', scimType: 'invalidFilter' });
    expect((await scim.post('/Users/.search', { schemas: [SEARCH], count: 'ten' })).status).toBe(400);
    expect((await scim.post('/Users/.search', { schemas: [SEARCH], attributes: [1] })).status).toBe(400);
    expect((await scim.raw('POST', '/Users/.search', '{not json')).status).toBe(400);
    expect((await scim.get('/Users/.search')).status).toBe(405);
    const root = await scim.post('/.search', { schemas: [SEARCH], filter: 'userName eq "ann@x.test"' });
    expect(root.status).toBe(501);
    expect(root.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '501' });
    expect((await new ScimClient(server.url, 'wrong').post('/Users/.search', { schemas: [SEARCH] })).status).toBe(401);
  });

  it('is described in ServiceProviderConfig', async () => {
    const spc = (await scim.get('/ServiceProviderConfig')).body;
    const ext = spc['urn:ietf:params:scim:schemas:extension:gatehouse:2.0:ServiceProviderConfig'];
    expect(ext.searchByPost).toEqual({ supported: true, endpoints: ['/Users/.search', '/Groups/.search'], rootSearch: false });
  });
});
