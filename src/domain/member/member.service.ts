// Member use cases. Each runs in one transaction and writes its audit event
// (and any access change) in it. userName uniqueness is the database's
// lower(user_name) index; a violation becomes Conflict.
import crypto from 'node:crypto';
import { requireDirectoryReader, requireDirectoryWriter, type Actor } from '../actor.js';
import { isForeignKeyViolation, isUniqueViolation, sqlArray, type Db, type Sql } from '../db.js';
import { Conflict, Forbidden, Invalid, NotFound } from '../errors.js';
import { isUuid } from '../ids.js';
import { writeAudit } from '../audit/audit.service.js';
import { recordAccessChange } from '../access/access-feed.js';
import {
  MEMBER_COLUMNS,
  WRITABLE_COLUMNS,
  WRITABLE_PLACEHOLDERS,
  diffMemberData,
  memberDataFrom,
  memberDataOf,
  toMember,
  validateMemberData,
  writableValues,
  type Member,
  type MemberData,
  type MemberInput,
  type MemberRow,
  type MemberSource,
} from './member.model.js';

/** A change: the fields to set, or a function from the current state to the next. */
export type MemberChange = Partial<MemberData> | ((current: MemberData) => MemberData);

export interface MemberListQuery {
  /** Case-insensitive text on userName, displayName, given/family name and email. */
  readonly text?: string;
  readonly active?: boolean;
  readonly source?: MemberSource;
  readonly groupId?: string;
  readonly orderBy?: 'userName' | 'createdAt';
  /** Opaque cursor from a previous page. */
  readonly after?: string;
  readonly first?: number;
}

export interface MemberPage {
  readonly members: Member[];
  readonly hasNextPage: boolean;
  readonly totalCount: number;
  /** Cursor of each member, in order. */
  readonly cursors: string[];
}

export const MAX_PAGE_SIZE = 500;

/** Fields Entra owns on a SCIM-provisioned member: apps and members may not change them. */
const ENTRA_OWNED_EXEMPT = new Set<keyof MemberData>(['metadata']);

export function sourceOf(actor: Actor): MemberSource {
  return actor.kind === 'scim' ? 'scim' : actor.kind === 'import' ? 'import' : 'admin';
}

export class MemberService {
  constructor(private readonly db: Db) {}

  async create(actor: Actor, input: MemberInput): Promise<Member> {
    requireDirectoryWriter(actor);
    const data = memberDataFrom(input);
    validateMemberData(data);
    const id = crypto.randomUUID();
    return this.db.transaction(async (tx) => {
      const row = await this.translate(data, () =>
        tx.one<MemberRow>(
          `insert into members (organization_id, id, source, ${WRITABLE_COLUMNS.join(', ')})
           values (?, ?, ?, ${WRITABLE_PLACEHOLDERS.join(', ')}) returning ${MEMBER_COLUMNS}`,
          [actor.organizationId, id, sourceOf(actor), ...writableValues(data)],
        ),
      );
      const member = toMember(row);
      await writeAudit(tx, actor, {
        action: 'member.create',
        resourceType: 'member',
        resourceId: member.id,
        resourceLabel: member.userName,
        detail: { member: data },
      });
      return member;
    });
  }

  async get(actor: Actor, id: string): Promise<Member> {
    if (actor.kind === 'member' && actor.id !== id) throw new NotFound('member', id);
    const [member] = await this.getMany(actor, [id], true);
    if (!member) throw new NotFound('member', id);
    return member;
  }

  /** Members by id in one statement (DataLoader); unknown or foreign ids are left out. */
  async getMany(actor: Actor, ids: readonly string[], allowSelf = false): Promise<Member[]> {
    if (!(allowSelf && actor.kind === 'member')) requireDirectoryReader(actor);
    const valid = ids.filter(isUuid);
    if (valid.length === 0) return [];
    const rows = await this.db.sql.all<MemberRow>(
      `select ${MEMBER_COLUMNS} from members where organization_id = ? and id = any(?::uuid[])`,
      [actor.organizationId, sqlArray(valid)],
    );
    return rows.map(toMember);
  }

