// Member use cases. Each is atomic (one statement, or one transaction) and
// writes its audit event (and any access change) with the change. userName
// uniqueness is the database's lower(user_name) index; a violation becomes
// Conflict.
import crypto from 'node:crypto';
import { requireDirectoryReader, requireDirectoryWriter, type Actor } from '../actor.js';
import type { Db } from '../db.js';
import { isForeignKeyViolation, isUniqueViolation } from '../db-errors.js';
import { toDate } from '../rows.js';
import type { ResourceQuery } from '../query/filter-ast.js';
import { compileFilter, compileSort, leafSql } from '../query/filter-sql.js';
import { SqlParams } from '../sql-params.js';
import { memberAttributes } from './member.query.js';
import { Conflict, Forbidden, Invalid, NotFound, Unavailable } from '../errors.js';
import { isUuid } from '../ids.js';
import { pageSize } from '../paging.js';
import { auditInsert, auditInsertSql, writeAudit } from '../audit/audit.service.js';
import { recordAccessChange } from '../access/access-feed.js';
import { GROUP_JSON, toGroup, type Group } from '../group/group.service.js';
import { SHARE_TARGET_JSON, sharesWithTargets, type Share, type ShareTargetRow } from '../share/share.service.js';
import type { Lock, Place } from '../place/place.service.js';
import {
  MEMBER_COLUMNS,
  memberColumns,
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
  /** Also load these relations of the page's members, in the same statement. */
  readonly include?: { readonly groups?: boolean; readonly shares?: boolean };
}

/** Relations of a page's members, keyed by member id (when asked for with `include`). */
export interface MemberPageRelations {
  readonly groups?: Map<string, Group[]>;
  /** Shares granted directly to each member, with the locks and places they target. */
  readonly shares?: Map<string, Share[]>;
  readonly locks: Lock[];
  readonly places: Place[];
}

export interface MemberPage {
  readonly members: Member[];
  readonly hasNextPage: boolean;
  readonly totalCount: number;
  /** Cursor of each member, in order. */
  readonly cursors: string[];
  readonly relations?: MemberPageRelations;
}

export const MAX_PAGE_SIZE = 500;
/** Rounds of read-and-write before a change of a hotly contested member gives up (each lost round is another change that won). */
const MAX_UPDATE_ATTEMPTS = 50;

/** How a use case labels its audit event (an edge names its protocol action and what was sent). */
export interface AuditOpts {
  readonly action?: string;
  readonly detail?: Record<string, unknown>;
}

/** A page of a SCIM-style query: the members and the total number matching. */
export interface MemberSearchResult {
  readonly totalResults: number;
  readonly members: Member[];
}

/** Fields Entra owns on a SCIM-provisioned member: apps and members may not change them. */
const ENTRA_OWNED_EXEMPT = new Set<keyof MemberData>(['metadata']);

/** Apps, console admins and members: they may not change what Entra (SCIM) owns. */
function defersToEntra(actor: Actor): boolean {
  return actor.kind === 'api_key' || actor.kind === 'member' || actor.kind === 'admin';
}

export function sourceOf(actor: Actor): MemberSource {
  return actor.kind === 'scim' ? 'scim' : actor.kind === 'import' ? 'import' : 'admin';
}

/** What the database adds to a member it writes: the version and the times (the rest the caller knows). */
interface StampRow {
  version: number;
  created_at: string | Date;
  updated_at: string | Date;
}
const STAMP_COLUMNS = 'version, created_at, updated_at';

function stamped(data: MemberData, who: Pick<Member, 'id' | 'organizationId' | 'source'>, row: StampRow): Member {
  return { ...data, id: who.id, organizationId: who.organizationId, source: who.source, version: row.version, createdAt: toDate(row.created_at), updatedAt: toDate(row.updated_at) };
}

/** The create statement: the member and its audit event (built once). */
const CREATE_SQL = `with audit as (${auditInsertSql(undefined)})
  insert into members (organization_id, id, source, ${WRITABLE_COLUMNS.join(', ')})
  values (?, ?, ?, ${WRITABLE_PLACEHOLDERS.join(', ')}) returning ${STAMP_COLUMNS}`;

