// Shares: a role on a place (covering all its locks) or on one lock, granted
// to a member or a group, optionally only within a validity window.
import crypto from 'node:crypto';
import { requireAdmin, requireDirectoryReader, type Actor } from '../actor.js';
import type { Db, Sql } from '../db.js';
import { isForeignKeyViolation, violatedConstraint } from '../db-errors.js';
import { toDate } from '../rows.js';
import { Invalid, NotFound } from '../errors.js';
import { isUuid } from '../ids.js';
import { writeAudit } from '../audit/audit.service.js';
import { recordAccessChange } from '../access/access-feed.js';
import { pageSize } from '../paging.js';
import { toLock, toPlace, type Lock, type Place } from '../place/place.service.js';

export type ShareRole = 'user' | 'manager' | 'administrator';
export const SHARE_ROLES: readonly ShareRole[] = ['user', 'manager', 'administrator'];

export interface Share {
  readonly id: string;
  readonly organizationId: string;
  readonly memberId: string | null;
  readonly groupId: string | null;
  readonly placeId: string | null;
  readonly lockId: string | null;
  readonly role: ShareRole;
  readonly validFrom: Date | null;
  readonly validUntil: Date | null;
  readonly source: 'admin' | 'import' | 'scim';
  readonly createdAt: Date;
}

export interface ShareInput {
  readonly memberId?: string | null;
  readonly groupId?: string | null;
  readonly placeId?: string | null;
  readonly lockId?: string | null;
  readonly role?: string;
  readonly validFrom?: Date | null;
  readonly validUntil?: Date | null;
}

export interface ShareFilter {
  readonly memberId?: string;
  readonly groupId?: string;
  readonly placeId?: string;
  readonly lockId?: string;
  readonly afterId?: string;
  readonly first?: number;
}

export interface ShareRow {
  organization_id: string;
  id: string;
  member_id: string | null;
  group_id: string | null;
  place_id: string | null;
  lock_id: string | null;
  role: ShareRole;
  valid_from: string | null;
  valid_until: string | null;
  source: 'admin' | 'import' | 'scim';
  created_at: string;
}

/** A share row with the lock and place it targets (l_* and p_* columns, null when none). */
export type ShareTargetRow = ShareRow & {
  l_id: string | null;
  l_place_id: string;
  l_name: string;
  l_created_at: string;
  p_id: string | null;
  p_name: string;
  p_address: string | null;
  p_time_zone: string | null;
  p_created_at: string;
};

/**
 * JSON object of a share with its targets, for json_agg in a subselect over
 * `shares s left join locks l ... left join places p ...` (same keys as ShareTargetRow).
 */
export const SHARE_TARGET_JSON = `json_build_object('organization_id', s.organization_id, 'id', s.id, 'member_id', s.member_id, 'group_id', s.group_id,
  'place_id', s.place_id, 'lock_id', s.lock_id, 'role', s.role, 'valid_from', s.valid_from, 'valid_until', s.valid_until, 'source', s.source,
  'created_at', s.created_at, 'l_id', l.id, 'l_place_id', l.place_id, 'l_name', l.name, 'l_created_at', l.created_at,
  'p_id', p.id, 'p_name', p.name, 'p_address', p.address, 'p_time_zone', p.time_zone, 'p_created_at', p.created_at)`;

export function sharesWithTargets(rows: readonly ShareTargetRow[]): { shares: Share[]; locks: Lock[]; places: Place[] } {
  const locks = new Map<string, Lock>();
  const places = new Map<string, Place>();
  for (const r of rows) {
    if (r.l_id) locks.set(r.l_id, toLock({ organization_id: r.organization_id, id: r.l_id, place_id: r.l_place_id, name: r.l_name, created_at: r.l_created_at }));
    if (r.p_id) {
      places.set(r.p_id, toPlace({ organization_id: r.organization_id, id: r.p_id, name: r.p_name, address: r.p_address, time_zone: r.p_time_zone, created_at: r.p_created_at }));
    }
  }
  return { shares: rows.map(toShare), locks: [...locks.values()], places: [...places.values()] };
}

export const SHARE_COLUMNS = 'organization_id, id, member_id, group_id, place_id, lock_id, role, valid_from, valid_until, source, created_at';

