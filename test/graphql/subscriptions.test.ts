// Per-lock changes pushed over graphql-ws and graphql-sse on /graphql: backlog
// after a cursor then live, in commit order, no gap or duplicate across
// reconnects; clear errors for bad input without hurting the socket server;
// connections opened and closed in a loop leave nothing behind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import v8 from 'node:v8';
import vm from 'node:vm';
import pg from 'pg';
import WebSocket from 'ws';
import { createClient, type Client } from 'graphql-ws';
import { createClient as createSseClient } from 'graphql-sse';
import { startHarness, type Harness } from './harness.js';
import { buildLock, buildMember } from '../factories/index.js';
import { startTestApp } from '../setup/test-app.js';
import { waitFor } from '../setup/net.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const SUB = `subscription($l: [ID!], $p: [ID!], $after: String) { lockAccess(lockIds: $l, placeIds: $p, after: $after) { cursor memberId lockId mayOpen } }`;
interface Entry {
  cursor: string;
  memberId: string;
  lockId: string;
  mayOpen: boolean;
}

function wsClient(key: string): Client {
  return createClient({ url: h.url.replace('http', 'ws'), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${key}` }, retryAttempts: 0, lazy: true });
}

/** Subscribes; collects entries; resolves `error` with the first error. */
function collect(client: Client, variables: Record<string, unknown>) {
  const got: Entry[] = [];
  let failed: unknown = null;
  const stop = client.subscribe<{ lockAccess: Entry }>(
    { query: SUB, variables },
    {
      next: (r) => {
        if (r.errors) failed = r.errors;
        else got.push(r.data!.lockAccess);
      },
      error: (e) => (failed = e),
      complete: () => undefined,
    },
  );
  return { got, stop, error: () => failed };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// The server runs in this process: its file descriptors and heap are these.
const fds = () => fs.readdirSync('/proc/self/fd').length;
/** Waits for the descriptors to be back to `baseline` (+5); up to 20 s, as idle pool connections opened under the load close after 10 s. */
async function fdsBackTo(baseline: number): Promise<void> {
  await waitFor(async () => fds() <= baseline + 5, 20_000).catch(() => undefined);
  expect(fds()).toBeLessThanOrEqual(baseline + 5);
}
async function heap(): Promise<number> {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  await new Promise((r) => setImmediate(r));
  gc();
  return process.memoryUsage().heapUsed;
}

describe('lockAccess subscription', () => {
  it('sends the backlog after the cursor, then live changes, in order; a reconnect from the last cursor loses and repeats nothing', async () => {
    const o = await h.org();
    const d = h.t.domain;
    const lock = await buildLock(d, o.actor);
    const members = await Promise.all(Array.from({ length: 6 }, () => buildMember(d, o.actor)));
    const snap = await d.access.lockSnapshot(o.actor, { lockIds: [lock.id], placeIds: [] });
    // Two changes before subscribing (the backlog)...
    for (const m of members.slice(0, 2)) await d.shares.grant(o.actor, { memberId: m.id, lockId: lock.id });
    const client = wsClient(o.reader);
    const s1 = collect(client, { l: [lock.id], after: snap.cursor });
    await until(() => s1.got.length === 2, 'the backlog');
    // ...then live ones.
    await d.shares.grant(o.actor, { memberId: members[2]!.id, lockId: lock.id });
    await d.members.update(o.actor, members[0]!.id, { active: false });
    await until(() => s1.got.length === 4, 'live changes');
    expect(s1.got.map((e) => [e.memberId, e.mayOpen])).toEqual([
      [members[0]!.id, true],
      [members[1]!.id, true],
      [members[2]!.id, true],
      [members[0]!.id, false],
    ]);
    // Disconnect; changes happen meanwhile; reconnect from the last applied cursor (over SSE this time).
    s1.stop();
    await client.dispose();
    await d.shares.grant(o.actor, { memberId: members[3]!.id, lockId: lock.id });
    await d.shares.grant(o.actor, { memberId: members[4]!.id, lockId: lock.id });
    const sse = createSseClient({ url: h.url, headers: { authorization: `Bearer ${o.reader}` }, retryAttempts: 0 });
    const got: Entry[] = [];
    const stop = sse.subscribe<{ lockAccess: Entry }>(
      { query: SUB, variables: { l: [lock.id], after: s1.got.at(-1)!.cursor } },
      { next: (r) => got.push(r.data!.lockAccess), error: () => undefined, complete: () => undefined },
    );
    await until(() => got.length === 2, 'the missed changes over SSE');
    await d.shares.grant(o.actor, { memberId: members[5]!.id, lockId: lock.id });
    await until(() => got.length === 3, 'a live change over SSE');
    expect(got.map((e) => e.memberId)).toEqual([members[3]!.id, members[4]!.id, members[5]!.id]);
    const all = [...s1.got, ...got].map((e) => e.cursor);
    expect(new Set(all).size).toBe(all.length);
    stop();
    sse.dispose();
  });

  it('pushes a change committed by another process (its own database connection): NOTIFY at commit reaches every process', async () => {
    const o = await h.org();
    const lock = await buildLock(h.t.domain, o.actor);
    const m = await buildMember(h.t.domain, o.actor);
    const client = wsClient(o.reader);
    const s = collect(client, { l: [lock.id] });
    await new Promise((r) => setTimeout(r, 300));
    const other = new pg.Client({ connectionString: h.t.url });
    await other.connect();
    try {
      await other.query(`insert into shares (organization_id, id, member_id, lock_id, role) values ($1, gen_random_uuid(), $2, $3, 'user')`, [o.id, m.id, lock.id]);
    } finally {
      await other.end();
    }
    await until(() => s.got.length === 1, 'the other process\'s change');
    expect(s.got[0]).toMatchObject({ memberId: m.id, lockId: lock.id, mayOpen: true });
    s.stop();
    await client.dispose();
  });

  it('answers bad input with clear errors and keeps serving the same socket', async () => {
    const o = await h.org();
    const other = await h.org();
    const d = h.t.domain;
    const lock = await buildLock(d, o.actor);
    const theirs = await buildLock(d, other.actor);
    const notGiven = await buildLock(d, o.actor);
    const controllerKey = (await d.apiKeys.create(o.actor, { name: 'door', role: 'controller', lockIds: [lock.id] })).key;
    const client = wsClient(o.reader);
    const reasons: unknown[] = [];
    for (const v of [
      { l: [crypto.randomUUID()] },
      { l: [theirs.id] },
      { l: ['not-a-uuid'] },
      { p: [theirs.placeId] },
      { l: [lock.id], after: 'bm9wZQ' },
      { l: [lock.id], after: Buffer.from('p:999999').toString('base64url') },
      { l: [lock.id], after: 42 },
      { l: [] },
    ]) {
      const s = collect(client, v);
      await until(() => s.error() !== null, 'an error');
      const errors = s.error() as { extensions?: { reason?: string; code?: string } }[];
      reasons.push(errors[0]?.extensions?.reason ?? errors[0]?.extensions?.code);
    }
    expect(reasons).toEqual(['lock_not_found', 'lock_not_found', 'lock_not_found', 'place_not_found', 'invalid_cursor', 'invalid_cursor', 'BAD_USER_INPUT', 'locks_required']);
    // The same over Server-Sent Events.
    const sse = createSseClient({ url: h.url, headers: { authorization: `Bearer ${o.reader}` }, retryAttempts: 0 });
    for (const [v, reason] of [
      [{ l: [theirs.id] }, 'lock_not_found'],
      [{ l: [lock.id], after: 'bm9wZQ' }, 'invalid_cursor'],
      [{ l: [lock.id], after: 42 }, 'BAD_USER_INPUT'],
    ] as const) {
      const got = await new Promise<unknown>((resolve) => {
        sse.subscribe<{ lockAccess: Entry }>(
          { query: SUB, variables: v },
          { next: (r) => resolve(r.errors), error: (e) => resolve(e), complete: () => resolve('completed without an error') },
        );
      });
      if (reason === 'BAD_USER_INPUT') {
        // Refused before the stream starts: HTTP 400 with the error in GraphQL's shape.
        const res = (got as { response?: Response }).response!;
        expect(res.status).toBe(400);
        expect(((await res.json()) as { errors: { extensions?: { code?: string } }[] }).errors[0]?.extensions?.code).toBe(reason);
        continue;
      }
      const first = (Array.isArray(got) ? got[0] : undefined) as { extensions?: { reason?: string } } | undefined;
      expect(first?.extensions?.reason, JSON.stringify(got)).toBe(reason);
    }
    sse.dispose();
    // A controller key: its own lock, not another one of the organisation.
    const door = wsClient(controllerKey);
    const notInScope = collect(door, { l: [lock.id, notGiven.id] });
    await until(() => notInScope.error() !== null, 'the refusal of a lock not given');
    expect((notInScope.error() as { extensions?: { reason?: string } }[])[0]?.extensions?.reason).toBe('lock_not_in_scope');
    const own = collect(door, { l: [lock.id] });
    // Frames that are not graphql-ws (not JSON, a subscribe before connection_init) close that one socket, nothing else.
    for (const frame of ['{not json', JSON.stringify({ id: '1', type: 'subscribe', payload: { query: SUB } }), JSON.stringify({ type: 'nope' })]) {
      const raw = new WebSocket(h.url.replace('http', 'ws'), 'graphql-transport-ws');
      await new Promise((r) => raw.once('open', r));
      const closed = new Promise<number>((r) => raw.once('close', (code) => r(code)));
      raw.send(frame);
      expect(await closed).toBeGreaterThanOrEqual(4400);
    }
    // The same connection still works.
    const ok = collect(client, { l: [lock.id] });
    const m = await buildMember(d, o.actor);
    await new Promise((r) => setTimeout(r, 200));
    await d.shares.grant(o.actor, { memberId: m.id, lockId: lock.id });
    await until(() => ok.got.length === 1, 'a change on the same socket');
    await until(() => own.got.length === 1, "the same change at the controller's socket");
    expect(notInScope.got).toEqual([]);
    ok.stop();
    own.stop();
    await client.dispose();
    await door.dispose();
    // Wrong credentials: the connection is refused (4403), nothing else.
    const bad = wsClient('gh_key_wrong');
    const refused = collect(bad, { l: [lock.id] });
    await until(() => refused.error() !== null, 'refusal');
    await bad.dispose();
  });

  it('opens and closes 1,000 connections without leaking subscribers, sockets or memory', async () => {
    const o = await h.org();
    const lock = await buildLock(h.t.domain, o.actor);
    const round = async (n: number) => {
      for (let i = 0; i < n; i += 50) {
        await Promise.all(
          Array.from({ length: 50 }, async () => {
            const c = wsClient(o.reader);
            const s = collect(c, { l: [lock.id] });
            await new Promise((r) => setTimeout(r, 10));
            s.stop();
            await c.dispose();
          }),
        );
      }
    };
    await round(100);
    await new Promise((r) => setTimeout(r, 500));
    const fd0 = fds();
    const heap0 = await heap();
    await round(1000);
    await new Promise((r) => setTimeout(r, 500));
    expect(h.app.subscriberCount()).toBe(0);
    await fdsBackTo(fd0);
    // A leak of 4 KiB per connection would show as 4 MiB.
    expect(await heap()).toBeLessThan(heap0 + 4 * 1024 * 1024);
  }, 300_000);

  it('leaks nothing when 1,000 subscribers leave without a goodbye: SSE streams aborted, WebSockets dropped mid-subscription', async () => {
    const o = await h.org();
    const lock = await buildLock(h.t.domain, o.actor);
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    // A controller whose network goes away: no complete, no close frame, the TCP connection just ends.
    const dropped = async (leave: Promise<unknown>) => {
      const raw = new WebSocket(h.url.replace('http', 'ws'), 'graphql-transport-ws');
      await new Promise((r) => raw.once('open', r));
      raw.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${o.reader}` } }));
      await new Promise((r) => raw.once('message', r));
      raw.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: SUB, variables: { l: [lock.id] } } }));
      await leave;
      raw.terminate();
    };
    // Server-Sent Events end only by the client going away (the request aborted).
    const aborted = async (leave: Promise<unknown>) => {
      const c = createSseClient({ url: h.url, headers: { authorization: `Bearer ${o.reader}` }, retryAttempts: 0 });
      const stop = c.subscribe({ query: SUB, variables: { l: [lock.id] } }, { next: () => undefined, error: () => undefined, complete: () => undefined });
      await leave;
      stop();
      c.dispose();
    };
    // 50 at a time: 10 leave while the server is still setting their subscription up, 40 once all 40 are live.
    const round = async (n: number) => {
      for (let i = 0; i < n; i += 50) {
        let release!: () => void;
        const live = new Promise<void>((r) => (release = r));
        const clients = Array.from({ length: 50 }, (_, k) => (k % 2 ? dropped : aborted)(k < 10 ? sleep(0) : live));
        await waitFor(async () => h.app.subscriberCount() >= 40, 20_000, 10);
        release();
        await Promise.all(clients);
      }
    };
    await round(100);
    await waitFor(async () => h.app.subscriberCount() === 0, 20_000);
    await sleep(500);
    const fd0 = fds();
    const heap0 = await heap();
    await round(1000);
    // Every one released (a busy server may notice a dropped connection late), its socket closed, its memory free again.
    await waitFor(async () => h.app.subscriberCount() === 0, 20_000);
    await fdsBackTo(fd0);
    expect(await heap()).toBeLessThan(heap0 + 4 * 1024 * 1024);
  }, 300_000);
  it('a subscriber on one process sees a change made through another; moving to the other process it resumes from its cursor', async () => {
    const o = await h.org();
    const d = h.t.domain;
    const lock = await buildLock(d, o.actor);
    const [m1, m2, m3] = await Promise.all([0, 1, 2].map(() => buildMember(d, o.actor)));
    // Process B: its own app, pool, domain and LISTEN connection on the same database.
    const b = await startTestApp({ db: h.t, ownDatabase: true });
    try {
      const grantThroughB = async (memberId: string) => {
        const res = await fetch(`${b.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${o.admin}` },
          body: JSON.stringify({ query: `mutation($i: GrantShareInput!) { grantShare(input: $i) { id } }`, variables: { i: { memberId, lockId: lock.id } } }),
        });
        expect(((await res.json()) as { errors?: unknown }).errors).toBeUndefined();
      };
      const onA = wsClient(o.reader);
      const a = collect(onA, { l: [lock.id], after: (await d.access.lockSnapshot(o.actor, { lockIds: [lock.id], placeIds: [] })).cursor });
      await new Promise((r) => setTimeout(r, 200));
      await grantThroughB(m1!.id);
      await until(() => a.got.length === 1, "process B's change on process A");
      a.stop();
      await onA.dispose();
      // Changes while away; the controller reconnects to process B with its last cursor.
      await grantThroughB(m2!.id);
      const onB = createClient({ url: `${b.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${o.reader}` }, retryAttempts: 0, lazy: true });
      const bSub = collect(onB, { l: [lock.id], after: a.got[0]!.cursor });
      await until(() => bSub.got.length === 1, 'the missed change from process B');
      // A change through process A now reaches the subscriber on B.
      await d.shares.grant(o.actor, { memberId: m3!.id, lockId: lock.id });
      await until(() => bSub.got.length === 2, "process A's change on process B");
      expect([...a.got, ...bSub.got].map((e) => e.memberId)).toEqual([m1!.id, m2!.id, m3!.id]);
      const cursors = [...a.got, ...bSub.got].map((e) => e.cursor);
      expect(new Set(cursors).size).toBe(3);
      bSub.stop();
      await onB.dispose();
    } finally {
      await b.close();
    }
  });

  it('refuses an expired cursor with cursor_expired on the same socket, which goes on serving', async () => {
    const o = await h.org();
    const d = h.t.domain;
    const lock = await buildLock(d, o.actor);
    const m = await buildMember(d, o.actor);
    const old = (await d.access.lockSnapshot(o.actor, { lockIds: [lock.id], placeIds: [] })).cursor;
    await d.shares.grant(o.actor, { memberId: m.id, lockId: lock.id });
    // Retention purged everything up to the head: the old cursor is past what the feed keeps.
    await h.t.database.db.sql.one(`update access_feed_heads set purged_through = position where organization_id = $1 returning position`, [o.id]);
    const client = wsClient(o.reader);
    const expired = collect(client, { l: [lock.id], after: old });
    await until(() => expired.error() !== null, 'the refusal');
    expect((expired.error() as { extensions?: { reason?: string } }[])[0]?.extensions?.reason).toBe('cursor_expired');
    // The snapshot's cursor works on the same socket.
    const fresh = collect(client, { l: [lock.id], after: (await d.access.lockSnapshot(o.actor, { lockIds: [lock.id], placeIds: [] })).cursor });
    await new Promise((r) => setTimeout(r, 200));
    await d.members.update(o.actor, m.id, { active: false });
    await until(() => fresh.got.length === 1, 'a change after the new snapshot');
    expect(fresh.got[0]).toMatchObject({ memberId: m.id, mayOpen: false });
    fresh.stop();
    await client.dispose();
  });

  it('orders and resumes by position where a per-lock cursor crosses a power of ten', async () => {
    const o = await h.org();
    const d = h.t.domain;
    const lock = await buildLock(d, o.actor);
    const members = await Promise.all(Array.from({ length: 6 }, () => buildMember(d, o.actor)));
    // The organisation's feed stands at 997: the next entries are 998, 999, 1000, 1001...
    await h.t.database.db.sql.one(`update access_feed_heads set position = 997 where organization_id = $1 returning position`, [o.id]);
    const start = (await d.access.lockSnapshot(o.actor, { lockIds: [lock.id], placeIds: [] })).cursor;
    for (const m of members) await d.shares.grant(o.actor, { memberId: m.id, lockId: lock.id });
    const client = wsClient(o.reader);
    const all = collect(client, { l: [lock.id], after: start });
    await until(() => all.got.length === 6, 'the six entries');
    const positions = all.got.map((e) => Number(Buffer.from(e.cursor, 'base64url').toString().slice(2)));
    // (each grant also numbers its organisation-wide change: every other position is this lock's)
    expect(positions).toEqual([999, 1001, 1003, 1005, 1007, 1009]);
    expect(all.got.map((e) => e.memberId)).toEqual(members.map((m) => m.id));
    // Resuming after 999 (a string that sorts after "1001") gives exactly 1001 and on.
    const resumed = collect(client, { l: [lock.id], after: all.got[0]!.cursor });
    await until(() => resumed.got.length === 5, 'the entries after 999');
    await new Promise((r) => setTimeout(r, 200));
    expect(resumed.got.map((e) => e.cursor)).toEqual(all.got.slice(1).map((e) => e.cursor));
    all.stop();
    resumed.stop();
    await client.dispose();
  });

  it('pushes a live entry once to each subscriber of its lock or its place (once to one that follows both), and to no other', async () => {
    const o = await h.org();
    const d = h.t.domain;
    const site = await d.places.createPlace(o.actor, { name: 'Site' });
    const [front, back] = [await buildLock(d, o.actor, site.id), await buildLock(d, o.actor, site.id)];
    const elsewhere = await buildLock(d, o.actor);
    const m = await buildMember(d, o.actor);
    const client = wsClient(o.reader);
    const before = h.app.subscriberCount();
    const both = collect(client, { l: [front.id], p: [site.id] });
    const place = collect(client, { p: [site.id] });
    const lock = collect(client, { l: [front.id] });
    const other = collect(client, { l: [elsewhere.id, back.id] });
    await until(() => h.app.subscriberCount() === before + 4, 'the four subscribers');
    await d.shares.grant(o.actor, { memberId: m.id, lockId: front.id });
    await d.shares.grant(o.actor, { memberId: m.id, lockId: elsewhere.id });
    await until(() => both.got.length >= 1 && place.got.length >= 1 && lock.got.length >= 1 && other.got.length >= 1, 'the entries');
    await new Promise((r) => setTimeout(r, 300));
    expect(both.got.map((e) => e.lockId)).toEqual([front.id]);
    expect(place.got.map((e) => e.lockId)).toEqual([front.id]);
    expect(lock.got.map((e) => e.lockId)).toEqual([front.id]);
    expect(other.got.map((e) => e.lockId)).toEqual([elsewhere.id]);
    for (const s of [both, place, lock, other]) s.stop();
    await client.dispose();
  });
});
