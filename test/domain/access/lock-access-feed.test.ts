// Per-lock entries: every kind of change of who may open which lock is
// resolved in the change's transaction to (member, lock, may open now), in
// commit order per organisation, and a transaction held open elsewhere does
// not delay it.
import crypto from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from '../../setup/test-db.js';
import { buildGroup, buildLock, buildMember, buildOrg } from '../../factories/index.js';
import { emitPassedWindows } from '../../../src/domain/access/access-windows.js';
import type { Actor } from '../../../src/domain/index.js';

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb({ poolSize: 6 });
});
afterAll(async () => {
  await t.close();
});

type Seen = [member: string, lock: string, mayOpen: boolean];

/** A reader of the per-lock feed: each call returns what arrived since the last one. */
function follow(a: Actor, lockIds: string[], placeIds: string[] = []) {
  let after: string | null = null;
  return async (): Promise<Seen[]> => {
    const out: Seen[] = [];
    for (;;) {
      const p = await t.domain.access.lockChanges(a, { lockIds, placeIds }, after, 100);
      out.push(...p.entries.map((e): Seen => [e.memberId, e.lockId, e.mayOpen]));
      after = p.endCursor;
      if (!p.hasNextPage) return out;
    }
  };
}

const sorted = (s: Seen[]) => [...s].sort((x, y) => (x.join() < y.join() ? -1 : 1));

