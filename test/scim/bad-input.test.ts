// Bad input on every route, authentication, tenant isolation, concurrency and
// the provisioning log of rejected requests. Never a 5xx, never half-applied.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { TestDb } from '../setup/test-db.js';
import { entraUser, patchOp, scimOrg, ScimClient, scimSuite, type ScimServer } from './scim-client.js';

let t: TestDb;
let server: ScimServer;
scimSuite((s) => ({ t, server } = s), { BODY_LIMIT_BYTES: '4096' });

const MISSING = '00000000-0000-4000-8000-000000000000';

describe('authentication', () => {
  it('answers 401 in the SCIM error schema for a missing, wrong, rotated or disabled token', async () => {
    const org = await scimOrg(t, server);
    const expect401 = async (c: ScimClient, headers: Record<string, string> = {}) => {
      const r = await c.raw('GET', '/Users', undefined, headers);
      expect(r.status).toBe(401);
      expect(r.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '401' });
      expect(r.headers.get('content-type')).toMatch(/application\/scim\+json/);
    };
    await expect401(new ScimClient(server.url, null));
    await expect401(new ScimClient(server.url, 'gh_scim_wrong'));
    await expect401(new ScimClient(server.url, null), { authorization: 'Basic abc' });
    expect((await org.scim.get('/Users')).status).toBe(200);
    const { token } = await t.domain.organizations.enableScim(org.actor);
    await expect401(org.scim);
    const rotated = new ScimClient(server.url, token);
    expect((await rotated.get('/Users')).status).toBe(200);
    await t.domain.organizations.disableScim(org.actor);
    await expect401(rotated);
  });

  it('refuses every resource route and method without a valid token, and changes nothing', async () => {
    const org = await scimOrg(t, server);
    const u = (await org.scim.post('/Users', entraUser('guarded@contoso.com'))).body.id as string;
    const g = (await org.scim.post('/Groups', { displayName: 'Guarded', members: [{ value: u }] })).body.id as string;
    const wrong = new ScimClient(server.url, 'gh_scim_wrong');
    const calls: [string, string, unknown?][] = [
      ['GET', '/Users'],
      ['POST', '/Users', entraUser('intruder@contoso.com')],
      ['GET', `/Users/${u}`],
      ['PUT', `/Users/${u}`, { userName: 'renamed@contoso.com' }],
      ['PATCH', `/Users/${u}`, patchOp({ op: 'Replace', path: 'active', value: 'False' })],
      ['DELETE', `/Users/${u}`],
      ['GET', '/Groups'],
      ['POST', '/Groups', { displayName: 'Intruders' }],
      ['GET', `/Groups/${g}`],
      ['PUT', `/Groups/${g}`, { displayName: 'Renamed', members: [] }],
      ['PATCH', `/Groups/${g}`, patchOp({ op: 'Remove', path: 'members' })],
      ['DELETE', `/Groups/${g}`],
    ];
    for (const [method, path, body] of calls) {
      const r = await wrong.raw(method, path, body === undefined ? undefined : JSON.stringify(body));
      expect(r.status, `${method} ${path}`).toBe(401);
      expect(r.headers.get('www-authenticate'), `${method} ${path}`).toBe('Bearer realm="scim"');
      expect(r.body, `${method} ${path}`).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '401' });
    }
    expect((await org.scim.get(`/Users/${u}`)).body).toMatchObject({ userName: 'guarded@contoso.com', active: true });
    expect((await org.scim.get(`/Groups/${g}`)).body).toMatchObject({ displayName: 'Guarded', members: [{ value: u }] });
    expect((await org.scim.get('/Users?filter=userName eq "intruder@contoso.com"')).body.totalResults).toBe(0);
    expect((await org.scim.get('/Groups?filter=displayName eq "Intruders"')).body.totalResults).toBe(0);
  });
});

