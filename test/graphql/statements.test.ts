// The SQL statement count of a page of members with their relations does not
// grow with the page size: one statement per relation, through DataLoader.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execute, parse, type GraphQLSchema } from 'graphql';
import { createTestDb, type TestDb } from '../setup/test-db.js';
import { buildGroup, buildLock, buildMember, buildOrg } from '../factories/index.js';
import { countStatements } from '../../src/infra/postgres/statement-count.js';
import { buildGraphqlSchema } from '../../src/graphql/schema.js';
import { contextFor } from '../../src/graphql/context.js';
import { queryCost } from '../../src/graphql/limits.js';
import type { Actor } from '../../src/domain/index.js';

let t: TestDb;
let schema: GraphQLSchema;
beforeAll(async () => {
  t = await createTestDb();
  schema = await buildGraphqlSchema();
});
afterAll(async () => {
  await t.close();
});

const QUERY = parse(`query($first: Int) { members(first: $first) { totalCount edges { node {
  id userName groups { id displayName } shares { id role validFrom validUntil lock { id name place { id name } } } } } } }`);

const THROUGH_GROUPS = parse(`query($first: Int) { groups(first: 5) { edges { node { id members(first: $first) { totalCount edges { node {
  id groups { id } shares { id lock { id place { id } } } manager { id } } } } shares { id place { id locks { id } } } } } } }`);

/** Runs the operation in-process with the context a request would get (auth already resolved). */
async function run(actor: Actor, first: number, document = QUERY) {
  return countStatements(() => Promise.resolve(execute({ schema, document, variableValues: { first }, contextValue: contextFor(t.domain, actor) })));
}

describe('GraphQL statement count', () => {
  it('runs at most 5 statements for members(first: 100) with groups and shares { lock { place } }, the same as first: 10', async () => {
    const org = await buildOrg(t.domain);
    const reader: Actor = { kind: 'api_key', organizationId: org.id, id: 'k', label: 'reader', role: 'reader' };
    const locks = [];
    for (let p = 0; p < 3; p++) {
      const place = await t.domain.places.createPlace(org.actor, { name: `Place ${p}` });
      for (let l = 0; l < 2; l++) locks.push(await buildLock(t.domain, org.actor, place.id));
    }
    const members = [];
    for (let i = 0; i < 110; i++) members.push(await buildMember(t.domain, org.actor));
    for (let g = 0; g < 3; g++) await buildGroup(t.domain, org.actor, members.filter((_, i) => i % 3 !== g).map((m) => m.id));
    for (const [i, m] of members.entries()) {
      await t.domain.shares.grant(org.actor, { memberId: m.id, lockId: locks[i % locks.length]!.id, validUntil: new Date(Date.now() + 86_400_000) });
    }

    const small = await run(reader, 10);
    const large = await run(reader, 100);
    expect(small.result.errors).toBeUndefined();
    expect(large.result.errors).toBeUndefined();
    const page = (large.result.data as { members: { totalCount: number; edges: { node: { groups: unknown[]; shares: { lock: { place: { name: string } } }[] } }[] } }).members;
    expect(page.totalCount).toBe(110);
    expect(page.edges).toHaveLength(100);
    for (const e of page.edges) {
      expect(e.node.groups).toHaveLength(2);
      expect(e.node.shares).toHaveLength(1);
      expect(e.node.shares[0]!.lock.place.name).toMatch(/^Place \d$/);
    }
    expect(large.statements).toBeLessThanOrEqual(5);
    expect(large.statements).toBe(small.statements);

    // The same relations reached through DataLoader (group members, not the members page).
    const viaSmall = await run(reader, 10, THROUGH_GROUPS);
    const viaLarge = await run(reader, 100, THROUGH_GROUPS);
    expect(viaLarge.result.errors).toBeUndefined();
    const groups = (viaLarge.result.data as { groups: { edges: { node: { members: { totalCount: number; edges: { node: { groups: unknown[]; shares: { lock: { place: { id: string } } }[] } }[] } } }[] } }).groups.edges;
    expect(groups).toHaveLength(3);
    for (const g of groups) {
      expect(g.node.members.edges.length).toBe(g.node.members.totalCount);
      expect(g.node.members.edges.length).toBeGreaterThan(70);
      for (const e of g.node.members.edges) expect(e.node.shares[0]!.lock.place.id).toBeTruthy();
    }
    expect(viaLarge.statements).toBeLessThanOrEqual(6);
    expect(viaLarge.statements).toBe(viaSmall.statements);
  });

  it('batches Member.access: one statement for a page of members, whatever its size (it was one per member)', async () => {
    const org = await buildOrg(t.domain);
    const reader: Actor = { kind: 'api_key', organizationId: org.id, id: 'k', label: 'reader', role: 'reader' };
    const place = await t.domain.places.createPlace(org.actor, { name: 'HQ' });
    const locks = [await buildLock(t.domain, org.actor, place.id), await buildLock(t.domain, org.actor, place.id)];
    const members = [];
    for (let i = 0; i < 40; i++) members.push(await buildMember(t.domain, org.actor));
    const group = await buildGroup(t.domain, org.actor, members.filter((_, i) => i % 2 === 0).map((m) => m.id));
    await t.domain.shares.grant(org.actor, { groupId: group.id, placeId: place.id });
    for (const [i, m] of members.entries()) if (i % 3 === 0) await t.domain.shares.grant(org.actor, { memberId: m.id, lockId: locks[i % 2]!.id });
    // An inactive member opens nothing, in the batch as alone.
    await t.domain.members.update(org.actor, members[6]!.id, { active: false });

    const ACCESS = parse(`query($first: Int) { members(first: $first) { edges { node { id access { lockId grants { shareId groupId } } } } } }`);
    const small = await run(reader, 5, ACCESS);
    const large = await run(reader, 40, ACCESS);
    expect(large.result.errors).toBeUndefined();
    // The page's statement and one for the access of all its members.
    expect(large.statements).toBeLessThanOrEqual(3);
    expect(large.statements).toBe(small.statements);
    // The same answers as asking member by member.
    const edges = (large.result.data as { members: { edges: { node: { id: string; access: { lockId: string; grants: { shareId: string }[] }[] } }[] } }).members.edges;
    expect(edges).toHaveLength(40);
    let withAccess = 0;
    for (const e of edges) {
      const one = await t.domain.access.accessOf(reader, e.node.id);
      const norm = (a: { lockId: string; grants: { shareId: string }[] }[]) => a.map((x) => `${x.lockId}:${x.grants.map((g) => g.shareId).sort().join(',')}`).sort();
      expect(norm(e.node.access)).toEqual(norm(one));
      if (one.length > 0) withAccess++;
    }
    expect(withAccess).toBeGreaterThan(20);

    // The cost limit counts it as what it now is, a batched list relation like `groups`
    // (it charged 50 a member for the statement each used to cost).
    const cost = (field: string) => queryCost(schema, parse(`{ members(first: 100) { edges { node { ${field} { __typename } } } } }`));
    expect(cost('access')).toBe(cost('groups'));
  });
});
