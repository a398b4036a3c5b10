// Every migration, in order. MikroORM loads this list instead of globbing the
// folder, because its native import() of .ts files fails inside vitest workers.
import type { MigrationObject } from '@mikro-orm/core';
import { MIGRATION_NAMES } from './names.js';
import { Migration20261123000000_initial } from './Migration20261123000000_initial.js';
import { Migration20261123020000_saml } from './Migration20261123020000_saml.js';
import { Migration20261123040000_entra_import } from './Migration20261123040000_entra_import.js';
import { Migration20261123050000_rate_limits } from './Migration20261123050000_rate_limits.js';
import { Migration20261123060000_admin } from './Migration20261123060000_admin.js';
import { Migration20261201000000_credential_notify } from './Migration20261201000000_credential_notify.js';
import { Migration20261206100000_audit_stream } from './Migration20261206100000_audit_stream.js';
import { Migration20261206110000_webhooks } from './Migration20261206110000_webhooks.js';
import { Migration20261206120000_mail } from './Migration20261206120000_mail.js';
import { Migration20261206150000_lock_access_feed } from './Migration20261206150000_lock_access_feed.js';
import { Migration20261206151600_member_ownership } from './Migration20261206151600_member_ownership.js';
import { Migration20261206153000_controller_keys } from './Migration20261206153000_controller_keys.js';
import { Migration20261206151900_saml_options } from './Migration20261206151900_saml_options.js';
import { Migration20261206154500_deprovision_guard } from './Migration20261206154500_deprovision_guard.js';
import { Migration20261206174000_scim_token_overlap } from './Migration20261206174000_scim_token_overlap.js';
import { Migration20261206175500_webhook_access_events } from './Migration20261206175500_webhook_access_events.js';
import { Migration20261206181000_mail_lease } from './Migration20261206181000_mail_lease.js';
import { Migration20261206185900_credential_hashes } from './Migration20261206185900_credential_hashes.js';
import { Migration20261206213000_session_saml_logout } from './Migration20261206213000_session_saml_logout.js';
import { Migration20261207000000_saml_config_notify } from './Migration20261207000000_saml_config_notify.js';
import { Migration20261206161000_saml_test_sign_in } from './Migration20261206161000_saml_test_sign_in.js';
import { Migration20261206180500_entra_admin_consent } from './Migration20261206180500_entra_admin_consent.js';
import { Migration20261206183800_access_seal_set_based } from './Migration20261206183800_access_seal_set_based.js';

export const migrationsList: MigrationObject[] = [
  { name: 'Migration20261123000000_initial', class: Migration20261123000000_initial },
  { name: 'Migration20261123020000_saml', class: Migration20261123020000_saml },
  { name: 'Migration20261123040000_entra_import', class: Migration20261123040000_entra_import },
  { name: 'Migration20261123050000_rate_limits', class: Migration20261123050000_rate_limits },
  { name: 'Migration20261123060000_admin', class: Migration20261123060000_admin },
  { name: 'Migration20261201000000_credential_notify', class: Migration20261201000000_credential_notify },
  { name: 'Migration20261206100000_audit_stream', class: Migration20261206100000_audit_stream },
  { name: 'Migration20261206110000_webhooks', class: Migration20261206110000_webhooks },
  { name: 'Migration20261206120000_mail', class: Migration20261206120000_mail },
  { name: 'Migration20261206150000_lock_access_feed', class: Migration20261206150000_lock_access_feed },
  { name: 'Migration20261206151600_member_ownership', class: Migration20261206151600_member_ownership },
  { name: 'Migration20261206151900_saml_options', class: Migration20261206151900_saml_options },
  { name: 'Migration20261206153000_controller_keys', class: Migration20261206153000_controller_keys },
  { name: 'Migration20261206154500_deprovision_guard', class: Migration20261206154500_deprovision_guard },
  { name: 'Migration20261206161000_saml_test_sign_in', class: Migration20261206161000_saml_test_sign_in },
  { name: 'Migration20261206174000_scim_token_overlap', class: Migration20261206174000_scim_token_overlap },
  { name: 'Migration20261206175500_webhook_access_events', class: Migration20261206175500_webhook_access_events },
  { name: 'Migration20261206180500_entra_admin_consent', class: Migration20261206180500_entra_admin_consent },
  { name: 'Migration20261206181000_mail_lease', class: Migration20261206181000_mail_lease },
  { name: 'Migration20261206183800_access_seal_set_based', class: Migration20261206183800_access_seal_set_based },
  { name: 'Migration20261206185900_credential_hashes', class: Migration20261206185900_credential_hashes },
  { name: 'Migration20261206213000_session_saml_logout', class: Migration20261206213000_session_saml_logout },
  { name: 'Migration20261207000000_saml_config_notify', class: Migration20261207000000_saml_config_notify },
];

// migrations/names.ts must list the same names in the same order (it decides whether this list is loaded at all).
if (migrationsList.map((m) => m.name).join() !== MIGRATION_NAMES.join()) {
  throw new Error('migrations/names.ts and migrations/index.ts list different migrations: add the new one to both, in timestamp order');
}
