// Pages count their matches only when a query selects totalCount (counting
// every match is what made a page of 100,000 members cost 29 ms): asked, the
// count is exact on every connection, on every page and past the end; not
// asked, the pages are the same. whoCanOpen pages stay exact (no duplicate, no
// gap) while members gain and lose access between pages.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGroup, buildMember } from '../factories/index.js';
import { startHarness, type Harness } from './harness.js';

let hs: Harness;
beforeAll(async () => {
  hs = await startHarness();
});
afterAll(async () => {
  await hs.close();
});

interface Conn {
  totalCount?: number | null;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  edges: { node: { id: string } }[];
}

/** Reads every page of the connection at `path` (2 a page), with and without totalCount. */
async function readAll(key: string, query: (fields: string) => string, path: (d: Record<string, unknown>) => Conn, vars: Record<string, unknown> = {}) {
  const pages = async (fields: string) => {
    const seen: string[] = [];
    const counts: (number | null | undefined)[] = [];
    let after: string | null = null;
    for (let i = 0; i < 50; i++) {
      const res = await hs.gql(query(fields), { ...vars, after }, { apiKey: key });
      expect(res.body.errors).toBeUndefined();
      const c = path(res.body.data as Record<string, unknown>);
      seen.push(...c.edges.map((e) => e.node.id));
      counts.push(c.totalCount);
      if (!c.pageInfo.hasNextPage) return { seen, counts, last: c.pageInfo.endCursor };
      after = c.pageInfo.endCursor;
    }
    throw new Error('too many pages');
  };
  const counted = await pages('totalCount pageInfo { hasNextPage endCursor } edges { node { id } }');
  const uncounted = await pages('pageInfo { hasNextPage endCursor } edges { node { id } }');
  expect(uncounted.seen).toEqual(counted.seen);
  expect(new Set(counted.seen).size).toBe(counted.seen.length);
  // The count on every page is the number of matches over all pages.
  for (const n of counted.counts) expect(n).toBe(counted.seen.length);
  expect(uncounted.counts.every((n) => n === undefined)).toBe(true);
  // Past the end: an empty page still carries the count.
  const past = await hs.gql(query('totalCount edges { node { id } }'), { ...vars, after: counted.last }, { apiKey: key });
  expect(past.body.errors).toBeUndefined();
  const end = path(past.body.data as Record<string, unknown>);
  expect(end.edges).toEqual([]);
  expect(end.totalCount).toBe(counted.seen.length);
  return counted.seen;
}

