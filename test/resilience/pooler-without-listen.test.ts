// Gatehouse behind PgBouncer in transaction mode with no DATABASE_LISTEN_URL
// (what a managed PostgreSQL with only a transaction pooler gives): two
// processes on the test setup's PgBouncer (test/setup/poolers.ts), neither
// able to LISTEN. Credentials are then checked in the database on every
// request, so a revoked API key or a replaced SCIM token is refused at once by
// every process; the SCIM conversation and GraphQL work; and the lockAccess
// subscription still delivers a revocation, found by its poll (every second
// while notifications are not live) instead of a notification.
import WebSocket from 'ws';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildLock, buildMember, buildOrg, unique } from '../factories/index.js';
import { gql, scimClient } from '../setup/clients.js';
import { withAdmin } from '../setup/pg-admin.js';
import { throughPooler } from '../setup/poolers.js';
import { startTestApp, type TestApp } from '../setup/test-app.js';
import { createTestDb, type TestDb } from '../setup/test-db.js';

let t: TestDb;
let a: TestApp;
let b: TestApp;
let org: Awaited<ReturnType<typeof buildOrg>>;
let admin: string;

const USERS = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUPS = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ME = `query { members(first: 1) { totalCount } }`;

beforeAll(async () => {
  const port = inject('poolerPorts').transaction;
  if (!port) throw new Error('pgbouncer is not installed (scripts/setup.sh installs it)');
  t = await createTestDb();
  // Each process: DATABASE_URL through the pooler, transaction mode, and no DATABASE_LISTEN_URL.
  const env = { DATABASE_URL: throughPooler(t.url, port), DATABASE_POOL_MODE: 'transaction', DATABASE_POOL_SIZE: '4' };
  a = await startTestApp({ db: t, ownDatabase: true, env });
  b = await startTestApp({ db: t, ownDatabase: true, env });
  org = await buildOrg(t.domain);
  admin = (await t.domain.apiKeys.create(org.actor, { name: 'admin', role: 'admin' })).key;
}, 120_000);

afterAll(async () => {
  await a?.close();
  await b?.close();
  await t?.close();
});

/** An API key's answer on one process: 200 with data, or 401. */
async function keyStatus(app: TestApp, key: string): Promise<number> {
  const res = await gql(`${app.url}/graphql`, ME, undefined, { apiKey: key });
  if (res.status === 200) expect(res.body.errors).toBeUndefined();
  return res.status;
}

async function scimStatus(app: TestApp, token: string): Promise<number> {
  return (await scimClient(app, token).get('/Users?count=1')).status;
}

