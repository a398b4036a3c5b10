// The statements of groups and their membership. Membership batches cost a
// constant number of statements whatever their size; Entra's PATCH of a
// group's members is one statement (changeMembership).
import type { Sql, SqlParam } from '../db.js';
import { SqlParams } from '../sql-params.js';
import { AUDIT_PARAMS, auditInsertSql } from '../audit/audit.sql.js';
import type { ResourceQuery } from '../query/filter-ast.js';
import { planSearch, totalOf } from '../query/search.js';
import { MEMBER_COLUMNS, toMember, type Member, type MemberRow, type MemberSource } from '../member/member.model.js';
import { groupAttributes } from './group.query.js';
import { AUDIT_MEMBER_IDS, GROUP_COLUMNS, toGroup, type Group, type GroupMemberRef, type GroupRow } from './group.model.js';

interface NewGroup {
  readonly organizationId: string;
  readonly id: string;
  readonly displayName: string;
  readonly externalId: string | null;
  readonly source: MemberSource;
}

/** A unique violation when the displayName is taken. */
export async function insertGroup(sql: Sql, g: NewGroup): Promise<Group> {
  const row = await sql.one<GroupRow>(
    `insert into groups (organization_id, id, display_name, external_id, source) values ($1, $2, $3, $4, $5) returning ${GROUP_COLUMNS}`,
    [g.organizationId, g.id, g.displayName, g.externalId, g.source],
  );
  return toGroup(row);
}

const A = AUDIT_PARAMS;
const CREATE_AUDITED_SQL = `with audit as (${auditInsertSql(undefined)})
  insert into groups (organization_id, id, display_name, external_id, source) values ($${A + 1}, $${A + 2}, $${A + 3}, $${A + 4}, $${A + 5}) returning ${GROUP_COLUMNS}`;

/** An empty group and its audit event (`audit`: auditValues) in one statement. */
export async function insertGroupAudited(sql: Sql, g: NewGroup, audit: SqlParam[]): Promise<Group> {
  return toGroup(await sql.one<GroupRow>(CREATE_AUDITED_SQL, [...audit, g.organizationId, g.id, g.displayName, g.externalId, g.source]));
}

export async function selectGroupsById(sql: Sql, organizationId: string, ids: readonly string[]): Promise<Group[]> {
  const rows = await sql.all<GroupRow>(`select ${GROUP_COLUMNS} from groups where organization_id = $1 and id = any($2::uuid[])`, [organizationId, ids]);
  return rows.map(toGroup);
}

/** The group, its row locked until the transaction ends (changes of one group apply one after the other). */
export async function selectGroupForUpdate(sql: Sql, organizationId: string, id: string): Promise<Group | undefined> {
  const row = await sql.maybeOne<GroupRow>(`select ${GROUP_COLUMNS} from groups where organization_id = $1 and id = $2 for update`, [organizationId, id]);
  return row && toGroup(row);
}

/** What deciding who may edit a group needs of it. */
export async function selectGroupSource(sql: Sql, organizationId: string, id: string): Promise<{ source: MemberSource; displayName: string } | undefined> {
  const row = await sql.maybeOne<{ source: MemberSource; display_name: string }>(`select source, display_name from groups where organization_id = $1 and id = $2`, [
    organizationId,
    id,
  ]);
  return row && { source: row.source, displayName: row.display_name };
}

/** Sets the attributes and bumps the version; a unique violation when the displayName is taken. */
export async function updateGroupAttributes(sql: Sql, organizationId: string, id: string, displayName: string, externalId: string | null): Promise<Group> {
  const row = await sql.one<GroupRow>(
    `update groups set display_name = $3, external_id = $4, version = version + 1, updated_at = now()
     where organization_id = $1 and id = $2 returning ${GROUP_COLUMNS}`,
    [organizationId, id, displayName, externalId],
  );
  return toGroup(row);
}

export async function deleteGroup(sql: Sql, organizationId: string, id: string): Promise<Group | undefined> {
  const row = await sql.maybeOne<GroupRow>(`delete from groups where organization_id = $1 and id = $2 returning ${GROUP_COLUMNS}`, [organizationId, id]);
  return row && toGroup(row);
}

