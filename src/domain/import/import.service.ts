// Entra group import use cases. Setting an integration up is an
// administrator's act; running it is the import's own: it acts as an actor of
// kind `import`, so the group it keeps (source `import`) takes no manual
// membership edits, and every change it makes is audited under its name.
import crypto from 'node:crypto';
import { requireAdmin, type Actor } from '../actor.js';
import type { Db, Sql } from '../db.js';
import { isForeignKeyViolation, isUniqueViolation } from '../db-errors.js';
import { Conflict, DomainError, Forbidden, Invalid, NotFound, Unavailable } from '../errors.js';
import { isUuid } from '../ids.js';
import { hashSecret, sameHash, type Cipher } from '../secrets.js';
import { writeAudit } from '../audit/audit.service.js';
import { selectAuditEvents } from '../audit/audit.sql.js';
import type { GroupService } from '../group/group.service.js';
import { type ShareService } from '../share/share.service.js';
import { SHARE_ROLES, type ShareRole } from '../share/share.model.js';
import {
  IMPORT_CREDENTIALS,
  IMPORT_IDENTIFIERS,
  MAX_USERS_PER_INTEGRATION,
  type EntraCredentials,
  type EntraDirectory,
  type EntraGroup,
  type EntraUser,
  type ImportCredentials,
  type ImportIdentifier,
  type ImportIntegration,
  type ImportIntegrationInput,
  type ImportMode,
  type ImportProgress,
  type ImportRunRecord,
  type ImportRunResult,
  type ImportTarget,
} from './import.model.js';
import * as importSql from './import.sql.js';
import { applySync, planSync, type SyncCounts } from './import.sync.js';

export interface ImportServiceOptions {
  /** How long a run may hold an integration before another process may take it over; renewed every batch. */
  readonly leaseSeconds: number;
  /** Users written per transaction. */
  readonly batchSize: number;
}

export const DEFAULT_IMPORT_OPTIONS: ImportServiceOptions = { leaseSeconds: 600, batchSize: 1000 };

const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// A tenant is a GUID or a verified domain; it goes into a URL path, so nothing else.
const TENANT_RE = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,198}[A-Za-z0-9])?$/;

export function importActor(organizationId: string, integrationId: string, name: string): Actor & { kind: 'import' } {
  return { kind: 'import', organizationId, id: integrationId, label: `import:${name}` };
}

function checkText(v: unknown, field: string, max = 200): string {
  if (typeof v !== 'string' || v.trim().length === 0) throw new Invalid('required', `${field} is required`, field);
  if (v.length > max || v.includes('\u0000')) throw new Invalid('invalid_value', `${field} must be at most ${max} characters`, field);
  return v.trim();
}

function checkGuid(v: unknown, field: string): string {
  const s = checkText(v, field);
  if (!GUID_RE.test(s)) throw new Invalid('invalid_value', `${field} must be a GUID (the object id shown in Entra)`, field);
  return s.toLowerCase();
}

function checkTenant(v: unknown): string {
  const tenantId = checkText(v, 'tenantId');
  if (!TENANT_RE.test(tenantId)) throw new Invalid('invalid_value', 'tenantId must be the tenant GUID or a verified domain', 'tenantId');
  return tenantId;
}

function checkSecret(v: unknown): string {
  if (typeof v !== 'string' || v.length === 0) throw new Invalid('required', 'clientSecret is required', 'clientSecret');
  if (v.length > 1024 || v.includes('\u0000')) throw new Invalid('invalid_value', 'clientSecret is too long', 'clientSecret');
  return v;
}

function checkCredentials(v: unknown): ImportCredentials {
  const c = v ?? 'client_secret';
  if (!IMPORT_CREDENTIALS.includes(c as ImportCredentials)) throw new Invalid('invalid_value', 'credentials must be client_secret or gatehouse_app', 'credentials');
  return c as ImportCredentials;
}

/** How long an admin has to answer Microsoft's consent page. */
export const CONSENT_REQUEST_MINUTES = 15;

