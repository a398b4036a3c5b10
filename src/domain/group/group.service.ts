// Groups and their membership. A group created by SCIM or by an import is
// managed by it: other actors may not edit its membership (Entra never re-reads
// memberships, so a local edit would silently diverge). Membership batches
// cost a constant number of statements, whatever the group's size.
import crypto from 'node:crypto';
import { actorId, requireDirectoryReader, requireDirectoryWriter, type Actor } from '../actor.js';
import type { Db, Sql } from '../db.js';
import { isUniqueViolation } from '../db-errors.js';
import { toDate } from '../rows.js';
import { Conflict, Forbidden, Invalid, NotFound, Unavailable } from '../errors.js';
import { isUuid } from '../ids.js';
import { auditInsert, writeAudit } from '../audit/audit.service.js';
import { recordAccessChange, recordMembershipChanges } from '../access/access-feed.js';
import { sourceOf, type AuditOpts } from '../member/member.service.js';
import { pageSize } from '../paging.js';
import { currentOrigin } from '../origin.js';
import { MEMBER_COLUMNS, toMember, type Member, type MemberRow, type MemberSource } from '../member/member.model.js';
import { decodeCursor, encodeCursor } from '../member/member.service.js';
import type { ResourceQuery } from '../query/filter-ast.js';
import { compileFilter, compileSort, leafSql } from '../query/filter-sql.js';
import { SqlParams } from '../sql-params.js';
import { groupAttributes } from './group.query.js';

export interface Group {
  readonly id: string;
  readonly organizationId: string;
  readonly displayName: string;
  readonly externalId: string | null;
  readonly source: MemberSource;
  readonly version: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface GroupInput {
  readonly displayName: string;
  readonly externalId?: string | null;
  readonly memberIds?: readonly string[];
}

/** One atomic change of a group: attributes and a net membership change. */
export interface GroupChange {
  readonly displayName?: string;
  readonly externalId?: string | null;
  /** Replace the whole membership with these members. */
  readonly replaceMembers?: readonly string[];
  readonly addMembers?: readonly string[];
  readonly removeMembers?: readonly string[];
}

export interface GroupMemberRef {
  readonly id: string;
  readonly userName: string;
  readonly displayName: string | null;
}

export interface GroupRow {
  organization_id: string;
  id: string;
  display_name: string;
  external_id: string | null;
  source: MemberSource;
  version: number;
  created_at: string;
  updated_at: string;
}

export const GROUP_COLUMNS = 'organization_id, id, display_name, external_id, source, version, created_at, updated_at';
/** A group row as a JSON object (alias `g`), for json_agg in subselects; keys as GroupRow. */
export const GROUP_JSON = `json_build_object('organization_id', g.organization_id, 'id', g.id, 'display_name', g.display_name,
  'external_id', g.external_id, 'source', g.source, 'version', g.version, 'created_at', g.created_at, 'updated_at', g.updated_at)`;
export const MAX_MEMBERS_PER_CHANGE = 10_000;
export const MAX_GROUP_PAGE = 500;

export interface GroupListQuery {
  /** Case-insensitive text in displayName. */
  readonly text?: string;
  readonly source?: MemberSource;
  readonly after?: string;
  readonly first?: number;
}

export interface GroupPage {
  readonly groups: Group[];
  readonly hasNextPage: boolean;
  readonly totalCount: number;
  readonly cursors: string[];
}

/** One page of one group's members (ordered by member id). */
export interface GroupMembersPage {
  readonly members: Member[];
  readonly hasNextPage: boolean;
  readonly totalCount: number;
}

export function toGroup(r: GroupRow): Group {
  return {
    id: r.id,
    organizationId: r.organization_id,
    displayName: r.display_name,
    externalId: r.external_id,
    source: r.source,
    version: r.version,
    createdAt: toDate(r.created_at),
    updatedAt: toDate(r.updated_at),
  };
}

function checkDisplayName(name: unknown): string {
  if (typeof name !== 'string' || name.trim().length === 0) throw new Invalid('display_name_required', 'displayName is required', 'displayName');
  if (name.length > 512) throw new Invalid('too_long', 'displayName is longer than 512 characters', 'displayName');
  if (name.includes('\u0000')) throw new Invalid('invalid_value', 'displayName contains a NUL character', 'displayName');
  return name;
}

function checkExternalId(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'string' || v.length > 1024 || v.includes('\u0000')) throw new Invalid('invalid_value', 'externalId must be a string of at most 1024 characters', 'externalId');
  return v;
}

