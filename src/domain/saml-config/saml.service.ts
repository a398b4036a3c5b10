// SAML single sign-on settings and the stateful half of a login: the IdP
// configuration imported from Entra's metadata, the SP's key pairs, the
// AuthnRequest ids issued, the assertion replay cache, and the login itself
// (NameID → member → session, audited whatever the outcome). All rows, so any
// process can finish a login another started. Validating the XML is the SAML
// edge's job; deciding who may sign in is this service's.
import { isOrganizationDomain } from '../organization/organization.service.js';
import { isUuid } from '../ids.js';
import crypto from 'node:crypto';
import { requireAdmin, systemActor, type Actor } from '../actor.js';
import type { Db } from '../db.js';
import { toDate } from '../rows.js';
import { Conflict, Forbidden, Invalid, NotFound, RateLimited } from '../errors.js';
import type { RateLimitService } from '../rate-limit/rate-limit.service.js';
import type { Cipher } from '../secrets.js';
import { currentOrigin } from '../origin.js';
import { writeAudit, type AuditEvent, type AuditService } from '../audit/audit.service.js';
import type { SessionService, StartedSession } from '../session/session.service.js';
import { generateSpCertificate, readCertificate } from './saml-certificate.js';
import { fetchMetadata, logoutService, parseIdpMetadata, signOnUrl, singleLogoutActive, type IdpMetadata, type SsoUrl } from './saml-metadata.js';

export const CERT_WARNING_DAYS = 30;
/** At most one metadata refetch per organisation this often, however many unknown-certificate responses arrive. */
export const ROLLOVER_REFETCH_MINUTES = 5;
const DAY_MS = 86_400_000;

export interface CertificateView {
  readonly fingerprint: string;
  readonly subject: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Whole days left (negative once expired). */
  readonly daysLeft: number;
  /** Set when the certificate has ended or ends within 30 days. */
  readonly warning: string | null;
}

export interface SpCertificateView extends CertificateView {
  readonly id: string;
  /** Signs AuthnRequests; the others stay published until removed. */
  readonly active: boolean;
  /**
   * signing: the active one; next: published, made after the signing one (a
   * rollover's new certificate, not yet promoted); retired: published, older
   * than the signing one (it signed before and may be removed once Entra
   * no longer needs it).
   */
  readonly use: 'signing' | 'next' | 'retired';
  readonly pem: string;
}

export interface SamlSettings {
  /** True once IdP metadata has been imported. */
  readonly configured: boolean;
  readonly idpEntityId: string | null;
  readonly ssoUrls: readonly SsoUrl[];
  readonly metadataUrl: string | null;
  readonly metadataFetchedAt: Date | null;
  readonly lastRefreshAt: Date | null;
  /** Why the last refresh from the URL failed; null when it worked. */
  readonly lastRefreshError: string | null;
  readonly allowIdpInitiated: boolean;
  /** Refuse assertions that are not encrypted (Entra's Token encryption must be on). */
  readonly requireEncryption: boolean;
  /** The IdP's SingleLogoutService endpoints; none: sign-out ends only the Gatehouse session. */
  readonly sloUrls: readonly SsoUrl[];
  /** The one of them sign-out goes on to (logoutService: HTTP-Redirect, else HTTP-POST); null when none. */
  readonly idpLogout: SsoUrl | null;
  /** Single logout is on: sign-out goes on to idpLogout with a LogoutRequest signed by the active SP certificate. */
  readonly singleLogoutActive: boolean;
  readonly idpCertificates: readonly CertificateView[];
  readonly spCertificates: readonly SpCertificateView[];
  /** Certificates ending soon, a failed refresh, missing configuration. */
  readonly warnings: readonly string[];
}

/** What the SAML edge needs to build and check messages for one organisation. */
export interface SamlRuntime {
  readonly organization: { readonly id: string; readonly name: string; readonly domain: string };
  readonly idpEntityId: string | null;
  /** The HTTP-Redirect SingleSignOnService. */
  readonly ssoUrl: string | null;
  readonly idpCertificates: readonly string[];
  readonly allowIdpInitiated: boolean;
  readonly requireEncryption: boolean;
  /** The IdP's SingleLogoutService (logoutService: HTTP-Redirect, else HTTP-POST); null when it lists none. */
  readonly slo: SsoUrl | null;
  /** The active SP key pair, decrypted; null until "Generate Certificate". */
  readonly signing: { readonly privateKeyPem: string; readonly certificatePem: string } | null;
  /** Every published SP certificate (active first). */
  readonly spCertificates: readonly string[];
  /** The private keys of every published SP certificate (active first): any may be the one Entra encrypts for. */
  readonly decryptionKeys: readonly string[];
}

export interface LoginFailure {
  /** Stable snake_case reason: invalid_signature, wrong_audience, expired, unknown_user... */
  readonly reason: string;
  /** What an admin reads: expected vs actual. */
  readonly message: string;
  readonly nameId?: string | null;
  readonly detail?: Record<string, unknown>;
}

