// whoCanOpen now (or later) walks the lock's allow-list kept by the access
// feed (access_state) and checks each candidate against the shares; for an
// earlier instant it reads the shares alone. Both give the same members, grants
// and pages on the same data: direct, group and place shares, windows that
// have not started or have ended, inactive members, several grants on one lock.
// Their counts (whoCanOpen's totalCount) agree too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from '../../setup/test-db.js';
import { buildGroup, buildMember, buildOrg } from '../../factories/index.js';
import { countStatements } from '../../../src/infra/postgres/statement-count.js';
import * as accessSql from '../../../src/domain/access/access.sql.js';

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb();
});
afterAll(async () => {
  await t.close();
});

const MIN = 60_000;

describe('whoCanOpen: allow-list walk and shares read agree', () => {
  it('same members, grants, pages and counts, at now and at later instants, with a text filter', async () => {
    const { id: org, actor: a } = await buildOrg(t.domain);
    const d = t.domain;
    const place = await d.places.createPlace(a, { name: 'HQ' });
    const lock = await d.places.createLock(a, { placeId: place.id, name: 'Front' });
    const other = await d.places.createLock(a, { placeId: (await d.places.createPlace(a, { name: 'Annex' })).id, name: 'Gate' });
    const ms: Awaited<ReturnType<typeof buildMember>>[] = [];
    for (let i = 0; i < 12; i++) ms.push(await buildMember(d, a, { displayName: i % 3 === 0 ? `Night ${i}` : `Day ${i}` }));
    const g1 = await buildGroup(d, a, ms.slice(0, 5).map((m) => m.id));
    const g2 = await buildGroup(d, a, ms.slice(3, 8).map((m) => m.id));
    const now = Date.now();
    await d.shares.grant(a, { groupId: g1.id, placeId: place.id });
    await d.shares.grant(a, { groupId: g2.id, lockId: lock.id, validFrom: new Date(now + 10 * MIN) });
    await d.shares.grant(a, { memberId: ms[8]!.id, lockId: lock.id, validUntil: new Date(now + 20 * MIN) });
    await d.shares.grant(a, { memberId: ms[9]!.id, placeId: place.id, validFrom: new Date(now - MIN), validUntil: new Date(now + 30 * MIN) });
    await d.shares.grant(a, { memberId: ms[1]!.id, lockId: lock.id });
    await d.shares.grant(a, { memberId: ms[10]!.id, lockId: other.id });
    await d.shares.grant(a, { memberId: ms[11]!.id, lockId: lock.id });
    await d.members.update(a, ms[11]!.id, { active: false });

    const read = async (select: typeof accessSql.selectWhoCanOpen, at: Date, like: string | null) => {
      const pages = [];
      let afterId = '00000000-0000-0000-0000-000000000000';
      for (let i = 0; i < 20; i++) {
        const rows = (await select(d.db.sql, org, lock.id, at, { afterId, limit: 3, like })).filter((r) => r.id !== null);
        pages.push(rows.slice(0, 2).map((r) => ({ id: r.id, grants: r.grants })));
        if (rows.length <= 2) break;
        afterId = rows[1]!.id;
      }
      return pages;
    };
    for (const offset of [1000, 5 * MIN, 15 * MIN, 25 * MIN, 60 * MIN]) {
      const at = new Date(Date.now() + offset);
      for (const like of [null, '%night%']) {
        const state = await read(accessSql.selectWhoCanOpenFromState, at, like);
        const shares = await read(accessSql.selectWhoCanOpen, at, like);
        expect(state).toEqual(shares);
        // The counts agree with each other and with the pages read.
        const n = shares.flat().length;
        expect(await accessSql.countWhoCanOpenFromState(d.db.sql, org, lock.id, at, like)).toBe(n);
        expect(await accessSql.countWhoCanOpen(d.db.sql, org, lock.id, at, like)).toBe(n);
      }
    }
    // Spot checks at now: g1 (0-4) by place, ms[1] also directly, ms[8] and ms[9] directly; not g2 (not started), 10 (other lock), 11 (inactive).
    const who = await d.access.whoCanOpen(a, lock.id);
    expect(who.items.map((w) => w.member.id)).toEqual([0, 1, 2, 3, 4, 8, 9].map((i) => ms[i]!.id).sort());
    expect(who.items.find((w) => w.member.id === ms[1]!.id)!.grants).toHaveLength(2);
    // In 15 minutes g2's lock share has started: 5, 6, 7 too, and 3 and 4 through both groups.
    const later = await d.access.whoCanOpen(a, lock.id, new Date(Date.now() + 15 * MIN));
    expect(later.items.map((w) => w.member.id)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => ms[i]!.id).sort());
    expect(later.items.find((w) => w.member.id === ms[3]!.id)!.grants.map((g) => g.scope).sort()).toEqual(['lock', 'place']);
    // One statement a page, and an unknown lock is not found.
    expect((await countStatements(() => d.access.whoCanOpen(a, lock.id, undefined, { first: 2 }))).statements).toBe(1);
    await expect(d.access.whoCanOpen(a, '00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({ code: 'lock_not_found' });
  });
});
