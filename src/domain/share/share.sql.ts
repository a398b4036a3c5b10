// The statements of shares.
import type { Sql } from '../db.js';
import { SqlParams } from '../sql-params.js';
import type { Lock, Place } from '../place/place.model.js';
import { SHARE_COLUMNS, sharesWithTargets, toShare, type Share, type ShareRow, type ShareTargetRow } from './share.model.js';

/** The shares table's foreign keys (migrations/), by the grantee or target each one checks. */
export const SHARE_TARGET_OF_CONSTRAINT: Readonly<Record<string, 'member' | 'group' | 'place' | 'lock'>> = {
  shares_organization_id_member_id_fkey: 'member',
  shares_organization_id_group_id_fkey: 'group',
  shares_organization_id_place_id_fkey: 'place',
  shares_organization_id_lock_id_fkey: 'lock',
};

/** A share as granted (SCIM grants none; `sourceRef` names what granted it, such as the import). */
export interface NewShare extends Omit<Share, 'source' | 'createdAt'> {
  readonly source: 'admin' | 'import';
  readonly sourceRef: string | null;
}

/** A new share; a foreign-key violation (SHARE_TARGET_OF_CONSTRAINT) when a grantee or target is not the organisation's. */
export async function insertShare(sql: Sql, s: NewShare): Promise<Share> {
  const row = await sql.one<ShareRow>(
    `insert into shares (organization_id, id, member_id, group_id, place_id, lock_id, role, valid_from, valid_until, source, source_ref)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) returning ${SHARE_COLUMNS}`,
    [s.organizationId, s.id, s.memberId, s.groupId, s.placeId, s.lockId, s.role, s.validFrom, s.validUntil, s.source, s.sourceRef],
  );
  return toShare(row);
}

/** Deletes shares by id; returns those that existed. */
export async function deleteShares(sql: Sql, organizationId: string, ids: readonly string[]): Promise<Share[]> {
  const rows = await sql.all<ShareRow>(`delete from shares where organization_id = $1 and id = any($2::uuid[]) returning ${SHARE_COLUMNS}`, [organizationId, ids]);
  return rows.map(toShare);
}

/** Shares by id matching every given grantee or target, `first` after `afterId`. */
export async function selectShares(
  sql: Sql,
  organizationId: string,
  f: { memberId?: string; groupId?: string; placeId?: string; lockId?: string; afterId?: string },
  first: number,
): Promise<Share[]> {
  const p = new SqlParams();
  const where = [`organization_id = ${p.add(organizationId)}`];
  for (const [col, v] of [['member_id', f.memberId], ['group_id', f.groupId], ['place_id', f.placeId], ['lock_id', f.lockId]] as const) {
    if (v !== undefined) where.push(`${col} = ${p.add(v)}`);
  }
  if (f.afterId !== undefined) where.push(`id > ${p.add(f.afterId)}`);
  const rows = await sql.all<ShareRow>(`select ${SHARE_COLUMNS} from shares where ${where.join(' and ')} order by id limit ${first}`, p.values);
  return rows.map(toShare);
}

/** How many shares match (the filter of selectShares, without paging). */
export async function countShares(sql: Sql, organizationId: string, f: { memberId?: string; groupId?: string; placeId?: string; lockId?: string }): Promise<number> {
  const p = new SqlParams();
  const where = [`organization_id = ${p.add(organizationId)}`];
  for (const [col, v] of [['member_id', f.memberId], ['group_id', f.groupId], ['place_id', f.placeId], ['lock_id', f.lockId]] as const) {
    if (v !== undefined) where.push(`${col} = ${p.add(v)}`);
  }
  const rows = await sql.all<{ n: number }>(`select count(*)::int as n from shares where ${where.join(' and ')}`, p.values);
  return rows[0]?.n ?? 0;
}

/** Shares granted directly to these members with the lock and place each targets (for a lock share, the lock's place). */
export async function selectMemberSharesWithTargets(
  sql: Sql,
  organizationId: string,
  memberIds: readonly string[],
): Promise<{ shares: Share[]; locks: Lock[]; places: Place[] }> {
  const rows = await sql.all<ShareTargetRow>(
    `select ${SHARE_COLUMNS.split(', ').map((c) => 's.' + c).join(', ')},
       l.id as l_id, l.place_id as l_place_id, l.name as l_name, l.created_at as l_created_at,
       p.id as p_id, p.name as p_name, p.address as p_address, p.time_zone as p_time_zone, p.created_at as p_created_at
     from shares s
     left join locks l on l.organization_id = s.organization_id and l.id = s.lock_id
     left join places p on p.organization_id = s.organization_id and p.id = coalesce(s.place_id, l.place_id)
     where s.organization_id = $1 and s.member_id = any($2::uuid[]) order by s.id`,
    [organizationId, memberIds],
  );
  return sharesWithTargets(rows);
}

/** Shares granted to any of these members or groups. */
export async function selectSharesOfGrantees(sql: Sql, organizationId: string, memberIds: readonly string[], groupIds: readonly string[]): Promise<Share[]> {
  const rows = await sql.all<ShareRow>(
    `select ${SHARE_COLUMNS} from shares where organization_id = $1 and (member_id = any($2::uuid[]) or group_id = any($3::uuid[])) order by id`,
    [organizationId, memberIds, groupIds],
  );
  return rows.map(toShare);
}
