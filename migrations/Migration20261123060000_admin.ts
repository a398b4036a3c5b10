import { Migration } from '@mikro-orm/migrations';

// Organisation administrators (who may use the /admin console) and the
// one-time bootstrap links an operator prints with `admin link` for the first
// admin, before SAML works. A link stores only the hash of its token.
export class Migration20261123060000_admin extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table organization_admins (
        organization_id uuid not null,
        member_id uuid not null,
        granted_by text,
        created_at timestamptz not null default now(),
        primary key (organization_id, member_id),
        foreign key (organization_id, member_id) references members (organization_id, id) on delete cascade
      );

      create table admin_bootstrap_links (
        organization_id uuid not null,
        token_hash bytea not null,
        member_id uuid not null,
        created_at timestamptz not null default now(),
        expires_at timestamptz not null,
        used_at timestamptz,
        primary key (organization_id, token_hash),
        foreign key (organization_id, member_id) references members (organization_id, id) on delete cascade
      );
      create index admin_bootstrap_links_hash_idx on admin_bootstrap_links (token_hash);
    `);
  }

  override async down(): Promise<void> {
    this.addSql(`
      drop table if exists admin_bootstrap_links;
      drop table if exists organization_admins;
    `);
  }
}
