// The statements of SAML single sign-on: the IdP settings and certificates,
// the SP key pairs, the request ids issued and the assertion replay cache.
// The login is one statement (completeLoginStatement): request, replay entry,
// session and audit row commit together.
import type { Sql, SqlParam } from '../db.js';
import { toDate } from '../rows.js';
import type { IdpMetadata, SsoUrl } from './saml-metadata.js';

export interface SettingsRow {
  idp_entity_id: string | null;
  idp_sso_urls: SsoUrl[];
  metadata_url: string | null;
  metadata_fetched_at: string | null;
  metadata_refreshed_at: string | null;
  metadata_refresh_error: string | null;
  allow_idp_initiated: boolean;
  require_encryption: boolean;
  idp_slo_urls: SsoUrl[];
}

export interface CertRow {
  fingerprint: string;
  subject: string | null;
  not_before: string;
  not_after: string;
}

export interface SpCertRow extends CertRow {
  id: string;
  active: boolean;
  certificate_pem: string;
  /** Made after the signing certificate (true for all when none signs). */
  newer: boolean;
}

export interface RuntimeRow {
  organization_id: string;
  name: string;
  domain: string;
  idp_entity_id: string | null;
  idp_sso_urls: SsoUrl[] | null;
  allow_idp_initiated: boolean | null;
  require_encryption: boolean | null;
  idp_slo_urls: SsoUrl[] | null;
  idp_certs: string[] | null;
  sp_certs: { pem: string; key: string; active: boolean }[] | null;
}

export interface SignedInMemberRow {
  id: string;
  user_name: string;
  display_name: string | null;
  org_name: string;
  org_domain: string;
  groups: { id: string; displayName: string }[] | null;
}

export interface LoginRow {
  request_ok: boolean;
  replay_ok: boolean;
  id: string | null;
  user_name: string | null;
  active: boolean | null;
  expires_at: string | null;
}

export async function selectSettings(sql: Sql, organizationId: string): Promise<SettingsRow | undefined> {
  return sql.maybeOne<SettingsRow>(
    `select idp_entity_id, idp_sso_urls, metadata_url, metadata_fetched_at, metadata_refreshed_at, metadata_refresh_error, allow_idp_initiated,
       require_encryption, idp_slo_urls
     from saml_settings where organization_id = $1`,
    [organizationId],
  );
}

export async function selectIdpCertificates(sql: Sql, organizationId: string): Promise<CertRow[]> {
  return sql.all<CertRow>(`select fingerprint, subject, not_before, not_after from saml_idp_certificates where organization_id = $1 order by not_after desc`, [
    organizationId,
  ]);
}

/** The SP certificates, active first (the row keeps no subject: it is read from the certificate). */
export async function selectSpCertificates(sql: Sql, organizationId: string): Promise<SpCertRow[]> {
  return sql.all<SpCertRow>(
    `select id, active, certificate_pem, fingerprint, null as subject, not_before, not_after,
       created_at > coalesce((select a.created_at from saml_sp_certificates a where a.organization_id = $1 and a.active), '-infinity') as newer
     from saml_sp_certificates where organization_id = $1 order by active desc, created_at desc`,
    [organizationId],
  );
}

export async function selectMetadataUrl(sql: Sql, organizationId: string): Promise<string | null> {
  const row = await sql.maybeOne<{ metadata_url: string | null }>(`select metadata_url from saml_settings where organization_id = $1`, [organizationId]);
  return row?.metadata_url ?? null;
}

/** Claims up to `limit` organisations whose metadata is a day old for an hour (one process each). */
export async function claimDueRefreshes(sql: Sql, limit: number): Promise<{ organization_id: string; metadata_url: string }[]> {
  return sql.all<{ organization_id: string; metadata_url: string }>(
    `update saml_settings set metadata_claimed_until = now() + interval '1 hour'
     where organization_id in (
       select organization_id from saml_settings
       where metadata_url is not null
         and coalesce(metadata_fetched_at, '-infinity') < now() - interval '1 day'
         and coalesce(metadata_claimed_until, '-infinity') < now()
       order by metadata_fetched_at nulls first limit ${Math.max(1, Math.min(limit, 500))}
       for update skip locked)
     returning organization_id, metadata_url`,
  );
}

export async function recordRefreshFailure(sql: Sql, organizationId: string, message: string): Promise<void> {
  await sql.run(`update saml_settings set metadata_refreshed_at = now(), metadata_refresh_error = $1, updated_at = now() where organization_id = $2`, [
    message,
    organizationId,
  ]);
}