export function toShare(r: ShareRow): Share {
  return {
    id: r.id,
    organizationId: r.organization_id,
    memberId: r.member_id,
    groupId: r.group_id,
    placeId: r.place_id,
    lockId: r.lock_id,
    role: r.role,
    validFrom: toDate(r.valid_from),
    validUntil: toDate(r.valid_until),
    source: r.source,
    createdAt: toDate(r.created_at),
  };
}

function validate(input: ShareInput): void {
  const grantees = [input.memberId, input.groupId].filter((v) => v != null);
  const targets = [input.placeId, input.lockId].filter((v) => v != null);
  if (grantees.length !== 1) throw new Invalid('one_grantee_required', 'Give exactly one of memberId or groupId', 'memberId');
  if (targets.length !== 1) throw new Invalid('one_target_required', 'Give exactly one of placeId or lockId', 'placeId');
  if (!SHARE_ROLES.includes((input.role ?? 'user') as ShareRole)) throw new Invalid('invalid_role', `role must be one of ${SHARE_ROLES.join(', ')}`, 'role');
  for (const [field, d] of [['validFrom', input.validFrom], ['validUntil', input.validUntil]] as const) {
    if (d != null && (!(d instanceof Date) || Number.isNaN(d.getTime()))) throw new Invalid('invalid_date', `${field} is not a valid date`, field);
  }
  if (input.validFrom && input.validUntil && input.validFrom >= input.validUntil) {
    throw new Invalid('invalid_window', 'validFrom must be before validUntil', 'validUntil');
  }
}

/** The shares table's foreign keys (migrations/), by the grantee or target each one checks. */
const SHARE_TARGET_OF_CONSTRAINT: Readonly<Record<string, 'member' | 'group' | 'place' | 'lock'>> = {
  shares_organization_id_member_id_fkey: 'member',
  shares_organization_id_group_id_fkey: 'group',
  shares_organization_id_place_id_fkey: 'place',
  shares_organization_id_lock_id_fkey: 'lock',
};

export class ShareService {
  constructor(private readonly db: Db) {}

  async grant(actor: Actor, input: ShareInput, opts: { source?: 'admin' | 'import'; sourceRef?: string } = {}): Promise<Share> {
    requireAdmin(actor);
    validate(input);
    for (const [kind, id] of [['member', input.memberId], ['group', input.groupId], ['place', input.placeId], ['lock', input.lockId]] as const) {
      if (id != null && !isUuid(id)) throw new NotFound(kind, id);
    }
    return this.db.transaction((tx) => this.grantIn(tx, actor, input, opts));
  }

  /** Grants inside a caller's transaction (the import grants many at once). */
  async grantIn(tx: Sql, actor: Actor, input: ShareInput, opts: { source?: 'admin' | 'import'; sourceRef?: string } = {}): Promise<Share> {
    let row: ShareRow;
    try {
      row = await tx.one<ShareRow>(
        `insert into shares (organization_id, id, member_id, group_id, place_id, lock_id, role, valid_from, valid_until, source, source_ref)
         values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) returning ${SHARE_COLUMNS}`,
        [
          actor.organizationId,
          crypto.randomUUID(),
          input.memberId ?? null,
          input.groupId ?? null,
          input.placeId ?? null,
          input.lockId ?? null,
          input.role ?? 'user',
          input.validFrom ?? null,
          input.validUntil ?? null,
          opts.source ?? 'admin',
          opts.sourceRef ?? null,
        ],
      );
    } catch (e) {
      if (isForeignKeyViolation(e)) {
        const kind = SHARE_TARGET_OF_CONSTRAINT[violatedConstraint(e) ?? ''] ?? 'place';
        const id = { member: input.memberId, group: input.groupId, lock: input.lockId, place: input.placeId }[kind] ?? '';
        throw new NotFound(kind, id);
      }
      throw e;
    }
    const share = toShare(row);
    await recordAccessChange(tx, actor.organizationId, {
      kind: 'share_granted',
      shareId: share.id,
      memberId: share.memberId,
      groupId: share.groupId,
      placeId: share.placeId,
      lockId: share.lockId,
      validFrom: share.validFrom,
      validUntil: share.validUntil,
    });
    await writeAudit(tx, actor, { action: 'share.grant', resourceType: 'share', resourceId: share.id, detail: { share: { ...share, organizationId: undefined } } });
    return share;
  }