describe('per-lock access entries', () => {
  it('resolves shares, group membership, member states and deletions to the locks they concern', async () => {
    const org = await buildOrg(t.domain);
    const a = org.actor;
    const d = t.domain;
    const place = await d.places.createPlace(a, { name: 'HQ' });
    const front = await buildLock(d, a, place.id);
    const other = await buildLock(d, a);
    const alice = await buildMember(d, a);
    const bob = await buildMember(d, a);
    const staff = await buildGroup(d, a, [bob.id]);
    const next = follow(a, [front.id, other.id], [place.id]);
    expect(await next()).toEqual([]);

    // A direct share on a lock.
    const direct = await d.shares.grant(a, { memberId: alice.id, lockId: other.id });
    expect(await next()).toEqual([[alice.id, other.id, true]]);
    // A group share on a place: every member of the group, every lock of the place.
    const placeShare = await d.shares.grant(a, { groupId: staff.id, placeId: place.id });
    expect(await next()).toEqual([[bob.id, front.id, true]]);
    // A lock added to the place later is covered by the place share.
    const back = await buildLock(d, a, place.id);
    expect(await next()).toEqual([[bob.id, back.id, true]]);
    // Joining and leaving the group.
    await d.groups.update(a, staff.id, { addMembers: [alice.id] });
    expect(sorted(await next())).toEqual(sorted([[alice.id, front.id, true], [alice.id, back.id, true]]));
    await d.groups.update(a, staff.id, { removeMembers: [alice.id] });
    expect(sorted(await next())).toEqual(sorted([[alice.id, front.id, false], [alice.id, back.id, false]]));
    // Deactivated, then active again: every lock the member could open.
    await d.members.update(a, bob.id, { active: false });
    expect(sorted(await next())).toEqual(sorted([[bob.id, front.id, false], [bob.id, back.id, false]]));
    await d.members.update(a, bob.id, { active: true });
    expect(sorted(await next())).toEqual(sorted([[bob.id, front.id, true], [bob.id, back.id, true]]));
    // A change that does not change access writes no entry (bob also gets a direct share on front).
    await d.shares.grant(a, { memberId: bob.id, lockId: front.id });
    expect(await next()).toEqual([]);
    // Revoking the place share: bob keeps front through his own share, loses back.
    await d.shares.revoke(a, placeShare.id);
    expect(await next()).toEqual([[bob.id, back.id, false]]);
    // Lock deleted: whoever could open it no longer can.
    await d.places.deleteLock(a, front.id);
    expect(await next()).toEqual([[bob.id, front.id, false]]);
    // Member deleted.
    await d.members.delete(a, alice.id);
    expect(await next()).toEqual([[alice.id, other.id, false]]);
    expect(direct.id).toBeTruthy();
  });

  it('resolves a group or place deleted, with everything that went with it', async () => {
    const org = await buildOrg(t.domain);
    const a = org.actor;
    const d = t.domain;
    const place = await d.places.createPlace(a, { name: 'Depot' });
    const l1 = await buildLock(d, a, place.id);
    const l2 = await buildLock(d, a, place.id);
    const m1 = await buildMember(d, a);
    const m2 = await buildMember(d, a);
    const g = await buildGroup(d, a, [m1.id, m2.id]);
    await d.shares.grant(a, { groupId: g.id, lockId: l1.id });
    await d.shares.grant(a, { memberId: m2.id, placeId: place.id });
    const next = follow(a, [], [place.id]);
    expect(sorted(await next())).toEqual(sorted([[m1.id, l1.id, true], [m2.id, l1.id, true], [m2.id, l2.id, true]]));
    // The group goes: m1 loses l1; m2 keeps it through the place share.
    await d.groups.delete(a, g.id);
    expect(await next()).toEqual([[m1.id, l1.id, false]]);
    // The place goes: its locks with it.
    await d.places.deletePlace(a, place.id);
    expect(sorted(await next())).toEqual(sorted([[m2.id, l1.id, false], [m2.id, l2.id, false]]));
  });

  it('carries the validity windows and emits the change when a window starts or ends', async () => {
    const org = await buildOrg(t.domain);
    const a = org.actor;
    const d = t.domain;
    const lock = await buildLock(d, a);
    const m = await buildMember(d, a);
    const from = new Date(Date.now() + 2_000);
    const until = new Date(Date.now() + 4_000);
    await d.shares.grant(a, { memberId: m.id, lockId: lock.id, validFrom: from, validUntil: until });
    let after: string | null = null;
    const read = async () => {
      const p = await d.access.lockChanges(a, { lockIds: [lock.id], placeIds: [] }, after, 100);
      after = p.endCursor;
      return p.entries;
    };
    const [granted] = await read();
    expect(granted).toMatchObject({ memberId: m.id, lockId: lock.id, mayOpen: false, windows: [{ validFrom: from, validUntil: until }] });
    // Nothing passed yet.
    await emitPassedWindows(d.db, new Date(from.getTime() - 1_000));
    expect(await read()).toEqual([]);
    // The window opens (the seal judges by the database's clock: wait until it has passed).
    await new Promise((r) => setTimeout(r, Math.max(0, from.getTime() - Date.now() + 50)));
    await emitPassedWindows(d.db, new Date(from.getTime() + 10));
    expect((await read()).map((e) => e.mayOpen)).toEqual([true]);
    // A second run over the same moment adds nothing.
    await emitPassedWindows(d.db, new Date(from.getTime() + 20));
    expect(await read()).toEqual([]);
    // The window ends.
    await new Promise((r) => setTimeout(r, Math.max(0, until.getTime() - Date.now() + 50)));
    await emitPassedWindows(d.db, new Date(until.getTime() + 10));
    expect(await read()).toMatchObject([{ memberId: m.id, mayOpen: false, windows: [] }]);
  });

  it('is not delayed by a transaction held open in another organisation, nor by one of its own that has not committed', async () => {
    const mine = await buildOrg(t.domain);
    const theirs = await buildOrg(t.domain);
    const lock = await buildLock(t.domain, mine.actor);
    const m = await buildMember(t.domain, mine.actor);
    const theirMember = await buildMember(t.domain, theirs.actor);
    const theirLock = await buildLock(t.domain, theirs.actor);
    const next = follow(mine.actor, [lock.id]);

    const held = new pg.Client({ connectionString: t.url });
    await held.connect();
    try {
      await held.query('begin');
      // The other organisation's transaction has written access changes and stays open.
      await held.query(`insert into shares (organization_id, id, member_id, lock_id, role) values ($1, gen_random_uuid(), $2, $3, 'user')`, [
        theirs.id,
        theirMember.id,
        theirLock.id,
      ]);
      await held.query(`insert into access_changes (organization_id, kind, member_id) values ($1, 'member_activated', $2)`, [theirs.id, theirMember.id]);
      // And one of this organisation that has not committed.
      const own = new pg.Client({ connectionString: t.url });
      await own.connect();
      try {
        await own.query('begin');
        await own.query(`update members set active = false where organization_id = $1 and id = $2`, [mine.id, m.id]);
        // ...while a change of this organisation commits, and is there at once.
        await t.domain.shares.grant(mine.actor, { memberId: m.id, lockId: lock.id });
        expect(await next()).toEqual([[m.id, lock.id, true]]);
        await own.query('commit');
        // Sealed at its commit, after the grant: the feed says the member is deactivated.
        expect(await next()).toEqual([[m.id, lock.id, false]]);
      } finally {
        await own.end();
      }
    } finally {
      await held.query('rollback');
      await held.end();
    }
  });

  it('stays exact when a member joins a group while the group is deleted', async () => {
    for (let round = 0; round < 5; round++) {
      const org = await buildOrg(t.domain);
      const a = org.actor;
      const lock = await buildLock(t.domain, a);
      const m = await buildMember(t.domain, a);
      const g = await buildGroup(t.domain, a, []);
      await t.domain.shares.grant(a, { groupId: g.id, lockId: lock.id });
      const results = await Promise.allSettled([t.domain.groups.update(a, g.id, { addMembers: [m.id] }), t.domain.groups.delete(a, g.id)]);
      expect(results[1]!.status).toBe('fulfilled');
      // Whatever the order, the last word on (m, lock) is "may not open" (or nothing was ever said).
      const p = await t.domain.access.lockChanges(a, { lockIds: [lock.id], placeIds: [] }, null, 100);
      const last = p.entries.filter((e) => e.memberId === m.id).at(-1);
      expect(last?.mayOpen ?? false).toBe(false);
    }
  });
});