function validate(input: ImportIntegrationInput): {
  name: string;
  tenantId: string;
  credentials: ImportCredentials;
  clientId: string | null;
  clientSecret: string | null;
  entraGroupId: string;
  entraGroupName: string | null;
  identifier: ImportIdentifier;
  mode: ImportMode;
  targets: ImportTarget[];
} {
  const name = checkText(input.name, 'name');
  const tenantId = checkTenant(input.tenantId);
  const credentials = checkCredentials(input.credentials);
  let clientId: string | null = null;
  let clientSecret: string | null = null;
  if (credentials === 'client_secret') {
    clientId = checkGuid(input.clientId, 'clientId');
    clientSecret = checkSecret(input.clientSecret);
  } else if ((input.clientId ?? null) !== null || (input.clientSecret ?? null) !== null) {
    throw new Invalid('invalid_value', "With Gatehouse's application (Authorize with Microsoft) give no client id or secret", input.clientSecret ? 'clientSecret' : 'clientId');
  }
  const entraGroupId = checkGuid(input.entraGroupId, 'entraGroupId');
  const rawGroupName = input.entraGroupName ?? null;
  if (rawGroupName !== null && (typeof rawGroupName !== 'string' || rawGroupName.length > 256 || rawGroupName.includes('\u0000'))) {
    throw new Invalid('invalid_value', 'entraGroupName must be at most 256 characters', 'entraGroupName');
  }
  const entraGroupName = rawGroupName === null || rawGroupName.trim() === '' ? null : rawGroupName.trim();
  const identifier = input.identifier ?? 'upn';
  if (!IMPORT_IDENTIFIERS.includes(identifier)) throw new Invalid('invalid_value', 'identifier must be upn or mail', 'identifier');
  const targets: ImportTarget[] = (input.targets ?? []).map((t, i) => {
    const placeId = t.placeId ?? null;
    const lockId = t.lockId ?? null;
    if ((placeId === null) === (lockId === null)) throw new Invalid('one_target_required', `targets[${i}]: give exactly one of placeId or lockId`, 'targets');
    const role = (t.role ?? 'user') as ShareRole;
    if (!SHARE_ROLES.includes(role)) throw new Invalid('invalid_role', `targets[${i}]: role must be one of ${SHARE_ROLES.join(', ')}`, 'targets');
    if (placeId !== null && !isUuid(placeId)) throw new NotFound('place', placeId);
    if (lockId !== null && !isUuid(lockId)) throw new NotFound('lock', lockId);
    return { placeId, lockId, role };
  });
  const mode = input.mode ?? (targets.length > 0 ? 'grant_shares' : 'users_only');
  if (mode !== 'users_only' && mode !== 'grant_shares') throw new Invalid('invalid_value', 'mode must be users_only or grant_shares', 'mode');
  if (mode === 'grant_shares' && targets.length === 0) throw new Invalid('targets_required', 'Sharing access needs at least one place or lock', 'targets');
  if (mode === 'users_only' && targets.length > 0) throw new Invalid('targets_not_allowed', '"Import as users only" shares no place or lock', 'targets');
  if (targets.length > 100) throw new Invalid('too_many_values', 'At most 100 places or locks per integration', 'targets');
  return { name, tenantId, credentials, clientId, clientSecret, entraGroupId, entraGroupName, identifier, mode, targets };
}

export class ImportService {
  constructor(
    private readonly db: Db,
    private readonly cipher: Cipher,
    private readonly groups: GroupService,
    private readonly shares: ShareService,
    private readonly directory: EntraDirectory | undefined,
    private readonly options: ImportServiceOptions = DEFAULT_IMPORT_OPTIONS,
  ) {}

  /** Whether this process can reach Microsoft Graph (a domain built without the Graph port, as in most tests, cannot). */
  get canRun(): boolean {
    return this.directory !== undefined;
  }