function checkMemberIds(ids: readonly string[], field = 'members'): string[] {
  if (!Array.isArray(ids)) throw new Invalid('invalid_value', `${field} must be a list of member ids`, field);
  if (ids.length > MAX_MEMBERS_PER_CHANGE) {
    throw new Invalid('too_many_members', `At most ${MAX_MEMBERS_PER_CHANGE} members per change`, field);
  }
  const bad = ids.filter((id) => !isUuid(id));
  if (bad.length > 0) throw new Invalid('unknown_member', `Unknown member id(s): ${bad.slice(0, 5).join(', ')}`, field, { ids: bad.slice(0, 50) });
  return [...new Set(ids.map((id) => id.toLowerCase()))];
}

/** Whether `actor` may change the membership of a group from `source`: a managed group only by its manager. */
function canEditMembership(actor: Actor, source: MemberSource): boolean {
  if (actor.kind === 'system') return true;
  if (source === 'scim') return actor.kind === 'scim';
  if (source === 'import') return actor.kind === 'import';
  return true;
}

function assertCanEditMembership(actor: Actor, group: { source: MemberSource; display_name: string }): void {
  if (canEditMembership(actor, group.source)) return;
  if (group.source === 'scim') {
    throw new Forbidden('group_managed_by_scim', `The group "${group.display_name}" is provisioned by Entra (SCIM); change its members in Entra`);
  }
  throw new Forbidden('group_managed_by_import', `The group "${group.display_name}" is kept by an Entra group import; change its members in Entra`);
}

/**
 * The membership batch statement (see changeMembership), one per shape: with
 * or without an insert, with or without a delete. Built once, so every call
 * passes the same string and its prepared form is found without rebuilding it.
 */
function buildMembershipSql(insert: boolean, del: boolean): string {
  return `with ${insert ? `known as (select m.id as member_id from members m where m.organization_id = ? and m.id = any(?::uuid[])),` : ''}
       g as (
         update groups set version = version + 1, updated_at = now()
         where organization_id = ? and id = ? and source = any(?::text[]) ${insert ? 'and (select count(*) from known) = ?' : ''}
         returning ${GROUP_COLUMNS}
       ),
       ins as (
         ${insert ? `insert into group_members (organization_id, group_id, member_id)
         select ?, ?, k.member_id from known k where exists (select 1 from g) on conflict do nothing returning member_id` : 'select null::uuid as member_id where false'}
       ),
       del as (
         ${del ? `delete from group_members
         where organization_id = ? and group_id = ? and member_id = any(?::uuid[]) and exists (select 1 from g) returning member_id` : 'select null::uuid as member_id where false'}
       ),
       feed as (
         insert into access_changes (organization_id, kind, group_id, member_id)
         select ?::uuid, 'group_member_added', ?::uuid, member_id from ins
         union all select ?::uuid, 'group_member_removed', ?::uuid, member_id from del
       ),
       audit as (
         insert into audit_events (organization_id, actor_kind, actor_id, actor_label, action, outcome, resource_type, resource_id, resource_label, detail, request_id, client_address)
         select ?, ?, ?, ?, ?, 'success', 'group', ?, g.display_name,
                ?::jsonb || jsonb_build_object('membersAdded', (select count(*) from ins), 'membersRemoved', (select count(*) from del)), ?, ?
         from g
       )
       select * from g`;
}
const MEMBERSHIP_SQL = {
  'add+remove': buildMembershipSql(true, true),
  add: buildMembershipSql(true, false),
  remove: buildMembershipSql(false, true),
} as const;

export class GroupService {
  constructor(private readonly db: Db) {}

