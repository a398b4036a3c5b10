import { Migration } from '@mikro-orm/migrations';

// Notification mail (README, Notification mail: "everyone in the group gets an email that
// access has been shared with them"). Mail is written to the outbox in the
// transaction of the change that causes it and sent by the delivery worker,
// retried with back-off, each attempt logged. An address the mail server
// refuses permanently (a hard bounce) is blocked until an admin clears it.
export class Migration20261206120000_mail extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table mail_outbox (
        organization_id uuid not null references organizations (organization_id) on delete cascade,
        id uuid not null,
        to_address text not null check (length(to_address) between 3 and 320),
        -- The member it is about (no foreign key: the record outlives the member).
        member_id uuid,
        template text not null check (template in ('access_shared', 'admin_granted', 'welcome')),
        data jsonb not null default '{}',
        -- pending: to send; sent; failed: given up or refused; blocked: the address is blocked;
        -- unsent: no SMTP server was configured when it was due ("not sent: no SMTP configured").
        status text not null default 'pending' check (status in ('pending', 'sent', 'failed', 'blocked', 'unsent')),
        attempts integer not null default 0,
        next_attempt_at timestamptz not null default now(),
        claimed_until timestamptz,
        -- Retries run for the policy's time from here (reset by a manual resend).
        retry_from timestamptz not null default now(),
        last_attempt_at timestamptz,
        last_error text,
        last_smtp_code integer,
        message_id text,
        created_at timestamptz not null default now(),
        sent_at timestamptz,
        primary key (organization_id, id)
      );
      create index mail_outbox_due_idx on mail_outbox (next_attempt_at) where status = 'pending';
      create index mail_outbox_log_idx on mail_outbox (organization_id, created_at desc);

      create table mail_attempts (
        organization_id uuid not null,
        mail_id uuid not null,
        attempt integer not null,
        at timestamptz not null default now(),
        duration_ms integer not null,
        outcome text not null check (outcome in ('sent', 'retry', 'bounced', 'failed')),
        smtp_code integer,
        error text,
        primary key (organization_id, mail_id, attempt),
        foreign key (organization_id, mail_id) references mail_outbox (organization_id, id) on delete cascade
      );

      -- Addresses that bounced hard: no mail goes to them until an admin clears them.
      create table mail_blocked_addresses (
        organization_id uuid not null references organizations (organization_id) on delete cascade,
        -- Lower case.
        address text not null,
        smtp_code integer,
        reason text not null,
        mail_id uuid,
        created_at timestamptz not null default now(),
        primary key (organization_id, address)
      );

      -- Optional: a welcome mail to every member Entra provisions through SCIM.
      alter table organizations add column mail_scim_welcome boolean not null default false;
    `);
  }

  override async down(): Promise<void> {
    this.addSql(`
      alter table organizations drop column if exists mail_scim_welcome;
      drop table if exists mail_blocked_addresses;
      drop table if exists mail_attempts;
      drop table if exists mail_outbox;
    `);
  }
}