describe('bad input', () => {
  it('answers malformed JSON, wrong types, oversize bodies and unknown ids with 4xx SCIM errors', async () => {
    const { scim } = await scimOrg(t, server);
    const u = (await scim.post('/Users', entraUser('x.y@contoso.com'))).body.id as string;
    const g = (await scim.post('/Groups', { displayName: 'G' })).body.id as string;
    const cases: [string, string, string | undefined, number, string?][] = [
      ['POST', '/Users', '{"userName": ', 400, 'invalidSyntax'],
      ['POST', '/Groups', '{not json}', 400, 'invalidSyntax'],
      ['PATCH', `/Users/${u}`, '[1,', 400, 'invalidSyntax'],
      ['PATCH', `/Groups/${g}`, '{"Operations":', 400, 'invalidSyntax'],
      ['PUT', `/Users/${u}`, '"', 400, 'invalidSyntax'],
      ['PUT', `/Groups/${g}`, 'nul', 400, 'invalidSyntax'],
      ['POST', '/Users', '[]', 400, 'invalidSyntax'],
      ['POST', '/Users', '{}', 400, 'invalidValue'],
      ['POST', '/Users', '{"userName": 5}', 400, 'invalidValue'],
      ['POST', '/Users', '{"userName": "a@b", "active": "maybe"}', 400, 'invalidValue'],
      ['POST', '/Users', '{"userName": "a@b", "emails": "x"}', 400, 'invalidValue'],
      ['POST', '/Users', '{"userName": "a@b", "name": []}', 400, 'invalidValue'],
      ['POST', '/Users', '{"userName": "a@b", "emails": [{"value": "a", "type": "work"}, {"value": "b", "type": "Work"}]}', 400, 'invalidValue'],
      ['POST', '/Users', `{"userName": "a@b", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "${MISSING}"}}}`, 400, 'invalidValue'],
      ['POST', '/Groups', '{"displayName": 7}', 400, 'invalidValue'],
      ['POST', '/Groups', `{"displayName": "H", "members": [{"value": "${MISSING}"}]}`, 400, 'invalidValue'],
      ['PATCH', `/Users/${u}`, '{"Operations": []}', 400, 'invalidSyntax'],
      ['PATCH', `/Users/${u}`, '{"Operations": [{"op": "jump", "path": "title", "value": "x"}]}', 400, 'invalidSyntax'],
      ['PATCH', `/Users/${u}`, '{"Operations": [{"op": "remove"}]}', 400, 'noTarget'],
      ['PATCH', `/Users/${u}`, '{"Operations": [{"op": "add", "path": "emails[type eq", "value": "x"}]}', 400, 'invalidPath'],
      ['PATCH', `/Users/${u}`, '{"Operations": [{"op": "add", "path": "title[type eq \\"a\\"]", "value": "x"}]}', 400, 'invalidPath'],
      ['PATCH', `/Users/${u}`, '{"Operations": [{"op": "replace", "path": "userName", "value": ""}]}', 400, 'invalidValue'],
      ['PATCH', `/Groups/${g}`, '{"Operations": [{"op": "remove", "path": "displayName"}]}', 400, 'invalidValue'],
      ['PATCH', `/Groups/${g}`, '{"Operations": [{"op": "add", "path": "members", "value": [{"value": 5}]}]}', 400, 'invalidValue'],
      ['GET', `/Users/${MISSING}`, undefined, 404],
      ['GET', '/Users/not-a-uuid', undefined, 404],
      ['PATCH', `/Users/${MISSING}`, '{"Operations": [{"op": "add", "path": "title", "value": "x"}]}', 404],
      ['PUT', `/Users/${MISSING}`, '{"userName": "q@q"}', 404],
      ['DELETE', `/Users/${MISSING}`, undefined, 404],
      ['GET', `/Groups/${MISSING}`, undefined, 404],
      ['PATCH', `/Groups/${MISSING}`, '{"Operations": [{"op": "add", "path": "displayName", "value": "x"}]}', 404],
      ['PUT', `/Groups/${MISSING}`, '{"displayName": "q"}', 404],
      ['DELETE', `/Groups/${MISSING}`, undefined, 404],
      ['GET', '/Nope', undefined, 404],
      ['DELETE', '/Users', undefined, 405],
      ['GET', '/Users?count=abc', undefined, 400, 'invalidValue'],
      ['GET', '/Users?count=1&COUNT=2', undefined, 400, 'invalidValue'],
      ['GET', '/Users?sortBy=nosuch', undefined, 400, 'invalidFilter'],
      ['POST', '/Users', JSON.stringify({ userName: 'big@x', displayName: 'x'.repeat(5000) }), 413],
    ];
    for (const [method, path, body, status, scimType] of cases) {
      const r = await scim.raw(method, path, body);
      expect(r.status, `${method} ${path} ${body}`).toBe(status);
      if (status !== 405) expect(r.body, `${method} ${path}`).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: String(status) });
      if (scimType) expect(r.body.scimType, `${method} ${path} ${body}`).toBe(scimType);
    }
    // A method a path lacks is 405 with the methods it has.
    expect((await scim.raw('DELETE', '/Groups')).headers.get('allow')).toBe('GET, POST');
    expect((await scim.raw('POST', `/Users/${u}`, '{}')).headers.get('allow')).toBe('GET, PUT, PATCH, DELETE');
    // application/json is accepted too; nothing above changed the user or the group.
    const json = await scim.raw('GET', `/Users/${u}`, undefined, { accept: 'application/json' });
    expect(json.body.userName).toBe('x.y@contoso.com');
    expect(json.body.meta.version).toBe('W/"1"');
    const plain = await scim.raw('POST', '/Users', JSON.stringify({ userName: 'plain@x' }), { 'content-type': 'application/json' });
    expect(plain.status).toBe(201);
    const group = (await scim.get(`/Groups/${g}`)).body;
    expect(group).toMatchObject({ displayName: 'G' });
    expect(group).not.toHaveProperty('members');
  });

  it('accepts what Entra sends that Gatehouse does not keep, and nulls', async () => {
    const { scim } = await scimOrg(t, server);
    const r = await scim.post('/Users', {
      ...entraUser('noise@contoso.com'),
      roles: [{ primary: 'True', value: 'Admin' }],
      entitlements: null,
      phoneNumbers: null,
      title: null,
      addresses: [{ type: 'work', streetAddress: '1 Main St', locality: 'Redmond', country: 'US', primary: 'False' }],
      'http://schemas.microsoft.com/x': { a: 1 },
      password: 'secret',
    });
    expect(r.status).toBe(201);
    expect(r.body.addresses).toEqual([{ type: 'work', streetAddress: '1 Main St', locality: 'Redmond', country: 'US', primary: false }]);
    expect(r.body.password).toBeUndefined();
    expect(r.body.title).toBeUndefined();
    const p = await scim.patch(`/Users/${r.body.id}`, patchOp({ op: 'Add', path: 'roles[primary eq "True"].value', value: 'x' }, { op: 'Add', path: 'roles', value: '[{"x":1}]' }));
    expect(p.status).toBe(200);
  });
});

