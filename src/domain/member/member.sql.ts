// The statements of members. The hot paths (Entra's create and PATCH) are one
// statement each: the change, its audit event and, when `active` flips, the
// access feed and the end of the member's sessions, as common table
// expressions that commit together.
import type { Sql, SqlParam } from '../db.js';
import { SqlParams } from '../sql-params.js';
import { toDate } from '../rows.js';
import { AUDIT_PARAMS, auditInsertSql } from '../audit/audit.sql.js';
import type { ResourceQuery } from '../query/filter-ast.js';
import { planSearch, totalOf } from '../query/search.js';
import { GROUP_JSON, toGroup, type Group, type GroupRow } from '../group/group.model.js';
import { SHARE_TARGET_JSON, type ShareTargetRow } from '../share/share.model.js';
import { memberAttributes } from './member.query.js';
import {
  MEMBER_COLUMNS,
  memberColumns,
  toMember,
  WRITABLE_COLUMNS,
  writableValues,
  type Member,
  type MemberData,
  type MemberRow,
  type MemberSource,
  type MultiValue,
} from './member.model.js';

/** What the database adds to a member it writes. */
export interface MemberStamp {
  readonly version: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

interface StampRow {
  version: number;
  created_at: string | Date;
  updated_at: string | Date;
}
const STAMP_COLUMNS = 'version, created_at, updated_at';

function toStamp(r: StampRow): MemberStamp {
  return { version: r.version, createdAt: toDate(r.created_at), updatedAt: toDate(r.updated_at) };
}

const JSON_COLUMNS = new Set(['emails', 'phone_numbers', 'addresses', 'metadata', 'extensions']);

/** Placeholders for WRITABLE_COLUMNS numbered from `first`, with their casts. */
function writablePlaceholders(first: number): string {
  return WRITABLE_COLUMNS.map((c, i) => `$${first + i}${JSON_COLUMNS.has(c) ? '::jsonb' : c === 'manager_id' ? '::uuid' : c === 'active' ? '::boolean' : ''}`).join(', ');
}

const W = WRITABLE_COLUMNS.length;

/**
 * The create statement: organisation, id, source, deactivated_by, the
 * writable columns, then the keys ($last) no member created by the import
 * may hold: when SCIM provisions a person the import created, it takes that
 * member over instead (no row is returned). The audit event ($1…) is written
 * only with the member.
 */
const CREATE_SQL = `with ins as (
     insert into members (organization_id, id, source, deactivated_by, ${WRITABLE_COLUMNS.join(', ')})
     select $${AUDIT_PARAMS + 1}::uuid, $${AUDIT_PARAMS + 2}::uuid, $${AUDIT_PARAMS + 3}, $${AUDIT_PARAMS + 4}, ${writablePlaceholders(AUDIT_PARAMS + 5)}
     where not exists (select 1 from members x where x.organization_id = $${AUDIT_PARAMS + 1}::uuid and x.source = 'import'
                       and lower(x.user_name) = any($${AUDIT_PARAMS + 5 + W}::text[]))
     returning ${STAMP_COLUMNS}
   ),
   audit as (${auditInsertSql('ins')})
   select ${STAMP_COLUMNS} from ins`;

/**
 * A new member and its audit event (`audit`: auditValues); a unique violation
 * when the userName is taken; undefined when a member the import created holds
 * one of `importKeys` (lower-case userName and emails: SCIM adopts it instead).
 */
export async function insertMember(
  sql: Sql,
  m: { organizationId: string; id: string; source: MemberSource; data: MemberData; importKeys: readonly string[] },
  audit: SqlParam[],
): Promise<MemberStamp | undefined> {
  const row = await sql.maybeOne<StampRow>(CREATE_SQL, [
    ...audit,
    m.organizationId,
    m.id,
    m.source,
    m.data.active ? null : m.source,
    ...writableValues(m.data),
    m.importKeys,
  ]);
  return row && toStamp(row);
}

/** The member the import created that holds one of `keys` as userName (userName first, then emails), for SCIM to take over. */
export async function selectImportedByKeys(sql: Sql, organizationId: string, userNameKey: string, keys: readonly string[]): Promise<string | undefined> {
  const row = await sql.maybeOne<{ id: string }>(
    `select id from members where organization_id = $1 and source = 'import' and lower(user_name) = any($2::text[])
     order by lower(user_name) = $3 desc limit 1`,
    [organizationId, keys, userNameKey],
  );
  return row?.id;
}

/** How a change moves `active`: a flip also writes the access feed, and a deactivation ends the member's sessions. */
export type ActiveFlip = 'none' | 'activated' | 'deactivated';

/**
 * The conditional update, one per kind of flip: the writable columns ($1…),
 * organisation, id and the version read, the audit event, then the owner
 * (source) and who deactivated it. A guarded deactivation (by SCIM) first asks
 * the mass-deprovision guard (gatehouse_guard_admit, $last) in the same
 * statement and writes only if admitted, recording the revocation in its window.
 */
function buildUpdateSql(flip: ActiveFlip, guarded = false): string {
  const org = `$${W + 1}`;
  const guardSource = `$${W + 6 + AUDIT_PARAMS}`;
  const access =
    flip === 'none'
      ? ''
      : `, feed as (insert into access_changes (organization_id, kind, member_id) select organization_id, 'member_${flip}', id from upd)
         ${flip === 'activated' ? '' : `, ended as (delete from sessions where organization_id = ${org} and member_id = (select id from upd))`}`;
  return `with ${guarded ? `adm as (select gatehouse_guard_admit(${org}::uuid, ${guardSource}::text, 1) as ok),` : ''}
     upd as (
       update members set (${WRITABLE_COLUMNS.join(', ')}) = (${writablePlaceholders(1)}),
         source = $${W + 4 + AUDIT_PARAMS}, deactivated_by = $${W + 5 + AUDIT_PARAMS}, version = version + 1, updated_at = now()
       where organization_id = ${org} and id = $${W + 2} and version = $${W + 3}${guarded ? ' and (select ok from adm)' : ''}
       returning id, organization_id, ${STAMP_COLUMNS}
     ),
     audit as (${auditInsertSql('upd', W + 4)})${access}
     ${guarded ? `, rev as (insert into revocations (organization_id, source, member_id) select organization_id, ${guardSource}, id from upd)` : ''}
     ${guarded ? `select (select ok from adm) as admitted, upd.version, upd.created_at, upd.updated_at from (select 1) one left join upd on true` : `select ${STAMP_COLUMNS} from upd`}`;
}
const UPDATE_SQL: Record<ActiveFlip, string> = { none: buildUpdateSql('none'), activated: buildUpdateSql('activated'), deactivated: buildUpdateSql('deactivated') };
const GUARDED_DEACTIVATION_SQL = buildUpdateSql('deactivated', true);

/**
 * Writes `next` only if the member still has `version`; undefined when it
 * changed (or vanished) since it was read; 'held' when the guard (asked with
 * `guard`, the revoking source) holds the deactivation: nothing was written.
 */
export async function updateMember(
  sql: Sql,
  m: {
    organizationId: string;
    id: string;
    version: number;
    next: MemberData;
    flip: ActiveFlip;
    source: MemberSource;
    deactivatedBy: MemberSource | null;
    guard?: 'scim' | 'import';
  },
  audit: SqlParam[],
): Promise<MemberStamp | 'held' | undefined> {
  const params = [...writableValues(m.next), m.organizationId, m.id, m.version, ...audit, m.source, m.deactivatedBy];
  if (m.guard && m.flip === 'deactivated') {
    const row = await sql.one<StampRow & { admitted: boolean; version: number | null }>(GUARDED_DEACTIVATION_SQL, [...params, m.guard]);
    if (!row.admitted) return 'held';
    return row.version === null ? undefined : toStamp(row);
  }
  const row = await sql.maybeOne<StampRow>(UPDATE_SQL[m.flip], params);
  return row && toStamp(row);
}

export async function selectMember(sql: Sql, organizationId: string, id: string): Promise<Member | undefined> {
  const row = await sql.maybeOne<MemberRow>(`select ${MEMBER_COLUMNS} from members where organization_id = $1 and id = $2`, [organizationId, id]);
  return row && toMember(row);
}

export async function selectMembersById(sql: Sql, organizationId: string, ids: readonly string[]): Promise<Member[]> {
  const rows = await sql.all<MemberRow>(`select ${MEMBER_COLUMNS} from members where organization_id = $1 and id = any($2::uuid[])`, [organizationId, ids]);
  return rows.map(toMember);
}

export async function selectMemberByUserName(sql: Sql, organizationId: string, userName: string): Promise<Member | undefined> {
  const row = await sql.maybeOne<MemberRow>(`select ${MEMBER_COLUMNS} from members where organization_id = $1 and lower(user_name) = lower($2)`, [
    organizationId,
    userName,
  ]);
  return row && toMember(row);
}

/** The member's userName and whether it is active, its row locked until the transaction ends. */
export async function selectActiveForUpdate(sql: Sql, organizationId: string, id: string): Promise<{ userName: string; active: boolean } | undefined> {
  const row = await sql.maybeOne<{ user_name: string; active: boolean }>(`select user_name, active from members where organization_id = $1 and id = $2 for update`, [organizationId, id]);
  return row && { userName: row.user_name, active: row.active };
}

/** Deletes a member; what the rules still need of it, or undefined when there was none. */
export async function deleteMember(sql: Sql, organizationId: string, id: string): Promise<{ userName: string; source: MemberSource; emails: MultiValue[] } | undefined> {
  const row = await sql.maybeOne<{ user_name: string; source: MemberSource; emails: MultiValue[] }>(
    `delete from members where organization_id = $1 and id = $2 returning user_name, source, emails`,
    [organizationId, id],
  );
  return row && { userName: row.user_name, source: row.source, emails: row.emails };
}

/** Remembers a member deleted by SCIM or an admin, so that the group import does not create it again. */
export async function insertTombstone(
  sql: Sql,
  t: { organizationId: string; memberId: string; userName: string; emails: readonly MultiValue[]; deletedBy: MemberSource },
): Promise<void> {
  await sql.run(
    `insert into member_tombstones (organization_id, user_key, email_keys, member_id, deleted_by) values ($1, lower($2), $3::text[], $4, $5)
     on conflict (organization_id, user_key) do update set email_keys = excluded.email_keys, member_id = excluded.member_id,
       deleted_by = excluded.deleted_by, deleted_at = now()`,
    [t.organizationId, t.userName, t.emails.filter((e) => typeof e?.value === 'string').map((e) => e.value.toLowerCase()), t.memberId, t.deletedBy],
  );
}

// ---- pages ----------------------------------------------------------------

export interface MemberPageFilter {
  /** Lower-case text to find in userName, displayName, the name or an email. */
  readonly text?: string;
  readonly active?: boolean;
  readonly source?: MemberSource;
  readonly groupId?: string;
}

export interface MemberPageRow {
  readonly member: Member;
  readonly sortKey: string;
  readonly groups?: Group[];
  readonly shares?: ShareTargetRow[];
}

/**
 * One statement: up to `limit` members after the cursor, with the relations
 * asked for as JSON per member, evaluated after the limit. With `count`, the
 * count of every match too, the page joined to it (so an empty page still
 * carries the total); the CTE is inlined into both uses, so each keeps its own
 * index plan. Without it, only the page: an index walk that stops at `limit`
 * (the count scans every match, which grows with the directory).
 */
export async function selectMemberPage(
  sql: Sql,
  organizationId: string,
  f: MemberPageFilter,
  order: { by: 'userName' | 'createdAt'; after?: { key: string; id: string }; limit: number; count?: boolean },
  include: { groups?: boolean; shares?: boolean } = {},
): Promise<{ rows: MemberPageRow[]; total: number | undefined }> {
  const p = new SqlParams();
  const where = [`m.organization_id = ${p.add(organizationId)}`];
  if (f.text !== undefined) {
    const like = p.add(`%${f.text.replace(/[\\%_]/g, '\\$&')}%`);
    where.push(
      `(lower(m.user_name) like ${like} or lower(coalesce(m.display_name, '')) like ${like} or lower(coalesce(m.given_name, '') || ' ' || coalesce(m.family_name, '')) like ${like}
        or lower(m.emails::text) like ${like})`,
    );
  }
  if (f.active !== undefined) where.push(`m.active = ${p.add(f.active)}`);
  if (f.source) where.push(`m.source = ${p.add(f.source)}`);
  if (f.groupId !== undefined) {
    where.push(`exists (select 1 from group_members gm where gm.organization_id = m.organization_id and gm.group_id = ${p.add(f.groupId)} and gm.member_id = m.id)`);
  }
  const key = order.by === 'userName' ? 'lower(m.user_name)' : `to_char(m.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')`;
  const relGroups = include.groups
    ? `, (select coalesce(json_agg(${GROUP_JSON} order by lower(g.display_name), g.id), '[]') from group_members gm
         join groups g on g.organization_id = gm.organization_id and g.id = gm.group_id
         where gm.organization_id = mm.organization_id and gm.member_id = mm.id) as rel_groups`
    : '';
  const relShares = include.shares
    ? `, (select coalesce(json_agg(${SHARE_TARGET_JSON} order by s.id), '[]') from shares s
         left join locks l on l.organization_id = s.organization_id and l.id = s.lock_id
         left join places p on p.organization_id = s.organization_id and p.id = coalesce(s.place_id, l.place_id)
         where s.organization_id = mm.organization_id and s.member_id = mm.id) as rel_shares`
    : '';
  const after = order.after ? `where (sort_key, id) > (${p.add(order.after.key)}, ${p.add(order.after.id)}::uuid)` : '';
  const matched = `with matched as not materialized (select ${memberColumns('m')}, ${key} as sort_key from members m where ${where.join(' and ')})`;
  const page = `select mm.*${relGroups}${relShares} from (
         select * from matched ${after} order by sort_key, id limit ${order.limit}
       ) mm order by mm.sort_key, mm.id`;
  const rows = await sql.all<MemberRow & { sort_key: string | null; total?: string; rel_groups?: GroupRow[]; rel_shares?: ShareTargetRow[] }>(
    order.count === false
      ? `${matched} ${page}`
      : `${matched}
     select p.*, t.total from (select count(*) as total from matched) t
     left join lateral (${page}) p on true
     order by p.sort_key, p.id`,
    p.values,
  );
  return {
    total: order.count === false ? undefined : Number(rows[0]?.total ?? 0),
    rows: rows
      .filter((r) => r.id !== null)
      .map((r) => ({ member: toMember(r), sortKey: r.sort_key!, groups: r.rel_groups?.map(toGroup), shares: r.rel_shares })),
  };
}

/**
 * Filter (SCIM AST compiled to SQL), sort and 1-based offset paging, in one
 * statement (a second counts when a page past the end comes back empty).
 */
export async function searchMembers(sql: Sql, organizationId: string, q: ResourceQuery, count: number): Promise<{ totalResults: number; members: Member[] }> {
  const plan = planSearch(sql, 'members', 'm', memberAttributes, organizationId, q);
  if (count === 0) return { totalResults: await plan.count(), members: [] };
  const { where, order, offset } = plan;
  // With a filter, the matches are found first (by the filter's own index, e.g. lower(user_name))
  // and only then sorted: otherwise the planner walks the created_at index of the whole
  // organisation to satisfy ORDER BY … LIMIT, and Entra's `userName eq` lookups grow with it.
  const rows = await sql.all<MemberRow & { total: string }>(
    q.filter
      ? `with m as materialized (select ${memberColumns('m')} from members m where ${where})
         select m.*, count(*) over () as total from m order by ${order} limit ${count} offset ${offset}`
      : `select ${memberColumns('m')}, count(*) over () as total from members m where ${where}
         order by ${order} limit ${count} offset ${offset}`,
    plan.p.values,
  );
  return { totalResults: await totalOf(rows, plan), members: rows.map(toMember) };
}

/** The custom attribute names (`metadata.<name>`) in use in an organisation, first `limit` by name. */
export async function selectMetadataKeys(sql: Sql, organizationId: string, limit: number): Promise<string[]> {
  const rows = await sql.all<{ k: string }>(
    `select k from (select distinct jsonb_object_keys(m.metadata) as k from members m
       where m.organization_id = $1 and jsonb_typeof(m.metadata) = 'object') s order by k limit $2`,
    [organizationId, limit],
  );
  return rows.map((r) => r.k);
}
