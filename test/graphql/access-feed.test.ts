// The access change feed: commit order, cursors, validity windows, and a
// transaction that commits late is never skipped.
import crypto from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, startHarness, type Harness } from './harness.js';
import { buildGroup, buildLock, buildMember } from '../factories/index.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

interface Change {
  cursor: string;
  kind: string;
  memberId: string | null;
  groupId: string | null;
  shareId: string | null;
  lockId: string | null;
  placeId: string | null;
  validFrom: string | null;
  validUntil: string | null;
}
interface Page {
  changes: Change[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

const FEED = `query($after: String, $first: Int) { accessChanges(after: $after, first: $first) {
  changes { cursor kind memberId groupId shareId lockId placeId validFrom validUntil } pageInfo { hasNextPage endCursor } } }`;

async function read(key: string, after: string | null, first = 100): Promise<Page> {
  const res = await h.gql(FEED, { after, first }, { apiKey: key });
  expect(res.body.errors).toBeUndefined();
  return res.body.data!.accessChanges as Page;
}

/** Reads until `n` entries arrived: rows show once older transactions (of any client of the server) end. */
async function readAll(key: string, n: number): Promise<Change[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const all: Change[] = [];
    let after: string | null = null;
    for (;;) {
      const p = await read(key, after);
      all.push(...p.changes);
      after = p.pageInfo.endCursor;
      if (!p.pageInfo.hasNextPage) break;
    }
    if (all.length >= n || Date.now() > deadline) return all;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('accessChanges', () => {
  it('lists every change of access in commit order with ids and the validity window, page by page', async () => {
    const o = await h.org();
    const d = h.t.domain;
    const alice = await buildMember(d, o.actor);
    const bob = await buildMember(d, o.actor);
    const lock = await buildLock(d, o.actor);
    const from = new Date('2030-01-01T08:00:00.000Z');
    const until = new Date('2030-01-01T18:00:00.000Z');
    const share = await d.shares.grant(o.actor, { memberId: alice.id, lockId: lock.id, validFrom: from, validUntil: until });
    const group = await buildGroup(d, o.actor, [bob.id]);
    await d.members.update(o.actor, bob.id, { active: false });
    await d.members.update(o.actor, bob.id, { active: true });
    await d.groups.update(o.actor, group.id, { removeMembers: [bob.id] });
    await d.shares.revoke(o.actor, share.id);
    await d.members.delete(o.actor, alice.id);
    await d.places.deleteLock(o.actor, lock.id);

    const all = await readAll(o.reader, 8);
    expect(all.map((c) => c.kind)).toEqual([
      'SHARE_GRANTED',
      'GROUP_MEMBER_ADDED',
      'MEMBER_DEACTIVATED',
      'MEMBER_ACTIVATED',
      'GROUP_MEMBER_REMOVED',
      'SHARE_REVOKED',
      'MEMBER_DELETED',
      'LOCK_DELETED',
    ]);
    expect(all[0]).toMatchObject({ memberId: alice.id, lockId: lock.id, shareId: share.id, validFrom: from.toISOString(), validUntil: until.toISOString() });
    expect(all[1]).toMatchObject({ memberId: bob.id, groupId: group.id });
    expect(all[7]).toMatchObject({ lockId: lock.id, placeId: lock.placeId });

    // Paging: two at a time gives the same sequence; an empty page keeps the cursor.
    const paged: Change[] = [];
    let after: string | null = null;
    for (let i = 0; i < 10; i++) {
      const p = await read(o.reader, after, 2);
      paged.push(...p.changes);
      expect(p.changes.length).toBeLessThanOrEqual(2);
      after = p.pageInfo.endCursor;
      if (!p.pageInfo.hasNextPage) break;
    }
    expect(paged.map((c) => c.cursor)).toEqual(all.map((c) => c.cursor));
    const empty = await read(o.reader, after);
    expect(empty.changes).toEqual([]);
    expect(empty.pageInfo.endCursor).toBe(after);

    // Another organisation sees none of it.
    const other = await h.org();
    expect((await read(other.reader, null)).changes).toEqual([]);
  });

  it('never lets a cursor pass a transaction that started earlier and commits later, and does not wait for it', async () => {
    const o = await h.org();
    const d = h.t.domain;
    const m = await buildMember(d, o.actor);
    const lock = await buildLock(d, o.actor);
    const start = await readAll(o.reader, 0);
    const cursor0 = start.at(-1)?.cursor ?? null;

    const slow = new pg.Client({ connectionString: h.t.url });
    await slow.connect();
    try {
      await slow.query('begin');
      // The slow transaction writes first...
      await slow.query(`insert into access_changes (organization_id, kind, member_id) values ($1, 'member_activated', $2)`, [o.id, m.id]);
      // ...a later one commits first, and shows at once: no fence on the slow one.
      const share = await d.shares.grant(o.actor, { memberId: m.id, lockId: lock.id });
      const whileOpen = await read(o.reader, cursor0);
      expect(whileOpen.changes.map((c) => c.shareId)).toEqual([share.id]);
      const cursor1 = whileOpen.pageInfo.endCursor;
      await slow.query('commit');

      // The slow one lands after the cursor already handed out: a reader that went on from there does not skip it.
      const after = await read(o.reader, cursor1);
      expect(after.changes.map((c) => [c.kind, c.memberId])).toEqual([['MEMBER_ACTIVATED', m.id]]);
      // Both, in commit order.
      expect((await read(o.reader, cursor0)).changes.map((c) => c.kind)).toEqual(['SHARE_GRANTED', 'MEMBER_ACTIVATED']);
    } finally {
      await slow.end();
    }
  });

  it('pages in numeric order where positions and ids cross a power of ten', async () => {
    const o = await h.org();
    const sql = h.t.domain.db.sql;
    // Ids from 95 on (crossing 99 -> 100), from the table's own identity, and positions from 95 on.
    const { n } = await sql.one<{ n: string }>(`select coalesce(max(id), 0)::text as n from access_changes`);
    const next = 10n ** BigInt(n.length + 1) - 5n;
    await sql.run(`alter table access_changes alter column id restart with ${next}`);
    await sql.run(`insert into access_feed_heads (organization_id, position) values ($1, 95)`, [o.id]);
    const written: string[] = [];
    for (let i = 0; i < 14; i++) {
      const r = await sql.one<{ member_id: string }>(
        `insert into access_changes (organization_id, kind, member_id) values ($1, 'member_deactivated', gen_random_uuid()) returning member_id`,
        [o.id],
      );
      written.push(r.member_id);
    }
    const positions = await sql.all<{ position: string }>(`select position::text as position from access_changes where organization_id = $1 order by access_changes.position`, [o.id]);
    expect(positions.map((p) => p.position)).toEqual(Array.from({ length: 14 }, (_, i) => String(96 + i))); // they did cross 99 -> 100
    for (const size of [1, 2, 3, 5, 100]) {
      const seen: string[] = [];
      let after: string | null = null;
      for (let i = 0; i < 50; i++) {
        const p = await h.t.domain.access.changes(o.actor, after, size);
        seen.push(...p.changes.map((c) => c.memberId!));
        after = p.endCursor;
        if (!p.hasNextPage) break;
      }
      expect(seen, `page size ${size}`).toEqual(written);
    }
  });

  it('refuses a bad cursor or page size with BAD_USER_INPUT', async () => {
    const o = await h.org();
    const outOfRange = [`18446744073709551616:1`, `1:9223372036854775808`, `99999999999999999999:9999999999999999999`].map((c) => Buffer.from(c).toString('base64url'));
    for (const v of [{ after: 'bm9wZQ' }, { first: 0 }, { first: 1001 }, ...outOfRange.map((after) => ({ after }))]) {
      const res = await h.gql(FEED, v, { apiKey: o.reader });
      expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    }
  });
});

describe('lockSnapshot and lockAccessChanges', () => {
  it('serve a lock\'s allow-list with its cursor and the per-lock changes after it; expired and forged cursors have their own reasons', async () => {
    const o = await h.org();
    const d = h.t.domain;
    const m = await buildMember(d, o.actor);
    const lock = await buildLock(d, o.actor);
    await d.shares.grant(o.actor, { memberId: m.id, lockId: lock.id });
    const snap = await h.gql(`query($l: [ID!]) { lockSnapshot(lockIds: $l) { cursor locks { lockId members { memberId userName mayOpen windows { validFrom validUntil } } } } }`, { l: [lock.id] }, { apiKey: o.reader });
    expect(snap.body.errors).toBeUndefined();
    const s = snap.body.data!.lockSnapshot as { cursor: string; locks: { lockId: string; members: { memberId: string; mayOpen: boolean }[] }[] };
    expect(s.locks).toEqual([{ lockId: lock.id, members: [{ memberId: m.id, userName: m.userName, mayOpen: true, windows: [{ validFrom: null, validUntil: null }] }] }]);
    await d.members.update(o.actor, m.id, { active: false });
    const CHANGES = `query($l: [ID!], $after: String) { lockAccessChanges(lockIds: $l, after: $after) { entries { memberId lockId mayOpen windows { validFrom } } pageInfo { endCursor hasNextPage } } }`;
    const next = await h.gql(CHANGES, { l: [lock.id], after: s.cursor }, { apiKey: o.reader });
    expect(next.body.data!.lockAccessChanges).toMatchObject({ entries: [{ memberId: m.id, lockId: lock.id, mayOpen: false, windows: [] }], pageInfo: { hasNextPage: false } });
    // The largest page (1,000) with every field is within the cost limit: a page's entries are counted once, by `first`.
    const FULL = `query($l: [ID!], $after: String) { lockAccessChanges(lockIds: $l, after: $after, first: 1000) {
      entries { cursor at memberId lockId placeId mayOpen windows { validFrom validUntil } } pageInfo { startCursor endCursor hasNextPage hasPreviousPage } } }`;
    const full = await h.gql(FULL, { l: [lock.id], after: s.cursor }, { apiKey: o.reader });
    expect(full.body.errors).toBeUndefined();
    expect((full.body.data!.lockAccessChanges as { entries: unknown[] }).entries).toHaveLength(1);

    const forged = await h.gql(CHANGES, { l: [lock.id], after: Buffer.from('p:999999').toString('base64url') }, { apiKey: o.reader });
    expect(forged.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'invalid_cursor' });
    await d.db.sql.run(`update access_feed_heads set purged_through = position where organization_id = $1`, [o.id]);
    const expired = await h.gql(CHANGES, { l: [lock.id], after: s.cursor }, { apiKey: o.reader });
    expect(expired.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'cursor_expired' });
    const unknown = await h.gql(CHANGES, { l: [crypto.randomUUID()] }, { apiKey: o.reader });
    expect(codes(unknown)).toEqual(['NOT_FOUND']);
  });
});

describe('controller keys', () => {
  it('read only the allow-lists and changes of the locks and places they were given', async () => {
    const o = await h.org();
    const d = h.t.domain;
    const site = await d.places.createPlace(o.actor, { name: 'Site' });
    const inPlace = await buildLock(d, o.actor, site.id);
    const given = await buildLock(d, o.actor);
    const notGiven = await buildLock(d, o.actor);
    const m = await buildMember(d, o.actor);
    const created = await h.gql(
      `mutation($l: [ID!], $p: [ID!]) { createApiKey(name: "door 1", role: "controller", lockIds: $l, placeIds: $p) { key apiKey { role lockIds placeIds } } }`,
      { l: [given.id], p: [site.id] },
      { apiKey: o.admin },
    );
    expect(created.body.errors).toBeUndefined();
    const c = created.body.data!.createApiKey as { key: string; apiKey: { role: string; lockIds: string[]; placeIds: string[] } };
    expect(c.apiKey).toEqual({ role: 'controller', lockIds: [given.id], placeIds: [site.id] });
    const key = c.key;
    const SNAP = `query($l: [ID!], $p: [ID!]) { lockSnapshot(lockIds: $l, placeIds: $p) { cursor locks { lockId } } }`;
    // Its lock, its place, and a lock of its place.
    for (const v of [{ l: [given.id] }, { p: [site.id] }, { l: [inPlace.id, given.id] }]) {
      const res = await h.gql(SNAP, v, { apiKey: key });
      expect(res.body.errors).toBeUndefined();
    }
    // Nothing else: another lock, a place it was not given, the directory, the organisation-wide feed, any change.
    for (const [q, v] of [
      [SNAP, { l: [notGiven.id] }],
      [SNAP, { l: [given.id, notGiven.id] }],
      [`query($l: [ID!]) { lockAccessChanges(lockIds: $l) { entries { memberId } } }`, { l: [notGiven.id] }],
      [`{ members(first: 5) { edges { node { id } } } }`, {}],
      [`{ accessChanges { changes { kind } } }`, {}],
      [`query($m: ID!) { accessOf(memberId: $m) { lockId } }`, { m: m.id }],
    ] as const) {
      const res = await h.gql(q, v, { apiKey: key });
      expect(codes(res), q).toEqual(['FORBIDDEN']);
    }
    const write = await h.gql(`mutation($m: ID!) { deactivateMember(id: $m) { id } }`, { m: m.id }, { apiKey: key });
    expect(codes(write)).toEqual(['FORBIDDEN']);
    // A controller key must name locks; other roles none; the locks must be this organisation's.
    for (const v of [{ role: 'controller', l: [] }, { role: 'reader', l: [given.id] }, { role: 'controller', l: [crypto.randomUUID()] }]) {
      const res = await h.gql(`mutation($role: String!, $l: [ID!]) { createApiKey(name: "x", role: $role, lockIds: $l) { key } }`, v, { apiKey: o.admin });
      expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    }
  });
});
