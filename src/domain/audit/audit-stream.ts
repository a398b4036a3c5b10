// The audit trail read as a stream, in commit-safe order. Every audit event
// records the transaction that wrote it (txid). Readers go in (txid, id) order
// and only below the oldest transaction still running in this database (the
// fence, COMMIT_FENCE): a transaction that started earlier but commits later
// can therefore never land behind a position already handed out. The price is
// a delay while a long transaction of this database runs; transactions of
// other databases on the same server (another tenant database, a test run, a
// maintenance job) are left out. The audit export and the webhook and mail
// dispatchers all read through here.
import type { Sql } from '../db.js';
import { Invalid } from '../errors.js';
import type { AuditEvent } from './audit.service.js';
import { toAuditEvent, type AuditRow } from './audit.sql.js';

/** A position in one organisation's stream: just after the event (txid, id). */
export interface StreamPosition {
  readonly txid: string;
  readonly id: string;
}

export const STREAM_START: StreamPosition = { txid: '0', id: '0' };

export function comparePositions(a: StreamPosition, b: StreamPosition): number {
  const t = BigInt(a.txid) - BigInt(b.txid);
  if (t !== 0n) return t > 0n ? 1 : -1;
  const i = BigInt(a.id) - BigInt(b.id);
  return i === 0n ? 0 : i > 0n ? 1 : -1;
}

/** An audit event with its place in the stream. */
export interface StreamEvent extends AuditEvent {
  readonly position: StreamPosition;
  readonly requestId: string | null;
  readonly clientAddress: string | null;
}

const CURSOR_PREFIX = 'ae1.';

export function encodeStreamCursor(p: StreamPosition): string {
  return CURSOR_PREFIX + Buffer.from(`${p.txid}:${p.id}`).toString('base64url');
}

export function decodeStreamCursor(cursor: string, field = 'since'): StreamPosition {
  const m = cursor.startsWith(CURSOR_PREFIX) ? /^(\d{1,20}):(\d{1,19})$/.exec(Buffer.from(cursor.slice(CURSOR_PREFIX.length), 'base64url').toString('utf8')) : null;
  if (!m) throw new Invalid('invalid_cursor', 'The cursor is not one the audit export handed out', field);
  return { txid: m[1]!, id: m[2]! };
}

export const STREAM_COLUMNS = `a.id::text as id, a.txid::text as txid_text, a.at, a.actor_kind, a.actor_id, a.actor_label, a.action, a.outcome,
  a.resource_type, a.resource_id, a.resource_label, a.reason, a.detail, a.request_id, a.client_address`;

export type StreamRow = AuditRow & { txid_text: string; request_id: string | null; client_address: string | null };

export function toStreamEvent(r: StreamRow): StreamEvent {
  return { ...toAuditEvent(r), position: { txid: r.txid_text, id: r.id }, requestId: r.request_id, clientAddress: r.client_address };
}

export interface StreamRead {
  readonly events: StreamEvent[];
  /**
   * Every event before this position is committed and was visible to the
   * read: when `events` is empty, a reader may move its cursor here without
   * skipping anything.
   */
  readonly fence: StreamPosition;
}

const MAX_ID = '9223372036854775807';

/**
 * The fence as an SQL expression (xid8): the oldest transaction id still
 * running in this database, or the snapshot's xmax when none runs. Like
 * pg_snapshot_xmin(pg_current_snapshot()), but a transaction leaves the fence
 * only when pg_stat_activity names its backend in another database: an xid
 * whose backend is not found (it just ended, a prepared transaction, a
 * subtransaction, a row this role may not see) stays in, so a doubt can only
 * delay a reader, never let it pass a transaction of this database. Xids are
 * unique across the server and a backend never changes database, so naming is
 * sound whenever pg_stat_activity was read.
 */
export const COMMIT_FENCE = `(select coalesce(
    (select min(x) from pg_snapshot_xip(s.snap) x
      where not exists (select 1 from pg_stat_activity a where a.backend_xid = x::xid and a.datname is distinct from current_database())),
    pg_snapshot_xmax(s.snap))
  from (select pg_current_snapshot() as snap) s)`;

/**
 * The events of one organisation after `after`, committed and below the fence,
 * at most `limit`, with the fence itself (read in the same statement, from the
 * same snapshot). With `since`, only events at or after that time (the first
 * read of an export by date). Ordered by the table's columns, never by the
 * text casts of the select list (ordering by those would sort as text).
 */
export async function readAuditStream(
  sql: Sql,
  organizationId: string,
  after: StreamPosition,
  limit: number,
  opts: { since?: Date | null } = {},
): Promise<StreamRead> {
  const rows = await sql.all<StreamRow & { fence: string }>(
    `with f as (select ${COMMIT_FENCE} as x)
     select f.x::text as fence, e.* from f left join lateral (
       select ${STREAM_COLUMNS}, a.txid as o_txid, a.id as o_id from audit_events a
       where a.organization_id = $1 and a.txid < f.x and (a.txid, a.id) > ($2::xid8, $3::bigint) ${opts.since ? 'and a.at >= $4' : ''}
       order by a.txid, a.id limit ${Math.max(1, Math.floor(limit))}
     ) e on true
     order by e.o_txid, e.o_id`,
    opts.since ? [organizationId, after.txid, after.id, opts.since] : [organizationId, after.txid, after.id],
  );
  const fence = { txid: (BigInt(rows[0]!.fence) - 1n).toString(), id: MAX_ID };
  return { events: rows.filter((r) => r.id !== null).map(toStreamEvent), fence };
}

/** Where the stream of an organisation ends now: events from here on are new. */
export async function streamHead(sql: Sql): Promise<StreamPosition> {
  // Every transaction that has not yet written an event has a txid at or above the current one.
  const row = await sql.one<{ txid: string }>(`select pg_current_xact_id()::text as txid`);
  return { txid: (BigInt(row.txid) - 1n).toString(), id: MAX_ID };
}