/** A page of groups ordered by displayName (case-insensitive), with the total of every match unless `count` is false. */
export async function selectGroupPage(
  sql: Sql,
  organizationId: string,
  f: { text?: string; source?: MemberSource },
  order: { after?: { key: string; id: string }; limit: number; count?: boolean },
): Promise<{ rows: { group: Group; sortKey: string }[]; total: number | undefined }> {
  const p = new SqlParams();
  const where = [`organization_id = ${p.add(organizationId)}`];
  if (f.text) where.push(`lower(display_name) like ${p.add(`%${f.text.toLowerCase().replace(/[\\%_]/g, '\\$&')}%`)} escape '\\'`);
  if (f.source) where.push(`source = ${p.add(f.source)}`);
  const matching = where.join(' and ');
  const countParams = [...p.values];
  if (order.after) where.push(`(lower(display_name), id) > (${p.add(order.after.key)}, ${p.add(order.after.id)}::uuid)`);
  const counted = order.count !== false;
  const rows = await sql.all<GroupRow & { sort_key: string; total?: string }>(
    `select ${GROUP_COLUMNS}, lower(display_name) as sort_key${counted ? `, (select count(*) from groups where ${matching})::text as total` : ''}
     from groups where ${where.join(' and ')} order by lower(display_name), id limit ${order.limit}`,
    p.values,
  );
  if (!counted) return { rows: rows.map((r) => ({ group: toGroup(r), sortKey: r.sort_key })), total: undefined };
  let total = rows[0]?.total;
  if (total === undefined) total = (await sql.one<{ n: string }>(`select count(*)::text as n from groups where ${matching}`, countParams)).n;
  return { rows: rows.map((r) => ({ group: toGroup(r), sortKey: r.sort_key })), total: Number(total) };
}

/** The groups of each member. */
export async function selectGroupsOfMembers(sql: Sql, organizationId: string, memberIds: readonly string[]): Promise<{ memberId: string; group: Group }[]> {
  const rows = await sql.all<GroupRow & { member_id: string }>(
    `select gm.member_id, ${GROUP_COLUMNS.split(', ').map((c) => 'g.' + c).join(', ')}
     from group_members gm join groups g on g.organization_id = gm.organization_id and g.id = gm.group_id
     where gm.organization_id = $1 and gm.member_id = any($2::uuid[]) order by lower(g.display_name), g.id`,
    [organizationId, memberIds],
  );
  return rows.map((r) => ({ memberId: r.member_id, group: toGroup(r) }));
}

/** Up to `limit` members of each group after `afterId` (by id), and each group's member count (unless `count` is false). */
export async function selectMembersOfGroups(
  sql: Sql,
  organizationId: string,
  groupIds: readonly string[],
  afterId: string,
  limit: number,
  count = true,
): Promise<Map<string, { members: Member[]; total: number | undefined }>> {
  const rows = await sql.all<MemberRow & { group_id: string; total: string | null }>(
    `select g.id as group_id, ${count ? 'c.total::text' : 'null'} as total, ${MEMBER_COLUMNS.split(', ').map((c) => 'p.' + c).join(', ')}
     from groups g
     ${count ? 'cross join lateral (select count(*) as total from group_members where organization_id = g.organization_id and group_id = g.id) c' : ''}
     left join lateral (
       select m.* from group_members gm join members m on m.organization_id = gm.organization_id and m.id = gm.member_id
       where gm.organization_id = g.organization_id and gm.group_id = g.id and gm.member_id > $1::uuid
       order by gm.member_id limit ${limit}
     ) p on true
     where g.organization_id = $2 and g.id = any($3::uuid[])
     order by g.id, p.id`,
    [afterId, organizationId, groupIds],
  );
  const byGroup = new Map<string, { members: Member[]; total: number | undefined }>();
  for (const r of rows) {
    let e = byGroup.get(r.group_id);
    if (!e) byGroup.set(r.group_id, (e = { members: [], total: r.total === null ? undefined : Number(r.total) }));
    if (r.id !== null) e.members.push(toMember(r));
  }
  return byGroup;
}

/** A page of a group's members, ordered by member id, after `afterId` when given. */
export async function selectGroupMemberRefs(sql: Sql, organizationId: string, groupId: string, afterId: string | undefined, limit: number): Promise<GroupMemberRef[]> {
  const rows = await sql.all<{ id: string; user_name: string; display_name: string | null }>(
    `select m.id, m.user_name, m.display_name from group_members gm
     join members m on m.organization_id = gm.organization_id and m.id = gm.member_id
     where gm.organization_id = $1 and gm.group_id = $2 ${afterId ? 'and gm.member_id > $3' : ''}
     order by gm.member_id limit ${limit}`,
    afterId ? [organizationId, groupId, afterId] : [organizationId, groupId],
  );
  return rows.map((r) => ({ id: r.id, userName: r.user_name, displayName: r.display_name }));
}

