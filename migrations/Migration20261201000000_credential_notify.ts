import { Migration } from '@mikro-orm/migrations';

// Every change of a credential notifies `gatehouse_credentials` in the
// transaction that makes it; PostgreSQL delivers the notification to every
// listening process at commit. Processes remember checked SCIM tokens only
// while they listen (src/domain/credential-cache.ts). A trigger, not the
// service code, sends it: no code path, and no change made by hand in SQL,
// can rotate or revoke a token without every process hearing of it.
export class Migration20261201000000_credential_notify extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create function gatehouse_credentials_changed() returns trigger language plpgsql as $$
      begin
        perform pg_notify('gatehouse_credentials', (case when tg_op = 'DELETE' then old.organization_id else new.organization_id end)::text);
        return null;
      end
      $$;
      create trigger organizations_scim_token_changed after update of scim_token_hash, scim_enabled on organizations
        for each row when (old.scim_token_hash is distinct from new.scim_token_hash or old.scim_enabled is distinct from new.scim_enabled)
        execute function gatehouse_credentials_changed();
      create trigger organizations_deleted after delete on organizations
        for each row execute function gatehouse_credentials_changed();
    `);
  }

  override async down(): Promise<void> {
    this.addSql(`
      drop trigger if exists organizations_deleted on organizations;
      drop trigger if exists organizations_scim_token_changed on organizations;
      drop function if exists gatehouse_credentials_changed();
    `);
  }
}
