// Follows each organisation's audit stream (the outbox) for its consumers
// (webhooks, notification mail): reads what committed after the consumer's
// cursor, hands it to the consumer and moves the cursor on, all in one
// transaction. The cursor row is locked (SKIP LOCKED) for that transaction, so
// any number of processes may dispatch at once and each event reaches each
// consumer exactly once; a process that dies mid-way rolls back and the next
// pass takes over.
import type { Db, Sql } from '../db.js';
import { COMMIT_FENCE, readAuditStream, type StreamEvent, type StreamPosition } from '../audit/audit-stream.js';

export interface StreamConsumer {
  readonly name: string;
  /** Handles one organisation's next events, in the transaction that moves the consumer's cursor past them. */
  handle(tx: Sql, organizationId: string, events: readonly StreamEvent[]): Promise<void>;
}

export interface DispatchResult {
  readonly organizations: number;
  readonly events: number;
  /** Entries read from the other feeds followed (the per-lock access feed for access.changed). */
  readonly feedEntries: number;
}

/** Another outbox followed on each pass (the per-lock access feed): returns the entries it read. */
export interface FeedFollower {
  dispatch(): Promise<number>;
}

export class EventDispatcher {
  constructor(
    private readonly db: Db,
    private readonly consumers: readonly StreamConsumer[],
    private readonly batchSize = 500,
    private readonly feeds: readonly FeedFollower[] = [],
  ) {}

  /** One pass: every (organisation, consumer) with new events gets up to a batch of them. */
  async dispatch(): Promise<DispatchResult> {
    let feedEntries = 0;
    for (const f of this.feeds) feedEntries += await f.dispatch();
    if (this.consumers.length === 0) return { organizations: 0, events: 0, feedEntries };
    const due = await this.db.sql.all<{ organization_id: string; consumer: string }>(
      `select c.organization_id, c.consumer from event_cursors c
       where c.consumer = any($1::text[]) and exists (
         select 1 from audit_events a
         where a.organization_id = c.organization_id and a.txid < ${COMMIT_FENCE} and (a.txid, a.id) > (c.txid, c.event_id))`,
      [this.consumers.map((c) => c.name)],
    );
    let events = 0;
    for (const d of due) {
      const consumer = this.consumers.find((c) => c.name === d.consumer)!;
      events += await this.advance(d.organization_id, consumer);
    }
    return { organizations: due.length, events, feedEntries };
  }

  private advance(organizationId: string, consumer: StreamConsumer): Promise<number> {
    return this.db.transaction(async (tx) => {
      const cursor = await tx.maybeOne<{ txid: string; event_id: string }>(
        `select txid::text as txid, event_id::text as event_id from event_cursors where organization_id = $1 and consumer = $2 for update skip locked`,
        [organizationId, consumer.name],
      );
      if (!cursor) return 0; // another process is on it (or the consumer stopped following)
      const from: StreamPosition = { txid: cursor.txid, id: cursor.event_id };
      const { events } = await readAuditStream(tx, organizationId, from, this.batchSize);
      if (events.length === 0) return 0;
      await consumer.handle(tx, organizationId, events);
      const last = events.at(-1)!.position;
      await tx.run(`update event_cursors set txid = $1::xid8, event_id = $2, updated_at = now() where organization_id = $3 and consumer = $4`, [
        last.txid,
        last.id,
        organizationId,
        consumer.name,
      ]);
      return events.length;
    });
  }
}
