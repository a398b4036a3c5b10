import { Migration } from '@mikro-orm/migrations';

// The directory core. Every table carries organization_id and leads every
// primary key, unique index and foreign key with it, so the schema can be
// distributed by that column (Citus). `organizations` is the one exception:
// it is small and global (a Citus reference table) because a SCIM token or an
// organisation domain must resolve to an organisation before we know which.
export class Migration20261123000000_initial extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table organizations (
        organization_id uuid primary key,
        name text not null check (length(name) between 1 and 200),
        domain text not null check (domain ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
        scim_enabled boolean not null default false,
        scim_token_hash bytea,
        scim_token_prefix text,
        scim_token_created_at timestamptz,
        scim_token_last_used_at timestamptz,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now()
      );
      create unique index organizations_domain_key on organizations (domain);
      create unique index organizations_scim_token_hash_key on organizations (scim_token_hash);

      create table members (
        organization_id uuid not null references organizations (organization_id) on delete cascade,
        id uuid not null,
        user_name text not null check (length(user_name) between 1 and 512),
        external_id text,
        active boolean not null default true,
        display_name text,
        nick_name text,
        profile_url text,
        title text,
        user_type text,
        preferred_language text,
        locale text,
        timezone text,
        given_name text,
        family_name text,
        middle_name text,
        formatted_name text,
        honorific_prefix text,
        honorific_suffix text,
        emails jsonb not null default '[]',
        phone_numbers jsonb not null default '[]',
        addresses jsonb not null default '[]',
        employee_number text,
        cost_center text,
        enterprise_organization text,
        division text,
        department text,
        manager_id uuid,
        metadata jsonb not null default '{}' check (jsonb_typeof(metadata) = 'object'),
        extensions jsonb not null default '{}' check (jsonb_typeof(extensions) = 'object'),
        source text not null check (source in ('scim', 'admin', 'import')),
        version integer not null default 1,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        primary key (organization_id, id)
      );
      create unique index members_user_name_key on members (organization_id, lower(user_name));
      create index members_external_id_idx on members (organization_id, external_id);
      create index members_created_idx on members (organization_id, created_at, id);
      alter table members add foreign key (organization_id, manager_id) references members (organization_id, id) on delete set null (manager_id);

      create table groups (
        organization_id uuid not null references organizations (organization_id) on delete cascade,
        id uuid not null,
        display_name text not null check (length(display_name) between 1 and 512),
        external_id text,
        source text not null check (source in ('scim', 'admin', 'import')),
        version integer not null default 1,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        primary key (organization_id, id)
      );
      create unique index groups_display_name_key on groups (organization_id, lower(display_name));
      create index groups_external_id_idx on groups (organization_id, external_id);

      create table group_members (
        organization_id uuid not null,
        group_id uuid not null,
        member_id uuid not null,
        created_at timestamptz not null default now(),
        primary key (organization_id, group_id, member_id),
        foreign key (organization_id, group_id) references groups (organization_id, id) on delete cascade,
        foreign key (organization_id, member_id) references members (organization_id, id) on delete cascade
      );
      create index group_members_member_idx on group_members (organization_id, member_id);

      create table places (
        organization_id uuid not null references organizations (organization_id) on delete cascade,
        id uuid not null,
        name text not null check (length(name) between 1 and 200),
        address text,
        time_zone text,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        primary key (organization_id, id)
      );

      create table locks (
        organization_id uuid not null,
        id uuid not null,
        place_id uuid not null,
        name text not null check (length(name) between 1 and 200),
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        primary key (organization_id, id),
        foreign key (organization_id, place_id) references places (organization_id, id) on delete cascade
      );
      create index locks_place_idx on locks (organization_id, place_id);

      create table shares (
        organization_id uuid not null,
        id uuid not null,
        member_id uuid,
        group_id uuid,
        place_id uuid,
        lock_id uuid,
        role text not null check (role in ('user', 'manager', 'administrator')),
        valid_from timestamptz,
        valid_until timestamptz,
        source text not null default 'admin' check (source in ('admin', 'import', 'scim')),
        source_ref text,
        created_at timestamptz not null default now(),
        primary key (organization_id, id),
        check ((member_id is null) <> (group_id is null)),
        check ((place_id is null) <> (lock_id is null)),
        check (valid_from is null or valid_until is null or valid_from < valid_until),
        foreign key (organization_id, member_id) references members (organization_id, id) on delete cascade,
        foreign key (organization_id, group_id) references groups (organization_id, id) on delete cascade,
        foreign key (organization_id, place_id) references places (organization_id, id) on delete cascade,
        foreign key (organization_id, lock_id) references locks (organization_id, id) on delete cascade
      );
      create index shares_member_idx on shares (organization_id, member_id) where member_id is not null;
      create index shares_group_idx on shares (organization_id, group_id) where group_id is not null;
      create index shares_place_idx on shares (organization_id, place_id) where place_id is not null;
      create index shares_lock_idx on shares (organization_id, lock_id) where lock_id is not null;
      create index shares_source_idx on shares (organization_id, source_ref) where source_ref is not null;

      create table api_keys (
        organization_id uuid not null references organizations (organization_id) on delete cascade,
        id uuid not null,
        name text not null check (length(name) between 1 and 200),
        role text not null check (role in ('reader', 'admin')),
        key_hash bytea not null,
        key_prefix text not null,
        created_at timestamptz not null default now(),
        last_used_at timestamptz,
        revoked_at timestamptz,
        primary key (organization_id, id)
      );
      create unique index api_keys_hash_key on api_keys (organization_id, key_hash);
      create index api_keys_hash_idx on api_keys (key_hash);

      create table audit_events (
        organization_id uuid not null references organizations (organization_id) on delete cascade,
        id bigint generated always as identity,
        at timestamptz not null default now(),
        actor_kind text not null,
        actor_id text,
        actor_label text,
        action text not null,
        outcome text not null check (outcome in ('success', 'failure')),
        resource_type text,
        resource_id text,
        resource_label text,
        reason text,
        detail jsonb not null default '{}',
        primary key (organization_id, id)
      );
      create index audit_events_action_idx on audit_events (organization_id, action, id desc);
      create index audit_events_resource_idx on audit_events (organization_id, resource_id, id desc);

      -- Access change feed for door controllers. Rows are read in the order of
      -- their transaction ids and only below the oldest running transaction
      -- (pg_snapshot_xmin), so a reader's cursor never skips a row that
      -- commits late.
      create table access_changes (
        organization_id uuid not null references organizations (organization_id) on delete cascade,
        id bigint generated always as identity,
        txid xid8 not null default pg_current_xact_id(),
        at timestamptz not null default now(),
        kind text not null,
        member_id uuid,
        group_id uuid,
        share_id uuid,
        place_id uuid,
        lock_id uuid,
        valid_from timestamptz,
        valid_until timestamptz,
        primary key (organization_id, id)
      );
      create index access_changes_order_idx on access_changes (organization_id, txid, id);

      -- Signed-in members (SAML). The cookie holds a random token; only its hash is stored.
      create table sessions (
        organization_id uuid not null,
        id bytea not null,
        member_id uuid not null,
        created_at timestamptz not null default now(),
        last_seen_at timestamptz not null default now(),
        expires_at timestamptz not null,
        primary key (organization_id, id),
        foreign key (organization_id, member_id) references members (organization_id, id) on delete cascade
      );
      create index sessions_id_idx on sessions (id);
      create index sessions_member_idx on sessions (organization_id, member_id);
    `);
  }

  override async down(): Promise<void> {
    this.addSql(`
      drop table if exists sessions;
      drop table if exists access_changes;
      drop table if exists audit_events;
      drop table if exists api_keys;
      drop table if exists shares;
      drop table if exists locks;
      drop table if exists places;
      drop table if exists group_members;
      drop table if exists groups;
      drop table if exists members;
      drop table if exists organizations;
    `);
  }
}