  async findByUserName(actor: Actor, userName: string): Promise<Member | undefined> {
    requireDirectoryReader(actor);
    const row = await this.db.sql.maybeOne<MemberRow>(
      `select ${MEMBER_COLUMNS} from members where organization_id = ? and lower(user_name) = lower(?)`,
      [actor.organizationId, userName],
    );
    return row && toMember(row);
  }

  /**
   * Applies a change atomically: the row is locked, the next state computed,
   * validated and written, and the audit event (with the difference) recorded.
   * Deactivation ends the member's sessions at once.
   */
  async update(actor: Actor, id: string, change: MemberChange, opts: { action?: string; detail?: Record<string, unknown> } = {}): Promise<Member> {
    requireDirectoryWriter(actor);
    if (!isUuid(id)) throw new NotFound('member', id);
    return this.db.transaction(async (tx) => {
      const row = await tx.maybeOne<MemberRow>(`select ${MEMBER_COLUMNS} from members where organization_id = ? and id = ? for update`, [
        actor.organizationId,
        id,
      ]);
      if (!row) throw new NotFound('member', id);
      const current = toMember(row);
      const before = memberDataOf(current);
      const next: MemberData = typeof change === 'function' ? change(before) : { ...before, ...change };
      validateMemberData(next);
      const diff = diffMemberData(before, next);
      const changed = Object.keys(diff) as (keyof MemberData)[];
      if (changed.length === 0) return current;
      this.checkOwnership(actor, current, changed);

      const updated = await this.translate(next, () =>
        tx.one<MemberRow>(
          `update members set (${WRITABLE_COLUMNS.join(', ')}) = (${WRITABLE_PLACEHOLDERS.join(', ')}),
             version = version + 1, updated_at = now()
           where organization_id = ? and id = ? returning ${MEMBER_COLUMNS}`,
          [...writableValues(next), actor.organizationId, id],
        ),
      );
      if (before.active !== next.active) await this.onActiveChanged(tx, actor.organizationId, id, next.active);
      await writeAudit(tx, actor, {
        action: opts.action ?? 'member.update',
        resourceType: 'member',
        resourceId: id,
        resourceLabel: next.userName,
        detail: { ...opts.detail, changes: diff },
      });
      return toMember(updated);
    });
  }

  async delete(actor: Actor, id: string): Promise<void> {
    requireDirectoryWriter(actor);
    if (!isUuid(id)) throw new NotFound('member', id);
    await this.db.transaction(async (tx) => {
      const row = await tx.maybeOne<{ user_name: string; source: MemberSource }>(
        `delete from members where organization_id = ? and id = ? returning user_name, source`,
        [actor.organizationId, id],
      );
      if (!row) throw new NotFound('member', id);
      if (row.source === 'scim' && (actor.kind === 'api_key' || actor.kind === 'member' || actor.kind === 'admin')) {
        throw new Forbidden('managed_by_scim', 'This member is provisioned by Entra (SCIM); remove it there');
      }
      await recordAccessChange(tx, actor.organizationId, { kind: 'member_deleted', memberId: id });
      await writeAudit(tx, actor, { action: 'member.delete', resourceType: 'member', resourceId: id, resourceLabel: row.user_name });
    });
  }