describe('per-lock feed, paging', () => {
  it('pages a scope of locks and places in commit order, each entry once, whatever the page size and whatever else the organisation wrote', async () => {
    const org = await buildOrg(t.domain);
    const a = org.actor;
    const d = t.domain;
    const site = await d.places.createPlace(a, { name: 'Site' });
    const other = await d.places.createPlace(a, { name: 'Other site' });
    const [inSite1, inSite2, named, noise] = [await buildLock(d, a, site.id), await buildLock(d, a, site.id), await buildLock(d, a, other.id), await buildLock(d, a, other.id)];
    const members = await Promise.all(Array.from({ length: 5 }, () => buildMember(d, a)));
    const start = await d.access.lockSnapshot(a, { lockIds: [named.id], placeIds: [] });
    // Changes of the scope's locks interleaved with changes of a lock outside it; the site's share reaches both its locks.
    for (const [i, m] of members.entries()) {
      await d.shares.grant(a, { memberId: m.id, lockId: noise.id });
      await d.shares.grant(a, { memberId: m.id, lockId: [inSite1, named, inSite2][i % 3]!.id });
      await d.shares.grant(a, { memberId: m.id, lockId: noise.id, validUntil: new Date(Date.now() + 86_400_000) });
    }
    const group = await buildGroup(d, a, members.slice(0, 3).map((m) => m.id));
    await d.shares.grant(a, { groupId: group.id, placeId: site.id });
    await d.shares.grant(a, { groupId: group.id, lockId: named.id });
    await d.members.update(a, members[0]!.id, { active: false });

    // Ground truth: the organisation's whole feed after the cursor, filtered.
    const all = await d.access.entriesAfter(org.id, BigInt(Buffer.from(start.cursor, 'base64url').toString().slice(2)), 10_000);
    const scope = { lockIds: [inSite1.id, named.id], placeIds: [site.id] };
    const expected = all.filter((e) => scope.lockIds.includes(e.lockId) || e.placeId === site.id).map((e) => e.cursor);
    expect(all.some((e) => e.lockId === noise.id)).toBe(true);
    expect(expected.length).toBeGreaterThan(10);
    for (const first of [1, 2, 3, 7, 1000]) {
      const got: string[] = [];
      let after: string | null = start.cursor;
      for (;;) {
        const p = await d.access.lockChanges(a, scope, after, first);
        expect(p.entries.length).toBeLessThanOrEqual(first);
        got.push(...p.entries.map((e) => e.cursor));
        expect(p.endCursor).toBe(p.entries.at(-1)?.cursor ?? after);
        after = p.endCursor;
        if (!p.hasNextPage) break;
        expect(p.entries).toHaveLength(first);
      }
      expect(got, `pages of ${first}`).toEqual(expected);
    }
  });
});

