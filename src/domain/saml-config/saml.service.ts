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
import * as samlSql from './saml.sql.js';
import { CredentialCache } from '../credential-cache.js';
import type { CertRow } from './saml.sql.js';
import { deleteMemberSessions } from '../session/session.sql.js';
import { selectMemberByUserName } from '../member/member.sql.js';

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

export class SamlService {
  constructor(
    private readonly db: Db,
    private readonly cipher: Cipher,
    private readonly sessions: SessionService,
    private readonly audit: AuditService,
    private readonly rateLimits: RateLimitService,
  ) {
    this.runtimes = new CredentialCache(db, { ttlMs: 60_000, max: 10_000 });
  }

  async settings(actor: Actor, now = new Date()): Promise<SamlSettings> {
    requireAdmin(actor);
    const orgId = actor.organizationId;
    const row = await samlSql.selectSettings(this.db.sql, orgId);
    const idp = await samlSql.selectIdpCertificates(this.db.sql, orgId);
    const sp = await samlSql.selectSpCertificates(this.db.sql, orgId);
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
    if (!row?.idp_entity_id) warnings.push("No identity provider metadata imported yet: import Entra's App Federation Metadata URL (or its XML)");
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
    const url = await samlSql.selectMetadataUrl(this.db.sql, actor.organizationId);
    if (!url) throw new Invalid('no_metadata_url', 'There is no metadata URL to refresh from: paste the App Federation Metadata Url first');
    await this.refreshFrom(actor, url);
    return this.settings(actor);
  }

