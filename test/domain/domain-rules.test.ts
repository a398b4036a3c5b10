// The rules every edge relies on: uniqueness decided by the database under
// concurrency, who may change what, and bad input answered as Invalid naming
// the field (never a database error).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from '../setup/test-db.js';
import { buildGroup, buildMember, buildOrg, unique } from '../factories/index.js';
import type { Actor } from '../../src/domain/index.js';
import { countStatements } from '../../src/infra/postgres/statement-count.js';

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb({ poolSize: 10 });
});
afterAll(async () => {
  await t.close();
});

const scimActor = (organizationId: string): Actor => ({ kind: 'scim', organizationId, label: 'scim' });
const keyActor = (organizationId: string, role: 'reader' | 'admin'): Actor => ({ kind: 'api_key', organizationId, id: 'k1', label: 'app', role });
const importActor = (organizationId: string): Actor => ({ kind: 'import', organizationId, id: 'imp1', label: 'import' });

describe('uniqueness under concurrency', () => {
  it('concurrent creates of one userName, differently cased: exactly one succeeds, the others are Conflict user_name_taken', async () => {
    const { actor } = await buildOrg(t.domain);
    const base = unique('race');
    const names = [`${base}@example.com`, `${base.toUpperCase()}@EXAMPLE.COM`, `${base}@Example.com`, `${base[0]!.toUpperCase()}${base.slice(1)}@example.com`];
    const results = await Promise.allSettled(names.map((userName) => t.domain.members.create(actor, { userName })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results.filter((r) => r.status === 'rejected')) {
      expect((r as PromiseRejectedResult).reason).toMatchObject({ kind: 'conflict', code: 'user_name_taken', details: { field: 'userName' } });
    }
    expect((await t.domain.members.list(actor)).totalCount).toBe(1);
    // The same userName is free in another organisation.
    const other = await buildOrg(t.domain);
    await expect(t.domain.members.create(other.actor, { userName: names[0]! })).resolves.toMatchObject({ userName: names[0] });
  });

  it('renaming onto a taken userName (other case) is Conflict', async () => {
    const { actor } = await buildOrg(t.domain);
    const a = await buildMember(t.domain, actor);
    const b = await buildMember(t.domain, actor);
    await expect(t.domain.members.update(actor, b.id, { userName: a.userName.toUpperCase() })).rejects.toMatchObject({ code: 'user_name_taken' });
  });

  it('concurrent creates of one group displayName, differently cased: exactly one succeeds', async () => {
    const { actor } = await buildOrg(t.domain);
    const base = unique('Team ');
    const names = [base, base.toUpperCase(), base.toLowerCase(), ` ${base}`.trim()];
    const results = await Promise.allSettled(names.map((displayName) => t.domain.groups.create(actor, { displayName })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results.filter((r) => r.status === 'rejected')) {
      expect((r as PromiseRejectedResult).reason).toMatchObject({ kind: 'conflict', code: 'display_name_taken' });
    }
    const g = await buildGroup(t.domain, actor);
    await expect(t.domain.groups.update(actor, g.id, { displayName: base.toUpperCase() })).rejects.toMatchObject({ code: 'display_name_taken' });
  });

  it('organisation domains are unique', async () => {
    const slug = unique('dup');
    await t.domain.organizations.create({ name: 'A', domain: slug });
    await expect(t.domain.organizations.create({ name: 'B', domain: slug.toUpperCase() })).rejects.toMatchObject({ kind: 'conflict', code: 'domain_taken' });
  });
});

describe('who may change what', () => {
  it('api keys and members may not change the membership of a SCIM-managed group', async () => {
    const org = await buildOrg(t.domain);
    const scim = scimActor(org.id);
    const m = await buildMember(t.domain, scim);
    const n = await buildMember(t.domain, org.actor);
    const g = await t.domain.groups.create(scim, { displayName: unique('Entra '), memberIds: [m.id] });
    expect(g.source).toBe('scim');
    const managed = { kind: 'forbidden', code: 'group_managed_by_scim' };
    await expect(t.domain.groups.update(keyActor(org.id, 'admin'), g.id, { addMembers: [n.id] })).rejects.toMatchObject(managed);
    await expect(t.domain.groups.update(keyActor(org.id, 'admin'), g.id, { removeMembers: [m.id] })).rejects.toMatchObject(managed);
    await expect(t.domain.groups.update(keyActor(org.id, 'admin'), g.id, { replaceMembers: [] })).rejects.toMatchObject(managed);
    await expect(t.domain.groups.delete(keyActor(org.id, 'admin'), g.id)).rejects.toMatchObject(managed);
    const self: Actor = { kind: 'member', organizationId: org.id, id: m.id, label: m.userName };
    await expect(t.domain.groups.update(self, g.id, { removeMembers: [m.id] })).rejects.toMatchObject({ kind: 'forbidden' });
    expect((await t.domain.groups.members(org.actor, g.id)).map((x) => x.id)).toEqual([m.id]);
    // SCIM itself, and the operator (system), may.
    await t.domain.groups.update(scim, g.id, { addMembers: [n.id] });
    await t.domain.groups.update(org.actor, g.id, { removeMembers: [n.id] });
    expect((await t.domain.groups.members(org.actor, g.id)).map((x) => x.id)).toEqual([m.id]);
  });

  it('an import-managed group refuses SCIM and api keys: group_managed_by_import', async () => {
    const org = await buildOrg(t.domain);
    const m = await buildMember(t.domain, org.actor);
    const g = await t.domain.groups.create(importActor(org.id), { displayName: unique('Imported ') });
    await expect(t.domain.groups.update(scimActor(org.id), g.id, { addMembers: [m.id] })).rejects.toMatchObject({ code: 'group_managed_by_import' });
    await expect(t.domain.groups.update(keyActor(org.id, 'admin'), g.id, { addMembers: [m.id] })).rejects.toMatchObject({ code: 'group_managed_by_import' });
    await t.domain.groups.update(importActor(org.id), g.id, { addMembers: [m.id] });
  });

  it('api keys may change only the metadata of a SCIM-provisioned member: field_owned_by_entra', async () => {
    const org = await buildOrg(t.domain);
    const m = await buildMember(t.domain, scimActor(org.id), { metadata: { city: 'Berlin' } });
    const admin = keyActor(org.id, 'admin');
    await expect(t.domain.members.update(admin, m.id, { displayName: 'Renamed' })).rejects.toMatchObject({
      kind: 'forbidden',
      code: 'field_owned_by_entra',
      details: { fields: ['displayName'] },
    });
    await expect(t.domain.members.update(admin, m.id, { active: false })).rejects.toMatchObject({ code: 'field_owned_by_entra' });
    await expect(t.domain.members.delete(admin, m.id)).rejects.toMatchObject({ kind: 'forbidden', code: 'managed_by_scim' });
    const updated = await t.domain.members.update(admin, m.id, { metadata: { city: 'Paris', badge: 7 } });
    expect(updated.metadata).toEqual({ city: 'Paris', badge: 7 });
    expect(updated.displayName).toBe(m.displayName);
    // SCIM changes anything; an admin-created member is the app's to change.
    await expect(t.domain.members.update(scimActor(org.id), m.id, { displayName: 'From Entra' })).resolves.toMatchObject({ displayName: 'From Entra' });
    const local = await buildMember(t.domain, org.actor);
    await expect(t.domain.members.update(admin, local.id, { displayName: 'Local' })).resolves.toMatchObject({ displayName: 'Local' });
    await t.domain.members.delete(admin, local.id);
  });

  it('a reader API key cannot write anything', async () => {
    const org = await buildOrg(t.domain);
    const reader = keyActor(org.id, 'reader');
    const m = await buildMember(t.domain, org.actor);
    const g = await buildGroup(t.domain, org.actor);
    const place = await t.domain.places.createPlace(org.actor, { name: 'P' });
    const forbidden = { kind: 'forbidden', code: 'admin_role_required' };
    await expect(t.domain.members.create(reader, { userName: unique('r') })).rejects.toMatchObject(forbidden);
    await expect(t.domain.members.update(reader, m.id, { displayName: 'x' })).rejects.toMatchObject(forbidden);
    await expect(t.domain.members.delete(reader, m.id)).rejects.toMatchObject(forbidden);
    await expect(t.domain.groups.create(reader, { displayName: 'x' })).rejects.toMatchObject(forbidden);
    await expect(t.domain.groups.update(reader, g.id, { addMembers: [m.id] })).rejects.toMatchObject(forbidden);
    await expect(t.domain.places.createPlace(reader, { name: 'x' })).rejects.toMatchObject(forbidden);
    await expect(t.domain.places.createLock(reader, { placeId: place.id, name: 'x' })).rejects.toMatchObject(forbidden);
    await expect(t.domain.shares.grant(reader, { memberId: m.id, placeId: place.id })).rejects.toMatchObject(forbidden);
    await expect(t.domain.apiKeys.create(reader, { name: 'x', role: 'admin' })).rejects.toMatchObject(forbidden);
    await expect(t.domain.organizations.enableScim(reader)).rejects.toMatchObject(forbidden);
    await expect(t.domain.audit.list(reader)).rejects.toMatchObject(forbidden);
    // ...but reads.
    expect((await t.domain.members.list(reader)).totalCount).toBe(1);
    expect((await t.domain.members.get(reader, m.id)).id).toBe(m.id);
  });
});

describe('bad input is Invalid with the field, never a database error', () => {
  let a: Actor;
  beforeAll(async () => {
    a = (await buildOrg(t.domain)).actor;
  });

  const invalid = (field: string, code?: string) => expect.objectContaining({ kind: 'invalid', field, ...(code ? { code } : {}) });

  it('members', async () => {
    const create = (input: Record<string, unknown>) => t.domain.members.create(a, { userName: unique('v'), ...input } as never);
    await expect(create({ userName: 'x'.repeat(513) })).rejects.toEqual(invalid('userName', 'too_long'));
    await expect(create({ userName: '   ' })).rejects.toEqual(invalid('userName', 'user_name_required'));
    await expect(create({ userName: 42 })).rejects.toEqual(invalid('userName'));
    await expect(create({ userName: 'nul\u0000byte' })).rejects.toEqual(invalid('userName', 'invalid_value'));
    await expect(create({ displayName: 'd'.repeat(1025) })).rejects.toEqual(invalid('displayName', 'too_long'));
    await expect(create({ displayName: 'a\u0000b' })).rejects.toEqual(invalid('displayName'));
    await expect(create({ title: 7 })).rejects.toEqual(invalid('title'));
    await expect(create({ active: 'yes' })).rejects.toEqual(invalid('active'));
    await expect(create({ name: { givenName: 'x\u0000' } })).rejects.toEqual(invalid('name.givenName'));
    await expect(create({ name: 'Ann' })).rejects.toEqual(invalid('name.0', 'unknown_attribute'));
    await expect(create({ enterprise: { boss: 'x' } })).rejects.toEqual(invalid('enterprise.boss', 'unknown_attribute'));
    await expect(create({ addresses: [null] })).rejects.toEqual(invalid('addresses'));
    const existing = await buildMember(t.domain, a);
    await expect(t.domain.members.update(a, existing.id, { name: null as never })).rejects.toEqual(invalid('name'));
    await expect(t.domain.members.update(a, existing.id, (cur) => ({ ...cur, enterprise: 'x' as never }))).rejects.toEqual(invalid('enterprise'));
    await t.domain.members.delete(a, existing.id);
    await expect(create({ emails: 'a@b.c' })).rejects.toEqual(invalid('emails'));
    await expect(create({ emails: [{ value: 'a@b.c', primary: true }, { value: 'd@e.f', primary: true }] })).rejects.toEqual(invalid('emails', 'multiple_primary'));
    await expect(create({ emails: Array.from({ length: 51 }, (_, i) => ({ value: `${i}@x.y` })) })).rejects.toEqual(invalid('emails', 'too_many_values'));
    await expect(create({ metadata: [] })).rejects.toEqual(invalid('metadata'));
    await expect(create({ metadata: { city: 'a\u0000' } })).rejects.toEqual(invalid('metadata'));
    await expect(create({ metadata: { big: 'x'.repeat(17_000) } })).rejects.toEqual(invalid('metadata', 'too_large'));
    await expect(create({ enterprise: { managerId: 'not-a-uuid' } })).rejects.toEqual(invalid('manager', 'unknown_manager'));
    await expect(create({ enterprise: { managerId: crypto.randomUUID() } })).rejects.toEqual(invalid('manager', 'unknown_manager'));
    expect((await t.domain.members.list(a)).totalCount).toBe(0);
  });

  it('member list paging', async () => {
    await expect(t.domain.members.list(a, { first: Number('abc') })).rejects.toEqual(invalid('first'));
    await expect(t.domain.members.list(a, { after: 'garbage' })).rejects.toEqual(invalid('after', 'invalid_cursor'));
  });

  it('groups, places, locks, shares, api keys, organisations', async () => {
    await expect(t.domain.groups.create(a, { displayName: 'g'.repeat(513) })).rejects.toEqual(invalid('displayName', 'too_long'));
    await expect(t.domain.groups.create(a, { displayName: 'a\u0000' })).rejects.toEqual(invalid('displayName'));
    await expect(t.domain.groups.create(a, { displayName: 5 as never })).rejects.toEqual(invalid('displayName'));
    await expect(t.domain.groups.create(a, { displayName: 'ok', memberIds: ['nope'] })).rejects.toEqual(invalid('members', 'unknown_member'));
    await expect(t.domain.groups.create(a, { displayName: 'ok', memberIds: 'nope' as never })).rejects.toEqual(invalid('members'));
    await expect(t.domain.places.createPlace(a, { name: 'p'.repeat(201) })).rejects.toEqual(invalid('name'));
    await expect(t.domain.places.createPlace(a, { name: 'ok', timeZone: 'Mars/Olympus' })).rejects.toEqual(invalid('timeZone', 'invalid_time_zone'));
    const place = await t.domain.places.createPlace(a, { name: 'ok' });
    await expect(t.domain.places.createLock(a, { placeId: place.id, name: '\u0000' })).rejects.toEqual(invalid('name'));
    const m = await buildMember(t.domain, a);
    await expect(t.domain.shares.grant(a, { memberId: m.id, placeId: place.id, role: 'owner' })).rejects.toEqual(invalid('role', 'invalid_role'));
    await expect(t.domain.shares.grant(a, { placeId: place.id })).rejects.toEqual(invalid('memberId'));
    await expect(t.domain.shares.grant(a, { memberId: m.id })).rejects.toEqual(invalid('placeId'));
    const now = new Date();
    await expect(t.domain.shares.grant(a, { memberId: m.id, placeId: place.id, validFrom: now, validUntil: now })).rejects.toEqual(invalid('validUntil', 'invalid_window'));
    await expect(t.domain.shares.grant(a, { memberId: m.id, placeId: place.id, validFrom: new Date('nope') })).rejects.toEqual(invalid('validFrom'));
    await expect(t.domain.apiKeys.create(a, { name: 'k', role: 'root' })).rejects.toEqual(invalid('role', 'invalid_role'));
    await expect(t.domain.apiKeys.create(a, { name: 'k'.repeat(201), role: 'admin' })).rejects.toEqual(invalid('name'));
    await expect(t.domain.apiKeys.create(a, { name: 3 as never, role: 'admin' })).rejects.toEqual(invalid('name'));
    await expect(t.domain.apiKeys.create(a, { name: 'a\u0000', role: 'admin' })).rejects.toEqual(invalid('name'));
    await expect(t.domain.organizations.create({ name: 'n', domain: 'Bad Domain!' })).rejects.toEqual(invalid('domain', 'invalid_domain'));
    await expect(t.domain.organizations.create({ name: 'a\u0000b', domain: unique('o') })).rejects.toEqual(invalid('name'));
    await expect(t.domain.organizations.create({ name: null as never, domain: unique('o') })).rejects.toEqual(invalid('name'));
    await expect(t.domain.access.accessOf(a, m.id, new Date('x'))).rejects.toEqual(invalid('at'));
    await expect(t.domain.access.whoCanOpen(a, crypto.randomUUID(), new Date(), { first: Number.NaN })).rejects.toEqual(invalid('first'));
  });
});

describe('member list', () => {
  it('pages with a total count in one statement, the total kept on an empty last page', async () => {
    const { actor } = await buildOrg(t.domain);
    const names = ['carol', 'Alice', 'bob', 'dave', 'Eve'].map((n) => `${n}-${unique('')}`);
    for (const userName of names) await t.domain.members.create(actor, { userName, active: !userName.startsWith('dave') });
    const sorted = [...names].sort((x, y) => x.toLowerCase().localeCompare(y.toLowerCase()));

    const { result: p1, statements } = await countStatements(() => t.domain.members.list(actor, { first: 2 }));
    expect(statements).toBe(1);
    expect(p1.items.map((m) => m.userName)).toEqual(sorted.slice(0, 2));
    expect(p1).toMatchObject({ totalCount: 5, hasNextPage: true });
    const p2 = await t.domain.members.list(actor, { first: 2, after: p1.cursors.at(-1) });
    expect(p2.items.map((m) => m.userName)).toEqual(sorted.slice(2, 4));
    const p3 = await t.domain.members.list(actor, { first: 2, after: p2.cursors.at(-1) });
    expect(p3).toMatchObject({ totalCount: 5, hasNextPage: false });
    expect(p3.items.map((m) => m.userName)).toEqual(sorted.slice(4));
    const { result: empty, statements: s2 } = await countStatements(() => t.domain.members.list(actor, { first: 2, after: p3.cursors.at(-1) }));
    expect(empty).toMatchObject({ items: [], totalCount: 5, hasNextPage: false });
    expect(s2).toBe(1);

    expect(await t.domain.members.list(actor, { first: 0 })).toMatchObject({ items: [], totalCount: 5, hasNextPage: true });
    expect(await t.domain.members.list(actor, { active: false })).toMatchObject({ totalCount: 1, items: [expect.objectContaining({ active: false })] });
    expect((await t.domain.members.list(actor, { text: 'ALICE' })).items.map((m) => m.userName)).toEqual([names[1]]);
    expect((await t.domain.members.list(actor, { text: '%' })).totalCount).toBe(0);
    const byCreated = await t.domain.members.list(actor, { orderBy: 'createdAt', first: 3 });
    const rest = await t.domain.members.list(actor, { orderBy: 'createdAt', first: 3, after: byCreated.cursors.at(-1) });
    expect([...byCreated.items, ...rest.items].map((m) => m.userName)).toEqual(names);
    const g = await buildGroup(t.domain, actor);
    expect(await t.domain.members.list(actor, { groupId: g.id })).toMatchObject({ items: [], totalCount: 0 });
  });
});
