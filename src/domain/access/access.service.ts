// Effective access, the product's core question: which locks may a member
// open, and who may open a lock, at a given time. A member's access is its own
// shares plus the shares of its groups, only while the member is active and
// the share's validity window is open; a share on a place covers its locks.
// Each question is one SQL statement, whatever the number of groups or shares.
import { requireDirectoryReader, type Actor } from '../actor.js';
import type { Db } from '../db.js';
import { toDate } from '../rows.js';
import { Forbidden, Invalid, NotFound } from '../errors.js';
import { isUuid } from '../ids.js';
import { toMember, type Member } from '../member/member.model.js';
import type { ShareRole } from '../share/share.model.js';
import { fromIdCursor, idCursor, pageOf, pageSize, type Page } from '../paging.js';
import * as accessSql from './access.sql.js';
import type { GrantRow } from './access.sql.js';
import {
  listAccessChanges,
  purgeAccessFeed,
  readLockEntries,
  readEntriesAfter,
  readHead,
  readLockSnapshot,
  type AccessChangePage,
  type LockAccessEntry,
  type LockAccessPage,
  type LockScope,
  type LockSnapshot,
} from './access-feed.js';

/** Why a member may open a lock: one share, direct or through one group. */
export interface Grant {
  readonly shareId: string;
  readonly role: ShareRole;
  /** The share targets the lock's place (covering its locks) or the lock itself. */
  readonly scope: 'place' | 'lock';
  readonly groupId: string | null;
  readonly groupName: string | null;
  readonly validFrom: Date | null;
  readonly validUntil: Date | null;
}

export interface LockAccess {
  readonly lockId: string;
  readonly lockName: string;
  readonly placeId: string;
  readonly placeName: string;
  readonly grants: Grant[];
}

export interface MemberAccess {
  readonly member: Member;
  readonly grants: Grant[];
}

export type AccessDecisionReason = 'granted' | 'member_inactive' | 'no_share' | 'outside_validity_window';

export interface AccessDecision {
  readonly allowed: boolean;
  readonly reason: AccessDecisionReason;
  readonly grants: Grant[];
}

function toGrant(r: GrantRow): Grant {
  return {
    shareId: r.share_id,
    role: r.role,
    scope: r.scope,
    groupId: r.group_id,
    groupName: r.group_name,
    validFrom: toDate(r.valid_from),
    validUntil: toDate(r.valid_until),
  };
}

/** An ILIKE pattern for part of a userName or display name (null: no filter). */
function textLike(text: string | undefined): string | null {
  const t = text?.trim() ?? '';
  if (t === '') return null;
  if (t.length > 200 || t.includes('\u0000')) throw new Invalid('too_long', 'Search for at most 200 characters', 'text');
  return `%${t.replace(/[\\%_]/g, '\\$&')}%`;
}

function checkAt(at: Date): Date {
  if (!(at instanceof Date) || Number.isNaN(at.getTime())) throw new Invalid('invalid_date', '`at` is not a valid date', 'at');
  return at;
}

/**
 * The instant a whoCanOpen read answers for (`at`, or now when none), and
 * whether the lock's allow-list can answer it: only for now or later (it
 * knows nothing of the past); an earlier instant is read from the shares.
 */
function whoInstant(at: Date | undefined): { when: Date; fromState: boolean } {
  const now = Date.now();
  const when = checkAt(at ?? new Date(now));
  return { when, fromState: when.getTime() >= now };
}

/** At most this many locks and places in one snapshot or subscription. */
export const MAX_SCOPE = 100;

function checkScope(scope: LockScope): LockScope {
  const lockIds = [...new Set(scope.lockIds)];
  const placeIds = [...new Set(scope.placeIds)];
  if (lockIds.length + placeIds.length === 0 || lockIds.length + placeIds.length > MAX_SCOPE) {
    throw new Invalid('locks_required', `Name between 1 and ${MAX_SCOPE} locks or places`, 'lockIds');
  }
  for (const id of lockIds) if (!isUuid(id)) throw new NotFound('lock', id);
  for (const id of placeIds) if (!isUuid(id)) throw new NotFound('place', id);
  return { lockIds, placeIds };
}

export class AccessService {
  constructor(private readonly db: Db) {}