  /**
   * The daily refresh, safe with many processes: each organisation whose
   * metadata is a day old is claimed by exactly one process (the UPDATE …
   * RETURNING takes it; the others see it claimed for an hour).
   */
  async refreshDue(limit = 20): Promise<{ organizationId: string; error: string | null }[]> {
    const claimed = await samlSql.claimDueRefreshes(this.db.sql, limit);
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
        await samlSql.recordRefreshFailure(tx, actor.organizationId, message.slice(0, 500));
        await writeAudit(tx, actor, { action: 'saml.metadata.refresh', outcome: 'failure', resourceType: 'saml', reason: message.slice(0, 500), detail: { url } });
      });
      throw e;
    }
    await this.store(actor, metadata, url, 'saml.metadata.refresh');
  }

  private async store(actor: Actor, m: IdpMetadata, url: string | null, action: string): Promise<void> {
    const orgId = actor.organizationId;
    await this.db.transaction(async (tx) => {
      await samlSql.upsertMetadata(tx, orgId, m, url);
      // The metadata is the whole truth: a certificate Entra no longer lists stops being trusted.
      const removed = await samlSql.deleteIdpCertificatesExcept(
        tx,
        orgId,
        m.certificates.map((c) => c.fingerprint),
      );
      const added: string[] = [];
      for (const c of m.certificates) if (await samlSql.insertIdpCertificate(tx, orgId, c)) added.push(c.fingerprint);
      await writeAudit(tx, actor, {
        action,
        resourceType: 'saml',
        resourceLabel: m.entityId,
        detail: { entityId: m.entityId, metadataUrl: url, ssoUrls: m.ssoUrls, certificatesAdded: added, certificatesRemoved: removed },
      });
    });
    this.runtimes.forget();
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
      if (!next) await samlSql.deactivateSpCertificates(tx, actor.organizationId);
      await samlSql.insertSpCertificate(tx, {
        organizationId: actor.organizationId,
        id,
        certificatePem: certificate.pem,
        privateKeyEncrypted: this.cipher.encrypt(privateKeyPem),
        fingerprint: certificate.fingerprint,
        notBefore: certificate.notBefore,
        notAfter: certificate.notAfter,
        active: !next,
      });
      await writeAudit(tx, actor, {
        action: next ? 'saml.certificate.generate_next' : 'saml.certificate.generate',
        resourceType: 'saml_sp_certificate',
        resourceId: id,
        detail: { fingerprint: certificate.fingerprint, notAfter: certificate.notAfter.toISOString(), next },
      });
    });
    this.runtimes.forget();
    const view = (await this.settings(actor)).spCertificates.find((c) => c.id === id);
    if (!view) throw new Error('generated certificate vanished');
    return view;
  }

  /** Makes a published ("next") SP certificate the one that signs; the previous one stays published until removed. */
  async promoteSpCertificate(actor: Actor, id: string): Promise<SpCertificateView> {
    requireAdmin(actor);
    if (!isUuid(id)) throw new NotFound('saml_certificate', String(id).slice(0, 100));
    await this.db.transaction(async (tx) => {
      if (!(await samlSql.lockSpCertificate(tx, actor.organizationId, id))) throw new NotFound('saml_certificate', id);
      await samlSql.activateOnlySpCertificate(tx, actor.organizationId, id);
      await writeAudit(tx, actor, { action: 'saml.certificate.promote', resourceType: 'saml_sp_certificate', resourceId: id });
    });
    this.runtimes.forget();
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
    const url = await samlSql.claimRolloverRefetch(this.db.sql, organizationId, ROLLOVER_REFETCH_MINUTES);
    if (!url) return false;
    try {
      await this.refreshFrom(systemActor(organizationId, 'saml-rollover'), url);
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
      if (!(await samlSql.deleteInactiveSpCertificate(tx, actor.organizationId, id))) {
        if (await samlSql.spCertificateExists(tx, actor.organizationId, id)) throw new Invalid('certificate_active', 'This certificate signs requests now: generate a new one before removing it');
        throw new NotFound('saml_certificate', id);
      }
      await writeAudit(tx, actor, { action: 'saml.certificate.remove', resourceType: 'saml_sp_certificate', resourceId: id });
    });
    this.runtimes.forget();
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
      await samlSql.upsertFlag(tx, actor.organizationId, column, value);
      await writeAudit(tx, actor, { action, resourceType: 'saml', detail });
    });
    this.runtimes.forget();
    return this.settings(actor);
  }

  /**
   * Everything a login needs for the organisation with this domain: one
   * statement, or none while this process remembers it (see runtimes).
   */
  async runtime(orgDomain: string): Promise<SamlRuntime> {
    // A slug from the URL: no query for what cannot be a domain (NUL is PostgreSQL's error, not "no such organisation").
    if (!isOrganizationDomain(orgDomain)) throw new NotFound('organization', JSON.stringify(orgDomain.slice(0, 100)));
    const key = orgDomain.toLowerCase();
    const rt = await this.runtimes.get(key, () => this.loadRuntime(key));
    if (!rt) throw new NotFound('organization', orgDomain);
    return rt;
  }

  private async loadRuntime(orgDomain: string): Promise<SamlRuntime | undefined> {
    const row = await samlSql.selectRuntime(this.db.sql, orgDomain);
    if (!row) return undefined;
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
    const domain = await samlSql.selectOrganizationDomain(this.db.sql, organizationId);
    if (domain === undefined) throw new NotFound('organization', organizationId);
    return this.runtime(domain);
  }

  /**
   * Runtimes by domain, remembered while this process hears every change of
   * a SAML configuration (triggers notify on the IdP settings and
   * certificates, the SP key pairs and the organisation's domain and name; see
   * CredentialCache): a sign-in then costs no statement to read them. Changes
   * made here are forgotten at once, before the notification comes back.
   * The same object is handed out until it changes, so the edge can keep what
   * it derives from it (parsed keys) beside it.
   */
  private readonly runtimes: CredentialCache<SamlRuntime>;

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
    return samlSql.insertAuthnRequest(this.db.sql, organizationId, requestId, ttlMs, testStartedBy ?? null);
  }

  /** Records a LogoutRequest id this system sent to the IdP for a member who signed out (its LogoutResponse must answer it). */
  async saveLogoutRequest(organizationId: string, requestId: string, ttlMs: number, memberId: string): Promise<Date> {
    return samlSql.insertLogoutRequest(this.db.sql, organizationId, requestId, ttlMs, memberId);
  }

  /**
   * The IdP's LogoutResponse to a LogoutRequest Gatehouse sent (SP-initiated
   * single logout), verified by the SAML edge: uses the request id up (once,
   * unexpired, a logout request of this organisation) and audits the sign-out.
   * The member's session ended when the sign-out started; this only closes the loop.
   */
  async completeLogout(organizationId: string, inResponseTo: string): Promise<{ memberId: string | null }> {
    const done = await this.db.transaction(async (tx) => {
      const row = await samlSql.useLogoutRequest(tx, organizationId, inResponseTo.slice(0, 200));
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
   * changes), then ends the sessions of the member the NameID names in this
   * organisation (with a SessionIndex, only those it started, and those that
   * recorded none), audited, in one transaction. Null member: the NameID names nobody here.
   */
  async idpLogout(
    organizationId: string,
    request: { readonly requestId: string; readonly nameId: string; readonly replayUntil: Date; readonly sessionIndex: string | null },
  ): Promise<{ memberId: string | null; sessionsEnded: number }> {
    const done = await this.db.transaction(async (tx) => {
      const fresh = await samlSql.insertReplay(tx, organizationId, `logout-request:${request.requestId}`, request.replayUntil);
      if (!fresh) return null;
      const m = await selectMemberByUserName(tx, organizationId, request.nameId);
      const sessionsEnded = m ? await deleteMemberSessions(tx, organizationId, m.id, request.sessionIndex) : 0;
      await writeAudit(tx, systemActor(organizationId, 'saml'), {
        action: 'saml.logout',
        outcome: m ? 'success' : 'failure',
        resourceType: 'member',
        resourceId: m?.id ?? null,
        resourceLabel: m?.userName ?? request.nameId,
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
    return samlSql.selectAuthnRequest(this.db.sql, organizationId, requestId.slice(0, 200));
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
      const startedBy = await samlSql.useTestRequest(tx, organizationId, login.inResponseTo ?? '');
      const fresh = startedBy !== undefined && (await samlSql.insertReplay(tx, organizationId, login.assertionId, login.replayUntil));
      const m = await selectMemberByUserName(tx, organizationId, login.nameId);
      let reason: string | null = null;
      let message: string | null = null;
      if (startedBy === undefined) [reason, message] = ['reused_in_response_to', 'This test was already completed, or it expired: start it again from the console'];
      else if (!fresh) [reason, message] = ['replayed_assertion', `The assertion ${login.assertionId} was already used once`];
      else if (!m) [reason, message] = ['unknown_user', `No member of this organisation has the userName "${login.nameId}" (the NameID sent by the IdP)`];
      else if (!m.active) [reason, message] = ['inactive_user', `The member "${m.userName}" is deactivated in Gatehouse`];
      const outcome = reason ? 'failure' : 'success';
      await writeAudit(tx, systemActor(organizationId, 'saml-test'), {
        action: 'saml.test',
        outcome,
        resourceType: 'member',
        resourceId: m?.id ?? null,
        resourceLabel: m?.userName ?? login.nameId,
        reason,
        detail: { nameId: login.nameId, startedBy: startedBy ?? null, message, ...(login.detail ?? {}) },
      });
      return { outcome, reason, message, member: m ? { id: m.id, userName: m.userName, displayName: m.displayName, active: m.active } : null };
    });
  }

  /** When an issued, unexpired request was made; null otherwise (whether it was used is completeLogin's question). */
  async pendingRequest(organizationId: string, requestId: string): Promise<Date | null> {
    return samlSql.selectPendingRequest(this.db.sql, organizationId, requestId);
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
    const row = await samlSql.completeLoginStatement(this.db.sql, {
      organizationId,
      inResponseTo: login.inResponseTo,
      assertionId: login.assertionId,
      replayUntil: login.replayUntil,
      nameId: login.nameId,
      sessionIndex: login.sessionIndex ?? null,
      sessionHash: issued.hash,
      sessionHours: issued.absoluteHours,
      detail: JSON.stringify(detail),
      requestId: origin.requestId,
      clientAddress: origin.clientAddress,
    });
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
    const row = await samlSql.selectSignedInMember(this.db.sql, actor.organizationId, actor.id);
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
    return samlSql.purgeExpired(this.db.sql);
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

