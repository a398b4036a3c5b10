// The statements of organisation admins, bootstrap links and the labels the
// console shows for ids.
import type { Sql } from '../db.js';
import { toDate } from '../rows.js';

export interface AdminRow {
  member_id: string;
  user_name: string;
  display_name: string | null;
  active: boolean;
  granted_by: string | null;
  created_at: string;
}

export type LabelKind = 'member' | 'group' | 'place' | 'lock';

/** A member of source admin, unless one has this userName (any case): then undefined. */
export async function insertAdminMember(
  sql: Sql,
  organizationId: string,
  m: { id: string; userName: string; displayName: string | null },
): Promise<{ id: string; userName: string } | undefined> {
  const row = await sql.maybeOne<{ id: string; user_name: string }>(
    `insert into members (organization_id, id, user_name, display_name, source) values ($1, $2, $3, $4, 'admin')
     on conflict (organization_id, lower(user_name)) do nothing returning id, user_name`,
    [organizationId, m.id, m.userName, m.displayName],
  );
  return row && { id: row.id, userName: row.user_name };
}

/** The member by id, its row share-locked for the transaction (it cannot go while it is made admin). */
export async function selectMemberForShare(sql: Sql, organizationId: string, memberId: string): Promise<{ user_name: string; active: boolean } | undefined> {
  return sql.maybeOne<{ user_name: string; active: boolean }>(`select user_name, active from members where organization_id = $1 and id = $2 for share`, [
    organizationId,
    memberId,
  ]);
}

/** Makes a member admin; false when it was one already. */
export async function insertAdmin(sql: Sql, organizationId: string, memberId: string, grantedBy: string): Promise<boolean> {
  const n = await sql.run(`insert into organization_admins (organization_id, member_id, granted_by) values ($1, $2, $3) on conflict do nothing`, [
    organizationId,
    memberId,
    grantedBy,
  ]);
  return n > 0;
}

/** Ends a member's admin role; its userName (null when the member is gone), undefined when it was no admin. */
export async function deleteAdmin(sql: Sql, organizationId: string, memberId: string): Promise<{ user_name: string | null } | undefined> {
  return sql.maybeOne<{ user_name: string | null }>(
    `with d as (delete from organization_admins where organization_id = $1 and member_id = $2 returning organization_id, member_id)
     select m.user_name from d left join members m on m.organization_id = d.organization_id and m.id = d.member_id`,
    [organizationId, memberId],
  );
}

export async function isAdmin(sql: Sql, organizationId: string, memberId: string): Promise<boolean> {
  const row = await sql.maybeOne(`select 1 as ok from organization_admins where organization_id = $1 and member_id = $2`, [organizationId, memberId]);
  return row !== undefined;
}

export async function selectAdmins(sql: Sql, organizationId: string): Promise<AdminRow[]> {
  return sql.all<AdminRow>(
    `select a.member_id, m.user_name, m.display_name, m.active, a.granted_by, a.created_at
     from organization_admins a join members m on m.organization_id = a.organization_id and m.id = a.member_id
     where a.organization_id = $1 order by lower(m.user_name)`,
    [organizationId],
  );
}

/** Those of `memberIds` that are admins. */
export async function selectAdminIds(sql: Sql, organizationId: string, memberIds: readonly string[]): Promise<string[]> {
  const rows = await sql.all<{ member_id: string }>(`select member_id from organization_admins where organization_id = $1 and member_id = any($2::uuid[])`, [
    organizationId,
    memberIds,
  ]);
  return rows.map((r) => r.member_id);
}

/** A bootstrap link (its token hashed) valid for `minutes`; when it expires. */
export async function insertBootstrapLink(sql: Sql, organizationId: string, tokenHash: Buffer, memberId: string, minutes: number): Promise<Date> {
  const row = await sql.one<{ expires_at: string }>(
    `insert into admin_bootstrap_links (organization_id, token_hash, member_id, expires_at) values ($1, $2, $3, now() + make_interval(mins => $4))
     returning expires_at`,
    [organizationId, tokenHash, memberId, minutes],
  );
  return toDate(row.expires_at);
}

/** Uses up an unexpired, unused link of an active member; whose it was, undefined when none. */
export async function useBootstrapLink(sql: Sql, tokenHash: Buffer): Promise<{ organization_id: string; member_id: string; user_name: string } | undefined> {
  return sql.maybeOne<{ organization_id: string; member_id: string; user_name: string }>(
    `update admin_bootstrap_links l set used_at = now()
     from members m
     where l.token_hash = $1 and l.used_at is null and l.expires_at > now()
       and m.organization_id = l.organization_id and m.id = l.member_id and m.active
     returning l.organization_id, l.member_id, m.user_name`,
    [tokenHash],
  );
}

/**
 * Organisations an admin may mean by `text` (lower-case): those where an
 * active admin has it as userName (exact) or an address at `emailDomain`,
 * and the one whose slug it is (`slug`, '' when it is an address).
 */
export async function selectSignInCandidates(
  sql: Sql,
  text: string,
  emailDomain: string,
  slug: string,
): Promise<{ domain: string; name: string; exact: boolean }[]> {
  return sql.all<{ domain: string; name: string; exact: boolean }>(
    `select distinct o.domain, o.name, (lower(m.user_name) = $1) as exact
     from organization_admins a
     join members m on m.organization_id = a.organization_id and m.id = a.member_id
     join organizations o on o.organization_id = a.organization_id
     where m.active and (lower(m.user_name) = $2 or ($3 <> '' and lower(m.user_name) like '%@' || $4))
     union
     select o.domain, o.name, true as exact from organizations o where o.domain = $5`,
    [text, text, emailDomain, emailDomain.replace(/[\\%_]/g, ''), slug],
  );
}

/** Members (userName, display name), groups, places and locks among `ids`, by name. */
export async function selectLabels(sql: Sql, organizationId: string, ids: readonly string[]): Promise<{ id: string; kind: LabelKind; label: string; sub: string | null }[]> {
  return sql.all<{ id: string; kind: LabelKind; label: string; sub: string | null }>(
    `select id::text, 'member' as kind, user_name as label, display_name as sub from members where organization_id = $1 and id = any($2::uuid[])
     union all select id::text, 'group', display_name, null from groups where organization_id = $1 and id = any($2::uuid[])
     union all select id::text, 'place', name, null from places where organization_id = $1 and id = any($2::uuid[])
     union all select id::text, 'lock', name, null from locks where organization_id = $1 and id = any($2::uuid[])`,
    [organizationId, ids],
  );
}
