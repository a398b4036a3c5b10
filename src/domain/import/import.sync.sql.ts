// The statements of one sync (./import.sync.ts): three reads plan it, then
// each batch is a handful of set-based statements (unnest arrays), whatever
// its size. Adding to and removing from the integration's group each write
// the membership, its access feed entries and the group's version in one
// statement.
import type { Sql } from '../db.js';
import type { MemberSource, MultiValue } from '../member/member.model.js';
import type { ImportIdentifier } from './import.model.js';
import { memberAddressSql } from '../mail/mail.sql.js';

/** What the sync compares with Entra of a member. */
export interface MemberState {
  id: string;
  user_name: string;
  display_name: string | null;
  given_name: string | null;
  family_name: string | null;
  emails: MultiValue[];
  active: boolean;
  source: MemberSource;
  deactivated_by: MemberSource | null;
}

/** The fields an import writes on the members it created. */
export interface ImportedProfile {
  readonly id: string;
  readonly userName: string;
  readonly displayName: string | null;
  readonly givenName: string | null;
  readonly familyName: string | null;
  readonly emails: readonly MultiValue[];
  readonly active: boolean;
}

const STATE_COLUMNS = 'm.id, m.user_name, m.display_name, m.given_name, m.family_name, m.emails, m.active, m.source, m.deactivated_by';

/** The members linked to an Entra user by this integration. */
export async function selectLinkedMembers(sql: Sql, organizationId: string, integrationId: string): Promise<(MemberState & { entra_id: string })[]> {
  return sql.all<MemberState & { entra_id: string }>(
    `select l.entra_id, ${STATE_COLUMNS} from import_links l join members m on m.organization_id = l.organization_id and m.id = l.member_id
     where l.organization_id = $1 and l.integration_id = $2`,
    [organizationId, integrationId],
  );
}

export async function selectGroupMemberIds(sql: Sql, organizationId: string, groupId: string): Promise<string[]> {
  const rows = await sql.all<{ member_id: string }>(`select member_id from group_members where organization_id = $1 and group_id = $2`, [organizationId, groupId]);
  return rows.map((r) => r.member_id);
}

/** Members an unlinked Entra user may be: by userName (upn), or by userName or any email (mail); `keys` lower-case. */
export async function selectCandidates(sql: Sql, organizationId: string, identifier: ImportIdentifier, keys: readonly string[]): Promise<MemberState[]> {
  return sql.all<MemberState>(
    identifier === 'upn'
      ? `select ${STATE_COLUMNS} from members m where m.organization_id = $1 and lower(m.user_name) = any($2::text[])`
      : `select ${STATE_COLUMNS} from members m where m.organization_id = $1 and (lower(m.user_name) = any($2::text[])
           or exists (select 1 from jsonb_array_elements(m.emails) e where lower(e->>'value') = any($2::text[])))`,
    [organizationId, keys],
  );
}

/** The ids of members holding these (lower-case) userNames, by key. */
export async function selectIdsByUserName(sql: Sql, organizationId: string, keys: readonly string[]): Promise<Map<string, string>> {
  const rows = await sql.all<{ id: string; k: string }>(`select id, lower(user_name) as k from members where organization_id = $1 and lower(user_name) = any($2::text[])`, [
    organizationId,
    keys,
  ]);
  return new Map(rows.map((r) => [r.k, r.id]));
}

/** The keys (userName, emails) of deleted members among `keys`. */
export async function selectTombstoneKeys(sql: Sql, organizationId: string, keys: readonly string[]): Promise<Set<string>> {
  const rows = await sql.all<{ user_key: string; email_keys: string[] }>(
    `select user_key, email_keys from member_tombstones where organization_id = $1 and (user_key = any($2::text[]) or email_keys && $2::text[])`,
    [organizationId, keys],
  );
  return new Set(rows.flatMap((g) => [g.user_key, ...g.email_keys]));
}

/** Locks those of `ids` that are active and whose deactivation is the import's to make; them, by id. */
export async function lockImportDeactivatable(sql: Sql, organizationId: string, ids: readonly string[]): Promise<{ id: string; user_name: string }[]> {
  return sql.all<{ id: string; user_name: string }>(
    `select id, user_name from members where organization_id = $1 and id = any($2::uuid[]) and active and source = 'import'
       and coalesce(deactivated_by, 'import') = 'import' order by id for update`,
    [organizationId, ids],
  );
}

/** Those of `ids` that are active members. */
export async function selectActiveMembers(sql: Sql, organizationId: string, ids: readonly string[]): Promise<{ id: string; user_name: string }[]> {
  return sql.all<{ id: string; user_name: string }>(`select id, user_name from members where organization_id = $1 and id = any($2::uuid[]) and active`, [
    organizationId,
    ids,
  ]);
}

function profileArrays(ps: readonly ImportedProfile[]) {
  return [
    ps.map((p) => p.id),
    ps.map((p) => p.userName),
    ps.map((p) => p.displayName),
    ps.map((p) => p.givenName),
    ps.map((p) => p.familyName),
    ps.map((p) => JSON.stringify(p.emails)),
    ps.map((p) => p.active),
  ];
}

