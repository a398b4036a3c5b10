// The guided Entra set-up's checklist, ticked from what Gatehouse has seen:
// each step is the time it was first seen (null: not yet). One statement.
import type { Sql } from '../db.js';
import { toDate } from '../rows.js';

export interface SetupProgress {
  /** A SCIM token exists (generated in the console or with the CLI). */
  readonly scimTokenCreatedAt: Date | null;
  /**
   * Entra's Test Connection (or any request with the current token): the
   * last authenticated SCIM request; rotating the token clears it.
   */
  readonly scimConnectedAt: Date | null;
  /** The first provisioning cycle: the first user or group Entra created. */
  readonly firstProvisionedAt: Date | null;
  /** Entra's Federation Metadata imported (URL or XML). */
  readonly metadataImportedAt: Date | null;
  /** Gatehouse's SAML certificate generated (the SP metadata is complete). */
  readonly spCertificateAt: Date | null;
  /** The first successful SAML sign-in (a test sign-in does not count). */
  readonly firstSignInAt: Date | null;
}

interface Row {
  scim_token_created_at: string | null;
  scim_connected_at: string | null;
  first_provisioned_at: string | null;
  metadata_imported_at: string | null;
  sp_certificate_at: string | null;
  first_sign_in_at: string | null;
}

export async function selectSetupProgress(sql: Sql, organizationId: string): Promise<SetupProgress | null> {
  // Each audit lookup walks the (organization_id, action, id) index from the oldest entry and stops at the first success.
  const row = await sql.maybeOne<Row>(
    `select o.scim_token_created_at, o.scim_token_last_used_at as scim_connected_at,
       (select min(first.at) from (
          (select at from audit_events where organization_id = $1 and action = 'scim.user.create' and outcome = 'success' order by id limit 1)
          union all
          (select at from audit_events where organization_id = $1 and action = 'scim.group.create' and outcome = 'success' order by id limit 1)
        ) first) as first_provisioned_at,
       (select coalesce(s.metadata_fetched_at, s.updated_at) from saml_settings s where s.organization_id = $1 and s.idp_entity_id is not null) as metadata_imported_at,
       (select min(c.created_at) from saml_sp_certificates c where c.organization_id = $1) as sp_certificate_at,
       (select at from audit_events where organization_id = $1 and action = 'saml.login' and outcome = 'success' order by id limit 1) as first_sign_in_at
     from organizations o where o.organization_id = $1`,
    [organizationId],
  );
  if (!row) return null;
  return {
    scimTokenCreatedAt: toDate(row.scim_token_created_at),
    scimConnectedAt: toDate(row.scim_connected_at),
    firstProvisionedAt: toDate(row.first_provisioned_at),
    metadataImportedAt: toDate(row.metadata_imported_at),
    spCertificateAt: toDate(row.sp_certificate_at),
    firstSignInAt: toDate(row.first_sign_in_at),
  };
}