  async create(actor: Actor, input: GroupInput, opts: AuditOpts = {}): Promise<Group> {
    requireDirectoryWriter(actor);
    const displayName = checkDisplayName(input.displayName);
    const externalId = checkExternalId(input.externalId);
    const memberIds = checkMemberIds(input.memberIds ?? []);
    const id = crypto.randomUUID();
    if (memberIds.length === 0) {
      // Entra creates groups empty: the group and its audit event in one statement (one round trip).
      const audit = auditInsert(actor, {
        action: opts.action ?? 'group.create',
        resourceType: 'group',
        resourceId: id,
        resourceLabel: displayName,
        detail: { ...opts.detail, displayName, externalId, membersAdded: 0 },
      });
      const row = await this.translate(displayName, () =>
        this.db.sql.one<GroupRow>(
          `with audit as (${audit.sql})
           insert into groups (organization_id, id, display_name, external_id, source) values (?, ?, ?, ?, ?) returning ${GROUP_COLUMNS}`,
          [...audit.params, actor.organizationId, id, displayName, externalId, sourceOf(actor)],
        ),
      );
      return toGroup(row);
    }
    return this.db.transaction(async (tx) => {
      const row = await this.translate(displayName, () =>
        tx.one<GroupRow>(
          `insert into groups (organization_id, id, display_name, external_id, source) values (?, ?, ?, ?, ?) returning ${GROUP_COLUMNS}`,
          [actor.organizationId, id, displayName, externalId, sourceOf(actor)],
        ),
      );
      const added = await this.insertMembers(tx, actor.organizationId, id, memberIds);
      await writeAudit(tx, actor, {
        action: opts.action ?? 'group.create',
        resourceType: 'group',
        resourceId: id,
        resourceLabel: displayName,
        detail: { ...opts.detail, displayName, externalId, membersAdded: added },
      });
      return toGroup(row);
    });
  }

  async get(actor: Actor, id: string): Promise<Group> {
    const [g] = await this.getMany(actor, [id]);
    if (!g) throw new NotFound('group', id);
    return g;
  }

  async getMany(actor: Actor, ids: readonly string[]): Promise<Group[]> {
    requireDirectoryReader(actor);
    const valid = ids.filter(isUuid);
    if (valid.length === 0) return [];
    const rows = await this.db.sql.all<GroupRow>(`select ${GROUP_COLUMNS} from groups where organization_id = ? and id = any(?::uuid[])`, [
      actor.organizationId,
      valid,
    ]);
    return rows.map(toGroup);
  }

  /** A page of groups ordered by displayName (case-insensitive), with the total. */
  async list(actor: Actor, q: GroupListQuery = {}): Promise<GroupPage> {
    requireDirectoryReader(actor);
    const first = Math.min(Math.max(q.first ?? 50, 0), MAX_GROUP_PAGE);
    const where = ['organization_id = ?'];
    const params: (string | number)[] = [actor.organizationId];
    if (q.text) {
      where.push(`lower(display_name) like ? escape '\\'`);
      params.push(`%${q.text.toLowerCase().replace(/[\\%_]/g, '\\$&')}%`);
    }
    if (q.source) {
      where.push('source = ?');
      params.push(q.source);
    }
    const countWhere = where.join(' and ');
    const countParams = [...params];
    if (q.after) {
      const c = decodeCursor(q.after);
      where.push('(lower(display_name), id) > (?, ?::uuid)');
      params.push(c.key, c.id);
    }
    const rows = await this.db.sql.all<GroupRow & { sort_key: string; total: string }>(
      `select ${GROUP_COLUMNS}, lower(display_name) as sort_key, (select count(*) from groups where ${countWhere})::text as total
       from groups where ${where.join(' and ')} order by lower(display_name), id limit ${first + 1}`,
      [...countParams, ...params],
    );
    const page = rows.slice(0, first);
    let total = rows[0]?.total;
    if (total === undefined) {
      total = (await this.db.sql.one<{ n: string }>(`select count(*)::text as n from groups where ${countWhere}`, countParams)).n;
    }
    return { groups: page.map(toGroup), hasNextPage: rows.length > first, totalCount: Number(total), cursors: page.map((r) => encodeCursor(r.sort_key, r.id)) };
  }

