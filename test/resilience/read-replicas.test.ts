// Read replicas (DATABASE_REPLICA_URLS) against a real streaming replica of
// the test server (test/setup/replica.ts: pg_basebackup -R, pg_ctl on its own
// port). Lag-tolerant reads of GraphQL queries go to the replica; a caller's
// reads after its own write see that write; a stopped replica is skipped at
// once and used again when it returns; a replica whose replay is paused is
// skipped once it lags beyond DATABASE_REPLICA_MAX_LAG_SECONDS. Each read the
// issue names (member reads, whoCanOpen, accessOf, canAccess, a controller's
// lockSnapshot and lockAccessChanges, the console's lists and log export) is
// shown served by the replica to a caller that has not written (replay paused:
// the replica's older view) and the writer's own write at once, while writes,
// sign-in and SCIM read the primary.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Domain } from '../../src/domain/index.js';
import type { ReplicaStatus } from '../../src/infra/postgres/replicas.js';
import { buildLock, buildMember, buildOrg, unique } from '../factories/index.js';
import { GROUPS_QUERY, LOGS_QUERY, MEMBERS_QUERY, PLACES_QUERY, logExportUrl } from '../../admin/src/api.js';
import { startReplica, type Replica } from '../setup/replica.js';
import { createTestDb, type TestDb } from '../setup/test-db.js';
import { startTestApp } from '../setup/test-app.js';
import { consoleAdmin, gql, scimClient } from '../setup/clients.js';
import { CSRF_HEADER } from '../../src/http/csrf.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- GraphQL answers, read field by field
type GqlData = Record<string, any>;

interface Served {
  readonly domain: Domain;
  readonly url: string;
  gql(key: string, query: string, variables?: Record<string, unknown>): Promise<{ data?: GqlData; errors?: unknown[] }>;
  readyz(): Promise<{ status: string; replicas: ReplicaStatus[] }>;
  metrics(): Promise<string>;
  close(): Promise<void>;
}

let replica: Replica;
let t: TestDb;
const served: Served[] = [];

/** The app on its own pool of the test database with the replica, skipping it beyond `maxLagSeconds`. */
async function serve(maxLagSeconds: number): Promise<Served> {
  const app = await startTestApp({
    db: t,
    ownDatabase: true,
    env: { DATABASE_POOL_SIZE: '8', DATABASE_REPLICA_URLS: replica.urlFor(t.name), DATABASE_REPLICA_MAX_LAG_SECONDS: String(maxLagSeconds) },
  });
  const s: Served = {
    domain: app.domain,
    url: app.url,
    async gql(key, query, variables) {
      const res = await gql(`${app.url}/graphql`, query, variables, { apiKey: key });
      expect(res.status).toBe(200);
      return res.body as { data?: GqlData; errors?: unknown[] };
    },
    async readyz() {
      return (await (await fetch(`${app.url}/readyz`)).json()) as { status: string; replicas: ReplicaStatus[] };
    },
    async metrics() {
      return (await fetch(`${app.url}/metrics`)).text();
    },
    close: () => app.close(),
  };
  served.push(s);
  return s;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000, seen?: () => Promise<unknown>): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for: ${what}${seen ? ` (last seen: ${JSON.stringify(await seen())})` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return Date.now() - started;
}

const MEMBER = `query($id: ID!) { member(id: $id) { id userName } }`;
const MEMBERS = `query { members(first: 500) { totalCount edges { node { id userName } } } }`;
const CREATE = `mutation($u: String!) { createMember(input: { userName: $u }) { id } }`;

const WHO = `query($l: ID!) { whoCanOpen(lockId: $l, first: 100) { edges { node { id } } } }`;
const ACCESS_OF = `query($m: ID!) { accessOf(memberId: $m) { lockId } }`;
const CAN = `query($m: ID!, $l: ID!) { canAccess(memberId: $m, lockId: $l) { allowed reason } }`;
const SNAPSHOT = `query($l: [ID!]) { lockSnapshot(lockIds: $l) { cursor locks { lockId members { memberId } } } }`;
const CHANGES = `query($l: [ID!], $after: String) { lockAccessChanges(lockIds: $l, after: $after) { entries { memberId mayOpen } } }`;
const GRANT = `mutation($i: GrantShareInput!) { grantShare(input: $i) { id } }`;