describe('per-lock feed, bad input', () => {
  it("refuses unknown locks and places, another organisation's, and forged or expired cursors", async () => {
    const org = await buildOrg(t.domain);
    const other = await buildOrg(t.domain);
    const lock = await buildLock(t.domain, org.actor);
    const theirs = await buildLock(t.domain, other.actor);
    const read = (lockIds: string[], after: string | null = null, placeIds: string[] = []) => t.domain.access.lockChanges(org.actor, { lockIds, placeIds }, after, 10);
    await expect(read([crypto.randomUUID()])).rejects.toMatchObject({ code: 'lock_not_found' });
    await expect(read([theirs.id])).rejects.toMatchObject({ code: 'lock_not_found' });
    await expect(read(['not-a-uuid'])).rejects.toMatchObject({ code: 'lock_not_found' });
    await expect(read([], null, [crypto.randomUUID()])).rejects.toMatchObject({ code: 'place_not_found' });
    await expect(read([])).rejects.toMatchObject({ code: 'locks_required' });
    await expect(read([lock.id], 'bm9wZQ')).rejects.toMatchObject({ code: 'invalid_cursor' });
    // A position this organisation never reached (another's, or made up).
    await expect(read([lock.id], Buffer.from('p:99999').toString('base64url'))).rejects.toMatchObject({ code: 'invalid_cursor' });
    // Below what retention purged.
    await t.domain.db.sql.run(`insert into access_feed_heads (organization_id, position, purged_through) values ($1, 50, 40)
      on conflict (organization_id) do update set position = 50, purged_through = 40`, [org.id]);
    await expect(read([lock.id], Buffer.from('p:39').toString('base64url'))).rejects.toMatchObject({ code: 'cursor_expired' });
    expect((await read([lock.id], Buffer.from('p:40').toString('base64url'))).entries).toEqual([]);
  });
});