  /** Connects an Entra group: creates the integration, its Gatehouse group and (grant_shares) the group's shares. */
  async create(actor: Actor, input: ImportIntegrationInput): Promise<ImportIntegration> {
    requireAdmin(actor);
    const v = validate(input);
    let clientId = v.clientId;
    if (v.credentials === 'gatehouse_app') {
      clientId = this.app().clientId;
      if (!(await importSql.tenantConsented(this.db.sql, actor.organizationId, v.tenantId))) throw notConsented(v.tenantId);
    }
    const id = crypto.randomUUID();
    const importer = importActor(actor.organizationId, id, v.name);
    await this.db.transaction(async (tx) => {
      const group = await this.groups.createIn(tx, importer, { displayName: `Entra import: ${v.name}` });
      try {
        await importSql.insertIntegration(tx, {
          organizationId: actor.organizationId,
          id,
          name: v.name,
          tenantId: v.tenantId,
          clientId: clientId!,
          credentials: v.credentials,
          clientSecretSealed: v.clientSecret === null ? null : this.cipher.encrypt(v.clientSecret),
          entraGroupId: v.entraGroupId,
          entraGroupName: v.entraGroupName,
          identifier: v.identifier,
          mode: v.mode,
          groupId: group.id,
        });
        for (const t of v.targets) {
          await importSql.insertTarget(tx, actor.organizationId, id, crypto.randomUUID(), t);
          await this.shares.grantIn(tx, actor, { groupId: group.id, placeId: t.placeId, lockId: t.lockId, role: t.role }, { source: 'import', sourceRef: id });
        }
      } catch (e) {
        if (isUniqueViolation(e)) throw new Conflict('import_name_taken', `An integration named "${v.name}" already exists in this organisation`, { field: 'name' });
        if (isForeignKeyViolation(e)) throw new NotFound('place_or_lock', v.targets.map((t) => t.placeId ?? t.lockId).join(', '));
        throw e;
      }
      await writeAudit(tx, actor, {
        action: 'import.create',
        resourceType: 'import_integration',
        resourceId: id,
        resourceLabel: v.name,
        detail: { tenantId: v.tenantId, clientId, credentials: v.credentials, entraGroupId: v.entraGroupId, entraGroupName: v.entraGroupName, identifier: v.identifier, mode: v.mode, groupId: group.id, targets: v.targets },
      });
    }).catch(async (e: unknown) => {
      // The group "Entra import: NAME" is taken: most often by this very integration name (the unique index decided; this only names it).
      if (e instanceof Conflict && e.code === 'display_name_taken') {
        if (await importSql.integrationNamed(this.db.sql, actor.organizationId, v.name)) throw new Conflict('import_name_taken', `An integration named "${v.name}" already exists in this organisation`, { field: 'name' });
      }
      throw e;
    });
    return this.get(actor, id);
  }

  async get(actor: Actor, id: string): Promise<ImportIntegration> {
    requireAdmin(actor);
    if (!isUuid(id)) throw new NotFound('import_integration', id);
    const integration = await importSql.selectIntegration(this.db.sql, actor.organizationId, id);
    if (!integration) throw new NotFound('import_integration', id);
    return integration;
  }

  async list(actor: Actor): Promise<ImportIntegration[]> {
    requireAdmin(actor);
    return importSql.selectIntegrations(this.db.sql, actor.organizationId);
  }

  /**
   * The latest recorded runs (newest first): runs that changed something or
   * failed are audited as `import.run`; a run that changed nothing is only the
   * integration's last run.
   */
  async recentRuns(actor: Actor, id: string, first = 5): Promise<ImportRunRecord[]> {
    requireAdmin(actor);
    if (!Number.isInteger(first) || first < 1 || first > 50) throw new Invalid('invalid_value', 'first must be between 1 and 50', 'first');
    if (!isUuid(id)) return [];
    const events = await selectAuditEvents(this.db.sql, actor.organizationId, { actionPrefix: 'import.run', resourceId: id }, first);
    const num = (v: unknown) => (typeof v === 'number' ? v : null);
    return events
      .filter((e) => e.action === 'import.run')
      .map((e) => ({
        at: e.at,
        status: e.outcome === 'success' ? 'success' : 'failed',
        errorCode: typeof e.detail.errorCode === 'string' ? e.detail.errorCode : null,
        error: e.reason,
        total: num(e.detail.total),
        added: num(e.detail.added),
        updated: num(e.detail.updated),
        removed: num(e.detail.removed),
        durationMs: num(e.detail.durationMs),
      }));
  }

