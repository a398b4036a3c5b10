// Groups and their membership. A group created by SCIM or by an import is
// managed by it: other actors may not edit its membership (Entra never re-reads
// memberships, so a local edit would silently diverge). Membership batches
// cost a constant number of statements, whatever the group's size.
import crypto from 'node:crypto';
import { actorId, requireDirectoryReader, requireDirectoryWriter, type Actor } from '../actor.js';
import type { Db, Sql } from '../db.js';
import { isUniqueViolation } from '../db-errors.js';
import { Conflict, Forbidden, Invalid, NotFound, Unavailable } from '../errors.js';
import { isUuid } from '../ids.js';
import { writeAudit, type AuditOpts } from '../audit/audit.service.js';
import { auditDetail, auditValues } from '../audit/audit.sql.js';
import { currentOrigin } from '../origin.js';
import { recordAccessChange } from '../access/access-feed.js';
import { decodeCursor, encodeCursor, fromIdCursor, idCursor, pageOf, pageSize } from '../paging.js';
import { sourceOf, type MemberSource } from '../member/member.model.js';
import type { ResourceQuery } from '../query/filter-ast.js';
import { membershipDetail, type Group, type GroupChange, type GroupInput, type GroupListQuery, type GroupMemberRef, type GroupMembersPage, type GroupPage } from './group.model.js';
import * as groupSql from './group.sql.js';
import * as guardSql from '../guard/guard.sql.js';

export const MAX_MEMBERS_PER_CHANGE = 10_000;
export const MAX_GROUP_PAGE = 500;

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

function assertCanEditMembership(actor: Actor, group: { source: MemberSource; displayName: string }): void {
  if (canEditMembership(actor, group.source)) return;
  if (group.source === 'scim') {
    throw new Forbidden('group_managed_by_scim', `The group "${group.displayName}" is provisioned by Entra (SCIM); change its members in Entra`);
  }
  throw new Forbidden('group_managed_by_import', `The group "${group.displayName}" is kept by an Entra group import; change its members in Entra`);
}

function unknownMembers(ids: readonly string[]): Invalid {
  return new Invalid('unknown_member', `Unknown member id(s): ${ids.slice(0, 5).join(', ')}`, 'members', { ids: ids.slice(0, 50) });
}

export class GroupService {
  constructor(private readonly db: Db) {}