  async revoke(actor: Actor, id: string): Promise<Share> {
    requireAdmin(actor);
    if (!isUuid(id)) throw new NotFound('share', id);
    return this.db.transaction(async (tx) => {
      const [share] = await this.revokeIn(tx, actor, [id]);
      if (!share) throw new NotFound('share', id);
      return share;
    });
  }

  /** Revokes shares by id inside a caller's transaction; returns those that existed. */
  async revokeIn(tx: Sql, actor: Actor, ids: string[]): Promise<Share[]> {
    if (ids.length === 0) return [];
    const rows = await tx.all<ShareRow>(`delete from shares where organization_id = ? and id = any(?::uuid[]) returning ${SHARE_COLUMNS}`, [
      actor.organizationId,
      ids,
    ]);
    for (const r of rows) {
      const s = toShare(r);
      await recordAccessChange(tx, actor.organizationId, {
        kind: 'share_revoked',
        shareId: s.id,
        memberId: s.memberId,
        groupId: s.groupId,
        placeId: s.placeId,
        lockId: s.lockId,
      });
      await writeAudit(tx, actor, { action: 'share.revoke', resourceType: 'share', resourceId: s.id, detail: { share: { ...s, organizationId: undefined } } });
    }
    return rows.map(toShare);
  }

  async list(actor: Actor, f: ShareFilter = {}): Promise<Share[]> {
    requireDirectoryReader(actor);
    const where = ['organization_id = ?'];
    const params: string[] = [actor.organizationId];
    for (const [col, v] of [['member_id', f.memberId], ['group_id', f.groupId], ['place_id', f.placeId], ['lock_id', f.lockId], ] as const) {
      if (v === undefined) continue;
      if (!isUuid(v)) return [];
      where.push(`${col} = ?`);
      params.push(v);
    }
    if (f.afterId && isUuid(f.afterId)) {
      where.push('id > ?');
      params.push(f.afterId);
    }
    const first = pageSize(f.first, 100, 1, 1000);
    const rows = await this.db.sql.all<ShareRow>(`select ${SHARE_COLUMNS} from shares where ${where.join(' and ')} order by id limit ${first}`, params);
    return rows.map(toShare);
  }

  /**
   * Shares granted directly to these members with the lock and place each
   * targets (for a lock share, the lock's place), in one statement: a page
   * of members with `shares { lock { place } }` costs one statement, not three.
   */
  async forMembersWithTargets(actor: Actor, memberIds: readonly string[]): Promise<{ shares: Share[]; locks: Lock[]; places: Place[] }> {
    requireDirectoryReader(actor);
    const m = memberIds.filter(isUuid);
    if (m.length === 0) return { shares: [], locks: [], places: [] };
    const rows = await this.db.sql.all<ShareTargetRow>(
      `select ${SHARE_COLUMNS.split(', ').map((c) => 's.' + c).join(', ')},
         l.id as l_id, l.place_id as l_place_id, l.name as l_name, l.created_at as l_created_at,
         p.id as p_id, p.name as p_name, p.address as p_address, p.time_zone as p_time_zone, p.created_at as p_created_at
       from shares s
       left join locks l on l.organization_id = s.organization_id and l.id = s.lock_id
       left join places p on p.organization_id = s.organization_id and p.id = coalesce(s.place_id, l.place_id)
       where s.organization_id = ? and s.member_id = any(?::uuid[]) order by s.id`,
      [actor.organizationId, m],
    );
    return sharesWithTargets(rows);
  }

  /** Shares granted to any of these members or groups, in one statement (DataLoader). */
  async forGrantees(actor: Actor, memberIds: readonly string[], groupIds: readonly string[]): Promise<Share[]> {
    requireDirectoryReader(actor);
    const m = memberIds.filter(isUuid);
    const g = groupIds.filter(isUuid);
    if (m.length + g.length === 0) return [];
    const rows = await this.db.sql.all<ShareRow>(
      `select ${SHARE_COLUMNS} from shares where organization_id = ? and (member_id = any(?::uuid[]) or group_id = any(?::uuid[])) order by id`,
      [actor.organizationId, m, g],
    );
    return rows.map(toShare);
  }
}