  /** Stops scheduled runs (members, group and shares stay as they are). */
  async pause(actor: Actor, id: string): Promise<ImportIntegration> {
    return this.setPaused(actor, id, true);
  }

  async resume(actor: Actor, id: string): Promise<ImportIntegration> {
    return this.setPaused(actor, id, false);
  }

  private async setPaused(actor: Actor, id: string, paused: boolean): Promise<ImportIntegration> {
    requireAdmin(actor);
    if (!isUuid(id)) throw new NotFound('import_integration', id);
    await this.db.transaction(async (tx) => {
      const row = await importSql.selectPausedForUpdate(tx, actor.organizationId, id);
      if (!row) throw new NotFound('import_integration', id);
      if (row.paused === paused) return;
      await importSql.updatePaused(tx, actor.organizationId, id, paused);
      await writeAudit(tx, actor, { action: paused ? 'import.pause' : 'import.resume', resourceType: 'import_integration', resourceId: id, resourceLabel: row.name });
    });
    return this.get(actor, id);
  }

  /** Replaces the client secret (Entra secrets expire: the run then fails with entra_secret_invalid). */
  async setClientSecret(actor: Actor, id: string, clientSecret: string): Promise<ImportIntegration> {
    requireAdmin(actor);
    if (!isUuid(id)) throw new NotFound('import_integration', id);
    checkSecret(clientSecret);
    await this.db.transaction(async (tx) => {
      const row = await importSql.updateClientSecret(tx, actor.organizationId, id, this.cipher.encrypt(clientSecret));
      if (row === undefined) throw new NotFound('import_integration', id);
      if (row.credentials !== 'client_secret') {
        throw new Invalid('import_uses_gatehouse_app', "This integration uses Gatehouse's application (Authorize with Microsoft): it has no client secret to set", 'clientSecret');
      }
      await writeAudit(tx, actor, { action: 'import.secret', resourceType: 'import_integration', resourceId: id, resourceLabel: row.name });
    });
    return this.get(actor, id);
  }

  /**
   * The import's product rule (README, Entra group import): "All shares will be deleted, but the user profiles remain."
   * Revokes the integration's shares, deletes its group (so its memberships)
   * and the integration; members stay.
   */
  async delete(actor: Actor, id: string): Promise<void> {
    requireAdmin(actor);
    if (!isUuid(id)) throw new NotFound('import_integration', id);
    await this.db.transaction(async (tx) => {
      const row = await importSql.deleteIntegration(tx, actor.organizationId, id);
      if (!row) throw new NotFound('import_integration', id);
      const shareIds = await importSql.selectIntegrationShareIds(tx, actor.organizationId, id);
      await this.shares.revokeIn(tx, actor, shareIds);
      await this.groups.deleteIn(tx, importActor(actor.organizationId, id, row.name), row.groupId);
      await writeAudit(tx, actor, { action: 'import.delete', resourceType: 'import_integration', resourceId: id, resourceLabel: row.name, detail: { sharesRevoked: shareIds.length } });
    });
  }

  /** Runs one integration now (an administrator's "sync now"); runs even when paused. */
  async run(actor: Actor, id: string, opts: { onProgress?: (p: ImportProgress) => void } = {}): Promise<ImportRunResult> {
    requireAdmin(actor);
    if (!isUuid(id)) throw new NotFound('import_integration', id);
    return this.sync(actor.organizationId, id, { scheduled: false, onProgress: opts.onProgress });
  }

