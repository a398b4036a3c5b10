import { Migration } from '@mikro-orm/migrations';

// The audit trail becomes a stream others can follow (audit export, webhooks,
// notification mail): each event records the transaction that wrote it
// (txid), so readers go in commit-safe order, (txid, id), and only below the
// oldest transaction still running (pg_snapshot_xmin): an event that commits
// late can never land behind a cursor already handed out. Events also keep
// the request id and client address of the request that caused them.
// Rows written before this migration read as txid 0: first, in id order.
export class Migration20261206100000_audit_stream extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      alter table audit_events
        add column txid xid8 not null default '0',
        add column request_id text,
        add column client_address text;
      alter table audit_events alter column txid set default pg_current_xact_id();
      create index audit_events_stream_idx on audit_events (organization_id, txid, id);
    `);
  }

  override async down(): Promise<void> {
    this.addSql(`
      drop index if exists audit_events_stream_idx;
      alter table audit_events drop column if exists client_address, drop column if exists request_id, drop column if exists txid;
    `);
  }
}