  async list(actor: Actor, q: MemberListQuery = {}): Promise<MemberPage> {
    requireDirectoryReader(actor);
    const first = Math.min(Math.max(q.first ?? 50, 0), MAX_PAGE_SIZE);
    const where: string[] = ['m.organization_id = ?'];
    const params: (string | boolean | number)[] = [actor.organizationId];
    if (q.text) {
      const like = `%${q.text.toLowerCase().replace(/[\\%_]/g, '\\$&')}%`;
      where.push(
        `(lower(m.user_name) like ? or lower(coalesce(m.display_name, '')) like ? or lower(coalesce(m.given_name, '') || ' ' || coalesce(m.family_name, '')) like ?
          or lower(m.emails::text) like ?)`,
      );
      params.push(like, like, like, like);
    }
    if (q.active !== undefined) {
      where.push('m.active = ?');
      params.push(q.active);
    }
    if (q.source) {
      where.push('m.source = ?');
      params.push(q.source);
    }
    if (q.groupId !== undefined) {
      if (!isUuid(q.groupId)) return { members: [], hasNextPage: false, totalCount: 0, cursors: [] };
      where.push('exists (select 1 from group_members gm where gm.organization_id = m.organization_id and gm.group_id = ? and gm.member_id = m.id)');
      params.push(q.groupId);
    }
    const orderBy = q.orderBy ?? 'userName';
    const key = orderBy === 'userName' ? 'lower(m.user_name)' : `to_char(m.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')`;
    const countParams = [...params];
    const countWhere = [...where];
    if (q.after) {
      const cursor = decodeCursor(q.after);
      where.push(`(${key}, m.id) > (?, ?::uuid)`);
      params.push(cursor.key, cursor.id);
    }
    const rows = await this.db.sql.all<MemberRow & { sort_key: string; total: string }>(
      `select ${MEMBER_COLUMNS.split(', ').map((c) => 'm.' + c).join(', ')}, ${key} as sort_key,
         (select count(*) from members m where ${countWhere.join(' and ')}) as total
       from members m where ${where.join(' and ')} order by ${key}, m.id limit ${first + 1}`,
      [...countParams, ...params],
    );
    const page = rows.slice(0, first);
    const total = rows[0]?.total ?? (first === 0 || q.after ? await this.count(countWhere, countParams) : '0');
    return {
      members: page.map(toMember),
      hasNextPage: rows.length > first,
      totalCount: Number(total),
      cursors: page.map((r) => encodeCursor(r.sort_key, r.id)),
    };
  }

  private async count(where: string[], params: (string | boolean | number)[]): Promise<string> {
    const row = await this.db.sql.one<{ n: string }>(`select count(*)::text as n from members m where ${where.join(' and ')}`, params);
    return row.n;
  }

  /** Entra owns SCIM-provisioned members: apps may only change their metadata. */
  private checkOwnership(actor: Actor, member: Member, changed: (keyof MemberData)[]): void {
    if (member.source !== 'scim' || (actor.kind !== 'api_key' && actor.kind !== 'member' && actor.kind !== 'admin')) return;
    const owned = changed.filter((f) => !ENTRA_OWNED_EXEMPT.has(f));
    if (owned.length > 0) {
      throw new Forbidden('field_owned_by_entra', `This member is provisioned by Entra (SCIM); change ${owned.join(', ')} in Entra`, { fields: owned });
    }
  }

  private async onActiveChanged(tx: Sql, organizationId: string, memberId: string, active: boolean): Promise<void> {
    if (!active) await tx.run(`delete from sessions where organization_id = ? and member_id = ?`, [organizationId, memberId]);
    await recordAccessChange(tx, organizationId, { kind: active ? 'member_activated' : 'member_deactivated', memberId });
  }

  private async translate<T>(data: MemberData, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (e) {
      if (isUniqueViolation(e)) {
        throw new Conflict('user_name_taken', `A member with userName "${data.userName}" already exists in this organisation`, { field: 'userName' });
      }
      if (isForeignKeyViolation(e)) {
        throw new Invalid('unknown_manager', `The manager "${data.enterprise.managerId}" is not a member of this organisation`, 'manager');
      }
      throw e;
    }
  }
}

export function encodeCursor(key: string, id: string): string {
  return Buffer.from(JSON.stringify([key, id])).toString('base64url');
}

export function decodeCursor(cursor: string): { key: string; id: string } {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && typeof v[0] === 'string' && isUuid(v[1])) return { key: v[0], id: v[1] };
  } catch {
    // fall through
  }
  throw new Invalid('invalid_cursor', 'The cursor is not one this API handed out', 'after');
}