  /**
   * The groups of each member, in one statement (DataLoader). A signed-in
   * member may ask for its own groups only.
   */
  async groupsOfMembers(actor: Actor, memberIds: readonly string[]): Promise<{ memberId: string; group: Group }[]> {
    if (!(actor.kind === 'member' && memberIds.every((id) => id === actor.id))) requireDirectoryReader(actor);
    const valid = memberIds.filter(isUuid);
    if (valid.length === 0) return [];
    const rows = await this.db.sql.all<GroupRow & { member_id: string }>(
      `select gm.member_id, ${GROUP_COLUMNS.split(', ').map((c) => 'g.' + c).join(', ')}
       from group_members gm join groups g on g.organization_id = gm.organization_id and g.id = gm.group_id
       where gm.organization_id = ? and gm.member_id = any(?::uuid[]) order by lower(g.display_name), g.id`,
      [actor.organizationId, valid],
    );
    return rows.map((r) => ({ memberId: r.member_id, group: toGroup(r) }));
  }

  /**
   * A page of members of each group, in one statement whatever the number of
   * groups (DataLoader): members ordered by id, `first` after `afterId`.
   */
  async membersOfGroups(actor: Actor, groupIds: readonly string[], opts: { first?: number; afterId?: string } = {}): Promise<Map<string, GroupMembersPage>> {
    requireDirectoryReader(actor);
    const first = Math.min(Math.max(opts.first ?? 50, 0), MAX_GROUP_PAGE);
    const valid = [...new Set(groupIds.filter(isUuid))];
    const out = new Map<string, GroupMembersPage>();
    if (valid.length === 0) return out;
    if (opts.afterId !== undefined && !isUuid(opts.afterId)) throw new Invalid('invalid_cursor', 'The cursor is not one this API handed out', 'after');
    const after = opts.afterId ?? '00000000-0000-0000-0000-000000000000';
    const rows = await this.db.sql.all<MemberRow & { group_id: string; total: string }>(
      `select g.id as group_id, c.total::text as total, ${MEMBER_COLUMNS.split(', ').map((c) => 'p.' + c).join(', ')}
       from groups g
       cross join lateral (select count(*) as total from group_members where organization_id = g.organization_id and group_id = g.id) c
       left join lateral (
         select m.* from group_members gm join members m on m.organization_id = gm.organization_id and m.id = gm.member_id
         where gm.organization_id = g.organization_id and gm.group_id = g.id and gm.member_id > ?::uuid
         order by gm.member_id limit ${first + 1}
       ) p on true
       where g.organization_id = ? and g.id = any(?::uuid[])
       order by g.id, p.id`,
      [after, actor.organizationId, valid],
    );
    const byGroup = new Map<string, { members: Member[]; total: number }>();
    for (const r of rows) {
      let e = byGroup.get(r.group_id);
      if (!e) byGroup.set(r.group_id, (e = { members: [], total: Number(r.total) }));
      if (r.id !== null) e.members.push(toMember(r));
    }
    for (const [id, e] of byGroup) {
      out.set(id, { members: e.members.slice(0, first), hasNextPage: e.members.length > first, totalCount: e.total });
    }
    return out;
  }