  /** The access change feed after `after`, in commit order (see listAccessChanges). */
  async changes(actor: Actor, after?: string | null, first?: number): Promise<AccessChangePage> {
    return listAccessChanges(this.db, actor, after, first);
  }

  /**
   * Per-lock entries of these locks and places after `after` (a cursor of
   * either feed or of a snapshot), in commit order: each says which member
   * may now open which lock, or no longer.
   */
  async lockChanges(actor: Actor, scope: LockScope, after?: string | null, first = 100): Promise<LockAccessPage> {
    return readLockEntries(this.db.lagTolerant, actor.organizationId, await this.lockReader(actor, scope), after, first);
  }

  /**
   * Who may read these locks' allow-lists and changes: directory readers,
   * and a controller key for the locks and places it was given (a lock of one
   * of its places counts). Returns the checked scope.
   */
  async lockReader(actor: Actor, scope: LockScope): Promise<LockScope> {
    const checked = checkScope(scope);
    if (actor.kind !== 'api_key' || actor.role !== 'controller') {
      requireDirectoryReader(actor);
      return checked;
    }
    const own = actor.scope ?? { lockIds: [], placeIds: [] };
    const place = checked.placeIds.find((p) => !own.placeIds.includes(p));
    if (place) throw new Forbidden('lock_not_in_scope', 'This controller key was not given this place', { placeId: place });
    const locks = checked.lockIds.filter((l) => !own.lockIds.includes(l));
    if (locks.length > 0) {
      const outside = await accessSql.selectLockOutsidePlaces(this.db.sql, actor.organizationId, locks, own.placeIds);
      if (outside) throw new Forbidden('lock_not_in_scope', 'This controller key was not given this lock', { lockId: outside });
    }
    return checked;
  }

  /**
   * The complete allow-lists of these locks (and of the locks of these
   * places) with the cursor at which they are exact: a controller starts
   * from nothing here, then follows the changes after that cursor.
   */
  async lockSnapshot(actor: Actor, scope: LockScope): Promise<LockSnapshot> {
    return readLockSnapshot(this.db.lagTolerant, actor.organizationId, await this.lockReader(actor, scope));
  }

  /** The organisation's current feed position (where a subscription without a cursor starts). */
  async head(actor: Actor): Promise<bigint> {
    return readHead(this.db.sql, actor.organizationId);
  }

  /**
   * Every per-lock entry of an organisation after a position: what one
   * process reads once per change to push to all its subscribers (each
   * checked with lockReader when it subscribed).
   */
  async entriesAfter(organizationId: string, after: bigint, first = 1000): Promise<(LockAccessEntry & { position: bigint })[]> {
    return readEntriesAfter(this.db.sql, organizationId, after, first);
  }

  /** Retention: deletes feed entries older than `days` (see purgeAccessFeed); returns how many. */
  async purgeFeed(days: number): Promise<number> {
    return purgeAccessFeed(this.db, days);
  }

  /** Every lock the member may open at `at`, with the grants that allow it. */
  async accessOf(actor: Actor, memberId: string, at: Date = new Date()): Promise<LockAccess[]> {
    if (actor.kind === 'member') {
      if (actor.id !== memberId) throw new NotFound('member', memberId);
    } else requireDirectoryReader(actor);
    if (!isUuid(memberId)) throw new NotFound('member', memberId);
    const found = await this.accessOfMany(actor, [memberId], at);
    const access = found.get(memberId);
    if (!access) throw new NotFound('member', memberId);
    return access;
  }

  /**
   * The access of several members at `at` in one statement, whatever their
   * number (GraphQL's `Member.access` on a page). Members not found (or not
   * visible to the actor) are absent from the map.
   */
  async accessOfMany(actor: Actor, memberIds: readonly string[], at: Date = new Date()): Promise<Map<string, LockAccess[]>> {
    if (actor.kind !== 'member') requireDirectoryReader(actor);
    checkAt(at);
    // A signed-in member sees its own access only.
    const ids = [...new Set(memberIds.filter((id) => isUuid(id) && (actor.kind !== 'member' || id === actor.id)))];
    const result = new Map<string, LockAccess[]>();
    if (ids.length === 0) return result;
    // One statement: the member rows (to tell "unknown" from "no access") and their grants.
    const rows = await accessSql.selectAccessOfMembers(this.db.lagTolerant, actor.organizationId, ids, at);
    const byLock = new Map<string, Map<string, LockAccess>>();
    for (const r of rows) {
      let locks = byLock.get(r.member_id);
      if (!locks) byLock.set(r.member_id, (locks = new Map()));
      if (r.lock_id === null) continue;
      let entry = locks.get(r.lock_id);
      if (!entry) {
        entry = { lockId: r.lock_id, lockName: r.lock_name, placeId: r.place_id, placeName: r.place_name, grants: [] };
        locks.set(r.lock_id, entry);
      }
      entry.grants.push(toGrant(r));
    }
    for (const [memberId, locks] of byLock) result.set(memberId, [...locks.values()]);
    return result;
  }

