// Read replicas (DATABASE_REPLICA_URLS) against a real streaming replica of
// the test server (test/setup/replica.ts: pg_basebackup -R, pg_ctl on its own
// port). Lag-tolerant reads of GraphQL queries go to the replica; a caller's
// reads after its own write see that write; a stopped replica is skipped at
// once and used again when it returns; a replica whose replay is paused is
// skipped once it lags beyond DATABASE_REPLICA_MAX_LAG_SECONDS.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Domain } from '../../src/domain/index.js';
import type { ReplicaStatus } from '../../src/infra/postgres/replicas.js';
import { buildOrg } from '../factories/index.js';
import { startReplica, type Replica } from '../setup/replica.js';
import { createTestDb, type TestDb } from '../setup/test-db.js';
import { startTestApp } from '../setup/test-app.js';
import { gql } from '../setup/clients.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- GraphQL answers, read field by field
type GqlData = Record<string, any>;

interface Served {
  readonly domain: Domain;
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