describe('behind PgBouncer in transaction mode without DATABASE_LISTEN_URL', () => {
  it('runs an Entra-shaped SCIM conversation on one process that GraphQL on the other reads, and holds no LISTEN connection', async () => {
    const { token } = await t.domain.organizations.enableScim(org.actor);
    const scim = scimClient(a, token);
    const userName = `${unique('pooled')}@example.com`;
    // Entra: look up by userName, create, look up the group, create it with the member, deactivate.
    const lookup = await scim.filter('Users', `userName eq "${userName}"`);
    expect(lookup.status).toBe(200);
    expect(lookup.body.totalResults).toBe(0);
    const created = await scim.post('/Users', { schemas: [USERS], userName, externalId: unique('ext'), active: true, name: { givenName: 'Pooled', familyName: 'User' } });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect((await scim.filter('Users', `userName eq "${userName}"`)).body.totalResults).toBe(1);
    const groupName = unique('Pooled group ');
    expect((await scim.filter('Groups', `displayName eq "${groupName}"`)).body.totalResults).toBe(0);
    const group = await scim.post('/Groups', { schemas: [GROUPS], displayName: groupName, externalId: unique('gext'), members: [] });
    expect(group.status).toBe(201);
    const added = await scim.patch(`/Groups/${group.body.id}`, { schemas: [PATCH], Operations: [{ op: 'add', path: 'members', value: [{ value: id }] }] });
    expect(added.status).toBe(204);
    const off = await scim.patch(`/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'active', value: 'False' }] });
    expect(off.status).toBe(200);
    expect(off.body.active).toBe(false);
    // A bad request through the pooler is a 4xx, and leaves nothing behind.
    const bad = await scim.patch(`/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'active', value: 'maybe' }] });
    expect(bad.status).toBe(400);

    // GraphQL on the other process: the member, inactive, in the group; and a mutation there.
    const read = await gql(`${b.url}/graphql`, `query($id: ID!) { member(id: $id) { userName active groups { displayName } } }`, { id }, { apiKey: admin });
    expect(read.body.errors).toBeUndefined();
    expect(read.body.data!.member).toEqual({ userName, active: false, groups: [{ displayName: groupName }] });
    const local = `${unique('local')}@example.com`;
    const made = await gql(`${b.url}/graphql`, `mutation($u: String!) { createMember(input: { userName: $u }) { id } }`, { u: local }, { apiKey: admin });
    expect(made.body.errors).toBeUndefined();
    expect((await scim.filter('Users', `userName eq "${local}"`)).body.Resources.map((r: { id: string }) => r.id)).toEqual([(made.body.data!.createMember as { id: string }).id]);

    // Neither process listens (nothing could deliver a notification through the pooler).
    const listening = await withAdmin(async (c) => (await c.query(`select count(*)::int as n from pg_stat_activity where datname = $1 and query ilike 'listen%'`, [t.name])).rows[0].n as number);
    expect(listening).toBe(0);
  });

  it('refuses a revoked API key at once on every process', async () => {
    const { key, apiKey } = await t.domain.apiKeys.create(org.actor, { name: unique('revoked '), role: 'reader' });
    // Used on both processes (where a process that listens would now remember it).
    for (let i = 0; i < 3; i++) for (const app of [a, b]) expect(await keyStatus(app, key)).toBe(200);
    const revoked = await gql(`${a.url}/graphql`, `mutation($id: ID!) { revokeApiKey(id: $id) { id } }`, { id: apiKey.id }, { apiKey: admin });
    expect(revoked.body.errors).toBeUndefined();
    // The very next request, on either process.
    expect(await keyStatus(b, key)).toBe(401);
    expect(await keyStatus(a, key)).toBe(401);
    expect(await keyStatus(b, admin)).toBe(200);
  });

  it('refuses a replaced SCIM token at once on every process', async () => {
    const other = await buildOrg(t.domain);
    const first = (await t.domain.organizations.enableScim(other.actor)).token;
    for (let i = 0; i < 3; i++) for (const app of [a, b]) expect(await scimStatus(app, first)).toBe(200);
    // Rotated with an overlap: both work on both processes…
    const second = (await t.domain.organizations.rotateScimToken(other.actor, 60)).token;
    for (const app of [a, b]) {
      expect(await scimStatus(app, first)).toBe(200);
      expect(await scimStatus(app, second)).toBe(200);
    }
    // …until the previous one is revoked (through process A's console API would do the same): refused at once on both.
    await a.domain.organizations.revokePreviousScimToken(other.actor);
    expect(await scimStatus(b, first)).toBe(401);
    expect(await scimStatus(a, first)).toBe(401);
    expect(await scimStatus(b, second)).toBe(200);
    // A new token (enable again) replaces the current one at once as well.
    const third = (await b.domain.organizations.enableScim(other.actor)).token;
    expect(await scimStatus(a, second)).toBe(401);
    expect(await scimStatus(b, second)).toBe(401);
    expect(await scimStatus(a, third)).toBe(200);
  });

  it('delivers a revocation to a lockAccess subscriber on the other process (by polling: no notifications)', async () => {
    const lock = await buildLock(t.domain, org.actor);
    const member = await buildMember(t.domain, org.actor);
    await t.domain.shares.grant(org.actor, { memberId: member.id, lockId: lock.id });
    const controller = (await t.domain.apiKeys.create(org.actor, { name: unique('door '), role: 'controller', lockIds: [lock.id] })).key;
    const snapshot = await gql(`${b.url}/graphql`, `query($l: [ID!]) { lockSnapshot(lockIds: $l) { cursor locks { members { memberId mayOpen } } } }`, { l: [lock.id] }, { apiKey: controller });
    expect(snapshot.body.errors).toBeUndefined();
    const snap = snapshot.body.data!.lockSnapshot as { cursor: string; locks: { members: { memberId: string; mayOpen: boolean }[] }[] };
    expect(snap.locks[0]!.members).toEqual([{ memberId: member.id, mayOpen: true }]);

    const client = createClient({ url: `${b.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${controller}` }, retryAttempts: 0, lazy: true });
    const got: { memberId: string; mayOpen: boolean }[] = [];
    let failed: unknown = null;
    const stop = client.subscribe<{ lockAccess: { memberId: string; mayOpen: boolean } }>(
      { query: `subscription($l: [ID!], $after: String) { lockAccess(lockIds: $l, after: $after) { memberId mayOpen } }`, variables: { l: [lock.id], after: snap.cursor } },
      { next: (r) => (r.errors ? (failed = r.errors) : got.push(r.data!.lockAccess)), error: (e) => (failed = e), complete: () => undefined },
    );
    try {
      // Subscribed (its backlog after the snapshot is empty); then the member is deactivated through the other process.
      await new Promise((r) => setTimeout(r, 300));
      const off = await gql(`${a.url}/graphql`, `mutation($id: ID!) { deactivateMember(id: $id) { active } }`, { id: member.id }, { apiKey: admin });
      expect(off.body.errors).toBeUndefined();
      const deadline = Date.now() + 15_000;
      while (got.length === 0 && failed === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(failed).toBeNull();
      expect(got).toEqual([{ memberId: member.id, mayOpen: false }]);
    } finally {
      stop();
      await client.dispose();
    }
  });
});
