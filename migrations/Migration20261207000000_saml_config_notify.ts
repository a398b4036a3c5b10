import { Migration } from '@mikro-orm/migrations';

// An organisation's SAML configuration is a trust anchor like a SCIM token:
// the IdP certificates a sign-in is checked against, the SP key pairs, the IdP
// settings, the organisation's domain and name. Each process remembers it
// while it hears every change (src/domain/credential-cache.ts), so a change
// notifies `gatehouse_credentials` in the transaction that makes it, from a
// trigger: no code path, and no change made by hand in SQL, can replace a
// certificate without every process hearing of it. Expand-only: new triggers.
export class Migration20261207000000_saml_config_notify extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create trigger saml_settings_written after insert or delete on saml_settings
        for each row execute function gatehouse_credentials_changed();
      create trigger saml_settings_changed after update of idp_entity_id, idp_sso_urls, idp_slo_urls, allow_idp_initiated, require_encryption on saml_settings
        for each row when (
          old.idp_entity_id is distinct from new.idp_entity_id or old.idp_sso_urls is distinct from new.idp_sso_urls
          or old.idp_slo_urls is distinct from new.idp_slo_urls or old.allow_idp_initiated is distinct from new.allow_idp_initiated
          or old.require_encryption is distinct from new.require_encryption)
        execute function gatehouse_credentials_changed();
      create trigger saml_idp_certificates_changed after insert or update or delete on saml_idp_certificates
        for each row execute function gatehouse_credentials_changed();
      create trigger saml_sp_certificates_changed after insert or update or delete on saml_sp_certificates
        for each row execute function gatehouse_credentials_changed();
      create trigger organizations_saml_names_changed after update of name, domain on organizations
        for each row when (old.name is distinct from new.name or old.domain is distinct from new.domain)
        execute function gatehouse_credentials_changed();
    `);
  }

  override async down(): Promise<void> {
    this.addSql(`
      drop trigger if exists organizations_saml_names_changed on organizations;
      drop trigger if exists saml_sp_certificates_changed on saml_sp_certificates;
      drop trigger if exists saml_idp_certificates_changed on saml_idp_certificates;
      drop trigger if exists saml_settings_changed on saml_settings;
      drop trigger if exists saml_settings_written on saml_settings;
    `);
  }
}