export async function upsertMetadata(sql: Sql, organizationId: string, m: IdpMetadata, url: string | null): Promise<void> {
  await sql.run(
    `insert into saml_settings (organization_id, idp_entity_id, idp_sso_urls, idp_slo_urls, metadata_url, metadata_fetched_at, metadata_refreshed_at, metadata_refresh_error)
     values ($1, $2, $3::jsonb, $4::jsonb, $5, now(), now(), null)
     on conflict (organization_id) do update set idp_entity_id = excluded.idp_entity_id, idp_sso_urls = excluded.idp_sso_urls, idp_slo_urls = excluded.idp_slo_urls,
       metadata_url = excluded.metadata_url, metadata_fetched_at = now(), metadata_refreshed_at = now(), metadata_refresh_error = null,
       metadata_claimed_until = null, updated_at = now()`,
    [organizationId, m.entityId, JSON.stringify(m.ssoUrls), JSON.stringify(m.sloUrls), url],
  );
}

/** Deletes the IdP certificates not among `fingerprints`; the fingerprints deleted. */
export async function deleteIdpCertificatesExcept(sql: Sql, organizationId: string, fingerprints: readonly string[]): Promise<string[]> {
  const rows = await sql.all<{ fingerprint: string }>(
    `delete from saml_idp_certificates where organization_id = $1 and fingerprint <> all($2::text[]) returning fingerprint`,
    [organizationId, fingerprints],
  );
  return rows.map((r) => r.fingerprint);
}

/** True when the certificate was new. */
export async function insertIdpCertificate(sql: Sql, organizationId: string, c: IdpMetadata['certificates'][number]): Promise<boolean> {
  const n = await sql.run(
    `insert into saml_idp_certificates (organization_id, fingerprint, pem, subject, not_before, not_after) values ($1, $2, $3, $4, $5, $6)
     on conflict do nothing`,
    [organizationId, c.fingerprint, c.pem, c.subject, c.notBefore, c.notAfter],
  );
  return n > 0;
}

export async function deactivateSpCertificates(sql: Sql, organizationId: string): Promise<void> {
  await sql.run(`update saml_sp_certificates set active = false where organization_id = $1 and active`, [organizationId]);
}