/** What the SAML edge established from a signed response. */
export interface VerifiedAssertion {
  /** The NameID: Entra's user.userprincipalname. */
  readonly nameId: string;
  readonly assertionId: string;
  /** When the replay-cache entry may be forgotten. */
  readonly replayUntil: Date;
  /** The AuthnRequest id answered (SP-initiated); null for IdP-initiated. */
  readonly inResponseTo: string | null;
  /** The AuthnStatement's SessionIndex: the IdP session, named again in the LogoutRequest at sign-out. */
  readonly sessionIndex?: string | null;
  readonly detail?: Record<string, unknown>;
}

export interface SignedInMember {
  readonly id: string;
  readonly userName: string;
  readonly displayName: string | null;
  readonly organization: { readonly id: string; readonly name: string; readonly domain: string };
  readonly groups: readonly { readonly id: string; readonly displayName: string }[];
}

interface SettingsRow {
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

interface CertRow {
  fingerprint: string;
  subject: string | null;
  not_before: string;
  not_after: string;
}

interface SpCertRow extends CertRow {
  id: string;
  active: boolean;
  certificate_pem: string;
  /** Made after the signing certificate (true for all when none signs). */
  newer: boolean;
}

export class SamlService {
  constructor(
    private readonly db: Db,
    private readonly cipher: Cipher,
    private readonly sessions: SessionService,
    private readonly audit: AuditService,
    private readonly rateLimits: RateLimitService,
  ) {}

  async settings(actor: Actor, now = new Date()): Promise<SamlSettings> {
    requireAdmin(actor);
    const orgId = actor.organizationId;
    const row = await this.db.sql.maybeOne<SettingsRow>(
      `select idp_entity_id, idp_sso_urls, metadata_url, metadata_fetched_at, metadata_refreshed_at, metadata_refresh_error, allow_idp_initiated,
         require_encryption, idp_slo_urls
       from saml_settings where organization_id = $1`,
      [orgId],
    );
    const idp = await this.db.sql.all<CertRow>(
      `select fingerprint, subject, not_before, not_after from saml_idp_certificates where organization_id = $1 order by not_after desc`,
      [orgId],
    );
    const sp = await this.db.sql.all<SpCertRow>(
      `select id, active, certificate_pem, fingerprint, null as subject, not_before, not_after,
         created_at > coalesce((select a.created_at from saml_sp_certificates a where a.organization_id = $1 and a.active), '-infinity') as newer
       from saml_sp_certificates where organization_id = $1 order by active desc, created_at desc`,
      [orgId],
    );
    const idpCertificates = idp.map((c) => certView(c, now));
    // The SP certificate's subject is read from the certificate itself (the row keeps none).
    const spCertificates = sp.map((c) => ({
      ...certView({ ...c, subject: subjectOf(c.certificate_pem) }, now),
      id: c.id,
      active: c.active,
      use: c.active ? ('signing' as const) : c.newer ? ('next' as const) : ('retired' as const),
      pem: c.certificate_pem,
    }));
    const warnings: string[] = [];
    if (!row?.idp_entity_id) warnings.push('No identity provider metadata imported yet: saml import --org DOMAIN --metadata-url URL');
    for (const c of idpCertificates) if (c.warning) warnings.push(`IdP certificate ${c.fingerprint.slice(0, 23)}…: ${c.warning}`);
    for (const c of spCertificates) if (c.warning) warnings.push(`SP certificate ${c.id}: ${c.warning}`);
    if (row?.metadata_refresh_error) warnings.push(`The last metadata refresh failed: ${row.metadata_refresh_error}`);
    const idpLogout = logoutService(row?.idp_slo_urls ?? []);
    const signs = spCertificates.some((c) => c.active);
    if (idpLogout && !signs) warnings.push('The identity provider offers single logout, but Gatehouse has no certificate to sign its LogoutRequest: Generate Certificate to turn single logout on');
    return {
      configured: Boolean(row?.idp_entity_id),
      idpEntityId: row?.idp_entity_id ?? null,
      ssoUrls: row?.idp_sso_urls ?? [],
      metadataUrl: row?.metadata_url ?? null,
      metadataFetchedAt: toDate(row?.metadata_fetched_at ?? null),
      lastRefreshAt: toDate(row?.metadata_refreshed_at ?? null),
      lastRefreshError: row?.metadata_refresh_error ?? null,
      allowIdpInitiated: row?.allow_idp_initiated ?? true,
      requireEncryption: row?.require_encryption ?? false,
      sloUrls: row?.idp_slo_urls ?? [],
      idpLogout,
      singleLogoutActive: singleLogoutActive(idpLogout, signs),
      idpCertificates,
      spCertificates,
      warnings,
    };
  }

  /** Imports IdP metadata pasted as XML (no URL: no scheduled refresh). */
  async importMetadataXml(actor: Actor, xml: string): Promise<SamlSettings> {
    requireAdmin(actor);
    const metadata = parseIdpMetadata(xml);
    await this.store(actor, metadata, null, 'saml.metadata.import');
    return this.settings(actor);
  }

