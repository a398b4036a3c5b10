// Writes the access change feed (see the access_changes table): one row for
// every change of who may open which lock, in the transaction of the change.
import { requireDirectoryReader, type Actor } from '../actor.js';
import type { Db, Sql } from '../db.js';
import { toDate } from '../rows.js';
import { Invalid } from '../errors.js';

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
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [organizationId, c.kind, c.memberId ?? null, c.groupId ?? null, c.shareId ?? null, c.placeId ?? null, c.lockId ?? null, c.validFrom ?? null, c.validUntil ?? null],
  );
}

// ---- reading the feed ----------------------------------------------------

export interface AccessChange {
  /** Opaque position of this entry: pass it as `after` to read what follows. */
  readonly cursor: string;
  readonly at: Date;
  readonly kind: AccessChangeKind;
  readonly memberId: string | null;
  readonly groupId: string | null;
  readonly shareId: string | null;
  readonly placeId: string | null;
  readonly lockId: string | null;
  readonly validFrom: Date | null;
  readonly validUntil: Date | null;
}

export interface AccessChangePage {
  readonly changes: AccessChange[];
  readonly hasNextPage: boolean;
  /** Where the next read starts; the `after` given when the page is empty. */
  readonly endCursor: string | null;
}

export const MAX_FEED_PAGE = 1000;

interface AccessChangeRow {
  id: string;
  txid: string;
  at: string;
  kind: AccessChangeKind;
  member_id: string | null;
  group_id: string | null;
  share_id: string | null;
  place_id: string | null;
  lock_id: string | null;
  valid_from: string | null;
  valid_until: string | null;
}

function encodeFeedCursor(txid: string, id: string): string {
  return Buffer.from(`${txid}:${id}`).toString('base64url');
}

const MAX_XID8 = 2n ** 64n - 1n;
const MAX_BIGINT = 2n ** 63n - 1n;

function decodeFeedCursor(cursor: string): { txid: string; id: string } {
  const m = /^(\d{1,20}):(\d{1,19})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  // In range too: a number past xid8 or bigint would be PostgreSQL's error (a 5xx), not the caller's.
  if (!m || BigInt(m[1]!) > MAX_XID8 || BigInt(m[2]!) > MAX_BIGINT) throw new Invalid('invalid_cursor', 'The cursor is not one this feed handed out', 'after');
  return { txid: m[1]!, id: m[2]! };
}

/**
 * Reads the feed in commit-safe order. Rows are ordered by (transaction id,
 * id) and only rows of transactions older than every transaction still
 * running (`pg_snapshot_xmin`) are returned: a transaction that started
 * earlier but commits later can therefore never land behind a cursor already
 * handed out. The price is a short delay while a long transaction runs.
 */
export async function listAccessChanges(db: Db, actor: Actor, after: string | null | undefined, first = 100): Promise<AccessChangePage> {
  requireDirectoryReader(actor);
  if (!Number.isInteger(first) || first < 1 || first > MAX_FEED_PAGE) {
    throw new Invalid('invalid_page_size', `first must be between 1 and ${MAX_FEED_PAGE}`, 'first');
  }
  const from = after ? decodeFeedCursor(after) : { txid: '0', id: '0' };
  const rows = await db.sql.all<AccessChangeRow>(
    // ORDER BY names the table's columns (c.txid, c.id), not the `::text` output columns of the same
    // names: ordered as text, the rows went out of step with the numeric cursor once an id or a
    // transaction id crossed a power of ten, and paging skipped and repeated entries.
    `select c.id::text as id, c.txid::text as txid, c.at, c.kind, c.member_id, c.group_id, c.share_id, c.place_id, c.lock_id, c.valid_from, c.valid_until
     from access_changes c
     where c.organization_id = $1 and c.txid < pg_snapshot_xmin(pg_current_snapshot()) and (c.txid, c.id) > ($2::xid8, $3::bigint)
     order by c.txid, c.id limit ${first + 1}`,
    [actor.organizationId, from.txid, from.id],
  );
  const page = rows.slice(0, first);
  const changes = page.map((r) => ({
    cursor: encodeFeedCursor(r.txid, r.id),
    at: toDate(r.at),
    kind: r.kind,
    memberId: r.member_id,
    groupId: r.group_id,
    shareId: r.share_id,
    placeId: r.place_id,
    lockId: r.lock_id,
    validFrom: toDate(r.valid_from),
    validUntil: toDate(r.valid_until),
  }));
  return { changes, hasNextPage: rows.length > first, endCursor: changes.at(-1)?.cursor ?? after ?? null };
}
