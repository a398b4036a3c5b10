import { Migration } from '@mikro-orm/migrations';

// Every SAML option Entra offers (README, SAML single sign-on): a per-organisation "require
// encryption" setting (Entra's Token encryption), the IdP's SingleLogoutService
// endpoints from its metadata, when an unknown signing certificate last made
// Gatehouse refetch the metadata (certificate rollover, rate-limited per
// organisation), and which kind of message an issued request id belongs to
// (an AuthnRequest or a LogoutRequest, whose LogoutResponse must answer it).
export class Migration20261206151900_saml_options extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      alter table saml_settings
        add column require_encryption boolean not null default false,
        add column idp_slo_urls jsonb not null default '[]' check (jsonb_typeof(idp_slo_urls) = 'array'),
        add column rollover_refetch_at timestamptz;
      alter table saml_requests
        add column kind text not null default 'authn' check (kind in ('authn', 'logout')),
        add column member_id uuid;
    `);
  }

  override async down(): Promise<void> {
    this.addSql(`
      alter table saml_requests drop column if exists member_id, drop column if exists kind;
      alter table saml_settings drop column if exists rollover_refetch_at, drop column if exists idp_slo_urls, drop column if exists require_encryption;
    `);
  }
}
