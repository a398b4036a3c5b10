import { Migration } from '@mikro-orm/migrations';

// "Authorize with Microsoft" for the Entra group import:
// admin consent for Gatehouse's own multi-tenant application, so the admin
// registers nothing in Entra. A consent request's state is a row (single use,
// bound to the admin session that started it and its organisation); a
// completed consent records the tenant; an integration then runs either with
// its own registration's client secret or with Gatehouse's application.
export class Migration20261206180500_entra_admin_consent extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table import_consent_requests (
        organization_id uuid not null references organizations (organization_id) on delete cascade,
        -- sha256 of the state sent to Microsoft (the state itself is never stored).
        state_hash bytea not null,
        -- sha256 of the admin's session cookie: the callback must come back in the same session.
        session_hash bytea not null,
        requested_by uuid not null,
        foreign key (organization_id, requested_by) references members (organization_id, id) on delete cascade,
        created_at timestamptz not null default now(),
        expires_at timestamptz not null,
        used_at timestamptz,
        primary key (organization_id, state_hash)
      );
      create index import_consent_requests_expires_idx on import_consent_requests (expires_at);

      create table import_tenant_consents (
        organization_id uuid not null references organizations (organization_id) on delete cascade,
        tenant_id text not null check (length(tenant_id) between 1 and 200),
        consented_by uuid,
        consented_at timestamptz not null default now(),
        primary key (organization_id, tenant_id)
      );

      alter table import_integrations
        add column credentials text not null default 'client_secret' check (credentials in ('client_secret', 'gatehouse_app')),
        add column entra_group_name text check (length(entra_group_name) <= 256),
        alter column client_secret_sealed drop not null,
        add constraint import_integrations_credentials_secret check ((credentials = 'client_secret') = (client_secret_sealed is not null));
    `);
  }

  override async down(): Promise<void> {
    this.addSql(`
      delete from import_integrations where credentials = 'gatehouse_app';
      alter table import_integrations drop constraint if exists import_integrations_credentials_secret;
      alter table import_integrations alter column client_secret_sealed set not null;
      alter table import_integrations drop column if exists entra_group_name;
      alter table import_integrations drop column if exists credentials;
      drop table if exists import_tenant_consents;
      drop table if exists import_consent_requests;
    `);
  }
}
