// The statements of Entra group import integrations: their settings, the
// lease that lets one run at a time, and the last run's status. The sync's
// own set-based statements are in ./import.sync.sql.ts.
import type { Sql } from '../db.js';
import { toDate } from '../rows.js';
import {
  INTEGRATION_SELECT,
  toIntegration,
  type ImportCredentials,
  type ImportIdentifier,
  type ImportIntegration,
  type ImportMode,
  type ImportTarget,
  type IntegrationRow,
} from './import.model.js';

export interface NewIntegration {
  readonly organizationId: string;
  readonly id: string;
  readonly name: string;
  readonly tenantId: string;
  readonly clientId: string;
  readonly credentials: ImportCredentials;
  /** Null with credentials gatehouse_app. */
  readonly clientSecretSealed: string | null;
  readonly entraGroupId: string;
  readonly entraGroupName: string | null;
  readonly identifier: ImportIdentifier;
  readonly mode: ImportMode;
  readonly groupId: string;
}

/** A unique violation when the name is taken. */
export async function insertIntegration(sql: Sql, i: NewIntegration): Promise<void> {
  await sql.run(
    `insert into import_integrations (organization_id, id, name, tenant_id, client_id, credentials, client_secret_sealed, entra_group_id, entra_group_name, identifier, mode, group_id)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
    [i.organizationId, i.id, i.name, i.tenantId, i.clientId, i.credentials, i.clientSecretSealed, i.entraGroupId, i.entraGroupName, i.identifier, i.mode, i.groupId],
  );
}

/** A foreign-key violation when the place or lock is not the organisation's. */
export async function insertTarget(sql: Sql, organizationId: string, integrationId: string, id: string, t: ImportTarget): Promise<void> {
  await sql.run(`insert into import_targets (organization_id, integration_id, id, place_id, lock_id, role) values ($1, $2, $3, $4, $5, $6)`, [
    organizationId,
    integrationId,
    id,
    t.placeId,
    t.lockId,
    t.role,
  ]);
}

export async function integrationNamed(sql: Sql, organizationId: string, name: string): Promise<boolean> {
  return (await sql.maybeOne(`select 1 from import_integrations where organization_id = $1 and lower(name) = lower($2)`, [organizationId, name])) !== undefined;
}

export async function selectIntegration(sql: Sql, organizationId: string, id: string): Promise<ImportIntegration | undefined> {
  const row = await sql.maybeOne<IntegrationRow>(`select ${INTEGRATION_SELECT} from import_integrations i where i.organization_id = $1 and i.id = $2`, [organizationId, id]);
  return row && toIntegration(row);
}

export async function selectIntegrations(sql: Sql, organizationId: string): Promise<ImportIntegration[]> {
  const rows = await sql.all<IntegrationRow>(`select ${INTEGRATION_SELECT} from import_integrations i where i.organization_id = $1 order by lower(i.name), i.id`, [
    organizationId,
  ]);
  return rows.map(toIntegration);
}

/** The integration's name and whether it is paused, its row locked until the transaction ends. */
export async function selectPausedForUpdate(sql: Sql, organizationId: string, id: string): Promise<{ name: string; paused: boolean } | undefined> {
  return sql.maybeOne<{ name: string; paused: boolean }>(`select name, paused from import_integrations where organization_id = $1 and id = $2 for update`, [
    organizationId,
    id,
  ]);
}

export async function updatePaused(sql: Sql, organizationId: string, id: string, paused: boolean): Promise<void> {
  await sql.run(`update import_integrations set paused = $3, updated_at = now() where organization_id = $1 and id = $2`, [organizationId, id, paused]);
}

/** Replaces the sealed client secret of an integration with its own registration; its name and credentials, or undefined when there is none. */
export async function updateClientSecret(sql: Sql, organizationId: string, id: string, sealed: string): Promise<{ name: string; credentials: ImportCredentials } | undefined> {
  return sql.maybeOne<{ name: string; credentials: ImportCredentials }>(
    `update import_integrations set client_secret_sealed = case when credentials = 'client_secret' then $3 else null end, updated_at = now()
     where organization_id = $1 and id = $2 returning name, credentials`,
    [organizationId, id, sealed],
  );
}

/** Deletes the integration (its targets and links go with it); its name and group, or undefined when there is none. */
export async function deleteIntegration(sql: Sql, organizationId: string, id: string): Promise<{ name: string; groupId: string } | undefined> {
  const row = await sql.maybeOne<{ name: string; group_id: string }>(`delete from import_integrations where organization_id = $1 and id = $2 returning name, group_id`, [
    organizationId,
    id,
  ]);
  return row && { name: row.name, groupId: row.group_id };
}

/** The ids of the shares the integration granted. */
export async function selectIntegrationShareIds(sql: Sql, organizationId: string, id: string): Promise<string[]> {
  const rows = await sql.all<{ id: string }>(`select id from shares where organization_id = $1 and source = 'import' and source_ref = $2`, [organizationId, id]);
  return rows.map((r) => r.id);
}

/** Integrations whose next run is due, across organisations, least recently run first. */
export async function selectDue(sql: Sql, intervalMinutes: number, limit: number): Promise<{ organizationId: string; id: string }[]> {
  const rows = await sql.all<{ organization_id: string; id: string }>(
    `select organization_id, id from import_integrations
     where not paused and (last_started_at is null or last_started_at <= now() - make_interval(mins => $1))
       and (lease_until is null or lease_until < now())
     order by last_started_at nulls first limit ${limit}`,
    [intervalMinutes],
  );
  return rows.map((r) => ({ organizationId: r.organization_id, id: r.id }));
}

/** What a run needs of its integration, read as it takes the lease. */
export interface Lease extends Pick<NewIntegration, 'name' | 'tenantId' | 'clientId' | 'credentials' | 'clientSecretSealed' | 'entraGroupId' | 'identifier' | 'groupId' | 'mode'> {
  /** The status of the run before this one. */
  readonly prevStatus: string | null;
}

/**
 * Takes the integration's lease for `token` (only one run of an integration
 * at a time, whichever process starts it) unless another holds it; with
 * `dueAfterMinutes` (a scheduled run) only if not paused and due.
 */
export async function takeLease(
  sql: Sql,
  organizationId: string,
  id: string,
  token: string,
  leaseSeconds: number,
  dueAfterMinutes: number | undefined,
): Promise<Lease | undefined> {
  const row = await sql.maybeOne<{
    name: string;
    tenant_id: string;
    client_id: string;
    credentials: ImportCredentials;
    client_secret_sealed: string | null;
    entra_group_id: string;
    identifier: ImportIdentifier;
    group_id: string;
    mode: ImportMode;
    prev_status: string | null;
  }>(
    `update import_integrations i set lease_token = $3, lease_until = now() + make_interval(secs => $4), last_started_at = now(), last_status = 'running'
     from (select last_status as prev_status from import_integrations where organization_id = $1 and id = $2) p
     where i.organization_id = $1 and i.id = $2 and (i.lease_until is null or i.lease_until < now())
       ${dueAfterMinutes !== undefined ? 'and not i.paused and (i.last_started_at is null or i.last_started_at <= now() - make_interval(mins => $5))' : ''}
     returning i.name, i.tenant_id, i.client_id, i.credentials, i.client_secret_sealed, i.entra_group_id, i.identifier, i.group_id, i.mode, p.prev_status`,
    [organizationId, id, token, leaseSeconds, ...(dueAfterMinutes !== undefined ? [dueAfterMinutes] : [])],
  );
  return (
    row && {
      name: row.name,
      tenantId: row.tenant_id,
      clientId: row.client_id,
      credentials: row.credentials,
      clientSecretSealed: row.client_secret_sealed,
      entraGroupId: row.entra_group_id,
      identifier: row.identifier,
      groupId: row.group_id,
      mode: row.mode,
      prevStatus: row.prev_status,
    }
  );
}

/** Why no lease was had: paused, or leased by another run; undefined when there is no such integration. */
export async function selectLeaseState(sql: Sql, organizationId: string, id: string): Promise<{ paused: boolean; leased: boolean } | undefined> {
  return sql.maybeOne<{ paused: boolean; leased: boolean }>(
    `select paused, coalesce(lease_until >= now(), false) as leased from import_integrations where organization_id = $1 and id = $2`,
    [organizationId, id],
  );
}

/** Extends the lease held with `token`; false when it was lost (deleted, or taken over). */
export async function renewLease(sql: Sql, organizationId: string, id: string, token: string, leaseSeconds: number): Promise<boolean> {
  const n = await sql.run(`update import_integrations set lease_until = now() + make_interval(secs => $4) where organization_id = $1 and id = $2 and lease_token = $3`, [
    organizationId,
    id,
    token,
    leaseSeconds,
  ]);
  return n > 0;
}

export interface RunStatus {
  readonly status: 'success' | 'failed';
  readonly errorCode: string | null;
  readonly error: string | null;
  readonly total: number;
  readonly added: number;
  readonly updated: number;
  readonly removed: number;
  readonly durationMs: number;
}

/** Releases the lease held with `token` and records the run; false when the integration is gone (or the lease lost). */
export async function finishRun(sql: Sql, organizationId: string, id: string, token: string, r: RunStatus): Promise<boolean> {
  const n = await sql.run(
    `update import_integrations set lease_token = null, lease_until = null, last_finished_at = now(), last_status = $4, last_error_code = $5,
        last_error = $6, last_total = $7, last_added = $8, last_updated = $9, last_removed = $10, last_duration_ms = $11
      where organization_id = $1 and id = $2 and lease_token = $3`,
    [organizationId, id, token, r.status, r.errorCode, r.error, r.total, r.added, r.updated, r.removed, r.durationMs],
  );
  return n > 0;
}

/** What an integration shares, for its invitation mail: place names, and lock names with their place. */
export async function selectInvitationData(sql: Sql, organizationId: string, id: string, name: string): Promise<Record<string, unknown>> {
  const rows = await sql.all<{ place: string | null; lock: string | null; lock_place: string | null }>(
    `select p.name as place, l.name as lock, lp.name as lock_place
     from import_targets t
     left join places p on p.organization_id = t.organization_id and p.id = t.place_id
     left join locks l on l.organization_id = t.organization_id and l.id = t.lock_id
     left join places lp on lp.organization_id = l.organization_id and lp.id = l.place_id
     where t.organization_id = $1 and t.integration_id = $2 order by p.name, l.name`,
    [organizationId, id],
  );
  return {
    integration: name,
    places: rows.filter((r) => r.place !== null).map((r) => r.place),
    locks: rows.filter((r) => r.lock !== null).map((r) => ({ name: r.lock, place: r.lock_place })),
  };
}

// ---- "Authorize with Microsoft": admin consent requests and consented tenants ----

export async function insertConsentRequest(
  sql: Sql,
  r: { organizationId: string; stateHash: Buffer; sessionHash: Buffer; requestedBy: string; minutes: number },
): Promise<Date> {
  const row = await sql.one<{ expires_at: string }>(
    `insert into import_consent_requests (organization_id, state_hash, session_hash, requested_by, expires_at)
     values ($1, $2, $3, $4, now() + make_interval(mins => $5)) returning expires_at`,
    [r.organizationId, r.stateHash, r.sessionHash, r.requestedBy, r.minutes],
  );
  return toDate(row.expires_at);
}

/**
 * Spends a consent request (single use): marks it used whatever comes next,
 * and says whether it was live and whose session it was bound to; undefined
 * when the organisation has no such unused request.
 */
export async function spendConsentRequest(
  sql: Sql,
  organizationId: string,
  stateHash: Buffer,
): Promise<{ sessionHash: Buffer; requestedBy: string; expired: boolean } | undefined> {
  const row = await sql.maybeOne<{ session_hash: Buffer; requested_by: string; expired: boolean }>(
    `update import_consent_requests set used_at = now()
     where organization_id = $1 and state_hash = $2 and used_at is null
     returning session_hash, requested_by, expires_at <= now() as expired`,
    [organizationId, stateHash],
  );
  return row && { sessionHash: row.session_hash, requestedBy: row.requested_by, expired: row.expired };
}

/** Consent requests past their expiry by a day (the scheduler's purge may call it; creating one also does). */
export async function deleteOldConsentRequests(sql: Sql, organizationId: string): Promise<void> {
  await sql.run(`delete from import_consent_requests where organization_id = $1 and expires_at < now() - interval '1 day'`, [organizationId]);
}

/** Records (or refreshes) the consent of a tenant; true when it is new. */
export async function upsertTenantConsent(sql: Sql, organizationId: string, tenantId: string, memberId: string): Promise<boolean> {
  const row = await sql.one<{ inserted: boolean }>(
    `insert into import_tenant_consents (organization_id, tenant_id, consented_by) values ($1, $2, $3)
     on conflict (organization_id, tenant_id) do update set consented_by = excluded.consented_by, consented_at = now()
     returning (xmax = 0) as inserted`,
    [organizationId, tenantId, memberId],
  );
  return row.inserted;
}

export interface TenantConsentRow {
  readonly tenantId: string;
  readonly consentedAt: Date;
  readonly consentedBy: string | null;
}

export async function selectTenantConsents(sql: Sql, organizationId: string): Promise<TenantConsentRow[]> {
  const rows = await sql.all<{ tenant_id: string; consented_at: string; user_name: string | null }>(
    `select c.tenant_id, c.consented_at, m.user_name from import_tenant_consents c
     left join members m on m.organization_id = c.organization_id and m.id = c.consented_by
     where c.organization_id = $1 order by c.consented_at desc`,
    [organizationId],
  );
  return rows.map((r) => ({ tenantId: r.tenant_id, consentedAt: toDate(r.consented_at), consentedBy: r.user_name }));
}

export async function tenantConsented(sql: Sql, organizationId: string, tenantId: string): Promise<boolean> {
  return (await sql.maybeOne(`select 1 from import_tenant_consents where organization_id = $1 and lower(tenant_id) = lower($2)`, [organizationId, tenantId])) !== undefined;
}