  /**
   * Active members who may open the lock at `at`, ordered by member id,
   * `first` at a time after `after` (a cursor of an earlier page); each with
   * its grants. countWhoCanOpen counts them. Now (no `at`) or later: a
   * keyset walk of the lock's allow-list that stops at the page
   * (selectWhoCanOpenFromState); an earlier `at`: from the shares.
   */
  async whoCanOpen(
    actor: Actor,
    lockId: string,
    at?: Date,
    page: { after?: string; first?: number; text?: string } = {},
  ): Promise<Page<MemberAccess>> {
    requireDirectoryReader(actor);
    if (!isUuid(lockId)) throw new NotFound('lock', lockId);
    const { when, fromState } = whoInstant(at);
    const like = textLike(page.text);
    const first = pageSize(page.first, 100, 1, 1000);
    const afterId = fromIdCursor(page.after) ?? '00000000-0000-0000-0000-000000000000';
    const select = fromState ? accessSql.selectWhoCanOpenFromState : accessSql.selectWhoCanOpen;
    const rows = await select(this.db.lagTolerant, actor.organizationId, lockId, when, { afterId, limit: first + 1, like });
    if (rows.length === 0) throw new NotFound('lock', lockId);
    const members = rows.filter((r) => r.id !== null);
    return pageOf(
      members,
      first,
      (r) => ({ member: toMember(r), grants: (r.grants ?? []).map(toGrant) }),
      (r) => idCursor(r.id),
    );
  }

  /**
   * How many active members may open the lock at `at` (whoCanOpen's
   * totalCount), optionally matching `text`. Now (no `at`) or later: counted
   * in the lock's allow-list (countWhoCanOpenFromState); an earlier `at`:
   * from the shares.
   */
  async countWhoCanOpen(actor: Actor, lockId: string, at?: Date, text?: string): Promise<number> {
    requireDirectoryReader(actor);
    if (!isUuid(lockId)) throw new NotFound('lock', lockId);
    const { when, fromState } = whoInstant(at);
    const like = textLike(text);
    const count = fromState ? accessSql.countWhoCanOpenFromState : accessSql.countWhoCanOpen;
    return count(this.db.lagTolerant, actor.organizationId, lockId, when, like);
  }

  /** May this member open this lock at `at`, and why (not). */
  async canAccess(actor: Actor, memberId: string, lockId: string, at: Date = new Date()): Promise<AccessDecision> {
    if (actor.kind === 'member') {
      if (actor.id !== memberId) throw new NotFound('member', memberId);
    } else requireDirectoryReader(actor);
    if (!isUuid(memberId)) throw new NotFound('member', memberId);
    if (!isUuid(lockId)) throw new NotFound('lock', lockId);
    checkAt(at);
    // Every share of the member (direct or via groups) on the lock or its place, open or not.
    const rows = await accessSql.selectDecisionRows(this.db.lagTolerant, actor.organizationId, memberId, lockId, at);
    const member = rows.find((r) => r.kind === 'member');
    if (!member) throw new NotFound('member', memberId);
    if (!rows.some((r) => r.kind === 'lock')) throw new NotFound('lock', lockId);
    const grants = rows.filter((r) => r.kind === 'grant');
    const open = grants.filter((r) => r.open).map(toGrant);
    if (!member.active) return { allowed: false, reason: 'member_inactive', grants: [] };
    if (grants.length === 0) return { allowed: false, reason: 'no_share', grants: [] };
    if (open.length === 0) return { allowed: false, reason: 'outside_validity_window', grants: grants.map(toGrant) };
    return { allowed: true, reason: 'granted', grants: open };
  }
}