/** Filter (SCIM AST compiled to SQL), sort and 1-based offset paging; memberships are not read. */
export async function searchGroups(sql: Sql, organizationId: string, q: ResourceQuery, count: number): Promise<{ totalResults: number; groups: Group[] }> {
  const plan = planSearch(sql, 'groups', 'g', groupAttributes, organizationId, q);
  if (count === 0) return { totalResults: await plan.count(), groups: [] };
  const rows = await sql.all<GroupRow & { total: string }>(
    `select ${GROUP_COLUMNS.split(', ').map((c) => 'g.' + c).join(', ')}, count(*) over () as total from groups g
     where ${plan.where} order by ${plan.order} limit ${count} offset ${plan.offset}`,
    plan.p.values,
  );
  return { totalResults: await totalOf(rows, plan), groups: rows.map(toGroup) };
}

// ---- membership -------------------------------------------------------------

/**
 * Adds existing members to a group with their access-feed rows; returns the
 * ids that are no member of the organisation (nothing is added then, as the
 * caller's transaction fails) and the ids added.
 */
export async function insertMemberships(sql: Sql, organizationId: string, groupId: string, memberIds: readonly string[]): Promise<{ missing: string[]; added: string[] }> {
  const rows = await sql.all<{ missing: string[] | null; added: string[] | null }>(
    `with wanted as (select unnest($3::uuid[]) as member_id),
     known as (select w.member_id from wanted w join members m on m.organization_id = $1 and m.id = w.member_id),
     ins as (insert into group_members (organization_id, group_id, member_id)
             select $1, $2, member_id from known on conflict do nothing returning member_id),
     feed as (insert into access_changes (organization_id, kind, group_id, member_id)
              select $1, 'group_member_added', $2, member_id from ins)
     select (select array_agg(member_id) from wanted where member_id not in (select member_id from known)) as missing,
            (select array_agg(member_id) from ins) as added`,
    [organizationId, groupId, memberIds],
  );
  return { missing: rows[0]?.missing ?? [], added: rows[0]?.added ?? [] };
}

/** Removes the given members (or, with `keep`, every member but those) and writes their access-feed rows; returns the ids removed. */
export async function deleteMemberships(sql: Sql, organizationId: string, groupId: string, ids: readonly string[], keep = false): Promise<string[]> {
  const rows = await sql.all<{ removed: string[] | null }>(
    `with del as (delete from group_members where organization_id = $1 and group_id = $2 and member_id ${keep ? '<> all' : '= any'}($3::uuid[]) returning member_id),
     feed as (insert into access_changes (organization_id, kind, group_id, member_id) select $1, 'group_member_removed', $2, member_id from del)
     select array_agg(member_id) as removed from del`,
    [organizationId, groupId, ids],
  );
  return rows[0]?.removed ?? [];
}

/** The ids of `ids` that are no member of the organisation, sorted. */
export async function selectUnknownMembers(sql: Sql, organizationId: string, ids: readonly string[]): Promise<string[]> {
  const rows = await sql.all<{ id: string }>(
    `select w.id::text as id from unnest($1::uuid[]) as w(id) where not exists (select 1 from members m where m.organization_id = $2 and m.id = w.id) order by 1`,
    [ids, organizationId],
  );
  return rows.map((r) => r.id);
}

/**
 * The membership batch statement, one per shape: with or without an insert,
 * with or without a delete. Parameters: organisation ($1), group ($2), the
 * sources the actor may edit ($3), the audit event's ($4…$8), then the ids
 * to add and their count, then the ids to remove (only those the shape has).
 */
