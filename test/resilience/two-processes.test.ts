// Two Gatehouse processes share one PostgreSQL behind a round-robin proxy:
// uniqueness, membership and rate-limit counters hold across processes, and a
// process killed with SIGKILL under load loses no acknowledged change.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/infra/postgres/database.js';
import { migrate } from '../../src/infra/postgres/migrate.js';
import { createDomain, systemActor, type Domain } from '../../src/domain/index.js';
import { createTestDatabaseUrl } from '../setup/test-db.js';
import { spUrls } from '../../src/domain/saml-config/sp-urls.js';
import { TestIdp } from '../saml/idp.js';
import { me, postAcs, sessionCookie, startLogin } from '../saml/harness.js';
import { roundRobinProxy, startGatehouse, type GatehouseProcess, type Proxy } from './harness.js';

const SECRET = 'resilience-test-secret-0123456789abcdef';
const SOAK = !!process.env.SOAK;

let dbUrl: { url: string; drop(): Promise<void> };
let database: Database;
let domain: Domain;
let procs: GatehouseProcess[] = [];
let proxy: Proxy;
let token: string;
let orgId: string;
let orgDomain: string;
let env: Record<string, string>;
export const figures = { operations: 0, kills: 0, fiveHundreds: 0, lost: 0 };

async function scim(method: string, path: string, body?: unknown, auth = token): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${proxy.url}/scim/v2${path}`, {
    method,
    headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/scim+json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  figures.operations++;
  if (res.status >= 500 && res.status !== 502) figures.fiveHundreds++;
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

beforeAll(async () => {
  dbUrl = await createTestDatabaseUrl();
  database = await openDatabase({ url: dbUrl.url, dataDir: '/nonexistent', poolSize: 4 });
  await migrate(database.connection);
  domain = createDomain(database.db, SECRET);
  const org = await domain.organizations.create({ name: 'Two', domain: `two-${Date.now()}` });
  orgId = org.id;
  orgDomain = org.domain;
  token = (await domain.organizations.enableScim(systemActor(org.id))).token;
  // One PUBLIC_URL for both, as behind a load balancer: SAML checks Destination and Recipient against it.
  env = { DATABASE_URL: dbUrl.url, DATA_DIR: '/tmp/gh-unused', AUTH_FAILURE_LIMIT: '10', DATABASE_POOL_SIZE: '5', PUBLIC_URL: 'https://gatehouse.test' };
  procs = await Promise.all([startGatehouse(env), startGatehouse(env)]);
  proxy = await roundRobinProxy(() => procs.map((p) => p.url));
}, 90_000);

afterAll(async () => {
  console.log(`two processes: ${figures.operations} operations, ${figures.kills} kill -9, ${figures.fiveHundreds} answered 5xx, ${figures.lost} acknowledged changes lost`);
  await proxy?.close();
  for (const p of procs) p.kill('SIGKILL');
  await database?.close();
  await dbUrl?.drop();
});

describe('two processes, one database', () => {
  it('gives one 201 and 409s for concurrent creates of one userName in any case', async () => {
    const names = ['Race@Example.com', 'race@example.com', 'RACE@EXAMPLE.COM', 'race@Example.COM', 'rAce@example.com', 'racE@example.com'];
    const results = await Promise.all(names.map((userName) => scim('POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName, active: true })));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(names.length - 1);
    expect(results.find((r) => r.status === 409)!.json).toMatchObject({ scimType: 'uniqueness' });
    expect(proxy.counts.every((c) => c > 0)).toBe(true);
  });

  it('loses no member when concurrent PATCHes add members to one group', async () => {
    const users = await Promise.all(
      Array.from({ length: 24 }, (_, i) => scim('POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `member${i}@example.com` })),
    );
    const ids = users.map((u) => u.json.id as string);
    const group = await scim('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Concurrent', members: [] });
    expect(group.status).toBe(201);
    const patches = await Promise.all(
      ids.map((id) =>
        scim('PATCH', `/Groups/${group.json.id}`, {
          schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
          Operations: [{ op: 'Add', path: 'members', value: [{ $ref: null, value: id }] }],
        }),
      ),
    );
    expect(patches.every((p) => p.status === 204 || p.status === 200)).toBe(true);
    const rows = await domain.db.sql.all<{ member_id: string }>(`select member_id from group_members where organization_id = $1 and group_id = $2`, [orgId, group.json.id as string]);
    expect(rows.map((r) => r.member_id).sort()).toEqual([...ids].sort());
  });

  it('finishes on one process a SAML login started on the other, and refuses its replay on the first', async () => {
    const actor = systemActor(orgId);
    const idp = new TestIdp();
    await domain.saml.importMetadataXml(actor, idp.metadataXml());
    const alice = await domain.members.create(actor, { userName: 'alice@contoso.com', displayName: 'Alice' });
    const urls = spUrls('https://gatehouse.test', orgDomain);

    const { requestId } = await startLogin(procs[0]!.url, orgDomain, '/doors');
    const response = idp.response({ acsUrl: urls.acsUrl, audience: urls.entityId, nameId: alice.userName, inResponseTo: requestId });
    const done = await postAcs(procs[1]!.url, orgDomain, response, '/doors');
    expect(done.status, await done.clone().text()).toBe(303);
    const cookie = sessionCookie(done)!;
    expect(cookie).toBeTruthy();
    // The session is a row: the other process knows it.
    const who = await me(procs[0]!.url, cookie);
    expect(who.status).toBe(200);
    expect(await who.json()).toMatchObject({ id: alice.id, userName: alice.userName });
    // The assertion id is in the shared replay cache.
    const replay = await postAcs(procs[0]!.url, orgDomain, response, '/doors');
    expect(replay.status).toBeGreaterThanOrEqual(400);
    expect(replay.status).toBeLessThan(500);
    expect(sessionCookie(replay)).toBeNull();
    figures.operations += 4;
  });

  it('serves GraphQL through the proxy from both processes', async () => {
    const key = (await domain.apiKeys.create(systemActor(orgId), { name: 'app', role: 'reader' })).key;
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${proxy.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ query: '{ members(first: 5) { totalCount edges { node { userName } } } }' }),
      });
      figures.operations++;
      const body = (await res.json()) as { data?: { members?: { totalCount: number } }; errors?: unknown };
      expect(res.status).toBe(200);
      expect(body.errors).toBeUndefined();
      expect(body.data?.members?.totalCount).toBeGreaterThan(0);
    }
  });

  it('shares failed-authentication counters between processes', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 14; i++) statuses.push((await scim('GET', '/Users', undefined, `gh_scim_wrong${i}`)).status);
    // AUTH_FAILURE_LIMIT=10 per client per minute, counted across both processes.
    expect(statuses.slice(0, 10).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(10).every((s) => s === 429)).toBe(true);
    // A good token is served as before.
    expect((await scim('GET', '/Users?count=1')).status).toBe(200);
  });

  it('keeps every acknowledged change and exactly one audit event per change across kill -9', async () => {
    const acknowledged = new Set<string>();
    let stop = false;
    let n = 0;
    const worker = async () => {
      while (!stop) {
        const userName = `load${n++}-${Date.now()}@example.com`;
        try {
          const r = await scim('POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName, active: true, name: { givenName: 'Load' } });
          if (r.status === 201) acknowledged.add(userName.toLowerCase());
        } catch {
          // a connection cut by the kill: the change may or may not have committed
        }
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    const rounds = SOAK ? 5 : 1;
    for (let round = 0; round < rounds; round++) {
      await new Promise((r) => setTimeout(r, 1500));
      const victim = procs[round % 2]!;
      victim.kill('SIGKILL');
      await victim.exited();
      figures.kills++;
      procs[round % 2] = await startGatehouse(env);
    }
    await new Promise((r) => setTimeout(r, 1000));
    stop = true;
    await Promise.all(workers);
    expect(acknowledged.size).toBeGreaterThan(20);

    const present = await domain.db.sql.all<{ user_name: string; audits: string }>(
      `select lower(m.user_name) as user_name,
              (select count(*) from audit_events a where a.organization_id = m.organization_id and a.resource_id = m.id::text and a.action like '%create%') as audits
       from members m where m.organization_id = $1 and m.user_name like 'load%'`,
      [orgId],
    );
    const names = new Set(present.map((r) => r.user_name));
    const lost = [...acknowledged].filter((u) => !names.has(u));
    figures.lost += lost.length;
    expect(lost).toEqual([]);
    expect(present.filter((r) => Number(r.audits) !== 1)).toEqual([]);
    expect(figures.fiveHundreds).toBe(0);
  }, 120_000);
});
