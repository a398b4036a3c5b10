import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, startHarness, type Harness } from './harness.js';
import { buildGroup, buildLock, buildMember } from '../factories/index.js';
import type { Actor } from '../../src/domain/index.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const scimActor = (organizationId: string): Actor => ({ kind: 'scim', organizationId, label: 'scim' });
const importActor = (organizationId: string): Actor => ({ kind: 'import', organizationId, id: 'import-1', label: 'import' });

describe('GraphQL mutations', () => {
  it('creates, updates, deactivates, sets metadata of and deletes a member', async () => {
    const o = await h.org();
    const k = { apiKey: o.admin };
    const created = await h.gql(
      `mutation($i: CreateMemberInput!) { createMember(input: $i) { id userName source active name { givenName } emails { value primary } enterprise { department } metadata } }`,
      { i: { userName: 'new@example.com', name: { givenName: 'Nina' }, emails: [{ value: 'new@example.com', primary: true }], enterprise: { department: 'Ops' }, metadata: { city: 'Paris' } } },
      k,
    );
    expect(created.body.errors).toBeUndefined();
    const m = created.body.data!.createMember as { id: string };
    expect(m).toMatchObject({ userName: 'new@example.com', source: 'ADMIN', active: true, name: { givenName: 'Nina' }, enterprise: { department: 'Ops' }, metadata: { city: 'Paris' } });

    const updated = await h.gql(
      `mutation($id: ID!) { updateMember(id: $id, input: { displayName: "Nina N", name: { familyName: "N" }, title: null }) { displayName name { givenName familyName } enterprise { department } version } }`,
      { id: m.id },
      k,
    );
    expect(updated.body.data!.updateMember).toEqual({ displayName: 'Nina N', name: { givenName: 'Nina', familyName: 'N' }, enterprise: { department: 'Ops' }, version: 2 });

    const meta = await h.gql(`mutation($id: ID!) { setMemberMetadata(id: $id, metadata: { badge: 7 }, merge: true) { metadata } }`, { id: m.id }, k);
    expect(meta.body.data!.setMemberMetadata).toEqual({ metadata: { city: 'Paris', badge: 7 } });
    const replaced = await h.gql(`mutation($id: ID!) { setMemberMetadata(id: $id, metadata: { badge: 8 }) { metadata } }`, { id: m.id }, k);
    expect(replaced.body.data!.setMemberMetadata).toEqual({ metadata: { badge: 8 } });

    const off = await h.gql(`mutation($id: ID!) { deactivateMember(id: $id) { active } }`, { id: m.id }, k);
    expect(off.body.data!.deactivateMember).toEqual({ active: false });

    const del = await h.gql(`mutation($id: ID!) { deleteMember(id: $id) }`, { id: m.id }, k);
    expect(del.body.data!.deleteMember).toBe(m.id);
    const gone = await h.gql(`query($id: ID!) { member(id: $id) { id } }`, { id: m.id }, k);
    expect(codes(gone)).toEqual(['NOT_FOUND']);
  });

  it('maps bad input to BAD_USER_INPUT with the field, and duplicates to CONFLICT', async () => {
    const o = await h.org();
    const k = { apiKey: o.admin };
    const empty = await h.gql(`mutation { createMember(input: { userName: "  " }) { id } }`, {}, k);
    expect(codes(empty)).toEqual(['BAD_USER_INPUT']);
    expect(empty.body.errors![0]!.extensions).toMatchObject({ field: 'userName', reason: 'user_name_required' });
    const twoPrimary = await h.gql(`mutation { createMember(input: { userName: "a@x", emails: [{ value: "a", primary: true }, { value: "b", primary: true }] }) { id } }`, {}, k);
    expect(twoPrimary.body.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'emails' });
    await h.gql(`mutation { createMember(input: { userName: "dup@x" }) { id } }`, {}, k);
    const dup = await h.gql(`mutation { createMember(input: { userName: "DUP@x" }) { id } }`, {}, k);
    expect(dup.body.errors![0]!.extensions).toMatchObject({ code: 'CONFLICT', field: 'userName' });
    const window = await h.gql(
      `mutation($m: ID!, $l: ID!) { grantShare(input: { memberId: $m, lockId: $l, validFrom: "2030-01-02T00:00:00Z", validUntil: "2030-01-01T00:00:00Z" }) { id } }`,
      { m: (await buildMember(h.t.domain, o.actor)).id, l: (await buildLock(h.t.domain, o.actor)).id },
      k,
    );
    expect(window.body.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'validUntil' });
    const badTz = await h.gql(`mutation { createPlace(input: { name: "X", timeZone: "Mars/Olympus" }) { id } }`, {}, k);
    expect(badTz.body.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'timeZone' });
    // Nothing was half-applied.
    const count = await h.gql(`{ members { totalCount } places { totalCount } }`, {}, k);
    expect(count.body.data).toEqual({ members: { totalCount: 2 }, places: { totalCount: 1 } });
  });

  it('creates groups, changes their members and deletes them', async () => {
    const o = await h.org();
    const k = { apiKey: o.admin };
    const a = await buildMember(h.t.domain, o.actor);
    const b = await buildMember(h.t.domain, o.actor);
    const g = await h.gql(`mutation($m: [ID!]) { createGroup(input: { displayName: "Night shift", memberIds: $m }) { id source managed } }`, { m: [a.id] }, k);
    const id = (g.body.data!.createGroup as { id: string }).id;
    expect(g.body.data!.createGroup).toMatchObject({ source: 'ADMIN', managed: false });
    const add = await h.gql(`mutation($id: ID!, $m: [ID!]!) { addGroupMembers(id: $id, memberIds: $m) { members { totalCount } } }`, { id, m: [b.id] }, k);
    expect(add.body.data!.addGroupMembers).toEqual({ members: { totalCount: 2 } });
    const rm = await h.gql(`mutation($id: ID!, $m: [ID!]!) { removeGroupMembers(id: $id, memberIds: $m) { members { totalCount } } }`, { id, m: [a.id] }, k);
    expect(rm.body.data!.removeGroupMembers).toEqual({ members: { totalCount: 1 } });
    const ren = await h.gql(`mutation($id: ID!) { updateGroup(id: $id, input: { displayName: "Day shift" }) { displayName } }`, { id }, k);
    expect(ren.body.data!.updateGroup).toEqual({ displayName: 'Day shift' });
    const unknown = await h.gql(`mutation($id: ID!) { addGroupMembers(id: $id, memberIds: ["not-a-uuid"]) { id } }`, { id }, k);
    expect(unknown.body.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'members' });
    const del = await h.gql(`mutation($id: ID!) { deleteGroup(id: $id) }`, { id }, k);
    expect(del.body.data!.deleteGroup).toBe(id);
  });

  it('refuses membership edits on SCIM- and import-managed groups and Entra-owned member fields with FORBIDDEN', async () => {
    const o = await h.org();
    const k = { apiKey: o.admin };
    const local = await buildMember(h.t.domain, o.actor);
    const fromEntra = await buildMember(h.t.domain, scimActor(o.id), { displayName: 'From Entra' });
    const scimGroup = await buildGroup(h.t.domain, scimActor(o.id), [fromEntra.id]);
    const importGroup = await buildGroup(h.t.domain, importActor(o.id), []);

    for (const [gid, reason] of [[scimGroup.id, 'group_managed_by_scim'], [importGroup.id, 'group_managed_by_import']] as const) {
      for (const q of [
        'mutation($g: ID!, $m: [ID!]!) { addGroupMembers(id: $g, memberIds: $m) { id } }',
        'mutation($g: ID!, $m: [ID!]!) { removeGroupMembers(id: $g, memberIds: $m) { id } }',
      ]) {
        const res = await h.gql(q, { g: gid, m: [local.id] }, k);
        expect(res.body.errors![0]!.extensions).toMatchObject({ code: 'FORBIDDEN', reason });
      }
      const del = await h.gql('mutation($g: ID!) { deleteGroup(id: $g) }', { g: gid }, k);
      expect(del.body.errors![0]!.extensions).toMatchObject({ code: 'FORBIDDEN', reason });
    }
    const managed = await h.gql('query($g: ID!) { group(id: $g) { managed source members { totalCount } } }', { g: scimGroup.id }, k);
    expect(managed.body.data!.group).toEqual({ managed: true, source: 'SCIM', members: { totalCount: 1 } });

    const owned = await h.gql('mutation($id: ID!) { updateMember(id: $id, input: { displayName: "Renamed" }) { id } }', { id: fromEntra.id }, k);
    expect(owned.body.errors![0]!.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'field_owned_by_entra' });
    const deact = await h.gql('mutation($id: ID!) { deactivateMember(id: $id) { id } }', { id: fromEntra.id }, k);
    expect(codes(deact)).toEqual(['FORBIDDEN']);
    const delScim = await h.gql('mutation($id: ID!) { deleteMember(id: $id) }', { id: fromEntra.id }, k);
    expect(delScim.body.errors![0]!.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'managed_by_scim' });
    // Metadata stays ours to set, even on an Entra member.
    const meta = await h.gql('mutation($id: ID!) { setMemberMetadata(id: $id, metadata: { locker: "12" }) { metadata displayName } }', { id: fromEntra.id }, k);
    expect(meta.body.data!.setMemberMetadata).toEqual({ metadata: { locker: '12' }, displayName: 'From Entra' });
  });

  it('creates places and locks, grants and revokes shares with validity windows, deletes locks and places', async () => {
    const o = await h.org();
    const k = { apiKey: o.admin };
    const m = await buildMember(h.t.domain, o.actor);
    const place = await h.gql(`mutation { createPlace(input: { name: "Depot", address: "1 Quay", timeZone: "Europe/London" }) { id name address timeZone } }`, {}, k);
    const placeId = (place.body.data!.createPlace as { id: string }).id;
    expect(place.body.data!.createPlace).toMatchObject({ name: 'Depot', address: '1 Quay', timeZone: 'Europe/London' });
    const lock = await h.gql(`mutation($p: ID!) { createLock(input: { placeId: $p, name: "Gate" }) { id name place { id } } }`, { p: placeId }, k);
    const lockId = (lock.body.data!.createLock as { id: string }).id;
    expect(lock.body.data!.createLock).toMatchObject({ name: 'Gate', place: { id: placeId } });
    const from = '2030-01-01T08:00:00.000Z';
    const until = '2030-01-01T18:00:00.000Z';
    const share = await h.gql(
      `mutation($m: ID!, $l: ID!, $f: DateTimeISO, $u: DateTimeISO) { grantShare(input: { memberId: $m, lockId: $l, role: MANAGER, validFrom: $f, validUntil: $u }) { id role validFrom validUntil member { id } lock { id } place { id } group { id } } }`,
      { m: m.id, l: lockId, f: from, u: until },
      k,
    );
    expect(share.body.errors).toBeUndefined();
    const s = share.body.data!.grantShare as { id: string };
    expect(s).toMatchObject({ role: 'MANAGER', validFrom: from, validUntil: until, member: { id: m.id }, lock: { id: lockId }, place: null, group: null });
    const at = await h.gql(`query($m: ID!, $l: ID!) { inside: canAccess(memberId: $m, lockId: $l, at: "2030-01-01T12:00:00Z") { allowed } outside: canAccess(memberId: $m, lockId: $l, at: "2030-01-01T18:00:00Z") { allowed reason } }`, { m: m.id, l: lockId }, k);
    expect(at.body.data).toEqual({ inside: { allowed: true }, outside: { allowed: false, reason: 'OUTSIDE_VALIDITY_WINDOW' } });
    const revoked = await h.gql(`mutation($id: ID!) { revokeShare(id: $id) { id } }`, { id: s.id }, k);
    expect(revoked.body.data!.revokeShare).toEqual({ id: s.id });
    const again = await h.gql(`mutation($id: ID!) { revokeShare(id: $id) { id } }`, { id: s.id }, k);
    expect(codes(again)).toEqual(['NOT_FOUND']);
    expect((await h.gql(`mutation($id: ID!) { deleteLock(id: $id) }`, { id: lockId }, k)).body.data!.deleteLock).toBe(lockId);
    expect((await h.gql(`mutation($id: ID!) { deletePlace(id: $id) }`, { id: placeId }, k)).body.data!.deletePlace).toBe(placeId);
  });

  it('refuses every mutation to a reader key with FORBIDDEN and changes nothing', async () => {
    const o = await h.org();
    const k = { apiKey: o.reader };
    const m = await buildMember(h.t.domain, o.actor);
    const g = await buildGroup(h.t.domain, o.actor);
    const l = await buildLock(h.t.domain, o.actor);
    const share = await h.t.domain.shares.grant(o.actor, { memberId: m.id, lockId: l.id });
    const cases: [string, Record<string, unknown>][] = [
      ['mutation { createMember(input: { userName: "r@x" }) { id } }', {}],
      ['mutation($id: ID!) { updateMember(id: $id, input: { displayName: "x" }) { id } }', { id: m.id }],
      ['mutation($id: ID!) { deactivateMember(id: $id) { id } }', { id: m.id }],
      ['mutation($id: ID!) { setMemberMetadata(id: $id, metadata: { a: 1 }) { id } }', { id: m.id }],
      ['mutation($id: ID!) { deleteMember(id: $id) }', { id: m.id }],
      ['mutation { createGroup(input: { displayName: "r" }) { id } }', {}],
      ['mutation($id: ID!) { updateGroup(id: $id, input: { displayName: "x" }) { id } }', { id: g.id }],
      ['mutation($id: ID!, $m: ID!) { addGroupMembers(id: $id, memberIds: [$m]) { id } }', { id: g.id, m: m.id }],
      ['mutation($id: ID!, $m: ID!) { removeGroupMembers(id: $id, memberIds: [$m]) { id } }', { id: g.id, m: m.id }],
      ['mutation($id: ID!) { deleteGroup(id: $id) }', { id: g.id }],
      ['mutation { createPlace(input: { name: "r" }) { id } }', {}],
      ['mutation($p: ID!) { createLock(input: { placeId: $p, name: "r" }) { id } }', { p: l.placeId }],
      ['mutation($id: ID!) { deleteLock(id: $id) }', { id: l.id }],
      ['mutation($id: ID!) { deletePlace(id: $id) }', { id: l.placeId }],
      ['mutation($m: ID!, $l: ID!) { grantShare(input: { memberId: $m, lockId: $l }) { id } }', { m: m.id, l: l.id }],
      ['mutation($id: ID!) { revokeShare(id: $id) { id } }', { id: share.id }],
    ];
    for (const [q, v] of cases) {
      const res = await h.gql(q, v, k);
      expect({ q, codes: codes(res) }).toEqual({ q, codes: ['FORBIDDEN'] });
    }
    const after = await h.gql(`{ members { totalCount } groups { totalCount } places { totalCount } locks { totalCount } }`, {}, k);
    expect(after.body.data).toEqual({ members: { totalCount: 1 }, groups: { totalCount: 1 }, places: { totalCount: 1 }, locks: { totalCount: 1 } });
  });
});
