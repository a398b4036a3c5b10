import { Migration } from '@mikro-orm/migrations';

// Which organisation a credential belongs to, by its hash: the one lookup
// that does not start from an organisation (an API key or a session token
// presented on a request). A small table keyed by the hash, kept by triggers
// on api_keys and sessions in the same transaction as the row, so a lookup
// reads the organisation here first and then the credential's own row by
// (organization_id, hash): on Citus, a reference-table read and then a query
// routed to one organisation's shard instead of a query to every shard.
// (SCIM tokens are columns of organizations, itself the reference table.)
// Expand only: a new table, its triggers and a backfill.
export class Migration20261206185900_credential_hashes extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table credential_hashes (
        hash bytea primary key,
        organization_id uuid not null references organizations (organization_id) on delete cascade,
        kind text not null check (kind in ('api_key', 'session'))
      );
      create index credential_hashes_org_idx on credential_hashes (organization_id);

      create function credential_hashes_of_api_keys() returns trigger language plpgsql as $$
      begin
        if tg_op = 'DELETE' then
          delete from credential_hashes where hash = old.key_hash;
          return old;
        end if;
        insert into credential_hashes (hash, organization_id, kind) values (new.key_hash, new.organization_id, 'api_key') on conflict (hash) do nothing;
        return new;
      end $$;
      create trigger api_keys_credential_hashes after insert or delete on api_keys
        for each row execute function credential_hashes_of_api_keys();

      create function credential_hashes_of_sessions() returns trigger language plpgsql as $$
      begin
        if tg_op = 'DELETE' then
          delete from credential_hashes where hash = old.id;
          return old;
        end if;
        insert into credential_hashes (hash, organization_id, kind) values (new.id, new.organization_id, 'session') on conflict (hash) do nothing;
        return new;
      end $$;
      create trigger sessions_credential_hashes after insert or delete on sessions
        for each row execute function credential_hashes_of_sessions();

      insert into credential_hashes (hash, organization_id, kind) select key_hash, organization_id, 'api_key' from api_keys on conflict (hash) do nothing;
      insert into credential_hashes (hash, organization_id, kind) select id, organization_id, 'session' from sessions on conflict (hash) do nothing;
    `);
  }

  override async down(): Promise<void> {
    this.addSql(`
      drop trigger if exists api_keys_credential_hashes on api_keys;
      drop trigger if exists sessions_credential_hashes on sessions;
      drop function if exists credential_hashes_of_api_keys();
      drop function if exists credential_hashes_of_sessions();
      drop table if exists credential_hashes;
    `);
  }
}
