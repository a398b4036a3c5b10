import { Migration } from '@mikro-orm/migrations';

// Single logout names the IdP session it ends: a session started by a SAML
// sign-in keeps the assertion's NameID and its AuthnStatement SessionIndex,
// which the LogoutRequest sent at sign-out carries (SAML 2.0 core §3.7.1).
// Expand-only: two nullable columns (sessions started otherwise have neither).
export class Migration20261206213000_session_saml_logout extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table sessions add column saml_name_id text, add column saml_session_index text;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table sessions drop column if exists saml_session_index, drop column if exists saml_name_id;`);
  }
}
