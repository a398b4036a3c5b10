import { Migration } from '@mikro-orm/migrations';

// Controller API keys: the role `controller` reads only the allow-lists and
// changes of the locks and places the key was given (a place: all its locks,
// also those added later), so one compromised door controller leaks one site.
export class Migration20261206153000_controller_keys extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      alter table api_keys drop constraint if exists api_keys_role_check;
      alter table api_keys
        add column lock_ids uuid[] not null default '{}',
        add column place_ids uuid[] not null default '{}',
        add constraint api_keys_role_check check (role in ('reader', 'admin', 'controller')),
        add constraint api_keys_controller_scope_check check ((role = 'controller') = (cardinality(lock_ids) + cardinality(place_ids) > 0));
    `);
  }

  override async down(): Promise<void> {
    this.addSql(`
      delete from api_keys where role = 'controller';
      alter table api_keys drop constraint if exists api_keys_controller_scope_check;
      alter table api_keys drop constraint if exists api_keys_role_check;
      alter table api_keys drop column if exists lock_ids, drop column if exists place_ids;
      alter table api_keys add constraint api_keys_role_check check (role in ('reader', 'admin'));
    `);
  }
}