describe('totalCount only when asked', () => {
  it('is exact on every connection, every page and past the end, with or without a filter; the pages are the same without it', async () => {
    const org = await hs.org();
    const d = hs.t.domain;
    const members: Awaited<ReturnType<typeof buildMember>>[] = [];
    for (let i = 0; i < 5; i++) members.push(await buildMember(d, org.actor, { displayName: i < 3 ? `Lyon ${i}` : `Paris ${i}` }));
    const g = await buildGroup(d, org.actor, members.slice(0, 3).map((m) => m.id), 'Lyon team');
    await buildGroup(d, org.actor, [], 'Paris team');
    await buildGroup(d, org.actor, [members[4]!.id], 'Lyon night');
    const place = await d.places.createPlace(org.actor, { name: 'HQ' });
    const other = await d.places.createPlace(org.actor, { name: 'Annex' });
    const lock = await d.places.createLock(org.actor, { placeId: place.id, name: 'Front' });
    await d.places.createLock(org.actor, { placeId: place.id, name: 'Back' });
    await d.places.createLock(org.actor, { placeId: other.id, name: 'Gate' });
    await d.shares.grant(org.actor, { groupId: g.id, placeId: place.id });
    await d.shares.grant(org.actor, { memberId: members[3]!.id, lockId: lock.id });
    await d.shares.grant(org.actor, { memberId: members[4]!.id, lockId: lock.id, validUntil: new Date(Date.now() + 86_400_000) });
    await d.members.update(org.actor, members[2]!.id, { active: false });

    const page = (name: string, args = '') => (fields: string) =>
      `query($after: String${args.includes('$l') ? ', $l: ID!' : ''}${args.includes('$g') ? ', $g: ID!' : ''}) { c: ${name}(first: 2, after: $after${args}) { ${fields} } }`;
    const c = (data: Record<string, unknown>) => data.c as Conn;

    expect(await readAll(org.reader, page('members'), c)).toHaveLength(5);
    expect(await readAll(org.reader, page('members', ', filter: { text: "lyon" }'), c)).toHaveLength(3);
    expect(await readAll(org.reader, page('members', ', filter: { active: true }, orderBy: CREATED_AT'), c)).toHaveLength(4);
    expect(await readAll(org.reader, page('members', ', filter: { groupId: $g }'), c, { g: g.id })).toHaveLength(3);
    expect(await readAll(org.reader, page('groups'), c)).toHaveLength(3);
    expect(await readAll(org.reader, page('groups', ', filter: { text: "lyon" }'), c)).toHaveLength(2);
    expect(await readAll(org.reader, page('places'), c)).toHaveLength(2);
    expect(await readAll(org.reader, page('locks'), c)).toHaveLength(3);
    expect(await readAll(org.reader, page('shares'), c)).toHaveLength(3);
    expect(await readAll(org.admin, page('auditEvents', ', filter: { actionPrefix: "member." }'), c)).toHaveLength(6);
    // Members 0 and 1 through the group's place share (2 is inactive), 3 and 4 directly.
    expect(await readAll(org.reader, page('whoCanOpen', ', lockId: $l'), c, { l: lock.id })).toHaveLength(4);
    expect(await readAll(org.reader, page('whoCanOpen', ', lockId: $l, text: "lyon"'), c, { l: lock.id })).toHaveLength(2);
    // A group's members, through Group.members (a DataLoader page per group).
    const groupMembers = (fields: string) => `query($after: String, $g: ID!) { group(id: $g) { members(first: 2, after: $after) { ${fields} } } }`;
    const gm = (data: Record<string, unknown>) => (data.group as { members: Conn }).members;
    expect(await readAll(org.reader, groupMembers, gm, { g: g.id })).toHaveLength(3);

    // Several groups in one query, some asking for the count and some not (one loader each).
    const res = await hs.gql(
      `{ groups(first: 10) { edges { node { displayName counted: members(first: 1) { totalCount edges { node { id } } } plain: members(first: 1) { edges { node { id } } } } } } }`,
      {},
      { apiKey: org.reader },
    );
    expect(res.body.errors).toBeUndefined();
    type G = { displayName: string; counted: Conn; plain: Conn };
    const byName = Object.fromEntries((res.body.data as { groups: { edges: { node: G }[] } }).groups.edges.map((e) => [e.node.displayName, e.node]));
    expect(byName['Lyon team']!.counted.totalCount).toBe(3);
    expect(byName['Paris team']!.counted.totalCount).toBe(0);
    expect(byName['Lyon night']!.counted.totalCount).toBe(1);
    for (const n of Object.values(byName)) expect(n.plain.edges).toEqual(n.counted.edges);
  });

  it('the edge asks the domain to count only when the query selects totalCount (through fragments too)', async () => {
    const org = await hs.org();
    const d = hs.t.domain;
    await buildGroup(d, org.actor, [(await buildMember(d, org.actor)).id]);
    const asked: string[] = [];
    const members = d.members.list.bind(d.members);
    const groups = d.groups.list.bind(d.groups);
    const ofGroups = d.groups.membersOfGroups.bind(d.groups);
    d.members.list = (actor, q) => (asked.push(`members:${q?.count}`), members(actor, q));
    d.groups.list = (actor, q) => (asked.push(`groups:${q?.count}`), groups(actor, q));
    d.groups.membersOfGroups = (actor, ids, o) => (asked.push(`groupMembers:${o?.count}`), ofGroups(actor, ids, o));
    try {
      const run = async (query: string) => {
        asked.length = 0;
        const res = await hs.gql(query, {}, { apiKey: org.reader });
        expect(res.body.errors).toBeUndefined();
        return [...asked];
      };
      expect(await run(`{ members { edges { node { id } } } groups { edges { node { members { edges { node { id } } } } } } }`)).toEqual([
        'members:false',
        'groups:false',
        'groupMembers:false',
      ]);
      expect(await run(`{ members { totalCount } groups { totalCount edges { node { members { totalCount } } } } }`)).toEqual(['members:true', 'groups:true', 'groupMembers:true']);
      expect(await run(`{ members { ...C } } fragment C on MemberConnection { ... on MemberConnection { totalCount } }`)).toEqual(['members:true']);
    } finally {
      d.members.list = members;
      d.groups.list = groups;
      d.groups.membersOfGroups = ofGroups;
    }
  });

  it('the domain skips the count with count: false and counts by default (CLI, console)', async () => {
    const org = await hs.org();
    const d = hs.t.domain;
    const ms = [await buildMember(d, org.actor), await buildMember(d, org.actor), await buildMember(d, org.actor)];
    const g = await buildGroup(d, org.actor, ms.map((m) => m.id));
    const counted = await d.members.list(org.actor, { first: 2 });
    const plain = await d.members.list(org.actor, { first: 2, count: false });
    expect(counted.totalCount).toBe(3);
    expect(plain.totalCount).toBeUndefined();
    expect(plain.items.map((m) => m.id)).toEqual(counted.items.map((m) => m.id));
    expect(plain.cursors).toEqual(counted.cursors);
    expect(plain.hasNextPage).toBe(true);
    expect((await d.groups.list(org.actor, { count: false })).totalCount).toBeUndefined();
    expect((await d.groups.list(org.actor)).totalCount).toBe(1);
    expect((await d.groups.membersOfGroups(org.actor, [g.id], { first: 1, count: false })).get(g.id)).toMatchObject({ totalCount: undefined, hasNextPage: true });
    expect((await d.groups.membersOfGroups(org.actor, [g.id], { first: 1 })).get(g.id)).toMatchObject({ totalCount: 3, hasNextPage: true });
  });
});