  /** Applies attribute and membership changes in one transaction. */
  async update(actor: Actor, id: string, change: GroupChange, opts: AuditOpts = {}): Promise<Group> {
    requireDirectoryWriter(actor);
    if (!isUuid(id)) throw new NotFound('group', id);
    const displayName = change.displayName === undefined ? undefined : checkDisplayName(change.displayName);
    const externalId = change.externalId === undefined ? undefined : checkExternalId(change.externalId);
    const replace = change.replaceMembers && checkMemberIds(change.replaceMembers);
    const add = checkMemberIds(change.addMembers ?? []);
    const remove = checkMemberIds(change.removeMembers ?? []);
    const touchesMembers = replace !== undefined || add.length > 0 || remove.length > 0;
    const onlyMembership = displayName === undefined && externalId === undefined && replace === undefined && touchesMembers;
    if (onlyMembership && !add.some((id) => remove.includes(id))) return this.changeMembership(actor, id, add, remove, opts);

    return this.db.transaction(async (tx) => {
      // Locks the group row: concurrent changes of one group apply one after the other.
      const current = await tx.maybeOne<GroupRow>(`select ${GROUP_COLUMNS} from groups where organization_id = ? and id = ? for update`, [
        actor.organizationId,
        id,
      ]);
      if (!current) throw new NotFound('group', id);
      if (touchesMembers) assertCanEditMembership(actor, current);

      const detail: Record<string, unknown> = { ...opts.detail };
      let row = current;
      const renamed = displayName !== undefined && displayName !== current.display_name;
      const reExternal = externalId !== undefined && externalId !== current.external_id;
      if (renamed || reExternal || touchesMembers) {
        row = await this.translate(displayName ?? current.display_name, () =>
          tx.one<GroupRow>(
            `update groups set display_name = ?, external_id = ?, version = version + 1, updated_at = now()
             where organization_id = ? and id = ? returning ${GROUP_COLUMNS}`,
            [displayName ?? current.display_name, externalId === undefined ? current.external_id : externalId, actor.organizationId, id],
          ),
        );
        if (renamed) detail.displayName = { from: current.display_name, to: displayName };
        if (reExternal) detail.externalId = { from: current.external_id, to: externalId };
      }
      if (replace !== undefined) {
        const removed = await tx.all<{ member_id: string }>(
          `delete from group_members where organization_id = ? and group_id = ? and member_id <> all(?::uuid[]) returning member_id`,
          [actor.organizationId, id, replace],
        );
        if (removed.length > 0) {
          await recordMembershipChanges(tx, actor.organizationId, 'group_member_removed', id, removed.map((r) => r.member_id));
        }
        detail.membersRemoved = removed.length;
        detail.membersAdded = await this.insertMembers(tx, actor.organizationId, id, replace);
      }
      if (add.length > 0) detail.membersAdded = await this.insertMembers(tx, actor.organizationId, id, add);
      if (remove.length > 0) {
        const removed = await tx.all<{ member_id: string }>(
          `delete from group_members where organization_id = ? and group_id = ? and member_id = any(?::uuid[]) returning member_id`,
          [actor.organizationId, id, remove],
        );
        if (removed.length > 0) {
          await recordMembershipChanges(tx, actor.organizationId, 'group_member_removed', id, removed.map((r) => r.member_id));
        }
        detail.membersRemoved = removed.length;
      }
      if (row !== current || touchesMembers) {
        await writeAudit(tx, actor, { action: opts.action ?? 'group.update', resourceType: 'group', resourceId: id, resourceLabel: row.display_name, detail });
      }
      return toGroup(row);
    });
  }

  async delete(actor: Actor, id: string, opts: AuditOpts = {}): Promise<void> {
    requireDirectoryWriter(actor);
    if (!isUuid(id)) throw new NotFound('group', id);
    await this.db.transaction(async (tx) => {
      const row = await tx.maybeOne<GroupRow>(`delete from groups where organization_id = ? and id = ? returning ${GROUP_COLUMNS}`, [actor.organizationId, id]);
      if (!row) throw new NotFound('group', id);
      assertCanEditMembership(actor, row);
      await recordAccessChange(tx, actor.organizationId, { kind: 'group_deleted', groupId: id });
      await writeAudit(tx, actor, { action: opts.action ?? 'group.delete', resourceType: 'group', resourceId: id, resourceLabel: row.display_name, detail: opts.detail });
    });
  }