  /** Fetches and imports metadata from a URL, kept for the daily refresh. */
  async importMetadataUrl(actor: Actor, url: string): Promise<SamlSettings> {
    requireAdmin(actor);
    const metadata = parseIdpMetadata(await fetchMetadata(url));
    await this.store(actor, metadata, url, 'saml.metadata.import');
    return this.settings(actor);
  }

  /** Fetches the stored metadata URL again now; a failure is recorded and the previous configuration kept. */
  async refreshMetadata(actor: Actor): Promise<SamlSettings> {
    requireAdmin(actor);
    const row = await this.db.sql.maybeOne<{ metadata_url: string | null }>(`select metadata_url from saml_settings where organization_id = $1`, [
      actor.organizationId,
    ]);
    if (!row?.metadata_url) throw new Invalid('no_metadata_url', 'There is no metadata URL to refresh from: paste the App Federation Metadata Url first');
    await this.refreshFrom(actor, row.metadata_url);
    return this.settings(actor);
  }

  /**
   * The daily refresh, safe with many processes: each organisation whose
   * metadata is a day old is claimed by exactly one process (the UPDATE …
   * RETURNING takes it; the others see it claimed for an hour).
   */
  async refreshDue(limit = 20): Promise<{ organizationId: string; error: string | null }[]> {
    const claimed = await this.db.sql.all<{ organization_id: string; metadata_url: string }>(
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
    const results: { organizationId: string; error: string | null }[] = [];
    for (const c of claimed) {
      const actor = systemActor(c.organization_id, 'saml-metadata-refresh');
      try {
        await this.refreshFrom(actor, c.metadata_url);
        results.push({ organizationId: c.organization_id, error: null });
      } catch (e) {
        results.push({ organizationId: c.organization_id, error: (e as Error).message });
      }
    }
    return results;
  }

  private async refreshFrom(actor: Actor, url: string): Promise<void> {
    let metadata: IdpMetadata;
    try {
      metadata = parseIdpMetadata(await fetchMetadata(url));
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      await this.db.transaction(async (tx) => {
        await tx.run(`update saml_settings set metadata_refreshed_at = now(), metadata_refresh_error = $1, updated_at = now() where organization_id = $2`, [
          message.slice(0, 500),
          actor.organizationId,
        ]);
        await writeAudit(tx, actor, { action: 'saml.metadata.refresh', outcome: 'failure', resourceType: 'saml', reason: message.slice(0, 500), detail: { url } });
      });
      throw e;
    }
    await this.store(actor, metadata, url, 'saml.metadata.refresh');
  }

  private async store(actor: Actor, m: IdpMetadata, url: string | null, action: string): Promise<void> {
    const orgId = actor.organizationId;
    await this.db.transaction(async (tx) => {
      await tx.run(
        `insert into saml_settings (organization_id, idp_entity_id, idp_sso_urls, idp_slo_urls, metadata_url, metadata_fetched_at, metadata_refreshed_at, metadata_refresh_error)
         values ($1, $2, $3::jsonb, $4::jsonb, $5, now(), now(), null)
         on conflict (organization_id) do update set idp_entity_id = excluded.idp_entity_id, idp_sso_urls = excluded.idp_sso_urls, idp_slo_urls = excluded.idp_slo_urls,
           metadata_url = excluded.metadata_url, metadata_fetched_at = now(), metadata_refreshed_at = now(), metadata_refresh_error = null,
           metadata_claimed_until = null, updated_at = now()`,
        [orgId, m.entityId, JSON.stringify(m.ssoUrls), JSON.stringify(m.sloUrls), url],
      );
      // The metadata is the whole truth: a certificate Entra no longer lists stops being trusted.
      const fingerprints = m.certificates.map((c) => c.fingerprint);
      const removed = await tx.all<{ fingerprint: string }>(
        `delete from saml_idp_certificates where organization_id = $1 and fingerprint <> all($2::text[]) returning fingerprint`,
        [orgId, fingerprints],
      );
      const added: string[] = [];
      for (const c of m.certificates) {
        const n = await tx.run(
          `insert into saml_idp_certificates (organization_id, fingerprint, pem, subject, not_before, not_after) values ($1, $2, $3, $4, $5, $6)
           on conflict do nothing`,
          [orgId, c.fingerprint, c.pem, c.subject, c.notBefore, c.notAfter],
        );
        if (n > 0) added.push(c.fingerprint);
      }
      await writeAudit(tx, actor, {
        action,
        resourceType: 'saml',
        resourceLabel: m.entityId,
        detail: { entityId: m.entityId, metadataUrl: url, ssoUrls: m.ssoUrls, certificatesAdded: added, certificatesRemoved: removed.map((r) => r.fingerprint) },
      });
    });
  }

  /** "Generate Certificate": a new active SP key pair; earlier ones stay published until removed. */
  /**
   * "Generate Certificate". By default the new key pair signs at once; with
   * `next` it is only published (metadata, for signing and encryption) so
   * Entra can be told first, and signs once promoted (promoteSpCertificate).
   */
  async generateCertificate(actor: Actor, commonName: string, opts: { next?: boolean } = {}): Promise<SpCertificateView> {
    requireAdmin(actor);
    const { certificate, privateKeyPem } = generateSpCertificate(commonName);
    const id = crypto.randomUUID();
    const next = opts.next === true;
    await this.db.transaction(async (tx) => {
      if (!next) await tx.run(`update saml_sp_certificates set active = false where organization_id = $1 and active`, [actor.organizationId]);
      await tx.run(
        `insert into saml_sp_certificates (organization_id, id, certificate_pem, private_key_encrypted, fingerprint, not_before, not_after, active)
         values ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [actor.organizationId, id, certificate.pem, this.cipher.encrypt(privateKeyPem), certificate.fingerprint, certificate.notBefore, certificate.notAfter, !next],
      );
      await writeAudit(tx, actor, {
        action: next ? 'saml.certificate.generate_next' : 'saml.certificate.generate',
        resourceType: 'saml_sp_certificate',
        resourceId: id,
        detail: { fingerprint: certificate.fingerprint, notAfter: certificate.notAfter.toISOString(), next },
      });
    });
    const view = (await this.settings(actor)).spCertificates.find((c) => c.id === id);
    if (!view) throw new Error('generated certificate vanished');
    return view;
  }

  /** Makes a published ("next") SP certificate the one that signs; the previous one stays published until removed. */
  async promoteSpCertificate(actor: Actor, id: string): Promise<SpCertificateView> {
    requireAdmin(actor);
    if (!isUuid(id)) throw new NotFound('saml_certificate', String(id).slice(0, 100));
    await this.db.transaction(async (tx) => {
      const found = await tx.maybeOne<{ active: boolean }>(`select active from saml_sp_certificates where organization_id = $1 and id::text = $2 for update`, [
        actor.organizationId,
        id,
      ]);
      if (!found) throw new NotFound('saml_certificate', id);
      await tx.run(`update saml_sp_certificates set active = (id::text = $2) where organization_id = $1`, [actor.organizationId, id]);
      await writeAudit(tx, actor, { action: 'saml.certificate.promote', resourceType: 'saml_sp_certificate', resourceId: id });
    });
    const view = (await this.settings(actor)).spCertificates.find((c) => c.id === id);
    if (!view) throw new NotFound('saml_certificate', id);
    return view;
  }

  /**
   * Certificate rollover without a failed sign-in: a response signed by a
   * certificate the stored metadata does not list makes Gatehouse fetch the
   * metadata URL again, at most once per ROLLOVER_REFETCH_MINUTES per
   * organisation (claimed by one statement, whichever process asks), so a
   * stream of forged responses costs at most one bounded fetch. True when the
   * metadata was fetched and stored now (the caller checks the response again).
   */
  async refetchOnUnknownCertificate(organizationId: string): Promise<boolean> {
    const claimed = await this.db.sql.maybeOne<{ metadata_url: string }>(
      `update saml_settings set rollover_refetch_at = now()
       where organization_id = $1 and metadata_url is not null
         and coalesce(rollover_refetch_at, '-infinity') < now() - make_interval(mins => $2)
       returning metadata_url`,
      [organizationId, ROLLOVER_REFETCH_MINUTES],
    );
    if (!claimed) return false;
    try {
      await this.refreshFrom(systemActor(organizationId, 'saml-rollover'), claimed.metadata_url);
      return true;
    } catch {
      return false; // recorded by refreshFrom; the previous configuration stays
    }
  }

  /** Unpublishes an SP certificate; the active one can only go once another replaced it. */
  async removeSpCertificate(actor: Actor, id: string): Promise<void> {
    requireAdmin(actor);
    if (!isUuid(id)) throw new NotFound('saml_certificate', String(id).slice(0, 100));
    await this.db.transaction(async (tx) => {
      const row = await tx.maybeOne<{ active: boolean }>(`delete from saml_sp_certificates where organization_id = $1 and id::text = $2 and not active returning active`, [
        actor.organizationId,
        id,
      ]);
      if (!row) {
        const active = await tx.maybeOne(`select 1 from saml_sp_certificates where organization_id = $1 and id::text = $2`, [actor.organizationId, id]);
        if (active) throw new Invalid('certificate_active', 'This certificate signs requests now: generate a new one before removing it');
        throw new NotFound('saml_certificate', id);
      }
      await writeAudit(tx, actor, { action: 'saml.certificate.remove', resourceType: 'saml_sp_certificate', resourceId: id });
    });
  }

  async setIdpInitiated(actor: Actor, allow: boolean): Promise<SamlSettings> {
    return this.setFlag(actor, 'allow_idp_initiated', allow, 'saml.idp_initiated', { allow });
  }

  /** Entra's "Token encryption": when required, an assertion that is not encrypted is refused. */
  async setRequireEncryption(actor: Actor, require: boolean): Promise<SamlSettings> {
    return this.setFlag(actor, 'require_encryption', require, 'saml.require_encryption', { require });
  }

  /** One boolean of saml_settings, written with its audit event. */
  private async setFlag(
    actor: Actor,
    column: 'allow_idp_initiated' | 'require_encryption',
    value: boolean,
    action: 'saml.idp_initiated' | 'saml.require_encryption',
    detail: Record<string, boolean>,
  ): Promise<SamlSettings> {
    requireAdmin(actor);
    await this.db.transaction(async (tx) => {
      await tx.run(
        `insert into saml_settings (organization_id, ${column}) values ($1, $2)
         on conflict (organization_id) do update set ${column} = excluded.${column}, updated_at = now()`,
        [actor.organizationId, value],
      );
      await writeAudit(tx, actor, { action, resourceType: 'saml', detail });
    });
    return this.settings(actor);
  }

  /** Everything a login needs for the organisation with this domain, in one statement. */
  async runtime(orgDomain: string): Promise<SamlRuntime> {
    // A slug from the URL: no query for what cannot be a domain (NUL is PostgreSQL's error, not "no such organisation").
    if (!isOrganizationDomain(orgDomain)) throw new NotFound('organization', JSON.stringify(orgDomain.slice(0, 100)));
    const row = await this.db.sql.maybeOne<{
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
    }>(
      `select o.organization_id, o.name, o.domain, s.idp_entity_id, s.idp_sso_urls, s.allow_idp_initiated, s.require_encryption, s.idp_slo_urls,
         (select json_agg(c.pem order by c.not_after desc) from saml_idp_certificates c where c.organization_id = o.organization_id) as idp_certs,
         (select json_agg(json_build_object('pem', k.certificate_pem, 'key', k.private_key_encrypted, 'active', k.active) order by k.active desc, k.created_at desc)
            from saml_sp_certificates k where k.organization_id = o.organization_id) as sp_certs
       from organizations o left join saml_settings s on s.organization_id = o.organization_id
       where o.domain = $1`,
      [orgDomain.toLowerCase()],
    );
    if (!row) throw new NotFound('organization', orgDomain);
    const spCerts = row.sp_certs ?? [];
    const keys = spCerts.map((c) => this.decryptKey(c.key));
    const activeIndex = spCerts.findIndex((c) => c.active);
    const slo = row.idp_slo_urls ?? [];
    return {
      organization: { id: row.organization_id, name: row.name, domain: row.domain },
      idpEntityId: row.idp_entity_id,
      ssoUrl: signOnUrl(row.idp_sso_urls ?? []),
      idpCertificates: row.idp_certs ?? [],
      allowIdpInitiated: row.allow_idp_initiated ?? true,
      requireEncryption: row.require_encryption ?? false,
      slo: logoutService(slo),
      signing: activeIndex >= 0 ? { privateKeyPem: keys[activeIndex]!, certificatePem: spCerts[activeIndex]!.pem } : null,
      spCertificates: spCerts.map((c) => c.pem),
      decryptionKeys: keys,
    };
  }

  /** The runtime of a member's own organisation (sign-out knows the session, not the URL's domain). */
  async runtimeOf(organizationId: string): Promise<SamlRuntime> {
    const org = await this.db.sql.maybeOne<{ domain: string }>(`select domain from organizations where organization_id = $1`, [organizationId]);
    if (!org) throw new NotFound('organization', organizationId);
    return this.runtime(org.domain);
  }

  /** SP private keys decrypted once per process (a login must not pay for it each time). */
  private readonly keys = new Map<string, string>();
  private decryptKey(encrypted: string): string {
    let pem = this.keys.get(encrypted);
    if (pem === undefined) {
      if (this.keys.size >= 1000) this.keys.delete(this.keys.keys().next().value!);
      pem = this.cipher.decrypt(encrypted);
      this.keys.set(encrypted, pem);
    }
    return pem;
  }

  /** Records an AuthnRequest id this system issued. */
  async saveRequest(organizationId: string, requestId: string, ttlMs: number, testStartedBy?: string): Promise<Date> {
    const row = await this.db.sql.one<{ created_at: string }>(
      `insert into saml_requests (organization_id, id, expires_at, test_started_by) values ($1, $2, now() + make_interval(secs => $3), $4) returning created_at`,
      [organizationId, requestId, ttlMs / 1000, testStartedBy ?? null],
    );
    return toDate(row.created_at);
  }

  /** Records a LogoutRequest id this system sent to the IdP for a member who signed out (its LogoutResponse must answer it). */
  async saveLogoutRequest(organizationId: string, requestId: string, ttlMs: number, memberId: string): Promise<Date> {
    const row = await this.db.sql.one<{ created_at: string }>(
      `insert into saml_requests (organization_id, id, expires_at, kind, member_id) values ($1, $2, now() + make_interval(secs => $3), 'logout', $4) returning created_at`,
      [organizationId, requestId, ttlMs / 1000, memberId],
    );
    return toDate(row.created_at);
  }

  /**
   * The IdP's LogoutResponse to a LogoutRequest Gatehouse sent (SP-initiated
   * single logout), verified by the SAML edge: uses the request id up (once,
   * unexpired, a logout request of this organisation) and audits the sign-out.
   * The member's session ended when the sign-out started; this only closes the loop.
   */
  async completeLogout(organizationId: string, inResponseTo: string): Promise<{ memberId: string | null }> {
    const done = await this.db.transaction(async (tx) => {
      const row = await tx.maybeOne<{ member_id: string | null }>(
        `update saml_requests set used_at = now() where organization_id = $1 and id = $2 and kind = 'logout' and used_at is null and expires_at > now()
         returning member_id`,
        [organizationId, inResponseTo.slice(0, 200)],
      );
      if (!row) return null;
      await writeAudit(tx, systemActor(organizationId, 'saml'), {
        action: 'saml.logout',
        resourceType: 'member',
        resourceId: row.member_id,
        detail: { flow: 'sp', inResponseTo },
      });
      return { memberId: row.member_id };
    });
    if (!done) {
      const refusal = new Conflict('unknown_in_response_to', 'This LogoutResponse answers no sign-out this server started, or that sign-out expired or was already completed');
      await this.recordLogoutFailure(organizationId, { reason: refusal.code, message: refusal.message, detail: { flow: 'sp', inResponseTo: inResponseTo.slice(0, 200) } });
      throw refusal;
    }
    return done;
  }

  /**
   * A LogoutRequest from the IdP (the person signed out elsewhere), verified by
   * the SAML edge: records its id (a replayed request is refused, nothing
   * changes), then ends every session of the member the NameID names in this
   * organisation, audited, in one transaction. Null member: the NameID names nobody here.
   */
  async idpLogout(
    organizationId: string,
    request: { readonly requestId: string; readonly nameId: string; readonly replayUntil: Date; readonly sessionIndex: string | null },
  ): Promise<{ memberId: string | null; sessionsEnded: number }> {
    const done = await this.db.transaction(async (tx) => {
      const fresh = await tx.run(`insert into saml_replay_cache (organization_id, assertion_id, expires_at) values ($1, $2, $3) on conflict do nothing`, [
        organizationId,
        `logout-request:${request.requestId}`,
        request.replayUntil,
      ]);
      if (fresh === 0) return null;
      const m = await tx.maybeOne<{ id: string; user_name: string }>(`select id, user_name from members where organization_id = $1 and lower(user_name) = lower($2)`, [
        organizationId,
        request.nameId,
      ]);
      const sessionsEnded = m ? await tx.run(`delete from sessions where organization_id = $1 and member_id = $2`, [organizationId, m.id]) : 0;
      await writeAudit(tx, systemActor(organizationId, 'saml'), {
        action: 'saml.logout',
        outcome: m ? 'success' : 'failure',
        resourceType: 'member',
        resourceId: m?.id ?? null,
        resourceLabel: m?.user_name ?? request.nameId,
        reason: m ? null : 'unknown_user',
        detail: { flow: 'idp', requestId: request.requestId, nameId: request.nameId, sessionIndex: request.sessionIndex, sessionsEnded },
      });
      return { memberId: m?.id ?? null, sessionsEnded };
    });
    if (!done) {
      const refusal = new Conflict('replayed_logout_request', `The LogoutRequest ${request.requestId} was already processed once`);
      await this.recordLogoutFailure(organizationId, { reason: refusal.code, message: refusal.message, nameId: request.nameId, detail: { flow: 'idp', requestId: request.requestId } });
      throw refusal;
    }
    return done;
  }

  /**
   * The AuthnRequest a response answers, looked up once per response: whether
   * it is a "Test sign-in" (its answer gets a result page, never a session)
   * and when it was made (null once expired). Null: no such request here.
   */
  async authnRequest(organizationId: string, requestId: string): Promise<{ test: boolean; createdAt: Date | null } | null> {
    const row = await this.db.sql.maybeOne<{ test: boolean; created_at: string; live: boolean }>(
      `select test_started_by is not null as test, created_at, expires_at > now() as live from saml_requests where organization_id = $1 and id = $2 and kind = 'authn'`,
      [organizationId, requestId.slice(0, 200)],
    );
    return row ? { test: row.test, createdAt: row.live ? toDate(row.created_at) : null } : null;
  }

  /**
   * Finishes a test sign-in: uses the test request and the assertion up, finds
   * the member the NameID names and says whether a real sign-in would pass.
   * Starts no session, for anyone; audited as `saml.test`.
   */
  async completeTestLogin(
    organizationId: string,
    login: VerifiedAssertion,
  ): Promise<{ outcome: 'success' | 'failure'; reason: string | null; message: string | null; member: { id: string; userName: string; displayName: string | null; active: boolean } | null }> {
    return this.db.transaction(async (tx) => {
      const req = await tx.maybeOne<{ by: string }>(
        `update saml_requests set used_at = now() where organization_id = $1 and id = $2 and used_at is null and expires_at > now() and test_started_by is not null and kind = 'authn'
         returning test_started_by::text as by`,
        [organizationId, login.inResponseTo ?? ''],
      );
      const fresh = req
        ? await tx.run(`insert into saml_replay_cache (organization_id, assertion_id, expires_at) values ($1, $2, $3) on conflict do nothing`, [organizationId, login.assertionId, login.replayUntil])
        : 0;
      const m = await tx.maybeOne<{ id: string; user_name: string; display_name: string | null; active: boolean }>(
        `select id, user_name, display_name, active from members where organization_id = $1 and lower(user_name) = lower($2)`,
        [organizationId, login.nameId],
      );
      let reason: string | null = null;
      let message: string | null = null;
      if (!req) [reason, message] = ['reused_in_response_to', 'This test was already completed, or it expired: start it again from the console'];
      else if (fresh === 0) [reason, message] = ['replayed_assertion', `The assertion ${login.assertionId} was already used once`];
      else if (!m) [reason, message] = ['unknown_user', `No member of this organisation has the userName "${login.nameId}" (the NameID sent by the IdP)`];
      else if (!m.active) [reason, message] = ['inactive_user', `The member "${m.user_name}" is deactivated in Gatehouse`];
      const outcome = reason ? 'failure' : 'success';
      await writeAudit(tx, systemActor(organizationId, 'saml-test'), {
        action: 'saml.test',
        outcome,
        resourceType: 'member',
        resourceId: m?.id ?? null,
        resourceLabel: m?.user_name ?? login.nameId,
        reason,
        detail: { nameId: login.nameId, startedBy: req?.by ?? null, message, ...(login.detail ?? {}) },
      });
      return { outcome, reason, message, member: m ? { id: m.id, userName: m.user_name, displayName: m.display_name, active: m.active } : null };
    });
  }

  /** When an issued, unexpired request was made; null otherwise (whether it was used is completeLogin's question). */
  async pendingRequest(organizationId: string, requestId: string): Promise<Date | null> {
    const row = await this.db.sql.maybeOne<{ created_at: string }>(
      `select created_at from saml_requests where organization_id = $1 and id = $2 and expires_at > now() and kind = 'authn'`,
      [organizationId, requestId],
    );
    return row ? toDate(row.created_at) : null;
  }

  /**
   * Finishes a login whose response the SAML edge verified, in ONE statement
   * (a login is hot; every round trip counts): uses the request id up
   * (SP-initiated), records the assertion id (replay cache), applies the
   * identity rule, and only if all hold starts the session and writes its
   * audit row. The identity rule: the NameID (Entra's UPN) names a member of
   * this organisation by userName, case-insensitively, who must exist and be
   * active. SCIM owns the directory, so a login never creates, re-activates or
   * changes a member. A refused assertion stays used up; the refusal is audited.
   */
  async completeLogin(organizationId: string, login: VerifiedAssertion): Promise<{ memberId: string; userName: string; session: StartedSession }> {
    const detail = { flow: login.inResponseTo ? 'sp' : 'idp', assertionId: login.assertionId, inResponseTo: login.inResponseTo, ...(login.detail ?? {}) };
    const issued = this.sessions.issue();
    const origin = currentOrigin();
    const row = await this.db.sql.one<{
      request_ok: boolean;
      replay_ok: boolean;
      id: string | null;
      user_name: string | null;
      active: boolean | null;
      expires_at: string | null;
    }>(
      `with req as (
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
       from ok left join m on true`,
      [
        organizationId,
        login.inResponseTo ?? '',
        login.inResponseTo,
        organizationId,
        login.assertionId,
        login.replayUntil,
        organizationId,
        login.nameId,
        organizationId,
        issued.hash,
        issued.absoluteHours,
        organizationId,
        login.nameId,
        JSON.stringify(detail),
        origin.requestId,
        origin.clientAddress,
        login.nameId,
        login.sessionIndex ?? null,
      ],
    );
    let refusal: Conflict | Forbidden | null = null;
    if (!row.request_ok) refusal = new Conflict('reused_in_response_to', 'This sign-in was already completed (its request id has been used, or it expired); start again');
    else if (!row.replay_ok) refusal = new Conflict('replayed_assertion', `The assertion ${login.assertionId} was already used once`);
    else if (!row.id) refusal = new Forbidden('unknown_user', `No member of this organisation has the userName "${login.nameId}" (the NameID sent by the IdP)`);
    else if (!row.active || !row.expires_at) refusal = new Forbidden('inactive_user', `The member "${row.user_name}" is deactivated in Gatehouse`);
    if (refusal) {
      await this.recordLoginFailure(organizationId, { reason: refusal.code, message: refusal.message, nameId: login.nameId, detail });
      throw refusal;
    }
    return { memberId: row.id!, userName: row.user_name!, session: { token: issued.token, expiresAt: toDate(row.expires_at!) } };
  }

  /**
   * A refused login, with the reason an admin needs (expected vs actual),
   * counted per client address and per organisation (AUTH_FAILURE_LIMIT a
   * minute each). Past either limit it throws RateLimited (the edge answers
   * 429 with Retry-After) and the refusals are no longer audited one by one:
   * one summary row per client (or organisation) per window, so a flood of
   * forged responses cannot write an audit row each.
   */
  async recordLoginFailure(organizationId: string, f: LoginFailure): Promise<void> {
    return this.recordRefusal(organizationId, 'saml.login', f);
  }

  /**
   * A refused logout message (a forged, replayed or foreign LogoutRequest or
   * LogoutResponse): audited as `saml.logout` and counted against the same
   * client and organisation limits as refused sign-ins, with the same 429.
   */
  async recordLogoutFailure(organizationId: string, f: LoginFailure): Promise<void> {
    return this.recordRefusal(organizationId, 'saml.logout', f);
  }

  private async recordRefusal(organizationId: string, action: 'saml.login' | 'saml.logout', f: LoginFailure): Promise<void> {
    const client = currentOrigin().clientAddress ?? 'unknown';
    const byClient = await this.rateLimits.count(`saml:ip:${client}`, organizationId);
    const byOrganization = await this.rateLimits.count('saml:organization', organizationId);
    const limited = [byClient, byOrganization].filter((c) => c.limited);
    if (limited.length === 0) {
      await this.audit.recordFailure(systemActor(organizationId, 'saml'), {
        action,
        resourceType: 'member',
        resourceLabel: f.nameId ?? null,
        reason: f.reason,
        detail: { message: f.message, ...(f.detail ?? {}) },
      });
      return;
    }
    const scope = byClient.limited ? { limitedBy: 'client', client, failures: byClient.count } : { limitedBy: 'organization', failures: byOrganization.count };
    if ((byClient.limited && byClient.firstLimited) || (!byClient.limited && byOrganization.firstLimited)) {
      const what = action === 'saml.login' ? 'sign-ins' : 'sign-in and sign-out messages';
      await this.audit.recordFailure(systemActor(organizationId, 'saml'), {
        action,
        resourceType: 'member',
        resourceLabel: f.nameId ?? null,
        reason: 'rate_limited',
        detail: {
          message: `Too many refused ${what} in a minute (${scope.limitedBy === 'client' ? `from ${client}` : 'for this organisation'}): further refusals in this minute are answered 429 and not logged one by one`,
          ...scope,
          lastReason: f.reason,
          lastMessage: f.message,
        },
      });
    }
    throw new RateLimited(Math.max(...limited.map((c) => c.retryAfterSeconds)));
  }

  /** The login log (`saml log`): newest first. */
  async loginLog(actor: Actor, opts: { failedOnly?: boolean; limit?: number } = {}): Promise<AuditEvent[]> {
    return this.audit.list(actor, { actionPrefix: 'saml.login', outcome: opts.failedOnly ? 'failure' : undefined, limit: opts.limit ?? 50 });
  }

  /** The signed-in member (GET /me), with its organisation and groups. */
  async signedInMember(actor: Actor): Promise<SignedInMember> {
    if (actor.kind !== 'member') throw new Forbidden('member_only', 'Only a signed-in member has a profile here');
    const row = await this.db.sql.maybeOne<{
      id: string;
      user_name: string;
      display_name: string | null;
      org_name: string;
      org_domain: string;
      groups: { id: string; displayName: string }[] | null;
    }>(
      `select m.id, m.user_name, m.display_name, o.name as org_name, o.domain as org_domain,
         (select json_agg(json_build_object('id', g.id, 'displayName', g.display_name) order by lower(g.display_name))
            from group_members gm join groups g on g.organization_id = gm.organization_id and g.id = gm.group_id
            where gm.organization_id = m.organization_id and gm.member_id = m.id) as groups
       from members m join organizations o on o.organization_id = m.organization_id
       where m.organization_id = $1 and m.id = $2 and m.active`,
      [actor.organizationId, actor.id],
    );
    if (!row) throw new NotFound('member', actor.id);
    return {
      id: row.id,
      userName: row.user_name,
      displayName: row.display_name,
      organization: { id: actor.organizationId, name: row.org_name, domain: row.org_domain },
      groups: row.groups ?? [],
    };
  }

  /** Housekeeping: forgets expired request ids and replay entries. */
  async purgeExpired(): Promise<number> {
    const a = await this.db.sql.run(`delete from saml_requests where expires_at < now() - interval '1 day'`);
    const b = await this.db.sql.run(`delete from saml_replay_cache where expires_at < now()`);
    return a + b;
  }
}

function subjectOf(pem: string): string | null {
  try {
    return readCertificate(pem).subject;
  } catch {
    return null;
  }
}

function certView(c: CertRow, now: Date): CertificateView {
  const notAfter = toDate(c.not_after);
  const daysLeft = Math.floor((notAfter.getTime() - now.getTime()) / DAY_MS);
  const warning =
    notAfter.getTime() <= now.getTime()
      ? `expired on ${notAfter.toISOString().slice(0, 10)}`
      : daysLeft < CERT_WARNING_DAYS
        ? `expires in ${daysLeft} day${daysLeft === 1 ? '' : 's'} (${notAfter.toISOString().slice(0, 10)})`
        : null;
  return { fingerprint: c.fingerprint, subject: c.subject ?? '', notBefore: toDate(c.not_before), notAfter, daysLeft, warning };
}