/** Every access read of one member and one lock, as `key` sees them (a directory reader's five reads). */
async function accessView(s: Served, key: string, memberId: string, lockId: string, after: string) {
  const [who, of, can] = await Promise.all([s.gql(key, WHO, { l: lockId }), s.gql(key, ACCESS_OF, { m: memberId }), s.gql(key, CAN, { m: memberId, l: lockId })]);
  for (const r of [who, of, can]) expect(r.errors).toBeUndefined();
  return {
    whoCanOpen: who.data!.whoCanOpen.edges.map((e: { node: { id: string } }) => e.node.id),
    accessOf: of.data!.accessOf.map((a: { lockId: string }) => a.lockId),
    canAccess: can.data!.canAccess,
    ...(await controllerView(s, key, lockId, after)),
  };
}

/** A door controller's reads of one lock: its allow-list, and the changes after `after`. */
async function controllerView(s: Served, key: string, lockId: string, after: string) {
  const [snap, changes] = await Promise.all([s.gql(key, SNAPSHOT, { l: [lockId] }), s.gql(key, CHANGES, { l: [lockId], after })]);
  for (const r of [snap, changes]) expect(r.errors).toBeUndefined();
  return {
    lockSnapshot: snap.data!.lockSnapshot.locks.flatMap((l: { members: { memberId: string }[] }) => l.members.map((m) => m.memberId)),
    lockAccessChanges: changes.data!.lockAccessChanges.entries,
  };
}

type Admin = Awaited<ReturnType<typeof consoleAdmin>>;