describe('snapshot and retention', () => {
  type Lists = Map<string, Map<string, boolean>>;
  const listsOf = (s: Awaited<ReturnType<typeof t.domain.access.lockSnapshot>>): Lists =>
    new Map(s.locks.map((l) => [l.lockId, new Map(l.members.map((m) => [m.memberId, m.mayOpen]))]));

  it('gives allow-lists exact at their cursor: snapshot + the changes after it = a later snapshot, while writers run', async () => {
    const org = await buildOrg(t.domain);
    const a = org.actor;
    const d = t.domain;
    const place = await d.places.createPlace(a, { name: 'Site' });
    const locks = [await buildLock(d, a, place.id), await buildLock(d, a, place.id)];
    const members = await Promise.all(Array.from({ length: 6 }, () => buildMember(d, a)));
    const group = await buildGroup(d, a, members.slice(0, 3).map((m) => m.id));
    await d.shares.grant(a, { groupId: group.id, placeId: place.id });

    const first = await d.access.lockSnapshot(a, { lockIds: [], placeIds: [place.id] });
    expect(first.locks.map((l) => l.members.length)).toEqual([3, 3]);
    expect(first.locks[0]!.members[0]).toMatchObject({ mayOpen: true, windows: [{ validFrom: null, validUntil: null }] });
    // Writers change access while a reader takes snapshots and follows.
    const writes = (async () => {
      for (let i = 0; i < 12; i++) {
        const m = members[i % members.length]!;
        if (i % 3 === 0) await d.members.update(a, m.id, { active: i % 2 === 0 });
        else if (i % 3 === 1) await d.groups.update(a, group.id, i % 2 ? { addMembers: [m.id] } : { removeMembers: [m.id] }).catch(() => undefined);
        else await d.shares.grant(a, { memberId: m.id, lockId: locks[i % 2]!.id });
      }
    })();
    const snapshots = [first];
    while (snapshots.length < 4) snapshots.push(await d.access.lockSnapshot(a, { lockIds: [], placeIds: [place.id] }));
    await writes;
    const last = await d.access.lockSnapshot(a, { lockIds: [], placeIds: [place.id] });
    for (const s of snapshots) {
      const lists = listsOf(s);
      let after: string | null = s.cursor;
      for (;;) {
        const p = await d.access.lockChanges(a, { lockIds: [], placeIds: [place.id] }, after, 7);
        for (const e of p.entries) {
          const list = lists.get(e.lockId)!;
          if (e.windows.length === 0) list.delete(e.memberId);
          else list.set(e.memberId, e.mayOpen);
        }
        after = p.endCursor;
        if (!p.hasNextPage) break;
      }
      expect(lists).toEqual(listsOf(last));
    }
  });

  it('purges entries past retention; an older cursor gets cursor_expired, a newer one goes on', async () => {
    const org = await buildOrg(t.domain);
    const a = org.actor;
    const lock = await buildLock(t.domain, a);
    const m1 = await buildMember(t.domain, a);
    const m2 = await buildMember(t.domain, a);
    const scope = { lockIds: [lock.id], placeIds: [] };
    const start = await t.domain.access.lockSnapshot(a, scope);
    await t.domain.shares.grant(a, { memberId: m1.id, lockId: lock.id });
    const mid = await t.domain.access.lockSnapshot(a, scope);
    await t.domain.shares.grant(a, { memberId: m2.id, lockId: lock.id });
    // Everything up to the first grant is 40 days old.
    await t.domain.db.sql.run(`update access_entries set at = now() - interval '40 days' where organization_id = $1 and member_id = $2`, [org.id, m1.id]);
    await t.domain.db.sql.run(`update access_changes set at = now() - interval '40 days' where organization_id = $1 and (member_id = $2 or kind <> 'share_granted')`, [
      org.id,
      m1.id,
    ]);
    expect(await t.domain.access.purgeFeed(30)).toBeGreaterThan(0);
    await expect(t.domain.access.lockChanges(a, scope, start.cursor)).rejects.toMatchObject({ code: 'cursor_expired' });
    await expect(t.domain.access.changes(a, start.cursor)).rejects.toMatchObject({ code: 'cursor_expired' });
    expect((await t.domain.access.lockChanges(a, scope, mid.cursor)).entries.map((e) => e.memberId)).toEqual([m2.id]);
    // The snapshot is whole whatever was purged.
    expect((await t.domain.access.lockSnapshot(a, scope)).locks[0]!.members.map((m) => m.memberId).sort()).toEqual([m1.id, m2.id].sort());
  });
  it('seals a bulk transaction (set-based plan) to the same entries as the same changes one by one (cached plan)', async () => {
    // The same directory in two organisations (same ids: keys are per organisation). In one, every
    // table is loaded by one statement each (hundreds of rows: the seal plans for its size); in the
    // other, row by row, each in its own transaction.
    const bulk = await buildOrg(t.domain);
    const single = await buildOrg(t.domain);
    const id = (k: string, i: number) => crypto.createHash('md5').update(`${k}${i}`).digest('hex').replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');
    const rows = {
      members: Array.from({ length: 30 }, (_, i) => [id('m', i), `bulk${i}@example.com`, i % 9 !== 0] as const),
      groups: Array.from({ length: 6 }, (_, i) => id('g', i)),
      groupMembers: Array.from({ length: 30 }, (_, i) => [0, 1].map((k) => [id('g', (i * 7 + k * 3) % 6), id('m', i)] as const)).flat(),
      places: Array.from({ length: 4 }, (_, i) => id('p', i)),
      locks: Array.from({ length: 12 }, (_, i) => [id('l', i), id('p', i % 4)] as const),
      shares: Array.from({ length: 120 }, (_, i) => {
        const day = 86_400_000;
        return [
          id('s', i),
          i % 2 === 0 ? id('m', (i * 13) % 30) : null,
          i % 2 === 1 ? id('g', (i * 5) % 6) : null,
          i % 5 < 4 ? id('l', (i * 11) % 12) : null,
          i % 5 === 4 ? id('p', i % 4) : null,
          i % 7 === 0 ? new Date(Date.now() + 30 * day) : i % 11 === 0 ? new Date(Date.now() - 30 * day) : null,
          i % 6 === 0 && i % 7 !== 0 ? new Date(Date.now() - day) : i % 4 === 0 ? new Date(Date.now() + 90 * day) : null,
        ] as const;
      }),
    };
    const c = new pg.Client({ connectionString: t.url });
    await c.connect();
    try {
      const load = async (org: string, one: boolean) => {
        const run = async (sql: string, types: string[], list: readonly (readonly unknown[])[]) => {
          const cols = list[0]!.length;
          if (one) {
            for (const r of list) await c.query(`insert into ${sql} values (${Array.from({ length: cols + 1 }, (_, k) => `$${k + 1}`).join(', ')})`, [org, ...r]);
          } else {
            const arrays = Array.from({ length: cols }, (_, k) => list.map((r) => r[k]));
            const unnest = types.map((ty, k) => `$${k + 2}::${ty}[]`).join(', ');
            await c.query(`insert into ${sql} select $1, * from unnest(${unnest})`, [org, ...arrays]);
          }
        };
        await run('members (organization_id, id, user_name, active, source)', ['uuid', 'text', 'boolean', 'text'], rows.members.map(([m, u, act]) => [m, `${org.slice(0, 8)}${u}`, act, 'admin']));
        await run('groups (organization_id, id, display_name, source)', ['uuid', 'text', 'text'], rows.groups.map((g) => [g, `g ${g}`, 'admin']));
        await run('group_members (organization_id, group_id, member_id)', ['uuid', 'uuid'], rows.groupMembers);
        await run('places (organization_id, id, name)', ['uuid', 'text'], rows.places.map((p) => [p, `p ${p}`]));
        await run('locks (organization_id, id, place_id, name)', ['uuid', 'uuid', 'text'], rows.locks.map(([l, p]) => [l, p, `l ${l}`]));
        await run('shares (organization_id, id, member_id, group_id, lock_id, place_id, valid_from, valid_until, role)', ['uuid', 'uuid', 'uuid', 'uuid', 'uuid', 'timestamptz', 'timestamptz', 'text'], rows.shares.map((r) => [...r, 'user']));
        // Then some of everything again: deactivations, a group emptied, a place's lock moved, shares revoked.
        const again = async (sql: string, params: unknown[][]) => {
          if (one) for (const p of params) await c.query(sql.replace('= any($2)', '= $2'), [org, p[0]]);
          else await c.query(sql, [org, params.map((p) => p[0])]);
        };
        await again(`update members set active = not active where organization_id = $1 and id = any($2)`, rows.members.slice(0, 15).map(([m]) => [m]));
        await again(`delete from group_members where organization_id = $1 and group_id = any($2)`, [[rows.groups[0]]]);
        await again(`update locks set place_id = '${rows.places[0]}' where organization_id = $1 and id = any($2)`, rows.locks.slice(0, 6).map(([l]) => [l]));
        await again(`delete from shares where organization_id = $1 and id = any($2)`, rows.shares.filter((_, i) => i % 3 === 0).map((s) => [s[0]]));
        await again(`delete from members where organization_id = $1 and id = any($2)`, rows.members.slice(25).map(([m]) => [m]));
      };
      // Every seal of the bulk organisation takes the plan for large transactions; every one of the other the cached one.
      await c.query(`set gatehouse.access_seal_bulk_rows = 0`);
      await load(bulk.id, false);
      await c.query(`set gatehouse.access_seal_bulk_rows = 1000000`);
      await load(single.id, true);
      const state = async (org: string) =>
        (await c.query(`select lock_id, member_id, place_id, may_open, windows::text from access_state where organization_id = $1 order by lock_id, member_id`, [org])).rows;
      const said = async (org: string) =>
        (
          await c.query(
            `select distinct on (lock_id, member_id) lock_id, member_id, may_open, windows::text from access_entries where organization_id = $1 order by lock_id, member_id, position desc`,
            [org],
          )
        ).rows;
      const bulkState = await state(bulk.id);
      expect(bulkState.length).toBeGreaterThan(20);
      expect(bulkState.some((r) => String(r.windows).includes('"validFrom": "'))).toBe(true);
      expect(bulkState).toEqual(await state(single.id));
      // And the last entry per (lock, member) is the same everywhere (a member who lost everything included).
      const bulkSaid = await said(bulk.id);
      expect(bulkSaid.some((r) => r.may_open === false)).toBe(true);
      expect(bulkSaid).toEqual(await said(single.id));
    } finally {
      await c.end();
    }
  }, 180_000);
});
