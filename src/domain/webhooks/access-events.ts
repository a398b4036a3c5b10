// access.changed: the webhooks' follower of the per-lock access feed. The seal
// trigger writes access_entries at commit, in the transaction of the change
// (member, group, share or lock), numbered densely per organisation in commit
// order; this reads what was numbered after the organisation's cursor
// (event_cursors, consumer 'webhooks.access'), writes one delivery per entry
// and subscribed endpoint and moves the cursor, all in one transaction. The
// cursor row is locked (SKIP LOCKED), so several processes may follow at once
// and each entry becomes its deliveries once. The feed's retention never
// purges past this cursor (purgeAccessFeed), so nothing is lost while
// Gatehouse is behind.
import type { Db } from '../db.js';
import { encodeFeedCursor } from '../access/access-feed.js';
import { toDate } from '../rows.js';
import { WEBHOOK_ACCESS_CONSUMER, type AccessChangedEvent, type WebhookService } from './webhook.service.js';

interface EntryRow {
  position: string;
  at: string | Date;
  member_id: string;
  user_name: string | null;
  lock_id: string;
  lock_name: string | null;
  place_id: string;
  may_open: boolean;
  windows: { validFrom: string | null; validUntil: string | null }[];
}

/** The outbound event of one entry: what the lockAccess feed gives, plus names, and the feed cursor to resume from. */
export function accessChangedEvent(organizationId: string, r: EntryRow): AccessChangedEvent {
  const at = toDate(r.at);
  return {
    id: `acc_${organizationId}_${r.position}`,
    type: 'access.changed',
    timestamp: at,
    position: BigInt(r.position),
    data: {
      member: { id: r.member_id, userName: r.user_name },
      lock: { id: r.lock_id, name: r.lock_name, placeId: r.place_id },
      mayOpen: r.may_open,
      windows: r.windows,
      cursor: encodeFeedCursor(r.position),
      at: at.toISOString(),
    },
  };
}

export class AccessEventFollower {
  constructor(
    private readonly db: Db,
    private readonly webhooks: WebhookService,
    private readonly batchSize = 1000,
  ) {}

  /** One pass: each organisation whose feed moved past its cursor gets up to a batch; returns the entries read. */
  async dispatch(): Promise<number> {
    const due = await this.db.sql.all<{ organization_id: string }>(
      `select c.organization_id from event_cursors c join access_feed_heads h on h.organization_id = c.organization_id
       where c.consumer = $1 and h.position > c.event_id`,
      [WEBHOOK_ACCESS_CONSUMER],
    );
    let n = 0;
    for (const d of due) n += await this.advance(d.organization_id);
    return n;
  }

  private advance(organizationId: string): Promise<number> {
    return this.db.transaction(async (tx) => {
      const cursor = await tx.maybeOne<{ event_id: string; subscribed: boolean }>(
        `select c.event_id::text as event_id, exists (
           select 1 from webhook_endpoints e where e.organization_id = c.organization_id and e.enabled and 'access.changed' = any(e.event_types)) as subscribed
         from event_cursors c where c.organization_id = $1 and c.consumer = $2 for update of c skip locked`,
        [organizationId, WEBHOOK_ACCESS_CONSUMER],
      );
      if (!cursor) return 0; // another process is on it (or no endpoint is left)
      if (!cursor.subscribed) {
        // Nobody asks for access.changed now: move on to the head (an endpoint enabled later starts from there).
        await tx.run(
          `update event_cursors c set event_id = h.position, updated_at = now() from access_feed_heads h
           where c.organization_id = $1 and c.consumer = $2 and h.organization_id = c.organization_id`,
          [organizationId, WEBHOOK_ACCESS_CONSUMER],
        );
        return 0;
      }
      // The counter and the entries in one snapshot: every position up to the head is committed and visible.
      // (The counter numbers the coarse feed's rows too, so entries are not dense: the cursor moves to the head.)
      const limit = Math.max(1, this.batchSize);
      const read = await tx.all<EntryRow & { head: string }>(
        `with h as (select coalesce((select position from access_feed_heads where organization_id = $1), 0) as head)
         select h.head::text as head, x.* from h left join lateral (
           select e.position::text as position, e.position as o_position, e.at, e.member_id, m.user_name, e.lock_id, l.name as lock_name, e.place_id, e.may_open, e.windows
           from access_entries e
           left join members m on m.organization_id = e.organization_id and m.id = e.member_id
           left join locks l on l.organization_id = e.organization_id and l.id = e.lock_id
           where e.organization_id = $1 and e.position > $2 and e.position <= h.head order by e.position limit ${limit}
         ) x on true order by x.o_position`,
        [organizationId, cursor.event_id],
      );
      const rows = read.filter((r) => r.position !== null);
      const head = BigInt(read[0]!.head) > BigInt(cursor.event_id) ? read[0]!.head : cursor.event_id;
      const last = rows.length === limit ? rows.at(-1)!.position : head;
      await this.webhooks.fanOutAccess(
        tx,
        organizationId,
        rows.map((r) => accessChangedEvent(organizationId, r)),
      );
      await tx.run(`update event_cursors set event_id = $1, updated_at = now() where organization_id = $2 and consumer = $3`, [last, organizationId, WEBHOOK_ACCESS_CONSUMER]);
      return rows.length;
    });
  }
}
