import { Migration } from '@mikro-orm/migrations';

// Signed webhooks (Standard Webhooks). The audit trail is the outbox: a
// dispatcher follows each organisation's audit stream from its cursor
// (event_cursors) and writes one delivery per event and subscribed endpoint,
// in the transaction that moves the cursor on, so every event is turned into
// deliveries exactly once. Deliveries are then sent (at least once) with
// back-off; every attempt is logged.
export class Migration20261206110000_webhooks extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table event_cursors (
        organization_id uuid not null references organizations (organization_id) on delete cascade,
        consumer text not null,
        -- The stream position read up to: (txid, event_id) of audit_events.
        txid xid8 not null,
        event_id bigint not null,
        updated_at timestamptz not null default now(),
        primary key (organization_id, consumer)
      );

      create table webhook_endpoints (
        organization_id uuid not null references organizations (organization_id) on delete cascade,
        id uuid not null,
        url text not null check (length(url) between 1 and 2048),
        description text check (length(description) <= 500),
        event_types text[] not null check (cardinality(event_types) between 1 and 50),
        enabled boolean not null default true,
        disabled_reason text,
        disabled_at timestamptz,
        -- First failed attempt since the last success: an endpoint failing for long is disabled.
        failing_since timestamptz,
        -- whsec_ secrets, AES-256-GCM with the master key (Cipher); shown once.
        secret_sealed text not null,
        previous_secret_sealed text,
        previous_secret_expires_at timestamptz,
        -- Events of transactions from this one on are delivered to it.
        created_txid xid8 not null default pg_current_xact_id(),
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        primary key (organization_id, id)
      );

      create table webhook_deliveries (
        organization_id uuid not null,
        id uuid not null,
        endpoint_id uuid not null,
        -- The Standard Webhooks webhook-id: the same for every attempt and redelivery.
        message_id text not null,
        event_type text not null,
        -- The exact body signed and sent.
        payload text not null,
        status text not null default 'pending' check (status in ('pending', 'succeeded', 'failed')),
        attempts integer not null default 0,
        next_attempt_at timestamptz not null default now(),
        -- A process sending it holds it until then (a process that dies lets it go).
        claimed_until timestamptz,
        give_up_at timestamptz not null,
        last_attempt_at timestamptz,
        last_status integer,
        last_error text,
        created_at timestamptz not null default now(),
        succeeded_at timestamptz,
        primary key (organization_id, id),
        foreign key (organization_id, endpoint_id) references webhook_endpoints (organization_id, id) on delete cascade
      );
      create unique index webhook_deliveries_message_key on webhook_deliveries (organization_id, endpoint_id, message_id);
      create index webhook_deliveries_due_idx on webhook_deliveries (next_attempt_at) where status = 'pending';
      create index webhook_deliveries_log_idx on webhook_deliveries (organization_id, endpoint_id, created_at desc);

      create table webhook_attempts (
        organization_id uuid not null,
        delivery_id uuid not null,
        attempt integer not null,
        at timestamptz not null default now(),
        duration_ms integer not null,
        status_code integer,
        error text,
        response_excerpt text,
        primary key (organization_id, delivery_id, attempt),
        foreign key (organization_id, delivery_id) references webhook_deliveries (organization_id, id) on delete cascade
      );
    `);
  }

  override async down(): Promise<void> {
    this.addSql(`
      drop table if exists webhook_attempts;
      drop table if exists webhook_deliveries;
      drop table if exists webhook_endpoints;
      drop table if exists event_cursors;
    `);
  }
}