  /**
   * A scheduled run (the job queue): skipped when paused, when another
   * process runs it, or when it already ran within `intervalMinutes` (a job
   * queued twice by two processes then runs once).
   */
  async runScheduled(organizationId: string, id: string, intervalMinutes: number): Promise<ImportRunResult> {
    return this.sync(organizationId, id, { scheduled: true, intervalMinutes });
  }

  /**
   * Integrations whose next run is due, across organisations (the scheduler
   * is Gatehouse itself, not an actor of one organisation).
   */
  async due(intervalMinutes: number, limit = 100): Promise<{ organizationId: string; id: string }[]> {
    return importSql.selectDue(this.db.sql, intervalMinutes, Math.max(1, Math.min(limit, 1000)));
  }

  private async sync(
    organizationId: string,
    id: string,
    opts: { scheduled: boolean; intervalMinutes?: number; onProgress?: (p: ImportProgress) => void },
  ): Promise<ImportRunResult> {
    const started = Date.now();
    const token = crypto.randomUUID();
    // The lease: only one run of an integration at a time, whichever process starts it.
    const lease = await importSql.takeLease(this.db.sql, organizationId, id, token, this.options.leaseSeconds, opts.scheduled ? (opts.intervalMinutes ?? 0) : undefined);
    const empty = { integrationId: id, total: 0, added: 0, created: 0, updated: 0, removed: 0, skipped: 0, durationMs: 0, errorCode: null, error: null };
    if (!lease) {
      const row = await importSql.selectLeaseState(this.db.sql, organizationId, id);
      if (!row) throw new NotFound('import_integration', id);
      const skippedReason = row.leased ? 'already_running' : opts.scheduled && row.paused ? 'paused' : 'not_due';
      return { ...empty, status: 'skipped', skippedReason };
    }

    let renewedAt = started;
    const actor = importActor(organizationId, id, lease.name);
    const counts: SyncCounts = { total: 0, added: 0, created: 0, updated: 0, removed: 0, skipped: 0 };
    let failure: { code: string; message: string } | null = null;
    try {
      if (!this.directory) throw new Unavailable('import_not_configured', 'No Microsoft Graph client is configured in this process');
      opts.onProgress?.({ phase: 'fetching', fetched: 0 });
      const credentials: EntraCredentials =
        lease.credentials === 'gatehouse_app'
          ? this.app().credentials(lease.tenantId)
          : { tenantId: lease.tenantId, clientId: lease.clientId, clientSecret: this.openSecret(lease.clientSecretSealed ?? '') };
      const users = await this.directory.groupMembers(
        credentials,
        lease.entraGroupId,
        {
          maxUsers: MAX_USERS_PER_INTEGRATION,
          onPage: async (fetched) => {
            opts.onProgress?.({ phase: 'fetching', fetched });
            // A read slowed by throttling keeps the integration: renew once half the lease is used.
            if (Date.now() - renewedAt > (this.options.leaseSeconds * 1000) / 2) {
              await this.renewLease(this.db.sql, organizationId, id, token);
              renewedAt = Date.now();
            }
          },
        },
      );
      if (users.length > MAX_USERS_PER_INTEGRATION) {
        throw new Invalid(
          'import_too_many_users',
          `The Entra group has more than ${MAX_USERS_PER_INTEGRATION} users; an integration imports at most ${MAX_USERS_PER_INTEGRATION}. Split it into several groups, one integration each`,
          'entraGroupId',
          { limit: MAX_USERS_PER_INTEGRATION },
        );
      }
      counts.total = users.length;
      checkConsent(users);
      const plan = await planSync(this.db.sql, { organizationId, integrationId: id, groupId: lease.groupId, identifier: lease.identifier }, users);
      counts.skipped = plan.skipped;
      // The import's product rule (README, Notification mail): everyone the import adds gets an email that access has been shared with them, unless "Import as users only".
      const invitation =
        lease.mode === 'grant_shares' && plan.items.some((i) => i.addToGroup) ? await importSql.selectInvitationData(this.db.sql, organizationId, id, lease.name) : undefined;
      await applySync(this.db, actor, plan, {
        invitation,
        sharesAccess: lease.mode === 'grant_shares',
        batchSize: this.options.batchSize,
        groupId: lease.groupId,
        counts,
        renewLease: (tx) => this.renewLease(tx, organizationId, id, token),
        onProgress: opts.onProgress,
      });
    } catch (e) {
      failure =
        e instanceof DomainError
          ? { code: e.code, message: e.message }
          : { code: 'internal', message: `Unexpected failure: ${(e instanceof Error ? e.message : String(e)).slice(0, 300)}` };
    }
    const durationMs = Date.now() - started;
    const changed = counts.added + counts.updated + counts.removed > 0;
    // A run that changed nothing writes no audit row (a no-change resync writes nothing but its own status).
    const audit = changed || failure !== null || lease.prevStatus === 'failed';
    await this.finish(actor, token, {
      status: failure ? 'failed' : 'success',
      errorCode: failure?.code ?? null,
      error: failure?.message ?? null,
      counts,
      durationMs,
      audit,
    });
    return { integrationId: id, status: failure ? 'failed' : 'success', ...counts, durationMs, errorCode: failure?.code ?? null, error: failure?.message ?? null };
  }