export async function insertSpCertificate(
  sql: Sql,
  c: {
    organizationId: string;
    id: string;
    certificatePem: string;
    privateKeyEncrypted: string;
    fingerprint: string;
    notBefore: Date;
    notAfter: Date;
    active: boolean;
  },
): Promise<void> {
  await sql.run(
    `insert into saml_sp_certificates (organization_id, id, certificate_pem, private_key_encrypted, fingerprint, not_before, not_after, active)
     values ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [c.organizationId, c.id, c.certificatePem, c.privateKeyEncrypted, c.fingerprint, c.notBefore, c.notAfter, c.active],
  );
}

/** Locks an SP certificate row for the transaction; false when there is none. */
export async function lockSpCertificate(sql: Sql, organizationId: string, id: string): Promise<boolean> {
  const row = await sql.maybeOne<{ active: boolean }>(`select active from saml_sp_certificates where organization_id = $1 and id::text = $2 for update`, [
    organizationId,
    id,
  ]);
  return row !== undefined;
}

/** Makes `id` the only active SP certificate. */
export async function activateOnlySpCertificate(sql: Sql, organizationId: string, id: string): Promise<void> {
  await sql.run(`update saml_sp_certificates set active = (id::text = $2) where organization_id = $1`, [organizationId, id]);
}

/** Deletes an SP certificate unless it is the active one; false when nothing was deleted. */
export async function deleteInactiveSpCertificate(sql: Sql, organizationId: string, id: string): Promise<boolean> {
  const row = await sql.maybeOne<{ active: boolean }>(`delete from saml_sp_certificates where organization_id = $1 and id::text = $2 and not active returning active`, [
    organizationId,
    id,
  ]);
  return row !== undefined;
}

export async function spCertificateExists(sql: Sql, organizationId: string, id: string): Promise<boolean> {
  const row = await sql.maybeOne(`select 1 from saml_sp_certificates where organization_id = $1 and id::text = $2`, [organizationId, id]);
  return row !== undefined;
}

/** Claims the rollover refetch (at most once per `minutes`); the metadata URL when this caller got it. */
export async function claimRolloverRefetch(sql: Sql, organizationId: string, minutes: number): Promise<string | undefined> {
  const row = await sql.maybeOne<{ metadata_url: string }>(
    `update saml_settings set rollover_refetch_at = now()
     where organization_id = $1 and metadata_url is not null
       and coalesce(rollover_refetch_at, '-infinity') < now() - make_interval(mins => $2)
     returning metadata_url`,
    [organizationId, minutes],
  );
  return row?.metadata_url;
}

export async function upsertFlag(sql: Sql, organizationId: string, column: 'allow_idp_initiated' | 'require_encryption', value: boolean): Promise<void> {
  await sql.run(
    `insert into saml_settings (organization_id, ${column}) values ($1, $2)
     on conflict (organization_id) do update set ${column} = excluded.${column}, updated_at = now()`,
    [organizationId, value],
  );
}

/** Everything a login needs for the organisation with this (lower-case) domain, in one statement. */
export async function selectRuntime(sql: Sql, domain: string): Promise<RuntimeRow | undefined> {
  return sql.maybeOne<RuntimeRow>(
    `select o.organization_id, o.name, o.domain, s.idp_entity_id, s.idp_sso_urls, s.allow_idp_initiated, s.require_encryption, s.idp_slo_urls,
       (select json_agg(c.pem order by c.not_after desc) from saml_idp_certificates c where c.organization_id = o.organization_id) as idp_certs,
       (select json_agg(json_build_object('pem', k.certificate_pem, 'key', k.private_key_encrypted, 'active', k.active) order by k.active desc, k.created_at desc)
          from saml_sp_certificates k where k.organization_id = o.organization_id) as sp_certs
     from organizations o left join saml_settings s on s.organization_id = o.organization_id
     where o.domain = $1`,
    [domain],
  );
}

export async function selectOrganizationDomain(sql: Sql, organizationId: string): Promise<string | undefined> {
  const row = await sql.maybeOne<{ domain: string }>(`select domain from organizations where organization_id = $1`, [organizationId]);
  return row?.domain;
}

/** Records an AuthnRequest id; when it was made. */
export async function insertAuthnRequest(sql: Sql, organizationId: string, requestId: string, ttlMs: number, testStartedBy: string | null): Promise<Date> {
  const row = await sql.one<{ created_at: string }>(
    `insert into saml_requests (organization_id, id, expires_at, test_started_by) values ($1, $2, now() + make_interval(secs => $3), $4) returning created_at`,
    [organizationId, requestId, ttlMs / 1000, testStartedBy],
  );
  return toDate(row.created_at);
}

/** Records a LogoutRequest id sent for a member; when it was made. */
export async function insertLogoutRequest(sql: Sql, organizationId: string, requestId: string, ttlMs: number, memberId: string): Promise<Date> {
  const row = await sql.one<{ created_at: string }>(
    `insert into saml_requests (organization_id, id, expires_at, kind, member_id) values ($1, $2, now() + make_interval(secs => $3), 'logout', $4) returning created_at`,
    [organizationId, requestId, ttlMs / 1000, memberId],
  );
  return toDate(row.created_at);
}

/** Uses up an unexpired logout request; undefined when there is none to use. */
export async function useLogoutRequest(sql: Sql, organizationId: string, requestId: string): Promise<{ member_id: string | null } | undefined> {
  return sql.maybeOne<{ member_id: string | null }>(
    `update saml_requests set used_at = now() where organization_id = $1 and id = $2 and kind = 'logout' and used_at is null and expires_at > now()
     returning member_id`,
    [organizationId, requestId],
  );
}

/** Uses up an unexpired test sign-in request; who started it, undefined when there is none to use. */
export async function useTestRequest(sql: Sql, organizationId: string, requestId: string): Promise<string | undefined> {
  const row = await sql.maybeOne<{ by: string }>(
    `update saml_requests set used_at = now() where organization_id = $1 and id = $2 and used_at is null and expires_at > now() and test_started_by is not null and kind = 'authn'
     returning test_started_by::text as by`,
    [organizationId, requestId],
  );
  return row?.by;
}

/** An AuthnRequest of this organisation: whether it is a test sign-in, and when it was made (null once expired). */
export async function selectAuthnRequest(sql: Sql, organizationId: string, requestId: string): Promise<{ test: boolean; createdAt: Date | null } | null> {
  const row = await sql.maybeOne<{ test: boolean; created_at: string; live: boolean }>(
    `select test_started_by is not null as test, created_at, expires_at > now() as live from saml_requests where organization_id = $1 and id = $2 and kind = 'authn'`,
    [organizationId, requestId],
  );
  return row ? { test: row.test, createdAt: row.live ? toDate(row.created_at) : null } : null;
}

/** When an issued, unexpired AuthnRequest was made. */
export async function selectPendingRequest(sql: Sql, organizationId: string, requestId: string): Promise<Date | null> {
  const row = await sql.maybeOne<{ created_at: string }>(
    `select created_at from saml_requests where organization_id = $1 and id = $2 and expires_at > now() and kind = 'authn'`,
    [organizationId, requestId],
  );
  return row ? toDate(row.created_at) : null;
}

/** Records an assertion (or message) id in the replay cache; false when it was there already. */
export async function insertReplay(sql: Sql, organizationId: string, id: string, expiresAt: Date): Promise<boolean> {
  const n = await sql.run(`insert into saml_replay_cache (organization_id, assertion_id, expires_at) values ($1, $2, $3) on conflict do nothing`, [
    organizationId,
    id,
    expiresAt,
  ]);
  return n > 0;
}

/**
 * The login in one statement: uses the request id up ($3 null: IdP-initiated,
 * nothing to use), records the assertion id, and only if both held and the
 * NameID names an active member starts the session and writes its audit row.
 */
const LOGIN_SQL = `with req as (
     update saml_requests set used_at = now()
     where organization_id = $1 and id = $2 and used_at is null and expires_at > now() and test_started_by is null and kind = 'authn' returning 1),
   ok as (select ($3::text is null or exists (select 1 from req)) as request_ok),
   replay as (
     insert into saml_replay_cache (organization_id, assertion_id, expires_at)
     select $4, $5, $6 from ok where ok.request_ok
     on conflict do nothing returning 1),
   m as (select id, user_name, active from members where organization_id = $7 and lower(user_name) = lower($8)),
   sess as (
     insert into sessions (organization_id, id, member_id, expires_at, saml_name_id, saml_session_index)
     select $9, $10, m.id, now() + make_interval(hours => $11), $17, $18 from m where m.active and exists (select 1 from replay)
     returning member_id, expires_at),
   audit as (
     insert into audit_events (organization_id, actor_kind, actor_id, actor_label, action, outcome, resource_type, resource_id, resource_label, detail, request_id, client_address)
     select $12, 'member', m.id::text, m.user_name, 'saml.login', 'success', 'member', m.id::text, m.user_name,
            jsonb_build_object('nameId', $13::text) || $14::jsonb, $15, $16
     from sess join m on m.id = sess.member_id)
   select ok.request_ok, exists (select 1 from replay) as replay_ok, m.id, m.user_name, m.active, (select expires_at from sess) as expires_at
   from ok left join m on true`;

export async function completeLoginStatement(
  sql: Sql,
  l: {
    organizationId: string;
    inResponseTo: string | null;
    assertionId: string;
    replayUntil: Date;
    nameId: string;
    /** The AuthnStatement's SessionIndex, kept with the session for single logout. */
    sessionIndex: string | null;
    sessionHash: Buffer;
    sessionHours: number;
    detail: string;
    requestId: string | null;
    clientAddress: string | null;
  },
): Promise<LoginRow> {
  const params: SqlParam[] = [
    l.organizationId,
    l.inResponseTo ?? '',
    l.inResponseTo,
    l.organizationId,
    l.assertionId,
    l.replayUntil,
    l.organizationId,
    l.nameId,
    l.organizationId,
    l.sessionHash,
    l.sessionHours,
    l.organizationId,
    l.nameId,
    l.detail,
    l.requestId,
    l.clientAddress,
    l.nameId,
    l.sessionIndex,
  ];
  return sql.one<LoginRow>(LOGIN_SQL, params);
}

/** An active member with its organisation and groups (GET /me). */
export async function selectSignedInMember(sql: Sql, organizationId: string, memberId: string): Promise<SignedInMemberRow | undefined> {
  return sql.maybeOne<SignedInMemberRow>(
    `select m.id, m.user_name, m.display_name, o.name as org_name, o.domain as org_domain,
       (select json_agg(json_build_object('id', g.id, 'displayName', g.display_name) order by lower(g.display_name))
          from group_members gm join groups g on g.organization_id = gm.organization_id and g.id = gm.group_id
          where gm.organization_id = m.organization_id and gm.member_id = m.id) as groups
     from members m join organizations o on o.organization_id = m.organization_id
     where m.organization_id = $1 and m.id = $2 and m.active`,
    [organizationId, memberId],
  );
}

/** Forgets request ids a day past their expiry and expired replay entries; how many rows went. */
export async function purgeExpired(sql: Sql): Promise<number> {
  const a = await sql.run(`delete from saml_requests where expires_at < now() - interval '1 day'`);
  const b = await sql.run(`delete from saml_replay_cache where expires_at < now()`);
  return a + b;
}