  /** Filter (SCIM AST compiled to SQL), sort and 1-based offset paging; memberships are not read. */
  async search(actor: Actor, q: ResourceQuery): Promise<{ totalResults: number; groups: Group[] }> {
    requireDirectoryReader(actor);
    const params = new SqlParams();
    const where = [`g.organization_id = ${params.add(actor.organizationId)}`];
    if (q.filter) where.push(compileFilter(q.filter, groupAttributes, params));
    // The count reads the filter's parameters only (those come first).
    const whereParams = [...params.values];
    const countSql = `select count(*)::text as n from groups g where ${where.join(' and ')}`;
    const count = Math.min(Math.max(q.count, 0), 1000);
    if (count === 0) return { totalResults: Number((await this.db.sql.one<{ n: string }>(countSql, whereParams)).n), groups: [] };
    let order = 'g.created_at, g.id';
    if (q.sort) order = `${leafSql(compileSort(q.sort.path, groupAttributes), params)} ${q.sort.descending ? 'desc' : 'asc'} nulls last, g.id`;
    const offset = Math.max(q.startIndex, 1) - 1;
    const rows = await this.db.sql.all<GroupRow & { total: string }>(
      `select ${GROUP_COLUMNS.split(', ').map((c) => 'g.' + c).join(', ')}, count(*) over () as total from groups g
       where ${where.join(' and ')} order by ${order} limit ${count} offset ${offset}`,
      params.values,
    );
    let total = rows[0] ? Number(rows[0].total) : 0;
    if (rows.length === 0 && offset > 0) total = Number((await this.db.sql.one<{ n: string }>(countSql, whereParams)).n);
    return { totalResults: total, groups: rows.map(toGroup) };
  }

  /** A page of a group's members, ordered by member id (keyset: `afterId`). */
  async members(actor: Actor, groupId: string, opts: { afterId?: string; limit?: number } = {}): Promise<GroupMemberRef[]> {
    requireDirectoryReader(actor);
    if (!isUuid(groupId)) return [];
    const limit = pageSize(opts.limit, 1000, 1, 10_000, 'limit');
    const rows = await this.db.sql.all<{ id: string; user_name: string; display_name: string | null }>(
      `select m.id, m.user_name, m.display_name from group_members gm
       join members m on m.organization_id = gm.organization_id and m.id = gm.member_id
       where gm.organization_id = ? and gm.group_id = ? ${opts.afterId && isUuid(opts.afterId) ? 'and gm.member_id > ?' : ''}
       order by gm.member_id limit ${limit}`,
      opts.afterId && isUuid(opts.afterId) ? [actor.organizationId, groupId, opts.afterId] : [actor.organizationId, groupId],
    );
    return rows.map((r) => ({ id: r.id, userName: r.user_name, displayName: r.display_name }));
  }

  /** Creates an empty group inside a caller's transaction (the import creates its group with its integration). */
  async createIn(tx: Sql, actor: Actor, input: { displayName: string; externalId?: string | null }): Promise<Group> {
    requireDirectoryWriter(actor);
    const displayName = checkDisplayName(input.displayName);
    const externalId = checkExternalId(input.externalId);
    const id = crypto.randomUUID();
    const row = await this.translate(displayName, () =>
      tx.one<GroupRow>(
        `insert into groups (organization_id, id, display_name, external_id, source) values (?, ?, ?, ?, ?) returning ${GROUP_COLUMNS}`,
        [actor.organizationId, id, displayName, externalId, sourceOf(actor)],
      ),
    );
    await writeAudit(tx, actor, { action: 'group.create', resourceType: 'group', resourceId: id, resourceLabel: displayName, detail: { displayName, externalId, membersAdded: 0 } });
    return toGroup(row);
  }

  /** Deletes a group inside a caller's transaction (deleting an import deletes its group). */
  async deleteIn(tx: Sql, actor: Actor, id: string): Promise<void> {
    requireDirectoryWriter(actor);
    const row = await tx.maybeOne<GroupRow>(`delete from groups where organization_id = ? and id = ? returning ${GROUP_COLUMNS}`, [actor.organizationId, id]);
    if (!row) throw new NotFound('group', id);
    assertCanEditMembership(actor, row);
    await recordAccessChange(tx, actor.organizationId, { kind: 'group_deleted', groupId: id });
    await writeAudit(tx, actor, { action: 'group.delete', resourceType: 'group', resourceId: id, resourceLabel: row.display_name });
  }