/** A GraphQL operation as the admin console sends it: session cookie and CSRF header. */
async function consoleGql(s: Served, admin: Admin, query: string, variables: Record<string, unknown> = {}): Promise<GqlData> {
  const res = await fetch(`${s.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie: admin.cookie, [CSRF_HEADER]: admin.csrf },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: GqlData; errors?: unknown[] };
  expect(res.status).toBe(200);
  expect(body.errors).toBeUndefined();
  return body.data!;
}

/** What the console's lists show of `text` (members, groups, places, the log, the log's export), as `admin` sees them. */
async function consoleView(s: Served, admin: Admin, text: string) {
  const [members, groups, places, logs] = await Promise.all([
    consoleGql(s, admin, MEMBERS_QUERY, { text, first: 50 }),
    consoleGql(s, admin, GROUPS_QUERY),
    consoleGql(s, admin, PLACES_QUERY),
    consoleGql(s, admin, LOGS_QUERY, { filter: { search: text } }),
  ]);
  const exported = await fetch(`${s.url}${logExportUrl('all', { q: text }, 'jsonl')}`, { headers: { cookie: admin.cookie } });
  expect(exported.status).toBe(200);
  const named = (xs: { node: Record<string, unknown> }[], field: string) => xs.map((e) => String(e.node[field])).filter((v) => v.includes(text));
  return {
    members: named(members.members.edges, 'userName'),
    groups: named(groups.groups.edges, 'displayName'),
    places: named(places.places.edges, 'name'),
    logs: logs.auditEvents.edges.map((e: { node: { action: string } }) => e.node.action),
    exported: (await exported.text()).split('\n').filter((l) => l !== '').map((l) => (JSON.parse(l) as { action: string }).action),
  };
}

async function replicaState(s: Served): Promise<ReplicaStatus> {
  return (await s.readyz()).replicas[0]!;
}

/** Members inserted on the primary by no caller of the app (a SCIM client, another process). */
async function insertElsewhere(domain: Domain, actor: Awaited<ReturnType<typeof buildOrg>>['actor'], userName: string): Promise<string> {
  return (await domain.members.create(actor, { userName })).id;
}

describe('read replicas', () => {
  let org: Awaited<ReturnType<typeof buildOrg>>;
  let other: string;
  let fast: Served;

  beforeAll(async () => {
    t = await createTestDb();
    replica = await startReplica();
    await replica.caughtUp(t.name);
    fast = await serve(60);
    org = await buildOrg(fast.domain);
    other = (await fast.domain.apiKeys.create(org.actor, { name: 'reader', role: 'admin' })).key;
    await replica.caughtUp(t.name);
  }, 300_000);

  afterAll(async () => {
    for (const s of served) await s.close().catch(() => undefined);
    replica?.remove();
    await t?.close();
  });

  it('shows the replica in /readyz and /metrics, and serves GraphQL queries from it', async () => {
    await until('replica up', async () => (await replicaState(fast)).state === 'up');
    const ready = await fast.readyz();
    expect(ready.status).toBe('ready');
    expect(ready.replicas).toEqual([expect.objectContaining({ name: 'replica1', state: 'up' })]);
    expect(ready.replicas[0]!.lagSeconds).toBeLessThan(60);

    // Replay paused: what the primary writes now is not on the replica.
    await replica.query('select pg_wal_replay_pause()');
    try {
      const hidden = await insertElsewhere(fast.domain, org.actor, 'written-while-paused@example.com');
      const before = (await replicaState(fast)).reads;
      const seen = await fast.gql(other, MEMBER, { id: hidden });
      // Served by the replica (within the 60 s bound): the member is not there yet.
      expect(seen.errors?.length).toBe(1);
      expect(JSON.stringify(seen.errors)).toMatch(/not.?found/i);
      const list = await fast.gql(other, MEMBERS);
      expect(list.data!.members.edges.map((e: { node: { id: string } }) => e.node.id)).not.toContain(hidden);
      expect((await replicaState(fast)).reads).toBeGreaterThan(before);
      // The primary has it: the same read outside GraphQL (no read scope) finds it.
      expect((await fast.domain.members.get(org.actor, hidden)).userName).toBe('written-while-paused@example.com');
      const metrics = await fast.metrics();
      expect(metrics).toMatch(/gatehouse_db_replica_up\{replica="replica1",state="up"\} 1/);
      expect(metrics).toMatch(/gatehouse_db_replica_lag_seconds\{replica="replica1"\} \d/);
    } finally {
      await replica.query('select pg_wal_replay_resume()');
    }
    await replica.caughtUp(t.name);
  });

  it("reads a caller's own writes at once under concurrent load, while the replica lags", async () => {
    // Replay paused for the whole run: without read-your-writes every read of a new member would miss it.
    await until('replica up', async () => (await replicaState(fast)).state === 'up');
    await replica.query('select pg_wal_replay_pause()');
    try {
      const writers = await Promise.all(
        Array.from({ length: 6 }, async (_, i) => (await fast.domain.apiKeys.create(org.actor, { name: `writer ${i}`, role: 'admin' })).key),
      );
      const before = (await replicaState(fast)).reads;
      let checked = 0;
      let hiddenFromOthers = 0;
      await Promise.all(
        writers.map(async (key, w) => {
          for (let i = 0; i < 8; i++) {
            const userName = `ryw-${w}-${i}@example.com`;
            const created = await fast.gql(key, CREATE, { u: userName });
            expect(created.errors).toBeUndefined();
            const id = created.data!.createMember.id as string;
            // The writer's next reads see the write, one by id and one in the list.
            const one = await fast.gql(key, MEMBER, { id });
            expect(one.errors).toBeUndefined();
            expect(one.data!.member.userName).toBe(userName);
            const list = await fast.gql(key, MEMBERS);
            expect(list.data!.members.edges.map((e: { node: { id: string } }) => e.node.id)).toContain(id);
            checked++;
            // Meanwhile a caller that wrote nothing reads from the replica, where the member is not yet.
            const elsewhere = await fast.gql(other, MEMBER, { id });
            if (elsewhere.errors) hiddenFromOthers++;
          }
        }),
      );
      expect(checked).toBe(48);
      expect(hiddenFromOthers).toBe(48);
      expect((await replicaState(fast)).reads).toBeGreaterThan(before);
    } finally {
      await replica.query('select pg_wal_replay_resume()');
    }
    await replica.caughtUp(t.name);
  });

  it('serves whoCanOpen, accessOf, canAccess, lockSnapshot and lockAccessChanges from the replica to callers that have not written, and the writer its own grant at once', async () => {
    await until('replica up', async () => (await replicaState(fast)).state === 'up');
    const d = fast.domain;
    const member = await buildMember(d, org.actor);
    const lock = await buildLock(d, org.actor);
    const writer = (await d.apiKeys.create(org.actor, { name: 'granter', role: 'admin' })).key;
    const controller = (await d.apiKeys.create(org.actor, { name: 'door', role: 'controller', lockIds: [lock.id] })).key;
    const scim = (await d.organizations.enableScim(org.actor)).token;
    const cursor = (await d.access.lockSnapshot(org.actor, { lockIds: [lock.id], placeIds: [] })).cursor;
    await replica.caughtUp(t.name);
    await replica.query('select pg_wal_replay_pause()');
    try {
      const granted = await fast.gql(writer, GRANT, { i: { memberId: member.id, lockId: lock.id } });
      expect(granted.errors).toBeUndefined();
      // The primary has the grant (the same read outside a read scope goes there).
      expect((await d.access.canAccess(org.actor, member.id, lock.id)).allowed).toBe(true);

      // A reader and a door controller that have not written: the replica's view, without the grant.
      const before = (await replicaState(fast)).reads;
      expect(await accessView(fast, other, member.id, lock.id, cursor)).toEqual({
        whoCanOpen: [],
        accessOf: [],
        canAccess: { allowed: false, reason: 'NO_SHARE' },
        lockSnapshot: [],
        lockAccessChanges: [],
      });
      expect(await controllerView(fast, controller, lock.id, cursor)).toEqual({ lockSnapshot: [], lockAccessChanges: [] });
      expect((await replicaState(fast)).reads).toBeGreaterThanOrEqual(before + 7);

      // The writer: its own grant, at once, in every one of these reads.
      expect(await accessView(fast, writer, member.id, lock.id, cursor)).toEqual({
        whoCanOpen: [member.id],
        accessOf: [lock.id],
        canAccess: { allowed: true, reason: 'GRANTED' },
        lockSnapshot: [member.id],
        lockAccessChanges: [{ memberId: member.id, mayOpen: true }],
      });

      // Writes, credential checks, SCIM and sign-in read the primary: a member and a key made meanwhile
      // elsewhere (not on the replica) are granted, used, read over SCIM, and a session signs in.
      const hidden = await buildMember(d, org.actor);
      const fresh = (await d.apiKeys.create(org.actor, { name: 'made while paused', role: 'admin' })).key;
      expect((await fast.gql(fresh, GRANT, { i: { memberId: hidden.id, lockId: lock.id } })).errors).toBeUndefined();
      const scimRead = await scimClient(fast, scim).get(`/Users/${hidden.id}`);
      expect(scimRead.status).toBe(200);
      expect(scimRead.body.userName).toBe(hidden.userName);
      const signedIn = await consoleAdmin({ t }, org.id);
      expect((await fetch(`${fast.url}/admin/api/session`, { headers: { cookie: signedIn.cookie } })).status).toBe(200);
      // …while the reader still has the replica's view: neither grant, and no such member.
      expect((await fast.gql(other, WHO, { l: lock.id })).data!.whoCanOpen.edges).toEqual([]);
      expect(JSON.stringify((await fast.gql(other, ACCESS_OF, { m: hidden.id })).errors)).toMatch(/member_not_found/);
    } finally {
      await replica.query('select pg_wal_replay_resume()');
    }
    await replica.caughtUp(t.name);
    // Replayed: everyone sees both grants.
    expect((await accessView(fast, other, member.id, lock.id, cursor)).canAccess).toEqual({ allowed: true, reason: 'GRANTED' });
  });

  it("serves the console's lists and log export from the replica to an admin who has not written, and an admin's own change at once", async () => {
    await until('replica up', async () => (await replicaState(fast)).state === 'up');
    const d = fast.domain;
    const viewer = await consoleAdmin({ t }, org.id);
    const editor = await consoleAdmin({ t }, org.id);
    const text = unique('console-list-');
    await replica.caughtUp(t.name);
    await replica.query('select pg_wal_replay_pause()');
    try {
      // Changes elsewhere (a SCIM client, another process): a member, a group, a place, each with its audit event.
      await insertElsewhere(d, org.actor, `${text}-elsewhere@example.com`);
      await d.groups.create(org.actor, { displayName: `${text} group` });
      await d.places.createPlace(org.actor, { name: `${text} place` });
      const before = (await replicaState(fast)).reads;
      const nothing = { members: [], groups: [], places: [], logs: [], exported: [] };
      expect(await consoleView(fast, viewer, text)).toEqual(nothing);
      expect((await replicaState(fast)).reads).toBeGreaterThanOrEqual(before + 5);

      // The editor adds a member through the console's GraphQL: its next reads see it (and, from the primary, the rest).
      await consoleGql(fast, editor, `mutation($u: String!) { createMember(input: { userName: $u }) { id } }`, { u: `${text}-own@example.com` });
      const own = await consoleView(fast, editor, text);
      expect(own.members.sort()).toEqual([`${text}-elsewhere@example.com`, `${text}-own@example.com`]);
      expect(own.groups).toEqual([`${text} group`]);
      expect(own.places).toEqual([`${text} place`]);
      expect(own.logs).toEqual(expect.arrayContaining(['member.create', 'group.create']));
      expect(own.logs.filter((a: string) => a === 'member.create')).toHaveLength(2);
      expect(own.exported.sort()).toEqual([...own.logs].sort());
      // The viewer, who wrote nothing, still reads the replica.
      expect(await consoleView(fast, viewer, text)).toEqual(nothing);
    } finally {
      await replica.query('select pg_wal_replay_resume()');
    }
    await replica.caughtUp(t.name);
    expect((await consoleView(fast, viewer, text)).members).toHaveLength(2);
  });

  it('skips a stopped replica within a second and uses it again when it returns', async () => {
    await until('replica up', async () => (await replicaState(fast)).state === 'up');
    const id = await insertElsewhere(fast.domain, org.actor, 'while-stopped@example.com');
    await replica.caughtUp(t.name);
    replica.stop();
    try {
      // Every read still answers (from the primary), at once.
      const started = Date.now();
      const seen = await fast.gql(other, MEMBER, { id });
      expect(seen.errors).toBeUndefined();
      expect(seen.data!.member.userName).toBe('while-stopped@example.com');
      expect(Date.now() - started).toBeLessThan(1000);
      const skippedIn = await until('replica down', async () => (await replicaState(fast)).state === 'down', 5000);
      expect(skippedIn).toBeLessThan(1000);
      expect((await fast.readyz()).status).toBe('ready');
      for (let i = 0; i < 5; i++) expect((await fast.gql(other, MEMBERS)).errors).toBeUndefined();
    } finally {
      replica.start();
    }
    await until('replica back up', async () => (await replicaState(fast)).state === 'up', 30_000);
    const before = (await replicaState(fast)).reads;
    expect((await fast.gql(other, MEMBER, { id })).data!.member.userName).toBe('while-stopped@example.com');
    expect((await replicaState(fast)).reads).toBeGreaterThan(before);
  });

  it('skips a replica whose replay is paused once it lags beyond DATABASE_REPLICA_MAX_LAG_SECONDS, and returns to it', async () => {
    const strict = await serve(2);
    await until('replica up', async () => (await replicaState(strict)).state === 'up', 30_000, () => replicaState(strict));
    await replica.query('select pg_wal_replay_pause()');
    let id: string;
    try {
      id = await insertElsewhere(strict.domain, org.actor, 'lagging@example.com');
      // Within the bound the replica still serves (the member is not there)…
      const early = await strict.gql(other, MEMBER, { id });
      expect(early.errors?.length).toBe(1);
      // …beyond it the replica is skipped and the primary answers.
      await until('replica lagging', async () => (await replicaState(strict)).state === 'lagging', 10_000);
      const state = await replicaState(strict);
      expect(state.lagSeconds).toBeGreaterThan(2);
      const late = await strict.gql(other, MEMBER, { id });
      expect(late.errors).toBeUndefined();
      expect(late.data!.member.userName).toBe('lagging@example.com');
      expect(await strict.metrics()).toMatch(/gatehouse_db_replica_up\{replica="replica1",state="lagging"\} 0/);
    } finally {
      await replica.query('select pg_wal_replay_resume()');
    }
    await until('replica caught up', async () => (await replicaState(strict)).state === 'up', 15_000);
    const before = (await replicaState(strict)).reads;
    expect((await strict.gql(other, MEMBER, { id: id! })).data!.member.userName).toBe('lagging@example.com');
    expect((await replicaState(strict)).reads).toBeGreaterThan(before);
  });
});