/** New members of source import; the ids written (a userName taken meanwhile is not). */
export async function insertImportedMembers(sql: Sql, organizationId: string, members: readonly ImportedProfile[]): Promise<Set<string>> {
  const rows = await sql.all<{ id: string }>(
    `insert into members (organization_id, id, source, user_name, display_name, given_name, family_name, emails, active, deactivated_by)
     select $1, u.id, 'import', u.user_name, u.display_name, u.given_name, u.family_name, u.emails::jsonb, u.active, case when u.active then null else 'import' end
     from unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::boolean[]) as u(id, user_name, display_name, given_name, family_name, emails, active)
     on conflict (organization_id, lower(user_name)) do nothing returning id`,
    [organizationId, ...profileArrays(members)],
  );
  return new Set(rows.map((r) => r.id));
}

/**
 * Writes the profiles of members the import created. Planned from a read, so
 * checked again here: a deactivation by SCIM or an admin stands.
 */
export async function updateImportedMembers(sql: Sql, organizationId: string, members: readonly ImportedProfile[]): Promise<void> {
  await sql.run(
    `update members m set user_name = u.user_name, display_name = u.display_name, given_name = u.given_name, family_name = u.family_name,
       emails = u.emails::jsonb, version = m.version + 1, updated_at = now(),
       active = case when coalesce(m.deactivated_by, 'import') = 'import' then u.active else m.active end,
       deactivated_by = case when coalesce(m.deactivated_by, 'import') <> 'import' then m.deactivated_by when u.active then null else 'import' end
     from unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::boolean[]) as u(id, user_name, display_name, given_name, family_name, emails, active)
     where m.organization_id = $8 and m.id = u.id and m.source = 'import'`,
    [...profileArrays(members), organizationId],
  );
}

/** Members whose `active` flipped: the sessions of those deactivated end, and each flip enters the access feed. */
export async function recordActiveFlips(sql: Sql, organizationId: string, flips: readonly { id: string; active: boolean }[]): Promise<void> {
  await sql.run(
    `with s as (delete from sessions where organization_id = $1 and member_id = any($2::uuid[]))
     insert into access_changes (organization_id, kind, member_id)
     select $1, case when x.a then 'member_activated' else 'member_deactivated' end, x.id from unnest($3::uuid[], $4::boolean[]) as x(id, a)`,
    [organizationId, flips.filter((f) => !f.active).map((f) => f.id), flips.map((f) => f.id), flips.map((f) => f.active)],
  );
}

/** Removes the links of these members (they are linked again under their current Entra id). */
export async function deleteLinks(sql: Sql, organizationId: string, integrationId: string, memberIds: readonly string[]): Promise<void> {
  await sql.run(`delete from import_links where organization_id = $1 and integration_id = $2 and member_id = any($3::uuid[])`, [organizationId, integrationId, memberIds]);
}

/** Links Entra users to members (an Entra id linked already moves to the member given). */
export async function upsertLinks(sql: Sql, organizationId: string, integrationId: string, links: readonly { entraId: string; memberId: string }[]): Promise<void> {
  await sql.run(
    `insert into import_links (organization_id, integration_id, entra_id, member_id)
     select $1, $2, x.e, x.m from unnest($3::text[], $4::uuid[]) as x(e, m)
     on conflict (organization_id, integration_id, entra_id) do update set member_id = excluded.member_id`,
    [organizationId, integrationId, links.map((l) => l.entraId), links.map((l) => l.memberId)],
  );
}

/** The "access has been shared with you" mail of each member added (`ins`), in the same statement (the outbox). */
const INVITATION_CTE = `, mail as (insert into mail_outbox (organization_id, id, to_address, member_id, template, data)
    select $1, gen_random_uuid(), a.address, m.id, 'access_shared', $4::jsonb
    from ins join members m on m.organization_id = $1 and m.id = ins.member_id
    cross join lateral (select ${memberAddressSql('m')} as address) a where a.address is not null)`;

/** Adds members to the group with their feed entries (and, given `invitation`, their mail); the ids of those added. */
export async function addGroupMembers(sql: Sql, organizationId: string, groupId: string, memberIds: readonly string[], invitation?: string): Promise<string[]> {
  const row = await sql.one<{ ids: string[] | null }>(
    `with ins as (insert into group_members (organization_id, group_id, member_id)
                  select $1, $2, u.m from unnest($3::uuid[]) as u(m) join members x on x.organization_id = $1 and x.id = u.m
                  on conflict do nothing returning member_id),
          feed as (insert into access_changes (organization_id, kind, group_id, member_id) select $1, 'group_member_added', $2, member_id from ins),
          bump as (update groups set version = version + 1, updated_at = now() where organization_id = $1 and id = $2 and exists (select 1 from ins))
          ${invitation !== undefined ? INVITATION_CTE : ''}
     select array_agg(member_id) as ids from ins`,
    [organizationId, groupId, memberIds, ...(invitation !== undefined ? [invitation] : [])],
  );
  return row.ids ?? [];
}

/** Removes members from the group with their feed entries; the ids of those removed. */
export async function removeGroupMembers(sql: Sql, organizationId: string, groupId: string, memberIds: readonly string[]): Promise<string[]> {
  const row = await sql.one<{ ids: string[] | null }>(
    `with del as (delete from group_members where organization_id = $1 and group_id = $2 and member_id = any($3::uuid[]) returning member_id),
          feed as (insert into access_changes (organization_id, kind, group_id, member_id) select $1, 'group_member_removed', $2, member_id from del),
          bump as (update groups set version = version + 1, updated_at = now() where organization_id = $1 and id = $2 and exists (select 1 from del))
     select array_agg(member_id) as ids from del`,
    [organizationId, groupId, memberIds],
  );
  return row.ids ?? [];
}