  // ---- "Authorize with Microsoft": admin consent for Gatehouse's own application ----

  /** What the console offers: Gatehouse's application (when configured) and the tenants an admin authorised. */
  async consentSetup(actor: Actor): Promise<{ gatehouseAppClientId: string | null; consentedTenants: importSql.TenantConsentRow[] }> {
    requireAdmin(actor);
    return {
      gatehouseAppClientId: this.directory?.gatehouseApp?.clientId ?? null,
      consentedTenants: await importSql.selectTenantConsents(this.db.sql, actor.organizationId),
    };
  }

  /**
   * Starts an admin consent: a single-use state bound to the admin's session
   * (its cookie's hash) and organisation, and Microsoft's consent page to
   * send the browser to. `redirectUri` is the console's callback.
   */
  async startConsent(actor: Actor, p: { readonly sessionToken: string | undefined; readonly redirectUri: string }): Promise<{ url: string; expiresAt: Date }> {
    requireAdmin(actor);
    if (actor.kind !== 'admin' || !p.sessionToken) {
      throw new Forbidden('entra_consent_needs_session', 'Authorize with Microsoft from the admin console: Microsoft sends the answer back to the browser session that started it');
    }
    const app = this.app();
    const state = crypto.randomBytes(32).toString('base64url');
    const expiresAt = await this.db.transaction(async (tx) => {
      await importSql.deleteOldConsentRequests(tx, actor.organizationId);
      return importSql.insertConsentRequest(tx, {
        organizationId: actor.organizationId,
        stateHash: hashSecret(state),
        sessionHash: hashSecret(p.sessionToken!),
        requestedBy: actor.id,
        minutes: CONSENT_REQUEST_MINUTES,
      });
    });
    return { url: app.adminConsentUrl({ redirectUri: p.redirectUri, state }), expiresAt };
  }

