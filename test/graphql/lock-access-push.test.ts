// Every kind of change of who may open which lock (issue 18, "Per-lock
// changes"), pushed to real clients: a graphql-ws and a graphql-sse subscriber
// of one controller key (one lock and one place) get the same per-lock entries,
// cursor for cursor, as each change commits: shares granted and revoked, a
// place share and a lock added to the place after it, group membership, a
// member deactivated, re-activated and deleted, a group, lock and place
// deleted, and a validity window that starts and ends (pushed by the scheduled
// job, ACCESS_WINDOWS_INTERVAL_SECONDS). Then retention through its scheduled
// job: a cursor from before the purge gets cursor_expired on both transports,
// and the subscribers already connected go on. And no global fence: a
// transaction held open in another organisation, or an unrelated one, does not
// hold a change back. And the same credentials as queries on the upgrade.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import WebSocket from 'ws';
import { createClient } from 'graphql-ws';
import { createClient as createSseClient } from 'graphql-sse';
import { startHarness, type Harness } from './harness.js';
import { buildGroup, buildLock, buildMember } from '../factories/index.js';
import { waitFor } from '../setup/net.js';
import { JOB } from '../../src/scheduler/jobs.js';
import { openAt } from '../../examples/door-controller/controller.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ SCHEDULER: 'on', ACCESS_WINDOWS_INTERVAL_SECONDS: '1', ACCESS_FEED_RETENTION_DAYS: '1' });
  await h.app.scheduler!.ready;
}, 60_000);
afterAll(async () => {
  await h?.close();
});

const SUB = `subscription($l: [ID!], $p: [ID!], $after: String) {
  lockAccess(lockIds: $l, placeIds: $p, after: $after) { cursor memberId lockId placeId mayOpen windows { validFrom validUntil } } }`;

interface Entry {
  cursor: string;
  memberId: string;
  lockId: string;
  placeId: string;
  mayOpen: boolean;
  windows: { validFrom: string | null; validUntil: string | null }[];
}
/** An entry and when it arrived, by this client's clock. */
interface Received {
  entry: Entry;
  at: number;
}
interface Subscriber {
  readonly got: Received[];
  error(): unknown;
  close(): Promise<void>;
}