function buildMembershipSql(insert: boolean, del: boolean): string {
  const add = insert ? '$9' : '';
  const addCount = insert ? '$10' : '';
  const remove = del ? (insert ? '$11' : '$9') : '';
  // The request the change came from (origin.ts), after the shape's own parameters.
  const last = 8 + (insert ? 2 : 0) + (del ? 1 : 0);
  const requestId = `$${last + 1}`;
  const clientAddress = `$${last + 2}`;
  return `with ${insert ? `known as (select m.id as member_id from members m where m.organization_id = $1 and m.id = any(${add}::uuid[])),` : ''}
       g as (
         update groups set version = version + 1, updated_at = now()
         where organization_id = $1 and id = $2 and source = any($3::text[]) ${insert ? `and (select count(*) from known) = ${addCount}` : ''}
         returning ${GROUP_COLUMNS}
       ),
       ins as (
         ${insert ? `insert into group_members (organization_id, group_id, member_id)
         select $1, $2, k.member_id from known k where exists (select 1 from g) on conflict do nothing returning member_id` : 'select null::uuid as member_id where false'}
       ),
       del as (
         ${del ? `delete from group_members
         where organization_id = $1 and group_id = $2 and member_id = any(${remove}::uuid[]) and exists (select 1 from g) returning member_id` : 'select null::uuid as member_id where false'}
       ),
       feed as (
         insert into access_changes (organization_id, kind, group_id, member_id)
         select $1::uuid, 'group_member_added', $2::uuid, member_id from ins
         union all select $1::uuid, 'group_member_removed', $2::uuid, member_id from del
       ),
       audit as (
         insert into audit_events (organization_id, actor_kind, actor_id, actor_label, action, outcome, resource_type, resource_id, resource_label, detail, request_id, client_address)
         select $1, $4, $5, $6, $7, 'success', 'group', $2, g.display_name,
                $8::jsonb || jsonb_build_object('membersAdded', (select count(*) from ins), 'membersRemoved', (select count(*) from del),
                  'addedMemberIds', (select coalesce(jsonb_agg(a.member_id), '[]') from (select member_id from ins limit ${AUDIT_MEMBER_IDS}) a),
                  'removedMemberIds', (select coalesce(jsonb_agg(r.member_id), '[]') from (select member_id from del limit ${AUDIT_MEMBER_IDS}) r)),
                ${requestId}, ${clientAddress}
         from g
       )
       select * from g`;
}
const MEMBERSHIP_SQL = {
  'add+remove': buildMembershipSql(true, true),
  add: buildMembershipSql(true, false),
  remove: buildMembershipSql(false, true),
} as const;

export interface MembershipChange {
  readonly organizationId: string;
  readonly groupId: string;
  /** Sources of groups the actor may change the membership of. */
  readonly editable: readonly MemberSource[];
  readonly add: readonly string[];
  readonly remove: readonly string[];
  readonly audit: {
    readonly actorKind: string;
    readonly actorId: string | null;
    readonly actorLabel: string;
    readonly action: string;
    readonly detail: string;
    readonly requestId: string | null;
    readonly clientAddress: string | null;
  };
}

/**
 * The group's version, the membership rows, the access feed and the audit
 * event in ONE statement, written only if every member to add exists and the
 * group's source is editable; undefined when nothing was written.
 */
export async function changeMembership(sql: Sql, c: MembershipChange): Promise<Group | undefined> {
  const insert = c.add.length > 0;
  const del = c.remove.length > 0;
  const row = await sql.maybeOne<GroupRow>(MEMBERSHIP_SQL[insert ? (del ? 'add+remove' : 'add') : 'remove'], [
    c.organizationId,
    c.groupId,
    c.editable,
    c.audit.actorKind,
    c.audit.actorId,
    c.audit.actorLabel,
    c.audit.action,
    c.audit.detail,
    ...(insert ? [c.add, c.add.length] : []),
    ...(del ? [c.remove] : []),
    c.audit.requestId,
    c.audit.clientAddress,
  ]);
  return row && toGroup(row);
}

/** The members of a group not in `keep` (all of them for an empty list). */
export async function selectMembersNotIn(sql: Sql, organizationId: string, groupId: string, keep: readonly string[]): Promise<string[]> {
  const rows = await sql.all<{ id: string }>(
    `select member_id as id from group_members where organization_id = $1 and group_id = $2 and member_id <> all($3::uuid[])`,
    [organizationId, groupId, keep],
  );
  return rows.map((r) => r.id);
}

/**
 * Of `memberIds`, the active members of the group whose removal takes access
 * away (the group is shared), for the mass-deprovision guard.
 */
export async function selectRevokingRemovals(sql: Sql, organizationId: string, groupId: string, memberIds: readonly string[]): Promise<{ id: string; userName: string }[]> {
  return sql.all<{ id: string; userName: string }>(
    `select m.id, m.user_name as "userName" from group_members gm join members m on m.organization_id = gm.organization_id and m.id = gm.member_id
     where gm.organization_id = $1 and gm.group_id = $2 and gm.member_id = any($3::uuid[]) and m.active
       and exists (select 1 from shares s where s.organization_id = $1 and s.group_id = $2)
     order by m.id`,
    [organizationId, groupId, memberIds],
  );
}
