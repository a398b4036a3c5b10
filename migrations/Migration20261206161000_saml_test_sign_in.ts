import { Migration } from '@mikro-orm/migrations';

// "Test sign-in" from the admin console: the AuthnRequest records
// the admin who started it, and a response to it never starts a session (it
// shows a result page instead), so the test never touches anyone's session.
export class Migration20261206161000_saml_test_sign_in extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table saml_requests add column test_started_by uuid;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table saml_requests drop column if exists test_started_by;`);
  }
}