describe('tenant isolation', () => {
  it('never shows or changes another organisation’s resources', async () => {
    const a = await scimOrg(t, server);
    const b = await scimOrg(t, server);
    const ua = (await a.scim.post('/Users', entraUser('iso.a@contoso.com'))).body.id;
    const ga = (await a.scim.post('/Groups', { displayName: 'Iso', members: [{ value: ua }] })).body.id;
    const ub = (await b.scim.post('/Users', entraUser('iso.a@contoso.com'))).body.id; // same userName in another org is fine
    expect(ub).not.toBe(ua);
    expect((await b.scim.get(`/Users/${ua}`)).status).toBe(404);
    expect((await b.scim.get(`/Groups/${ga}`)).status).toBe(404);
    expect((await b.scim.patch(`/Users/${ua}`, patchOp({ op: 'replace', path: 'active', value: false }))).status).toBe(404);
    expect((await b.scim.put(`/Users/${ua}`, { userName: 'stolen@x' })).status).toBe(404);
    expect((await b.scim.delete(`/Users/${ua}`)).status).toBe(404);
    expect((await b.scim.delete(`/Groups/${ga}`)).status).toBe(404);
    expect((await b.scim.filter('Users', `id eq "${ua}"`)).body.totalResults).toBe(0);
    expect((await b.scim.filter('Groups', 'displayName eq "Iso"')).body.totalResults).toBe(0);
    // B cannot put A's member into its own group.
    const gb = (await b.scim.post('/Groups', { displayName: 'IsoB' })).body.id;
    expect((await b.scim.patch(`/Groups/${gb}`, patchOp({ op: 'add', path: 'members', value: [{ value: ua }] }))).status).toBe(400);
    expect((await b.scim.post('/Users', entraUser('m@contoso.com', { 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { manager: { value: ua } } }))).status).toBe(400);
    const still = await a.scim.get(`/Users/${ua}`);
    expect(still.body.active).toBe(true);
    expect((await a.scim.get(`/Groups/${ga}`)).body.members).toHaveLength(1);
  });
});