  /**
   * Entra's hot path (PATCH adding or removing members): the checks, the group's
   * version, the membership rows, the access feed and the audit event in ONE
   * statement (atomic on its own), whatever the batch's or the group's size. The
   * statement writes nothing unless every member exists and the actor may edit
   * this group's membership; only then is the reason looked up, to raise it here.
   */
  private async changeMembership(actor: Actor, id: string, add: string[], remove: string[], opts: AuditOpts): Promise<Group> {
    const org = actor.organizationId;
    const editable = (['admin', 'scim', 'import'] as const).filter((source) => canEditMembership(actor, source));
    const detail = JSON.stringify(opts.detail ?? {});
    const origin = currentOrigin();
    // Only the parts a batch needs (an add-only PATCH has no delete; update() sends at least
    // one of the two), each a walk of a primary key: members (organization_id, id),
    // group_members (organization_id, group_id, member_id).
    const insert = add.length > 0;
    const del = remove.length > 0;
    const row = await this.db.sql.maybeOne<GroupRow>(
      MEMBERSHIP_SQL[insert ? (del ? 'add+remove' : 'add') : 'remove'],
      [
        ...(insert ? [org, add] : []),
        org,
        id,
        editable,
        ...(insert ? [add.length] : []),
        ...(insert ? [org, id] : []),
        ...(del ? [org, id, remove] : []),
        org,
        id,
        org,
        id,
        org,
        actor.kind,
        actorId(actor),
        actor.label,
        opts.action ?? 'group.update',
        id,
        detail.length > 16_000 ? JSON.stringify({ truncated: true, preview: detail.slice(0, 2000) }) : detail,
        origin.requestId,
        origin.clientAddress,
      ],
    );
    if (row) return toGroup(row);
    // Nothing was written: say why (the group is unknown, not editable by this actor, or a member is unknown).
    const group = await this.db.sql.maybeOne<{ source: MemberSource; display_name: string }>(`select source, display_name from groups where organization_id = ? and id = ?`, [org, id]);
    if (!group) throw new NotFound('group', id);
    assertCanEditMembership(actor, group);
    const missing = await this.db.sql.all<{ id: string }>(
      `select w.id::text as id from unnest(?::uuid[]) as w(id) where not exists (select 1 from members m where m.organization_id = ? and m.id = w.id) order by 1`,
      [add, org],
    );
    if (missing.length > 0) {
      const ids = missing.map((m) => m.id);
      throw new Invalid('unknown_member', `Unknown member id(s): ${ids.slice(0, 5).join(', ')}`, 'members', { ids: ids.slice(0, 50) });
    }
    // A member or the group vanished between the two statements: nothing was applied; a retry decides.
    throw new Unavailable('concurrent_change', 'The group or its members changed while this request ran; retry');
  }

  /** Inserts memberships of existing members; unknown ids make the whole change fail. */
  private async insertMembers(tx: Sql, organizationId: string, groupId: string, memberIds: string[]): Promise<number> {
    if (memberIds.length === 0) return 0;
    const rows = await tx.all<{ missing: string[] | null; added: string[] | null }>(
      `with wanted as (select unnest(?::uuid[]) as member_id),
       known as (select w.member_id from wanted w join members m on m.organization_id = ? and m.id = w.member_id),
       ins as (insert into group_members (organization_id, group_id, member_id)
               select ?, ?, member_id from known on conflict do nothing returning member_id),
       feed as (insert into access_changes (organization_id, kind, group_id, member_id)
                select ?, 'group_member_added', ?, member_id from ins)
       select (select array_agg(member_id) from wanted where member_id not in (select member_id from known)) as missing,
              (select array_agg(member_id) from ins) as added`,
      [memberIds, organizationId, organizationId, groupId, organizationId, groupId],
    );
    const missing = rows[0]?.missing ?? [];
    if (missing.length > 0) {
      throw new Invalid('unknown_member', `Unknown member id(s): ${missing.slice(0, 5).join(', ')}`, 'members', { ids: missing.slice(0, 50) });
    }
    return rows[0]?.added?.length ?? 0;
  }

  private async translate<T>(displayName: string, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (e) {
      if (isUniqueViolation(e)) {
        throw new Conflict('display_name_taken', `A group named "${displayName}" already exists in this organisation`, { field: 'displayName' });
      }
      throw e;
    }
  }
}