describe('whoCanOpen paging while access changes', () => {
  it('no duplicate and no gap: members present throughout appear once, those gaining access after the cursor appear, those losing it do not', async () => {
    const org = await hs.org();
    const d = hs.t.domain;
    const place = await d.places.createPlace(org.actor, { name: 'HQ' });
    const lock = await d.places.createLock(org.actor, { placeId: place.id, name: 'Front' });
    const pool: Awaited<ReturnType<typeof buildMember>>[] = [];
    for (let i = 0; i < 16; i++) pool.push(await buildMember(d, org.actor));
    pool.sort((a, b) => (a.id < b.id ? -1 : 1));
    // Even positions can open the lock: half through a group's place share, half directly.
    const even = pool.filter((_, i) => i % 2 === 0);
    const g = await buildGroup(d, org.actor, even.slice(0, 4).map((m) => m.id));
    await d.shares.grant(org.actor, { groupId: g.id, placeId: place.id });
    const direct = new Map<string, string>();
    for (const m of even.slice(4)) direct.set(m.id, (await d.shares.grant(org.actor, { memberId: m.id, lockId: lock.id })).id);

    const q = `query($l: ID!, $after: String) { whoCanOpen(lockId: $l, first: 3, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } }`;
    const read = async (after: string | null) => {
      const res = await hs.gql(q, { l: lock.id, after }, { apiKey: org.reader });
      expect(res.body.errors).toBeUndefined();
      return (res.body.data as { whoCanOpen: Conn }).whoCanOpen;
    };
    const p1 = await read(null);
    expect(p1.edges.map((e) => e.node.id)).toEqual(even.slice(0, 3).map((m) => m.id));
    expect(p1.totalCount).toBe(8);
    const seen = p1.edges.map((e) => e.node.id);
    // Between pages: pool[1] (before the cursor) and pool[9], pool[15] (after it) gain access, through the group and directly;
    // pool[8] loses its direct share, pool[10] is deactivated, pool[2] (already read) leaves the group.
    await d.groups.update(org.actor, g.id, { addMembers: [pool[1]!.id, pool[9]!.id], removeMembers: [pool[2]!.id] });
    await d.shares.grant(org.actor, { memberId: pool[15]!.id, lockId: lock.id });
    await d.shares.revoke(org.actor, direct.get(pool[8]!.id)!);
    await d.members.update(org.actor, pool[10]!.id, { active: false });
    let after = p1.pageInfo.endCursor;
    for (let i = 0; i < 10 && after; i++) {
      const p = await read(after);
      seen.push(...p.edges.map((e) => e.node.id));
      after = p.pageInfo.hasNextPage ? p.pageInfo.endCursor : null;
    }
    const expected = [0, 2, 4, 6, 9, 12, 14, 15].map((i) => pool[i]!.id);
    expect(seen).toEqual(expected);
    // Read again from the start: the lock's list now.
    const now: string[] = [];
    let cur: string | null = null;
    for (let i = 0; i < 10; i++) {
      const p = await read(cur);
      now.push(...p.edges.map((e) => e.node.id));
      if (!p.pageInfo.hasNextPage) break;
      cur = p.pageInfo.endCursor;
    }
    expect(now).toEqual([0, 1, 4, 6, 9, 12, 14, 15].map((i) => pool[i]!.id));
  });
});
