import { Migration } from '@mikro-orm/migrations';

// SCIM token rotation with an overlap: `scim rotate` keeps the
// token it replaces as the previous one until the overlap ends (or
// `scim revoke-previous`), so provisioning never stops while someone pastes
// the new token into Entra. Both are hashed at rest, each with its own last
// use. The credential trigger now also fires when the previous token changes,
// so every process forgets it at once on revoke.
export class Migration20261206174000_scim_token_overlap extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      alter table organizations
        add column scim_previous_token_hash bytea,
        add column scim_previous_token_prefix text,
        add column scim_previous_token_created_at timestamptz,
        add column scim_previous_token_last_used_at timestamptz,
        add column scim_previous_token_expires_at timestamptz,
        add constraint organizations_scim_previous_token_expiry
          check ((scim_previous_token_hash is null) = (scim_previous_token_expires_at is null));
      create unique index organizations_scim_previous_token_hash_key on organizations (scim_previous_token_hash);
      drop trigger if exists organizations_scim_token_changed on organizations;
      create trigger organizations_scim_token_changed
        after update of scim_token_hash, scim_enabled, scim_previous_token_hash, scim_previous_token_expires_at on organizations
        for each row when (old.scim_token_hash is distinct from new.scim_token_hash or old.scim_enabled is distinct from new.scim_enabled
          or old.scim_previous_token_hash is distinct from new.scim_previous_token_hash
          or old.scim_previous_token_expires_at is distinct from new.scim_previous_token_expires_at)
        execute function gatehouse_credentials_changed();
    `);
  }

  override async down(): Promise<void> {
    this.addSql(`
      drop trigger if exists organizations_scim_token_changed on organizations;
      create trigger organizations_scim_token_changed after update of scim_token_hash, scim_enabled on organizations
        for each row when (old.scim_token_hash is distinct from new.scim_token_hash or old.scim_enabled is distinct from new.scim_enabled)
        execute function gatehouse_credentials_changed();
      drop index if exists organizations_scim_previous_token_hash_key;
      alter table organizations
        drop constraint if exists organizations_scim_previous_token_expiry,
        drop column if exists scim_previous_token_hash,
        drop column if exists scim_previous_token_prefix,
        drop column if exists scim_previous_token_created_at,
        drop column if exists scim_previous_token_last_used_at,
        drop column if exists scim_previous_token_expires_at;
    `);
  }
}
