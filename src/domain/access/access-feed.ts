// Writes the access change feed (see the access_changes table): one row for
// every change of who may open which lock, in the transaction of the change.
import type { Sql } from '../db.js';

export type AccessChangeKind =
  | 'share_granted'
  | 'share_revoked'
  | 'member_activated'
  | 'member_deactivated'
  | 'member_deleted'
  | 'group_member_added'
  | 'group_member_removed'
  | 'group_deleted'
  | 'lock_deleted'
  | 'place_deleted';

export interface AccessChangeInput {
  readonly kind: AccessChangeKind;
  readonly memberId?: string | null;
  readonly groupId?: string | null;
  readonly shareId?: string | null;
  readonly placeId?: string | null;
  readonly lockId?: string | null;
  readonly validFrom?: Date | null;
  readonly validUntil?: Date | null;
}

export async function recordAccessChange(sql: Sql, organizationId: string, c: AccessChangeInput): Promise<void> {
  await sql.run(
    `insert into access_changes (organization_id, kind, member_id, group_id, share_id, place_id, lock_id, valid_from, valid_until)
     values (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [organizationId, c.kind, c.memberId ?? null, c.groupId ?? null, c.shareId ?? null, c.placeId ?? null, c.lockId ?? null, c.validFrom ?? null, c.validUntil ?? null],
  );
}

/** One row per member of a batch (group membership changes), in one statement. */
export async function recordMembershipChanges(
  sql: Sql,
  organizationId: string,
  kind: 'group_member_added' | 'group_member_removed',
  groupId: string,
  memberIdsLiteral: string,
): Promise<void> {
  await sql.run(
    `insert into access_changes (organization_id, kind, group_id, member_id)
     select ?, ?, ?, m from unnest(?::uuid[]) as m`,
    [organizationId, kind, groupId, memberIdsLiteral],
  );
}