type ActiveFlip = 'none' | 'activated' | 'deactivated';

/**
 * The conditional update (see update()), one per kind of change: when
 * `active` flips the statement also writes the access feed and, on
 * deactivation, ends the member's sessions at once.
 */
function buildUpdateSql(flip: ActiveFlip): string {
  const access =
    flip === 'none'
      ? ''
      : `, feed as (insert into access_changes (organization_id, kind, member_id) select organization_id, ?, id from upd)
         ${flip === 'activated' ? '' : ', ended as (delete from sessions where organization_id = ? and member_id = (select id from upd))'}`;
  return `with upd as (
       update members set (${WRITABLE_COLUMNS.join(', ')}) = (${WRITABLE_PLACEHOLDERS.join(', ')}),
         version = version + 1, updated_at = now()
       where organization_id = ? and id = ? and version = ? returning id, organization_id, ${STAMP_COLUMNS}
     ),
     audit as (${auditInsertSql('upd')})${access}
     select ${STAMP_COLUMNS} from upd`;
}
const UPDATE_SQL: Record<ActiveFlip, string> = { none: buildUpdateSql('none'), activated: buildUpdateSql('activated'), deactivated: buildUpdateSql('deactivated') };

export class MemberService {
  constructor(private readonly db: Db) {}

  async create(actor: Actor, input: MemberInput, opts: AuditOpts = {}): Promise<Member> {
    requireDirectoryWriter(actor);
    const data = memberDataFrom(input);
    validateMemberData(data);
    const id = crypto.randomUUID();
    // One statement: the member and its audit event commit together (a CTE), in one round trip.
    // The log keeps what the edge says was sent (Entra's request), else the member as stored.
    const audit = auditInsert(actor, {
      action: opts.action ?? 'member.create',
      resourceType: 'member',
      resourceId: id,
      resourceLabel: data.userName,
      detail: opts.detail ?? { member: data },
    });
    const source = sourceOf(actor);
    const row = await this.translate(data, () =>
      this.db.sql.one<StampRow>(
        CREATE_SQL,
        [...audit.params, actor.organizationId, id, source, ...writableValues(data)],
      ),
    );
    return stamped(data, { id, organizationId: actor.organizationId, source }, row);
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
      [actor.organizationId, valid],
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
   * Applies a change atomically: the current state is read, the next one
   * computed and validated, then written in ONE statement together with its
   * audit event (the difference), and, when `active` flips, the end of the
   * member's sessions and the access feed entry. The statement writes only if
   * the member still has the version that was read; otherwise another change
   * came first and this one is computed again from the new state. So changes
   * of one member apply one after the other and none is lost, in two
   * statements and no open transaction.
   */
  async update(actor: Actor, id: string, change: MemberChange, opts: AuditOpts = {}): Promise<Member> {
    requireDirectoryWriter(actor);
    if (!isUuid(id)) throw new NotFound('member', id);
    for (let attempt = 1; ; attempt++) {
      const row = await this.db.sql.maybeOne<MemberRow>(`select ${MEMBER_COLUMNS} from members where organization_id = ? and id = ?`, [actor.organizationId, id]);
      if (!row) throw new NotFound('member', id);
      const current = toMember(row);
      const before = memberDataOf(current);
      const next: MemberData = typeof change === 'function' ? change(before) : { ...before, ...change };
      validateMemberData(next);
      const diff = diffMemberData(before, next);
      const changed = Object.keys(diff) as (keyof MemberData)[];
      if (changed.length === 0) return current;
      this.checkOwnership(actor, current, changed);

      const audit = auditInsert(
        actor,
        { action: opts.action ?? 'member.update', resourceType: 'member', resourceId: id, resourceLabel: next.userName, detail: { ...opts.detail, changes: diff } },
        'upd',
      );
      const flip: ActiveFlip = before.active === next.active ? 'none' : next.active ? 'activated' : 'deactivated';
      const accessParams = flip === 'none' ? [] : flip === 'activated' ? ['member_activated'] : ['member_deactivated', actor.organizationId];
      const updated = await this.translate(next, () =>
        this.db.sql.maybeOne<StampRow>(UPDATE_SQL[flip], [...writableValues(next), actor.organizationId, id, current.version, ...audit.params, ...accessParams]),
      );
      if (updated) return stamped(next, current, updated);
      // Changed (or deleted) since it was read: read again. Each retry means another change succeeded.
      if (attempt >= MAX_UPDATE_ATTEMPTS) throw new Unavailable('member_busy', 'This member is being changed by many requests at once; retry shortly');
    }
  }

  async delete(actor: Actor, id: string, opts: AuditOpts = {}): Promise<void> {
    requireDirectoryWriter(actor);
    if (!isUuid(id)) throw new NotFound('member', id);
    await this.db.transaction(async (tx) => {
      const row = await tx.maybeOne<{ user_name: string; source: MemberSource }>(
        `delete from members where organization_id = ? and id = ? returning user_name, source`,
        [actor.organizationId, id],
      );
      if (!row) throw new NotFound('member', id);
      if (row.source === 'scim' && defersToEntra(actor)) {
        throw new Forbidden('managed_by_scim', 'This member is provisioned by Entra (SCIM); remove it there');
      }
      await recordAccessChange(tx, actor.organizationId, { kind: 'member_deleted', memberId: id });
      await writeAudit(tx, actor, { action: opts.action ?? 'member.delete', resourceType: 'member', resourceId: id, resourceLabel: row.user_name, detail: opts.detail });
    });
  }

  async list(actor: Actor, q: MemberListQuery = {}): Promise<MemberPage> {
    requireDirectoryReader(actor);
    const first = pageSize(q.first, 50, 0, MAX_PAGE_SIZE);
    const where: string[] = ['m.organization_id = ?'];
    const params: (string | boolean | number)[] = [actor.organizationId];
    if (q.text !== undefined && q.text !== '') {
      if (typeof q.text !== 'string' || q.text.length > 1024 || q.text.includes('\u0000')) throw new Invalid('invalid_value', 'text must be a string of at most 1024 characters', 'text');
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
    const cursor = q.after ? decodeCursor(q.after) : undefined;
    // Relations as JSON per member, evaluated after the limit (same statement).
    const relGroups = q.include?.groups
      ? `, (select coalesce(json_agg(${GROUP_JSON} order by lower(g.display_name), g.id), '[]') from group_members gm
           join groups g on g.organization_id = gm.organization_id and g.id = gm.group_id
           where gm.organization_id = mm.organization_id and gm.member_id = mm.id) as rel_groups`
      : '';
    const relShares = q.include?.shares
      ? `, (select coalesce(json_agg(${SHARE_TARGET_JSON} order by s.id), '[]') from shares s
           left join locks l on l.organization_id = s.organization_id and l.id = s.lock_id
           left join places p on p.organization_id = s.organization_id and p.id = coalesce(s.place_id, l.place_id)
           where s.organization_id = mm.organization_id and s.member_id = mm.id) as rel_shares`
      : '';
    // One statement: the count of every match and, joined to it, the page
    // after the cursor (so an empty page still carries the total). The CTE is
    // inlined into both uses, so each keeps its own index plan.
    const rows = await this.db.sql.all<
      MemberRow & { sort_key: string | null; total: string; rel_groups?: Parameters<typeof toGroup>[0][]; rel_shares?: ShareTargetRow[] }
    >(
      `with matched as not materialized (select ${memberColumns('m')}, ${key} as sort_key from members m where ${where.join(' and ')})
       select p.*, t.total from (select count(*) as total from matched) t
       left join lateral (
         select mm.*${relGroups}${relShares} from (
           select * from matched ${cursor ? 'where (sort_key, id) > (?, ?::uuid)' : ''} order by sort_key, id limit ${first + 1}
         ) mm order by mm.sort_key, mm.id
       ) p on true
       order by p.sort_key, p.id`,
      cursor ? [...params, cursor.key, cursor.id] : params,
    );
    const found = rows.filter((r) => r.id !== null);
    const page = found.slice(0, first);
    let relations: MemberPageRelations | undefined;
    if (q.include?.groups || q.include?.shares) {
      const targets = sharesWithTargets(q.include.shares ? page.flatMap((r) => r.rel_shares ?? []) : []);
      const shares = new Map<string, Share[]>(page.map((r) => [r.id, []]));
      for (const s of targets.shares) if (s.memberId) shares.get(s.memberId)?.push(s);
      relations = {
        groups: q.include.groups ? new Map(page.map((r) => [r.id, (r.rel_groups ?? []).map(toGroup)])) : undefined,
        shares: q.include.shares ? shares : undefined,
        locks: targets.locks,
        places: targets.places,
      };
    }
    return {
      members: page.map(toMember),
      hasNextPage: found.length > first,
      totalCount: Number(rows[0]?.total ?? 0),
      cursors: page.map((r) => encodeCursor(r.sort_key!, r.id)),
      relations,
    };
  }

  /** Filter (SCIM AST compiled to SQL), sort and 1-based offset paging, in one statement. */
  async search(actor: Actor, q: ResourceQuery): Promise<MemberSearchResult> {
    requireDirectoryReader(actor);
    const params = new SqlParams();
    const where = [`m.organization_id = ${params.add(actor.organizationId)}`];
    if (q.filter) where.push(compileFilter(q.filter, memberAttributes, params));
    // The count reads the filter's parameters only (those come first).
    const whereParams = [...params.values];
    const count = Math.min(Math.max(q.count, 0), MAX_PAGE_SIZE * 2);
    if (count === 0) {
      const row = await this.db.sql.one<{ n: string }>(`select count(*)::text as n from members m where ${where.join(' and ')}`, whereParams);
      return { totalResults: Number(row.n), members: [] };
    }
    let order = 'm.created_at, m.id';
    if (q.sort) order = `${leafSql(compileSort(q.sort.path, memberAttributes), params)} ${q.sort.descending ? 'desc' : 'asc'} nulls last, m.id`;
    const offset = Math.max(q.startIndex, 1) - 1;
    // With a filter, the matches are found first (by the filter's own index, e.g. lower(user_name))
    // and only then sorted: otherwise the planner walks the created_at index of the whole
    // organisation to satisfy ORDER BY … LIMIT, and Entra's `userName eq` lookups grow with it.
    const rows = await this.db.sql.all<MemberRow & { total: string }>(
      q.filter
        ? `with m as materialized (select ${memberColumns('m')} from members m where ${where.join(' and ')})
           select m.*, count(*) over () as total from m order by ${order} limit ${count} offset ${offset}`
        : `select ${memberColumns('m')}, count(*) over () as total from members m where ${where.join(' and ')}
           order by ${order} limit ${count} offset ${offset}`,
      params.values,
    );
    let total = rows[0] ? Number(rows[0].total) : 0;
    if (rows.length === 0 && offset > 0) {
      total = Number((await this.db.sql.one<{ n: string }>(`select count(*)::text as n from members m where ${where.join(' and ')}`, whereParams)).n);
    }
    return { totalResults: total, members: rows.map(toMember) };
  }

  /** Entra owns SCIM-provisioned members: apps may only change their metadata. */
  private checkOwnership(actor: Actor, member: Member, changed: (keyof MemberData)[]): void {
    if (member.source !== 'scim' || !defersToEntra(actor)) return;
    const owned = changed.filter((f) => !ENTRA_OWNED_EXEMPT.has(f));
    if (owned.length > 0) {
      throw new Forbidden('field_owned_by_entra', `This member is provisioned by Entra (SCIM); change ${owned.join(', ')} in Entra`, { fields: owned });
    }
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
