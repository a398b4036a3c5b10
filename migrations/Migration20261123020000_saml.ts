import { Migration } from '@mikro-orm/migrations';

// SAML single sign-on: per-organisation settings, the IdP's signing
// certificates (several during an Entra rollover), the SP's own key pairs,
// the AuthnRequest ids this system issued and the assertion replay cache.
// Request ids and the replay cache are rows so that any process can finish a
// login another one started.
export class Migration20261123020000_saml extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table saml_settings (
        organization_id uuid primary key references organizations (organization_id) on delete cascade,
        idp_entity_id text,
        idp_sso_urls jsonb not null default '[]' check (jsonb_typeof(idp_sso_urls) = 'array'),
        metadata_url text,
        metadata_fetched_at timestamptz,
        -- Last refresh attempt from metadata_url, and what came of it.
        metadata_refreshed_at timestamptz,
        metadata_refresh_error text,
        -- A process refreshing this organisation's metadata holds it until then.
        metadata_claimed_until timestamptz,
        allow_idp_initiated boolean not null default true,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now()
      );
      create index saml_settings_refresh_idx on saml_settings (metadata_fetched_at) where metadata_url is not null;

      create table saml_idp_certificates (
        organization_id uuid not null references organizations (organization_id) on delete cascade,
        fingerprint text not null,
        pem text not null,
        subject text,
        not_before timestamptz not null,
        not_after timestamptz not null,
        created_at timestamptz not null default now(),
        primary key (organization_id, fingerprint)
      );

      create table saml_sp_certificates (
        organization_id uuid not null references organizations (organization_id) on delete cascade,
        id uuid not null,
        certificate_pem text not null,
        -- AES-256-GCM with a key derived from the master secret (Cipher).
        private_key_encrypted text not null,
        fingerprint text not null,
        not_before timestamptz not null,
        not_after timestamptz not null,
        -- The one that signs AuthnRequests; older ones stay published until removed.
        active boolean not null default false,
        created_at timestamptz not null default now(),
        primary key (organization_id, id)
      );
      create unique index saml_sp_certificates_active_key on saml_sp_certificates (organization_id) where active;

      create table saml_requests (
        organization_id uuid not null references organizations (organization_id) on delete cascade,
        id text not null,
        created_at timestamptz not null default now(),
        expires_at timestamptz not null,
        used_at timestamptz,
        primary key (organization_id, id)
      );
      create index saml_requests_expiry_idx on saml_requests (expires_at);

      create table saml_replay_cache (
        organization_id uuid not null references organizations (organization_id) on delete cascade,
        assertion_id text not null,
        expires_at timestamptz not null,
        created_at timestamptz not null default now(),
        primary key (organization_id, assertion_id)
      );
      create index saml_replay_cache_expiry_idx on saml_replay_cache (expires_at);
    `);
  }

  override async down(): Promise<void> {
    this.addSql(`
      drop table if exists saml_replay_cache;
      drop table if exists saml_requests;
      drop table if exists saml_sp_certificates;
      drop table if exists saml_idp_certificates;
      drop table if exists saml_settings;
    `);
  }
}
