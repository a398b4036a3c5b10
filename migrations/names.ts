// The names of every migration, in order, without loading them: a process
// checks these against mikro_orm_migrations and loads MikroORM only when one
// is pending (MikroORM, knex and the migration classes cost a few hundred
// milliseconds of every start). migrations/index.ts refuses to load when this
// list and its own differ, so a migration missing here fails every test run.
export const MIGRATION_NAMES: readonly string[] = [
  'Migration20261123000000_initial',
  'Migration20261123020000_saml',
  'Migration20261123040000_entra_import',
  'Migration20261123050000_rate_limits',
  'Migration20261123060000_admin',
  'Migration20261201000000_credential_notify',
  'Migration20261206100000_audit_stream',
  'Migration20261206110000_webhooks',
  'Migration20261206120000_mail',
  'Migration20261206150000_lock_access_feed',
  'Migration20261206151600_member_ownership',
  'Migration20261206151900_saml_options',
  'Migration20261206153000_controller_keys',
  'Migration20261206154500_deprovision_guard',
  'Migration20261206161000_saml_test_sign_in',
  'Migration20261206174000_scim_token_overlap',
  'Migration20261206175500_webhook_access_events',
  'Migration20261206180500_entra_admin_consent',
  'Migration20261206181000_mail_lease',
  'Migration20261206183800_access_seal_set_based',
  'Migration20261206185900_credential_hashes',
  'Migration20261206213000_session_saml_logout',
  'Migration20261207000000_saml_config_notify',
];
