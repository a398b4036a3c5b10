// Deprovisioning that holds: once Entra says a person has left, no
// request shape re-opens a door. RFC 7644 §3.5.2.2: a removed attribute is
// unassigned, and only a create may default `active` to true.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from '../setup/test-db.js';
import { entraUser, patchOp, scimOrg, startServer, type ScimClient, type ScimServer } from './scim-client.js';

let t: TestDb;
let server: ScimServer;
let scim: ScimClient;

beforeAll(async () => {
  t = await createTestDb();
  server = await startServer(t);
  scim = (await scimOrg(t, server)).scim;
});
afterAll(async () => {
  await server.close();
  await t.close();
});

let n = 0;
/** A member Entra has unassigned (active: false). */
async function leaver(): Promise<string> {
  const upn = `leaver.${++n}@contoso.com`;
  const c = await scim.post('/Users', entraUser(upn));
  expect(c.status).toBe(201);
  const off = await scim.patch(`/Users/${c.body.id}`, patchOp({ op: 'Replace', path: 'active', value: 'False' }));
  expect(off.body.active).toBe(false);
  return c.body.id;
}

describe('SCIM never re-activates a member by leaving `active` out', () => {
  it.each([
    ['remove of active', { op: 'remove', path: 'active' }],
    ['Remove of active (Entra casing)', { op: 'Remove', path: 'active' }],
    ['replace of active with null', { op: 'replace', path: 'active', value: null }],
    ['add of active with null', { op: 'add', path: 'active', value: null }],
    ['path-less replace with active null', { op: 'replace', value: { active: null, displayName: 'Changed' } }],
    ['remove of the URN-qualified path', { op: 'remove', path: 'urn:ietf:params:scim:schemas:core:2.0:User:active' }],
  ])('refuses %s with 400 invalidValue and changes nothing', async (_name, op) => {
    const id = await leaver();
    const r = await scim.patch(`/Users/${id}`, patchOp(op));
    expect(r.status, JSON.stringify(r.body)).toBe(400);
    expect(r.body).toMatchObject({ status: '400', scimType: 'invalidValue' });
    const after = await scim.get(`/Users/${id}`);
    expect(after.body.active).toBe(false);
    expect(after.body.displayName).not.toBe('Changed');
  });

  it('a PUT without active keeps the stored value (false stays false, true stays true)', async () => {
    const id = await leaver();
    const { active: _omit, ...body } = entraUser(`leaver.${n}@contoso.com`, { displayName: 'Put Without Active' });
    const r = await scim.put(`/Users/${id}`, body);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ active: false, displayName: 'Put Without Active' });
    expect((await scim.get(`/Users/${id}`)).body.active).toBe(false);

    const on = await scim.post('/Users', entraUser('stayer@contoso.com'));
    const kept = await scim.put(`/Users/${on.body.id}`, { ...body, userName: 'stayer@contoso.com' });
    expect(kept.body.active).toBe(true);
  });

  it('a PUT with active null keeps the stored value too', async () => {
    const id = await leaver();
    const r = await scim.put(`/Users/${id}`, entraUser(`leaver.${n}@contoso.com`, { active: null }));
    expect(r.status).toBe(200);
    expect(r.body.active).toBe(false);
  });

  it('an explicit PUT or PATCH with active true still re-activates, and a create still defaults to true', async () => {
    const id = await leaver();
    expect((await scim.put(`/Users/${id}`, entraUser(`leaver.${n}@contoso.com`, { active: true }))).body.active).toBe(true);
    const id2 = await leaver();
    expect((await scim.patch(`/Users/${id2}`, patchOp({ op: 'Replace', path: 'active', value: 'True' }))).body.active).toBe(true);
    const { active: _omit, ...noActive } = entraUser('new.default@contoso.com');
    expect((await scim.post('/Users', noActive)).body.active).toBe(true);
  });
});
