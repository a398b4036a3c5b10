import { Migration } from '@mikro-orm/migrations';

// One owner per member (README, Who owns a member). `deactivated_by` records which source
// (scim, import, admin) made a member inactive: only that source may make it
// active again, so the group import can no longer re-open a door SCIM or an
// admin closed. A tombstone remembers a member deleted by SCIM or an admin, so
// the import does not create it again while the person is still in the Entra
// group. Members inactive today are attributed to their own source.
export class Migration20261206151600_member_ownership extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      alter table members add column deactivated_by text check (deactivated_by in ('scim', 'import', 'admin'));
      update members set deactivated_by = source where not active;
      create table member_tombstones (
        organization_id uuid not null references organizations (organization_id) on delete cascade,
        -- lower(userName) of the deleted member, and its work emails (the import matches on either).
        user_key text not null,
        email_keys text[] not null default '{}',
        member_id uuid not null,
        deleted_by text not null check (deleted_by in ('scim', 'admin')),
        deleted_at timestamptz not null default now(),
        primary key (organization_id, user_key)
      );
    `);
  }

  override async down(): Promise<void> {
    this.addSql(`
      drop table if exists member_tombstones;
      alter table members drop column if exists deactivated_by;
    `);
  }
}