describe('concurrency', () => {
  it('parallel POSTs of one userName in different case: one 201, the rest 409 uniqueness', async () => {
    const { scim } = await scimOrg(t, server);
    const names = ['Race@Contoso.com', 'race@contoso.com', 'RACE@CONTOSO.COM', 'rAcE@contoso.com', 'race@CONTOSO.com', 'Race@contoso.COM'];
    const replies = await Promise.all(names.map((n) => scim.post('/Users', { userName: n })));
    expect(replies.filter((r) => r.status === 201)).toHaveLength(1);
    const conflicts = replies.filter((r) => r.status === 409);
    expect(conflicts).toHaveLength(names.length - 1);
    for (const c of conflicts) expect(c.body).toMatchObject({ status: '409', scimType: 'uniqueness' });
    expect((await scim.filter('Users', 'userName eq "race@contoso.com"')).body.totalResults).toBe(1);
    const dupGroup = await Promise.all(['Team', 'team', 'TEAM'].map((n) => scim.post('/Groups', { displayName: n })));
    expect(dupGroup.map((r) => r.status).sort()).toEqual([201, 409, 409]);
  });

  it('parallel PATCHes adding members to one group lose none', async () => {
    const { scim } = await scimOrg(t, server);
    const ids: string[] = [];
    for (let i = 0; i < 24; i++) ids.push((await scim.post('/Users', { userName: `par${i}@x.test` })).body.id);
    const g = (await scim.post('/Groups', { displayName: 'Parallel' })).body.id;
    const replies = await Promise.all(ids.map((id) => scim.patch(`/Groups/${g}`, patchOp({ op: 'Add', path: 'members', value: [{ value: id }] }))));
    expect(replies.map((r) => r.status)).toEqual(ids.map(() => 204));
    const members = (await scim.get(`/Groups/${g}`)).body.members.map((m: { value: string }) => m.value).sort();
    expect(members).toEqual([...ids].sort());
  });

  it('parallel PATCHes of one user, each adding a custom attribute, lose none and each is audited once', async () => {
    const { scim, actor } = await scimOrg(t, server);
    const id = (await scim.post('/Users', { userName: 'contested@x.test' })).body.id;
    const keys = Array.from({ length: 16 }, (_, i) => `k${i}`);
    const replies = await Promise.all(keys.map((k) => scim.patch(`/Users/${id}`, patchOp({ op: 'Add', path: `metadata.${k}`, value: k.toUpperCase() }))));
    expect(replies.map((r) => r.status)).toEqual(keys.map(() => 200));
    const user = (await scim.get(`/Users/${id}`)).body;
    expect(user.metadata).toEqual(Object.fromEntries(keys.map((k) => [k, k.toUpperCase()])));
    // Every change bumped the version once: the ETag counts them.
    expect(user.meta.version).toBe(`W/"${keys.length + 1}"`);
    const patches = await t.domain.audit.list(actor, { actionPrefix: 'scim.user.patch', resourceId: id, limit: 100 });
    expect(patches).toHaveLength(keys.length);
    expect(new Set(patches.map((p) => Object.keys((p.detail.changes as { metadata: { to: object } }).metadata.to).length))).toEqual(new Set(keys.map((_, i) => i + 1)));
  });
});

describe('provisioning log', () => {
  it('records rejected requests with their reason, readable with `scim log`', async () => {
    const org = await scimOrg(t, server);
    await org.scim.post('/Users', entraUser('dup.user@contoso.com'));
    const dup = await org.scim.post('/Users', entraUser('DUP.user@contoso.com'));
    expect(dup.status).toBe(409);
    const other = await org.scim.post('/Users', entraUser('fine.user@contoso.com'));
    const bad = await org.scim.patch(`/Users/${other.body.id}`, patchOp({ op: 'Replace', path: 'active', value: 'perhaps' }));
    expect(bad.status).toBe(400);

    const failures = await t.domain.audit.list(org.actor, { actionPrefix: 'scim.', outcome: 'failure' });
    expect(failures.map((f) => [f.action, f.resourceLabel])).toEqual([
      ['scim.user.patch', 'fine.user@contoso.com'],
      ['scim.user.create', 'DUP.user@contoso.com'],
    ]);
    expect(failures[1]!.reason).toMatch(/^409 uniqueness: .*already exists/);

    const run = promisify(execFile);
    const cli = (args: string[]) =>
      run('npx', ['tsx', 'src/cli/main.ts', ...args], { env: { ...process.env, DATABASE_URL: t.url, LOG_LEVEL: 'silent', GATEHOUSE_SECRET: 'test-master-secret-0123456789abcdef' } });
    const { stdout } = await cli(['scim', 'log', '--org', org.domain, '--failed', '--json']);
    const json = JSON.parse(stdout);
    expect(json.events.map((e: { action: string }) => e.action)).toEqual(['scim.user.patch', 'scim.user.create']);
    const page = JSON.parse((await cli(['scim', 'log', '--org', org.domain, '--member', 'fine.user@contoso.com', '--limit', '1', '--json'])).stdout);
    expect(page.events).toHaveLength(1);
    expect(page.events[0].outcome).toBe('failure');
    const older = JSON.parse((await cli(['scim', 'log', '--org', org.domain, '--member', 'fine.user@contoso.com', '--before', page.nextBefore, '--json'])).stdout);
    expect(older.events.map((e: { action: string; outcome: string }) => [e.action, e.outcome])).toEqual([['scim.user.create', 'success']]);
  }, 120_000);
});