  async create(actor: Actor, input: GroupInput, opts: AuditOpts = {}): Promise<Group> {
    requireDirectoryWriter(actor);
    const displayName = checkDisplayName(input.displayName);
    const externalId = checkExternalId(input.externalId);
    const memberIds = checkMemberIds(input.memberIds ?? []);
    const group = { organizationId: actor.organizationId, id: crypto.randomUUID(), displayName, externalId, source: sourceOf(actor) };
    const entry = { action: opts.action ?? 'group.create', resourceType: 'group', resourceId: group.id, resourceLabel: displayName };
    if (memberIds.length === 0) {
      // Entra creates groups empty: the group and its audit event in one statement (one round trip).
      const audit = auditValues(actor, { ...entry, detail: { ...opts.detail, displayName, externalId, ...membershipDetail([], []) } });
      return this.translate(displayName, () => groupSql.insertGroupAudited(this.db.sql, group, audit));
    }
    return this.db.transaction(async (tx) => {
      const created = await this.translate(displayName, () => groupSql.insertGroup(tx, group));
      const added = await this.insertMembers(tx, actor.organizationId, group.id, memberIds);
      await writeAudit(tx, actor, { ...entry, detail: { ...opts.detail, displayName, externalId, ...membershipDetail(added, []) } });
      return created;
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
    return groupSql.selectGroupsById(this.db.lagTolerant, actor.organizationId, valid);
  }

  /** A page of groups ordered by displayName (case-insensitive), with the total unless `count: false`. */
  async list(actor: Actor, q: GroupListQuery = {}): Promise<GroupPage> {
    requireDirectoryReader(actor);
    const first = Math.min(Math.max(q.first ?? 50, 0), MAX_GROUP_PAGE);
    const { rows, total } = await groupSql.selectGroupPage(
      this.db.lagTolerant,
      actor.organizationId,
      { text: q.text, source: q.source },
      { after: q.after ? decodeCursor(q.after) : undefined, limit: first + 1, count: q.count !== false },
    );
    const page = rows.slice(0, first);
    return { items: page.map((r) => r.group), hasNextPage: rows.length > first, totalCount: total, cursors: page.map((r) => encodeCursor(r.sortKey, r.group.id)) };
  }

  /**
   * The groups of each member, in one statement (DataLoader). A signed-in
   * member may ask for its own groups only.
   */
  async groupsOfMembers(actor: Actor, memberIds: readonly string[]): Promise<{ memberId: string; group: Group }[]> {
    if (!(actor.kind === 'member' && memberIds.every((id) => id === actor.id))) requireDirectoryReader(actor);
    const valid = memberIds.filter(isUuid);
    if (valid.length === 0) return [];
    return groupSql.selectGroupsOfMembers(this.db.lagTolerant, actor.organizationId, valid);
  }

  /**
   * A page of members of each group, in one statement whatever the number of
   * groups (DataLoader): members ordered by id, `first` after `afterId`;
   * each group's member count unless `count: false`.
   */
  async membersOfGroups(actor: Actor, groupIds: readonly string[], opts: { first?: number; after?: string; count?: boolean } = {}): Promise<Map<string, GroupMembersPage>> {
    requireDirectoryReader(actor);
    const first = Math.min(Math.max(opts.first ?? 50, 0), MAX_GROUP_PAGE);
    const afterId = fromIdCursor(opts.after);
    const valid = [...new Set(groupIds.filter(isUuid))];
    const out = new Map<string, GroupMembersPage>();
    if (valid.length === 0) return out;
    const byGroup = await groupSql.selectMembersOfGroups(this.db.lagTolerant, actor.organizationId, valid, afterId ?? '00000000-0000-0000-0000-000000000000', first + 1, opts.count !== false);
    for (const [id, e] of byGroup) {
      out.set(id, { ...pageOf(e.members, first, (m) => m, (m) => idCursor(m.id)), totalCount: e.total });
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
      const current = await groupSql.selectGroupForUpdate(tx, actor.organizationId, id);
      if (!current) throw new NotFound('group', id);
      if (touchesMembers) assertCanEditMembership(actor, current);

      const detail: Record<string, unknown> = { ...opts.detail };
      let group = current;
      const renamed = displayName !== undefined && displayName !== current.displayName;
      const reExternal = externalId !== undefined && externalId !== current.externalId;
      if (renamed || reExternal || touchesMembers) {
        group = await this.translate(displayName ?? current.displayName, () =>
          groupSql.updateGroupAttributes(tx, actor.organizationId, id, displayName ?? current.displayName, externalId === undefined ? current.externalId : externalId),
        );
        if (renamed) detail.displayName = { from: current.displayName, to: displayName };
        if (reExternal) detail.externalId = { from: current.externalId, to: externalId };
      }
      const scim = sourceOf(actor) === 'scim';
      const added: string[] = [];
      const removed: string[] = [];
      let removing = remove;
      if (scim && remove.length > 0) {
        const held = await holdExcessRemovals(tx, actor, id, remove);
        removing = remove.filter((m) => !held.has(m));
      }
      if (replace !== undefined) {
        // Members a replacement drops pass the guard as removals do; held ones stay.
        const dropped = scim ? await groupSql.selectMembersNotIn(tx, actor.organizationId, id, replace) : [];
        const held = dropped.length > 0 ? await holdExcessRemovals(tx, actor, id, dropped) : new Set<string>();
        removed.push(...(await groupSql.deleteMemberships(tx, actor.organizationId, id, [...replace, ...held], true)));
        added.push(...(await this.insertMembers(tx, actor.organizationId, id, replace)));
      }
      if (add.length > 0) added.push(...(await this.insertMembers(tx, actor.organizationId, id, add)));
      if (removing.length > 0) removed.push(...(await groupSql.deleteMemberships(tx, actor.organizationId, id, removing)));
      if (touchesMembers) Object.assign(detail, membershipDetail(added, removed));
      if (group !== current || touchesMembers) {
        await writeAudit(tx, actor, { action: opts.action ?? 'group.update', resourceType: 'group', resourceId: id, resourceLabel: group.displayName, detail });
      }
      return group;
    });
  }

  async delete(actor: Actor, id: string, opts: AuditOpts = {}): Promise<void> {
    requireDirectoryWriter(actor);
    if (!isUuid(id)) throw new NotFound('group', id);
    await this.db.transaction(async (tx) => {
      // Entra deleting a group that grants access removes it from every member: the mass-deprovision guard decides first.
      // Held, the group stays as it is (GET tells the truth) and its members' removals wait for an admin.
      if (sourceOf(actor) === 'scim') {
        const current = await groupSql.selectGroupForUpdate(tx, actor.organizationId, id);
        if (current && canEditMembership(actor, current.source)) {
          const members = await groupSql.selectMembersNotIn(tx, actor.organizationId, id, []);
          if (members.length > 0 && (await holdExcessRemovals(tx, actor, id, members)).size > 0) return;
        }
      }
      await this.deleteIn(tx, actor, id, opts);
    });
  }

  /** Filter (SCIM AST compiled to SQL), sort and 1-based offset paging; memberships are not read. */
  async search(actor: Actor, q: ResourceQuery): Promise<{ totalResults: number; groups: Group[] }> {
    requireDirectoryReader(actor);
    return groupSql.searchGroups(this.db.sql, actor.organizationId, q, Math.min(Math.max(q.count, 0), 1000));
  }

  /** A page of a group's members, ordered by member id (keyset: `afterId`). */
  async members(actor: Actor, groupId: string, opts: { afterId?: string; limit?: number } = {}): Promise<GroupMemberRef[]> {
    requireDirectoryReader(actor);
    if (!isUuid(groupId)) return [];
    const limit = pageSize(opts.limit, 1000, 1, 10_000, 'limit');
    return groupSql.selectGroupMemberRefs(this.db.lagTolerant, actor.organizationId, groupId, opts.afterId && isUuid(opts.afterId) ? opts.afterId : undefined, limit);
  }

  /** Creates an empty group inside a caller's transaction (the import creates its group with its integration). */
  async createIn(tx: Sql, actor: Actor, input: { displayName: string; externalId?: string | null }): Promise<Group> {
    requireDirectoryWriter(actor);
    const displayName = checkDisplayName(input.displayName);
    const externalId = checkExternalId(input.externalId);
    const id = crypto.randomUUID();
    const group = await this.translate(displayName, () => groupSql.insertGroup(tx, { organizationId: actor.organizationId, id, displayName, externalId, source: sourceOf(actor) }));
    await writeAudit(tx, actor, { action: 'group.create', resourceType: 'group', resourceId: id, resourceLabel: displayName, detail: { displayName, externalId, ...membershipDetail([], []) } });
    return group;
  }

  /** Deletes a group inside a caller's transaction (deleting an import deletes its group). */
  async deleteIn(tx: Sql, actor: Actor, id: string, opts: AuditOpts = {}): Promise<void> {
    requireDirectoryWriter(actor);
    const group = await groupSql.deleteGroup(tx, actor.organizationId, id);
    if (!group) throw new NotFound('group', id);
    assertCanEditMembership(actor, group);
    await recordAccessChange(tx, actor.organizationId, { kind: 'group_deleted', groupId: id });
    await writeAudit(tx, actor, { action: opts.action ?? 'group.delete', resourceType: 'group', resourceId: id, resourceLabel: group.displayName, detail: opts.detail });
  }

  /**
   * Entra's hot path (PATCH adding or removing members): the checks, the group's
   * version, the membership rows, the access feed and the audit event in ONE
   * statement (atomic on its own), whatever the batch's or the group's size. The
   * statement writes nothing unless every member exists and the actor may edit
   * this group's membership; only then is the reason looked up, to raise it here.
   */
  private async changeMembership(actor: Actor, id: string, add: string[], remove: string[], opts: AuditOpts): Promise<Group> {
    // Entra removing members from a group that grants access passes the mass-deprovision guard (its own transaction).
    if (remove.length > 0 && sourceOf(actor) === 'scim') {
      const group = await this.db.transaction(async (tx) => {
        // Only a change Entra may make is guarded; any other is refused by the statement below, as without the guard.
        const current = await groupSql.selectGroupForUpdate(tx, actor.organizationId, id);
        if (!current || !canEditMembership(actor, current.source)) return this.writeMembership(tx, actor, id, add, remove, opts);
        const held = await holdExcessRemovals(tx, actor, id, remove);
        const left = held.size > 0 ? remove.filter((m) => !held.has(m)) : remove;
        if (add.length === 0 && left.length === 0) return (await groupSql.selectGroupForUpdate(tx, actor.organizationId, id)) ?? undefined;
        return this.writeMembership(tx, actor, id, add, left, opts);
      });
      if (group) return group;
      return this.explainRefusal(actor, id, add);
    }
    const group = await this.writeMembership(this.db.sql, actor, id, add, remove, opts);
    if (group) return group;
    return this.explainRefusal(actor, id, add);
  }

  private writeMembership(sql: Sql, actor: Actor, id: string, add: string[], remove: string[], opts: AuditOpts): Promise<Group | undefined> {
    const org = actor.organizationId;
    return groupSql.changeMembership(sql, {
      organizationId: org,
      groupId: id,
      editable: (['admin', 'scim', 'import'] as const).filter((source) => canEditMembership(actor, source)),
      add,
      remove,
      audit: { actorKind: actor.kind, actorId: actorId(actor), actorLabel: actor.label, action: opts.action ?? 'group.update', detail: auditDetail(opts.detail), ...currentOrigin() },
    });
  }

  private async explainRefusal(actor: Actor, id: string, add: string[]): Promise<never> {
    const org = actor.organizationId;
    // Nothing was written: say why (the group is unknown, not editable by this actor, or a member is unknown).
    const current = await groupSql.selectGroupSource(this.db.sql, org, id);
    if (!current) throw new NotFound('group', id);
    assertCanEditMembership(actor, current);
    const missing = await groupSql.selectUnknownMembers(this.db.sql, org, add);
    if (missing.length > 0) throw unknownMembers(missing);
    // A member or the group vanished between the two statements: nothing was applied; a retry decides.
    throw new Unavailable('concurrent_change', 'The group or its members changed while this request ran; retry');
  }

  /** Inserts memberships of existing members (returns the ids added); unknown ids make the whole change fail. */
  private async insertMembers(tx: Sql, organizationId: string, groupId: string, memberIds: string[]): Promise<string[]> {
    if (memberIds.length === 0) return [];
    const { missing, added } = await groupSql.insertMemberships(tx, organizationId, groupId, memberIds);
    if (missing.length > 0) throw unknownMembers(missing);
    return added;
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

/**
 * The mass-deprovision guard for Entra removing `memberIds` from a group: a
 * removal revokes access when the group is shared and the member is active.
 * Such removals are admitted together or, beyond the threshold, all held
 * (kind group_remove, source scim); returns the held member ids (empty when
 * admitted, or when nothing revokes access).
 */
async function holdExcessRemovals(tx: Sql, actor: Actor, groupId: string, memberIds: readonly string[]): Promise<Set<string>> {
  const org = actor.organizationId;
  const revoking = await groupSql.selectRevokingRemovals(tx, org, groupId, memberIds);
  if (revoking.length === 0) return new Set();
  if (await guardSql.admit(tx, org, 'scim', revoking.length)) {
    await guardSql.insertRevocations(tx, org, 'scim', revoking.map((r) => r.id));
    return new Set();
  }
  const fresh = await guardSql.hold(tx, org, { source: 'scim', actorLabel: actor.label, kind: 'group_remove', groupId, members: revoking.map((r) => ({ id: r.id, label: r.userName })) });
  await writeAudit(tx, actor, {
    action: 'guard.hold.group_remove',
    resourceType: 'group',
    resourceId: groupId,
    detail: { held: revoking.length, new: fresh, memberIds: revoking.slice(0, 200).map((r) => r.id), reason: 'mass-deprovision guard: held for an administrator to approve or discard' },
  });
  return new Set(revoking.map((r) => r.id));
}