  /**
   * Microsoft's answer at the console's callback: spends the state (single
   * use, whatever the answer), checks it belongs to this session and
   * organisation, then records the consented tenant, or says why not.
   * A refusal is audited too (an admin activity).
   */
  async completeConsent(
    actor: Actor,
    p: {
      readonly sessionToken: string;
      readonly state: string;
      readonly tenant?: string;
      readonly adminConsent?: string;
      readonly error?: string;
      readonly errorDescription?: string;
    },
  ): Promise<{ tenantId: string }> {
    requireAdmin(actor);
    if (actor.kind !== 'admin') throw new Forbidden('entra_consent_needs_session', 'Authorize with Microsoft from the admin console');
    const invalidState = () =>
      new Invalid(
        'entra_consent_state_invalid',
        'This answer from Microsoft does not match an authorization started here (already used, older than 15 minutes, or started in another organisation). Start again: Group import → Authorize with Microsoft',
        'state',
      );
    if (typeof p.state !== 'string' || p.state.length < 20 || p.state.length > 200) throw invalidState();
    const tenant = typeof p.tenant === 'string' ? p.tenant.trim().toLowerCase() : '';
    const granted = typeof p.adminConsent === 'string' && p.adminConsent.toLowerCase() === 'true' && !p.error;
    const outcome = await this.db.transaction(async (tx) => {
      const req = await importSql.spendConsentRequest(tx, actor.organizationId, hashSecret(p.state));
      if (!req || req.expired) return { kind: 'state' as const };
      if (!sameHash(req.sessionHash, hashSecret(p.sessionToken)) || req.requestedBy !== actor.id) return { kind: 'session' as const };
      if (!granted || !GUID_RE.test(tenant)) {
        const reason = describeConsentError(p.error, p.errorDescription, granted);
        await writeAudit(tx, actor, { action: 'import.consent', outcome: 'failure', resourceType: 'entra_tenant', resourceId: GUID_RE.test(tenant) ? tenant : null, reason });
        return { kind: 'denied' as const, reason };
      }
      const added = await importSql.upsertTenantConsent(tx, actor.organizationId, tenant, actor.id);
      await writeAudit(tx, actor, { action: 'import.consent', resourceType: 'entra_tenant', resourceId: tenant, resourceLabel: tenant, detail: { tenantId: tenant, renewed: !added } });
      return { kind: 'ok' as const };
    });
    if (outcome.kind === 'state') throw invalidState();
    if (outcome.kind === 'session') {
      throw new Forbidden(
        'entra_consent_session_mismatch',
        'This answer from Microsoft belongs to an authorization started in another console session. Start again from the console in this browser: Group import → Authorize with Microsoft',
      );
    }
    if (outcome.kind === 'denied') throw new Forbidden('entra_consent_denied', outcome.reason, { error: p.error ?? null });
    return { tenantId: tenant };
  }

  /**
   * The group picker: groups of a tenant, the first few by name or those
   * matching `search`, read with Gatehouse's application (a consented tenant)
   * or with the organisation's own registration (client id and secret).
   */
  async searchGroups(
    actor: Actor,
    p: { readonly tenantId: string; readonly clientId?: string | null; readonly clientSecret?: string | null; readonly search?: string | null; readonly first?: number | null },
  ): Promise<EntraGroup[]> {
    requireAdmin(actor);
    const tenantId = checkTenant(p.tenantId);
    const search = typeof p.search === 'string' ? p.search.trim() : '';
    if (search.length > 120 || search.includes('\u0000')) throw new Invalid('invalid_value', 'search must be at most 120 characters', 'search');
    const first = p.first ?? (search ? 25 : 5);
    if (!Number.isInteger(first) || first < 1 || first > 50) throw new Invalid('invalid_value', 'first must be between 1 and 50', 'first');
    let credentials: EntraCredentials;
    if ((p.clientId ?? null) !== null || (p.clientSecret ?? null) !== null) {
      credentials = { tenantId, clientId: checkGuid(p.clientId, 'clientId'), clientSecret: checkSecret(p.clientSecret) };
    } else {
      const app = this.app();
      if (!(await importSql.tenantConsented(this.db.sql, actor.organizationId, tenantId))) throw notConsented(tenantId);
      credentials = app.credentials(tenantId);
    }
    if (!this.directory) throw new Unavailable('import_not_configured', 'No Microsoft Graph client is configured in this process');
    return this.directory.searchGroups(credentials, { search: search || undefined, top: first });
  }

  /** Gatehouse's own multi-tenant application, or a clear error when this Gatehouse has none. */
  private app() {
    const app = this.directory?.gatehouseApp;
    if (!app) {
      throw new Invalid(
        'entra_app_not_configured',
        "This Gatehouse has no Microsoft application of its own (ENTRA_APP_CLIENT_ID and ENTRA_APP_CLIENT_SECRET are not set): connect with your own app registration (tenant, client id and secret) instead",
        'credentials',
      );
    }
    return app;
  }

