// The statements of a consumer's cursor on an organisation's audit stream.
import type { Sql } from '../db.js';

/** Starts `consumer` on the organisation's stream just before this transaction (events it writes are read); nothing when it follows already. */
export async function followStreamFromNow(sql: Sql, organizationId: string, consumer: string): Promise<void> {
  await sql.run(
    `insert into event_cursors (organization_id, consumer, txid, event_id)
     values ($1, $2, (pg_current_xact_id()::text::numeric - 1)::text::xid8, 9223372036854775807) on conflict do nothing`,
    [organizationId, consumer],
  );
}

/** Stops `consumer` following the organisation's stream. */
export async function unfollowStream(sql: Sql, organizationId: string, consumer: string): Promise<void> {
  await sql.run(`delete from event_cursors where organization_id = $1 and consumer = $2`, [organizationId, consumer]);
}
