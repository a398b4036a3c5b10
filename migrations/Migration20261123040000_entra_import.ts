import { Migration } from '@mikro-orm/migrations';

// The Entra group import (README, Entra group import): integrations, the places/locks each one
// shares, and the link from an Entra user object to the member it imported.
// organization_id leads every key, as everywhere else.
export class Migration20261123040000_entra_import extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table import_integrations (
        organization_id uuid not null references organizations (organization_id) on delete cascade,
        id uuid not null,
        name text not null check (length(name) between 1 and 200),
        tenant_id text not null check (length(tenant_id) between 1 and 200),
        client_id text not null check (length(client_id) between 1 and 200),
        -- AES-256-GCM with the master key (domain Cipher); never returned.
        client_secret_sealed text not null,
        entra_group_id text not null check (length(entra_group_id) between 1 and 200),
        identifier text not null check (identifier in ('upn', 'mail')),
        mode text not null check (mode in ('users_only', 'grant_shares')),
        -- The Gatehouse group (source 'import') holding the imported members.
        group_id uuid not null,
        paused boolean not null default false,
        -- Run lease: a run holds it so that no other process runs this integration at once.
        lease_token uuid,
        lease_until timestamptz,
        last_started_at timestamptz,
        last_finished_at timestamptz,
        last_status text check (last_status in ('running', 'success', 'failed')),
        last_error_code text,
        last_error text,
        last_total integer,
        last_added integer,
        last_updated integer,
        last_removed integer,
        last_duration_ms integer,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        primary key (organization_id, id),
        foreign key (organization_id, group_id) references groups (organization_id, id)
      );
      create unique index import_integrations_name_key on import_integrations (organization_id, lower(name));
      create unique index import_integrations_group_key on import_integrations (organization_id, group_id);
      create index import_integrations_due_idx on import_integrations (last_started_at) where not paused;

      create table import_targets (
        organization_id uuid not null,
        integration_id uuid not null,
        id uuid not null,
        place_id uuid,
        lock_id uuid,
        role text not null default 'user' check (role in ('user', 'manager', 'administrator')),
        primary key (organization_id, integration_id, id),
        check ((place_id is null) <> (lock_id is null)),
        foreign key (organization_id, integration_id) references import_integrations (organization_id, id) on delete cascade,
        foreign key (organization_id, place_id) references places (organization_id, id) on delete cascade,
        foreign key (organization_id, lock_id) references locks (organization_id, id) on delete cascade
      );

      create table import_links (
        organization_id uuid not null,
        integration_id uuid not null,
        -- Entra user object id (stable across UPN and mail changes).
        entra_id text not null,
        member_id uuid not null,
        primary key (organization_id, integration_id, entra_id),
        foreign key (organization_id, integration_id) references import_integrations (organization_id, id) on delete cascade,
        foreign key (organization_id, member_id) references members (organization_id, id) on delete cascade
      );
      create unique index import_links_member_key on import_links (organization_id, integration_id, member_id);
      create index import_links_member_idx on import_links (organization_id, member_id);
    `);
  }

  override async down(): Promise<void> {
    this.addSql(`
      drop table if exists import_links;
      drop table if exists import_targets;
      drop table if exists import_integrations;
    `);
  }
}