/** One subscription of `lockAccess` over WebSocket (graphql-ws) or Server-Sent Events (graphql-sse), with `key`. */
function subscribe(transport: 'ws' | 'sse', key: string, variables: Record<string, unknown>): Subscriber {
  const got: Received[] = [];
  let failed: unknown = null;
  const sink = {
    next(r: { data?: { lockAccess: Entry } | null; errors?: readonly unknown[] }) {
      if (r.errors) failed = r.errors;
      else got.push({ entry: r.data!.lockAccess, at: Date.now() });
    },
    error(e: unknown) {
      failed = e;
    },
    complete: () => undefined,
  };
  // Both clients subscribe with a sink and dispose the same way.
  const client: { subscribe: ReturnType<typeof createClient>['subscribe']; dispose(): void | Promise<void> } =
    transport === 'ws'
      ? createClient({ url: h.url.replace('http', 'ws'), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${key}` }, retryAttempts: 0, lazy: true })
      : createSseClient({ url: h.url, headers: { authorization: `Bearer ${key}` }, retryAttempts: 0 });
  const stop = client.subscribe<{ lockAccess: Entry }>({ query: SUB, variables }, sink);
  return {
    got,
    error: () => failed,
    async close() {
      stop();
      await client.dispose();
    },
  };
}

type Seen = [member: string, lock: string, mayOpen: boolean];
const sorted = (s: Seen[]) => [...s].sort((x, y) => (x.join() < y.join() ? -1 : 1));

async function reason(s: Subscriber): Promise<string | undefined> {
  await waitFor(async () => s.error() !== null, 20_000);
  return (s.error() as { extensions?: { reason?: string } }[])[0]?.extensions?.reason;
}

describe('lockAccess pushes every kind of change to WebSocket and SSE subscribers', () => {
  it('resolves each change to (member, lock, may open) at the subscribed locks, the same over both transports; retention expires old cursors', async () => {
    const o = await h.org();
    const d = h.t.domain;
    const a = o.actor;
    const place = await d.places.createPlace(a, { name: 'Depot' });
    const front = await buildLock(d, a, place.id);
    const single = await buildLock(d, a);
    const elsewhere = await buildLock(d, a);
    const [alice, bob, carol, dave] = await Promise.all([0, 1, 2, 3].map(() => buildMember(d, a)));
    const staff = await buildGroup(d, a, [bob!.id]);
    // The controller of one lock and one place (its locks, also those added later).
    const key = (await d.apiKeys.create(a, { name: 'depot controller', role: 'controller', lockIds: [single.id], placeIds: [place.id] })).key;
    const snapshot = await d.access.lockSnapshot(a, { lockIds: [single.id], placeIds: [place.id] });
    expect(snapshot.locks.map((l) => l.lockId).sort()).toEqual([front.id, single.id].sort());
    expect(snapshot.locks.flatMap((l) => l.members)).toEqual([]);
    const scope = { l: [single.id], p: [place.id], after: snapshot.cursor };
    const subs = [subscribe('ws', key, scope), subscribe('sse', key, scope)];
    let n = 0;

    /** After one change: each subscriber's next entries are exactly these, WebSocket and SSE the same, cursor for cursor. */
    const next = async (expected: Seen[], what: string): Promise<Received[]> => {
      await waitFor(async () => subs.every((s) => s.got.length >= n + expected.length) || subs.some((s) => s.error() !== null), 20_000).catch(() => {
        throw new Error(`timed out waiting for ${what}: got ${subs.map((s) => s.got.length - n).join(' and ')} of ${expected.length}`);
      });
      expect(subs.map((s) => s.error())).toEqual([null, null]);
      // Anything more that would come with it arrives with it (one commit is one read of the tail).
      await new Promise((r) => setTimeout(r, 100));
      const [ws, sse] = subs.map((s) => s.got.slice(n));
      expect(sorted(ws!.map((r): Seen => [r.entry.memberId, r.entry.lockId, r.entry.mayOpen])), what).toEqual(sorted(expected));
      expect(sse!.map((r) => r.entry), `${what} (SSE as WebSocket)`).toEqual(ws!.map((r) => r.entry));
      n += expected.length;
      return ws!;
    };

    try {
      // A share on a lock the controller was not given says nothing to it; one on its lock does.
      await d.shares.grant(a, { memberId: alice!.id, lockId: elsewhere.id });
      const directShare = await d.shares.grant(a, { memberId: alice!.id, lockId: single.id });
      const [direct] = await next([[alice!.id, single.id, true]], 'a share granted on the lock');
      expect(direct!.entry).toMatchObject({ placeId: single.placeId, windows: [{ validFrom: null, validUntil: null }] });
      // A group's share on the place: every member of the group at every lock of the place.
      await d.shares.grant(a, { groupId: staff.id, placeId: place.id });
      await next([[bob!.id, front.id, true]], 'a group share on the place');
      // A lock added to the place later is covered by the place share.
      const back = await buildLock(d, a, place.id);
      await next([[bob!.id, back.id, true]], 'a lock added to the place after the share');
      // Joining and leaving the group: the locks its shares cover.
      await d.groups.update(a, staff.id, { addMembers: [alice!.id] });
      await next([[alice!.id, front.id, true], [alice!.id, back.id, true]], 'a member added to the group');
      await d.groups.update(a, staff.id, { removeMembers: [alice!.id] });
      await next([[alice!.id, front.id, false], [alice!.id, back.id, false]], 'a member removed from the group');
      // Deactivated and re-activated: every lock the member could open.
      await d.members.update(a, bob!.id, { active: false });
      await next([[bob!.id, front.id, false], [bob!.id, back.id, false]], 'a member deactivated');
      await d.members.update(a, bob!.id, { active: true });
      await next([[bob!.id, front.id, true], [bob!.id, back.id, true]], 'a member re-activated');
      // A share revoked.
      await d.shares.revoke(a, directShare.id);
      await next([[alice!.id, single.id, false]], 'a share revoked');
      // A lock deleted: whoever could open it no longer can.
      await d.places.deleteLock(a, back.id);
      await next([[bob!.id, back.id, false]], 'a lock deleted');
      // A member deleted.
      await d.shares.grant(a, { memberId: carol!.id, lockId: single.id });
      await next([[carol!.id, single.id, true]], 'a share for the member about to be deleted');
      await d.members.delete(a, carol!.id);
      await next([[carol!.id, single.id, false]], 'a member deleted');
      // A group deleted: its shares go with it.
      await d.groups.delete(a, staff.id);
      await next([[bob!.id, front.id, false]], 'a group deleted');

      // A validity window: the grant says "not yet", then the windows job pushes the start and the end as they pass.
      const from = new Date(Date.now() + 4_000);
      const until = new Date(from.getTime() + 3_000);
      await d.shares.grant(a, { memberId: alice!.id, lockId: front.id, validFrom: from, validUntil: until });
      const [granted] = await next([[alice!.id, front.id, false]], 'a share whose window has not started');
      expect(granted!.entry.windows).toEqual([{ validFrom: from.toISOString(), validUntil: until.toISOString() }]);
      const [opened] = await next([[alice!.id, front.id, true]], 'the window starting');
      expect(opened!.at).toBeGreaterThanOrEqual(from.getTime());
      expect(opened!.at - from.getTime()).toBeLessThan(10_000);
      const [ended] = await next([[alice!.id, front.id, false]], 'the window ending');
      expect(ended!.entry.windows).toEqual([]);
      expect(ended!.at).toBeGreaterThanOrEqual(until.getTime());
      // A controller that decides by its own clock and the windows agrees with each entry as it arrives.
      for (const r of [granted!, opened!, ended!]) expect(openAt(r.entry.windows, new Date(r.at))).toBe(r.entry.mayOpen);

      // A place deleted: its locks with it.
      await d.shares.grant(a, { memberId: dave!.id, placeId: place.id });
      await next([[dave!.id, front.id, true]], 'a place share');
      await d.places.deletePlace(a, place.id);
      await next([[dave!.id, front.id, false]], 'a place deleted');

      // Retention (ACCESS_FEED_RETENTION_DAYS=1): everything so far is two days old, and the hourly job runs now.
      await d.db.sql.run(`update access_entries set at = now() - interval '2 days' where organization_id = $1`, [o.id]);
      await d.db.sql.run(`update access_changes set at = now() - interval '2 days' where organization_id = $1`, [o.id]);
      await h.app.scheduler!.trigger(JOB.purgeAccessFeed);
      await waitFor(async () => {
        const r = await d.db.sql.one<{ done: boolean }>(`select purged_through = position and position > 0 as done from access_feed_heads where organization_id = $1`, [o.id]);
        return r.done;
      }, 20_000);
      // The snapshot's old cursor has expired, over either transport: the controller loads the snapshot again.
      // (Its lock only: the place is gone, and with its entries purged it is not found any more.)
      for (const transport of ['ws', 'sse'] as const) {
        const late = subscribe(transport, key, { l: [single.id], after: snapshot.cursor });
        expect(await reason(late), transport).toBe('cursor_expired');
        await late.close();
      }
      const again = await d.access.lockSnapshot(a, { lockIds: [single.id], placeIds: [] });
      const fresh = subscribe('sse', key, { l: [single.id], after: again.cursor });
      // The subscribers that stayed connected go on.
      await d.shares.grant(a, { memberId: alice!.id, lockId: single.id });
      await next([[alice!.id, single.id, true]], 'a change after the purge');
      await waitFor(async () => fresh.got.length === 1, 20_000);
      expect(fresh.got[0]!.entry).toEqual(subs[0]!.got.at(-1)!.entry);
      await fresh.close();
      // Nothing else came: every entry was expected, none twice.
      const cursors = subs[0]!.got.map((r) => r.entry.cursor);
      expect(new Set(cursors).size).toBe(n);
      expect(subs.map((s) => s.got.length)).toEqual([n, n]);
    } finally {
      for (const s of subs) await s.close();
    }
  }, 120_000);

  it('is not held back by a transaction held open in another organisation, nor by an unrelated one', async () => {
    const d = h.t.domain;
    const mine = await h.org();
    const theirs = await h.org();
    const lock = await buildLock(d, mine.actor);
    const m = await buildMember(d, mine.actor);
    const theirLock = await buildLock(d, theirs.actor);
    const theirMember = await buildMember(d, theirs.actor);
    const snapshot = await d.access.lockSnapshot(mine.actor, { lockIds: [lock.id], placeIds: [] });
    const subs = (['ws', 'sse'] as const).map((transport) => subscribe(transport, mine.reader, { l: [lock.id], after: snapshot.cursor }));
    const held = new pg.Client({ connectionString: h.t.url });
    const unrelated = new pg.Client({ connectionString: h.t.url });
    await held.connect();
    await unrelated.connect();
    try {
      // Another organisation's change of access, not committed...
      await held.query('begin');
      await held.query(`insert into shares (organization_id, id, member_id, lock_id, role) values ($1, gen_random_uuid(), $2, $3, 'user')`, [theirs.id, theirMember.id, theirLock.id]);
      // ...and a transaction with an id that touches no organisation, idle.
      await unrelated.query('begin');
      await unrelated.query('select pg_current_xact_id()');
      // While both stay open, this organisation's change reaches both transports at once.
      await d.shares.grant(mine.actor, { memberId: m.id, lockId: lock.id });
      await waitFor(async () => subs.every((s) => s.got.length === 1), 5_000);
      expect(subs.map((s) => [s.got[0]!.entry.memberId, s.got[0]!.entry.mayOpen])).toEqual([
        [m.id, true],
        [m.id, true],
      ]);
      // The other organisation's change is sealed at its own commit, and its subscriber gets it then.
      const theirCursor = (await d.access.lockSnapshot(theirs.actor, { lockIds: [theirLock.id], placeIds: [] })).cursor;
      const theirSub = subscribe('ws', theirs.reader, { l: [theirLock.id], after: theirCursor });
      await new Promise((r) => setTimeout(r, 300));
      expect(theirSub.got).toEqual([]);
      await held.query('commit');
      await waitFor(async () => theirSub.got.length === 1, 20_000);
      expect(theirSub.got[0]!.entry).toMatchObject({ memberId: theirMember.id, lockId: theirLock.id, mayOpen: true });
      await theirSub.close();
    } finally {
      await held.query('rollback').catch(() => undefined);
      await unrelated.query('rollback');
      await held.end();
      await unrelated.end();
      for (const s of subs) await s.close();
    }
  }, 60_000);

  it('takes the same credentials as queries: an API key in the WebSocket upgrade\'s Authorization header too; a wrong one closes with 4403', async () => {
    const o = await h.org();
    const d = h.t.domain;
    const lock = await buildLock(d, o.actor);
    const m = await buildMember(d, o.actor);
    const after = (await d.access.lockSnapshot(o.actor, { lockIds: [lock.id], placeIds: [] })).cursor;
    const withHeader = (key: string) =>
      class extends WebSocket {
        constructor(address: string, protocols?: string | string[]) {
          super(address, protocols, { headers: { authorization: `Bearer ${key}` } });
        }
      };
    // No connectionParams: the upgrade's header is the credential.
    const client = createClient({ url: h.url.replace('http', 'ws'), webSocketImpl: withHeader(o.reader), retryAttempts: 0, lazy: true });
    const got: Entry[] = [];
    const stop = client.subscribe<{ lockAccess: Entry }>(
      { query: SUB, variables: { l: [lock.id], after } },
      { next: (r) => void (r.data && got.push(r.data.lockAccess)), error: () => undefined, complete: () => undefined },
    );
    try {
      await d.shares.grant(o.actor, { memberId: m.id, lockId: lock.id });
      await waitFor(async () => got.length === 1, 20_000);
      expect(got[0]).toMatchObject({ memberId: m.id, lockId: lock.id, mayOpen: true });
    } finally {
      stop();
      await client.dispose();
    }
    const Wrong = withHeader('gh_key_wrong');
    const raw = new Wrong(h.url.replace('http', 'ws'), 'graphql-transport-ws');
    await new Promise((r) => raw.once('open', r));
    const closed = new Promise<number>((r) => raw.once('close', (code) => r(code)));
    raw.send(JSON.stringify({ type: 'connection_init' }));
    expect(await closed).toBe(4403);
  });

  it('ends a subscription whose controller key is revoked before anything more is sent, over both transports; the key cannot subscribe again', async () => {
    const o = await h.org();
    const d = h.t.domain;
    const lock = await buildLock(d, o.actor);
    const [m1, m2] = await Promise.all([buildMember(d, o.actor), buildMember(d, o.actor)]);
    const revokedKey = await d.apiKeys.create(o.actor, { name: 'stolen controller', role: 'controller', lockIds: [lock.id] });
    const keptKey = await d.apiKeys.create(o.actor, { name: 'kept controller', role: 'controller', lockIds: [lock.id] });
    const after = (await d.access.lockSnapshot(o.actor, { lockIds: [lock.id], placeIds: [] })).cursor;
    const scope = { l: [lock.id], after };
    const revokedSubs = [subscribe('ws', revokedKey.key, scope), subscribe('sse', revokedKey.key, scope)];
    const kept = subscribe('ws', keptKey.key, scope);
    const all = [...revokedSubs, kept];
    try {
      await d.shares.grant(o.actor, { memberId: m1!.id, lockId: lock.id });
      await waitFor(async () => all.every((s) => s.got.length === 1), 20_000);
      // Revoked through GraphQL as an admin would; then a change the stolen key must not see.
      const revoked = await h.gql(`mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }`, { id: revokedKey.apiKey.id }, { apiKey: o.admin });
      expect(revoked.body.errors).toBeUndefined();
      await d.shares.grant(o.actor, { memberId: m2!.id, lockId: lock.id });
      await waitFor(async () => kept.got.length === 2, 20_000);
      for (const s of revokedSubs) {
        await waitFor(async () => s.error() !== null, 20_000);
        expect((s.error() as { extensions?: { code?: string } }[])[0]?.extensions?.code).toBe('UNAUTHENTICATED');
        expect(s.got.map((r) => r.entry.memberId)).toEqual([m1!.id]);
      }
      expect(kept.got.map((r) => r.entry.memberId)).toEqual([m1!.id, m2!.id]);
      expect(kept.error()).toBeNull();
      await waitFor(async () => h.app.subscriberCount() === 1, 20_000);
    } finally {
      await Promise.all(all.map((s) => s.close()));
    }
    // Subscribing again with it is refused at once.
    const again = subscribe('sse', revokedKey.key, scope);
    try {
      await waitFor(async () => again.error() !== null, 20_000);
      expect(again.got).toEqual([]);
    } finally {
      await again.close();
    }
  });
});
