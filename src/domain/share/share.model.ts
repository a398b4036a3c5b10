// Shares: their shape and row mapping.
import { toDate } from '../rows.js';
import { toLock, toPlace, type Lock, type Place } from '../place/place.model.js';

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

/** Which shares a list or count covers: every given grantee or target must match. */
export interface ShareFilter {
  readonly memberId?: string;
  readonly groupId?: string;
  readonly placeId?: string;
  readonly lockId?: string;
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
