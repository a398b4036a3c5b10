// Shares: a role on a place (covering all its locks) or on one lock, granted
// to a member or a group, optionally only within a validity window.
import crypto from 'node:crypto';
import { requireAdmin, requireDirectoryReader, type Actor } from '../actor.js';
import type { Db, Sql } from '../db.js';
import { isForeignKeyViolation, violatedConstraint } from '../db-errors.js';
import { Invalid, NotFound } from '../errors.js';
import { isUuid } from '../ids.js';
import { writeAudit } from '../audit/audit.service.js';
import { recordAccessChange } from '../access/access-feed.js';
import { fromIdCursor, idCursor, pageOf, pageSize, type Page } from '../paging.js';
import type { Lock, Place } from '../place/place.model.js';
import { SHARE_ROLES, type Share, type ShareFilter, type ShareInput, type ShareRole } from './share.model.js';
import * as shareSql from './share.sql.js';

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

/** A filter id that is no uuid matches no share. */
function filterIsValid(f: ShareFilter): boolean {
  return [f.memberId, f.groupId, f.placeId, f.lockId].every((v) => v === undefined || isUuid(v));
}

/**
 * What a grant or a revoke writes with it: the access change (a grant with its
 * validity window; a revoke ends the share, so it names none) and the audit event.
 */
async function recorded(tx: Sql, actor: Actor, change: 'grant' | 'revoke', share: Share): Promise<void> {
  await recordAccessChange(tx, actor.organizationId, {
    kind: change === 'grant' ? 'share_granted' : 'share_revoked',
    shareId: share.id,
    memberId: share.memberId,
    groupId: share.groupId,
    placeId: share.placeId,
    lockId: share.lockId,
    ...(change === 'grant' ? { validFrom: share.validFrom, validUntil: share.validUntil } : {}),
  });
  await writeAudit(tx, actor, { action: `share.${change}`, resourceType: 'share', resourceId: share.id, detail: { share: { ...share, organizationId: undefined } } });
}

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
    let share: Share;
    try {
      share = await shareSql.insertShare(tx, {
        organizationId: actor.organizationId,
        id: crypto.randomUUID(),
        memberId: input.memberId ?? null,
        groupId: input.groupId ?? null,
        placeId: input.placeId ?? null,
        lockId: input.lockId ?? null,
        role: (input.role ?? 'user') as ShareRole,
        validFrom: input.validFrom ?? null,
        validUntil: input.validUntil ?? null,
        source: opts.source ?? 'admin',
        sourceRef: opts.sourceRef ?? null,
      });
    } catch (e) {
      if (isForeignKeyViolation(e)) {
        // The violated foreign key names the grantee or target that is not this organisation's.
        const kind = shareSql.SHARE_TARGET_OF_CONSTRAINT[violatedConstraint(e) ?? ''] ?? 'place';
        const id = { member: input.memberId, group: input.groupId, lock: input.lockId, place: input.placeId }[kind] ?? '';
        throw new NotFound(kind, id);
      }
      throw e;
    }
    await recorded(tx, actor, 'grant', share);
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
    const revoked = await shareSql.deleteShares(tx, actor.organizationId, ids);
    for (const s of revoked) await recorded(tx, actor, 'revoke', s);
    return revoked;
  }

  /** A page of shares matching the filter, ordered by id (`first` 0–1000, default 100; `after` a cursor of an earlier page). */
  async list(actor: Actor, f: ShareFilter = {}, opts: { after?: string; first?: number } = {}): Promise<Page<Share>> {
    requireDirectoryReader(actor);
    const first = pageSize(opts.first, 100, 0, 1000);
    const afterId = fromIdCursor(opts.after);
    if (first === 0 || !filterIsValid(f)) return { items: [], cursors: [], hasNextPage: false };
    const rows = await shareSql.selectShares(this.db.lagTolerant, actor.organizationId, { ...f, afterId }, first + 1);
    return pageOf(rows, first, (s) => s, (s) => idCursor(s.id));
  }

  /** How many shares match the filter of `list` (over all pages). */
  async count(actor: Actor, f: ShareFilter = {}): Promise<number> {
    requireDirectoryReader(actor);
    if (!filterIsValid(f)) return 0;
    return shareSql.countShares(this.db.lagTolerant, actor.organizationId, f);
  }

  /**
   * Shares granted directly to these members with the lock and place each
   * targets (for a lock share, the lock's place), in one statement: a page
   * of members with `shares { lock { place } }` costs one statement, not three.
   */
  async forMembersWithTargets(actor: Actor, memberIds: readonly string[]): Promise<{ shares: Share[]; locks: Lock[]; places: Place[] }> {
    // A signed-in member may read its own shares (`viewer { shares }`), nobody else's.
    if (!(actor.kind === 'member' && memberIds.every((id) => id === actor.id))) requireDirectoryReader(actor);
    const m = memberIds.filter(isUuid);
    if (m.length === 0) return { shares: [], locks: [], places: [] };
    return shareSql.selectMemberSharesWithTargets(this.db.lagTolerant, actor.organizationId, m);
  }

  /** Shares granted to any of these members or groups, in one statement (DataLoader). */
  async forGrantees(actor: Actor, memberIds: readonly string[], groupIds: readonly string[]): Promise<Share[]> {
    requireDirectoryReader(actor);
    const m = memberIds.filter(isUuid);
    const g = groupIds.filter(isUuid);
    if (m.length + g.length === 0) return [];
    return shareSql.selectSharesOfGrantees(this.db.lagTolerant, actor.organizationId, m, g);
  }
}