  private openSecret(sealed: string): string {
    try {
      return this.cipher.decrypt(sealed);
    } catch {
      throw new Invalid(
        'import_secret_unreadable',
        'The stored client secret cannot be decrypted with this master key (was GATEHOUSE_SECRET changed?); set it again with "import secret"',
        'clientSecret',
      );
    }
  }

  private async renewLease(tx: Sql, organizationId: string, id: string, token: string): Promise<void> {
    if (!(await importSql.renewLease(tx, organizationId, id, token, this.options.leaseSeconds))) throw new Conflict('import_lease_lost', 'The integration was deleted or taken over by another process during the run');
  }

  private async finish(
    actor: Actor & { kind: 'import' },
    token: string,
    r: { status: 'success' | 'failed'; errorCode: string | null; error: string | null; counts: SyncCounts; durationMs: number; audit: boolean },
  ): Promise<void> {
    const status: importSql.RunStatus = {
      status: r.status,
      errorCode: r.errorCode,
      error: r.error,
      total: r.counts.total,
      added: r.counts.added,
      updated: r.counts.updated,
      removed: r.counts.removed,
      durationMs: r.durationMs,
    };
    if (!r.audit) {
      await importSql.finishRun(this.db.sql, actor.organizationId, actor.id, token, status);
      return;
    }
    await this.db.transaction(async (tx) => {
      if (!(await importSql.finishRun(tx, actor.organizationId, actor.id, token, status))) return; // deleted during the run: nothing to report on
      await writeAudit(tx, actor, {
        action: 'import.run',
        outcome: r.status === 'success' ? 'success' : 'failure',
        resourceType: 'import_integration',
        resourceId: actor.id,
        resourceLabel: actor.label.replace(/^import:/, ''),
        reason: r.error,
        detail: { ...r.counts, durationMs: r.durationMs, errorCode: r.errorCode },
      });
    });
  }
}

function notConsented(tenantId: string): Forbidden {
  return new Forbidden(
    'entra_tenant_not_consented',
    `No admin of this organisation has authorised Gatehouse's application in the tenant "${tenantId}": select Authorize with Microsoft first (signed in to Microsoft as a Global Administrator of that tenant)`,
    { tenantId },
  );
}

/** Microsoft's error answer in words an admin can act on (AADSTS codes kept for support). */
function describeConsentError(error: string | undefined, description: string | undefined, granted: boolean): string {
  const said = (description ?? '').split(/\r?\n/)[0]!.slice(0, 300);
  if (error === 'access_denied' || /AADSTS65004/.test(said)) {
    return `The permissions were not accepted in Microsoft Entra${said ? ` (${said})` : ''}. Only a Global Administrator (or Privileged Role Administrator) can accept them for the organisation: ask one to select Authorize with Microsoft and then Accept, or connect with your own app registration instead`;
  }
  if (error) return `Microsoft refused the authorization: ${error}${said ? ` (${said})` : ''}. Try again, signed in to Microsoft as a Global Administrator, or connect with your own app registration instead`;
  if (!granted) return 'Microsoft did not confirm the admin consent. Try again, signed in to Microsoft as a Global Administrator';
  return 'Microsoft answered without a valid tenant id. Try again';
}

/**
 * Microsoft Graph answers 200 with each member reduced to its id when the
 * application has GroupMember.Read.All but not User.Read.All. Read as a
 * directory, that is a group whose users all lack their email and would be
 * skipped, so every membership (and door) would go: such a run fails before
 * it writes anything. A few users without the attribute
 * (a mailbox-less account with --identifier mail) are not this.
 */
function checkConsent(users: readonly EntraUser[]): void {
  const bare = users.filter((u) => u.userPrincipalName === null && u.mail === null && u.displayName === null).length;
  if (bare > 0 && bare * 2 >= users.length) {
    throw new Forbidden(
      'entra_consent_missing',
      `Microsoft Graph returned ${bare} of ${users.length} group members without any attribute (only their ids): the application lacks the User.Read.All application permission (with admin consent). Nothing was changed`,
      { usersWithoutAttributes: bare, total: users.length },
    );
  }
}
