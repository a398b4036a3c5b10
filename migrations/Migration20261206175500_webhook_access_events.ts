import { Migration } from '@mikro-orm/migrations';

// access.changed webhooks: the per-lock access feed (access_entries, written at
// commit by the seal trigger in the transaction of the change) is followed by
// the webhook dispatcher like the audit stream: a cursor per organisation in
// event_cursors (consumer 'webhooks.access', event_id = the feed position it
// read up to; txid unused), moved in the transaction that writes the
// deliveries. An endpoint gets the entries numbered after its creation.
export class Migration20261206175500_webhook_access_events extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      alter table webhook_endpoints add column created_access_position bigint not null default 0;
      insert into event_cursors (organization_id, consumer, txid, event_id)
      select distinct e.organization_id, 'webhooks.access', '0'::xid8, coalesce(h.position, 0)
      from webhook_endpoints e left join access_feed_heads h on h.organization_id = e.organization_id
      on conflict do nothing;
    `);
  }

  override async down(): Promise<void> {
    this.addSql(`
      delete from event_cursors where consumer = 'webhooks.access';
      alter table webhook_endpoints drop column if exists created_access_position;
    `);
  }
}
