// Organisations and their SCIM settings. Creating an organisation is an
// operator action (CLI); everything else is scoped by the actor.
import crypto from 'node:crypto';
import { requireAdmin, type Actor } from '../actor.js';
import type { Db } from '../db.js';
import { isUniqueViolation } from '../db-errors.js';
import { Conflict, Invalid, NotFound, Unauthenticated } from '../errors.js';
import { hashSecret, issueSecret, sameHash } from '../secrets.js';
import { writeAudit } from '../audit/audit.service.js';
import type { RateLimitService } from '../rate-limit/rate-limit.service.js';
import { CredentialCache } from '../credential-cache.js';
import * as organizationSql from './organization.sql.js';
import { selectSetupProgress, type SetupProgress } from './setup-progress.js';

export type { SetupProgress } from './setup-progress.js';

export interface Organization {
  readonly id: string;
  readonly name: string;
  /** URL slug, unique: used in SAML URLs. */
  readonly domain: string;
  readonly createdAt: Date;
}

export interface ScimStatus {
  readonly enabled: boolean;
  /** The first characters of the token, to recognise it; never the token. */
  readonly tokenPrefix: string | null;
  readonly tokenCreatedAt: Date | null;
  readonly tokenLastUsedAt: Date | null;
  /** The token a rotation replaced, still accepted until previousTokenExpiresAt (null when none, revoked or expired). */
  readonly previousTokenPrefix: string | null;
  readonly previousTokenCreatedAt: Date | null;
  readonly previousTokenLastUsedAt: Date | null;
  readonly previousTokenExpiresAt: Date | null;
}

const NO_PREVIOUS = { previousTokenPrefix: null, previousTokenCreatedAt: null, previousTokenLastUsedAt: null, previousTokenExpiresAt: null } as const;

/** Bounds of a rotation's overlap: at least a minute, at most 30 days. */
export const SCIM_OVERLAP_MINUTES = { min: 1, max: 30 * 24 * 60, default: 24 * 60 } as const;

/**
 * A rotation's overlap from text such as "24h", "90m", "2d" or "1h30m" (the
 * CLI's --overlap, GraphQL's overlap, the console's choice), in minutes.
 */
export function parseScimOverlap(text: string): number {
  const t = typeof text === 'string' ? text.trim().toLowerCase() : '';
  const m = /^(?:(\d{1,3})d)?\s*(?:(\d{1,4})h)?\s*(?:(\d{1,6})m(?:in)?)?$/.exec(t);
  const minutes = m && t !== '' ? Number(m[1] ?? 0) * 1440 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0) : NaN;
  if (!Number.isInteger(minutes) || minutes < SCIM_OVERLAP_MINUTES.min || minutes > SCIM_OVERLAP_MINUTES.max) {
    throw new Invalid('invalid_overlap', `The overlap must be a duration such as 24h, 90m or 2d, from 1 minute to 30 days (got ${JSON.stringify(String(text).slice(0, 40))})`, 'overlap');
  }
  return minutes;
}

export const SCIM_TOKEN_PREFIX = 'gh_scim_';

const DOMAIN_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Whether `slug` can be an organisation's domain (any case). Checked before a
 * lookup by domain: a slug from a URL may hold NUL or control characters,
 * which PostgreSQL refuses with an error (a 5xx) instead of finding nothing.
 */
export function isOrganizationDomain(slug: string): boolean {
  return slug.length <= 63 && DOMAIN_RE.test(slug.toLowerCase());
}

/** A SCIM token this process has checked: its organisation, which of its two tokens, and when it last recorded the token's use. */
interface KnownScimToken {
  readonly organizationId: string;
  /** The token a rotation replaced, accepted until expiresAt. */
  readonly previous: boolean;
  readonly expiresAt: number | null;
  lastUseRecordedAt: number;
}

const LAST_USE_EVERY_MS = 60_000;

function refusedScimToken(): Unauthenticated {
  return new Unauthenticated('invalid_token', 'The SCIM token is missing, wrong, rotated or SCIM is disabled');
}

export class OrganizationService {
  /** Checked SCIM tokens by hash: Entra's requests then cost no statement to authenticate (see CredentialCache). */
  private readonly scimTokens: CredentialCache<KnownScimToken>;

  constructor(
    private readonly db: Db,
    private readonly rateLimits?: RateLimitService,
  ) {
    this.scimTokens = new CredentialCache(db);
  }

  async create(input: { name: string; domain: string }): Promise<Organization> {
    const name = typeof input.name === 'string' ? input.name.trim() : '';
    const domain = typeof input.domain === 'string' ? input.domain.trim().toLowerCase() : '';
    if (name.length < 1 || name.length > 200 || name.includes('\u0000')) throw new Invalid('invalid_name', 'Name must be 1 to 200 characters', 'name');
    if (!DOMAIN_RE.test(domain)) {
      throw new Invalid('invalid_domain', 'Domain must be 1 to 63 lowercase letters, digits or hyphens, not starting or ending with a hyphen', 'domain');
    }
    const id = crypto.randomUUID();
    try {
      return await this.db.transaction(async (tx) => {
        const organization = await organizationSql.insertOrganization(tx, id, name, domain);
        await writeAudit(tx, { kind: 'system', organizationId: id, label: 'cli' }, {
          action: 'organization.create',
          resourceType: 'organization',
          resourceId: id,
          resourceLabel: domain,
          detail: { name, domain },
        });
        return organization;
      });
    } catch (e) {
      if (isUniqueViolation(e)) throw new Conflict('domain_taken', `The domain "${domain}" is already used by another organisation`, { field: 'domain' });
      throw e;
    }
  }

  async list(): Promise<Organization[]> {
    return organizationSql.selectOrganizations(this.db.sql);
  }

  async findByDomain(domain: string): Promise<Organization> {
    if (!isOrganizationDomain(domain)) throw new NotFound('organization', JSON.stringify(domain.slice(0, 100)));
    const organization = await organizationSql.selectOrganizationByDomain(this.db.sql, domain.toLowerCase());
    if (!organization) throw new NotFound('organization', domain);
    return organization;
  }

  async get(actor: Actor): Promise<Organization> {
    const organization = await organizationSql.selectOrganization(this.db.sql, actor.organizationId);
    if (!organization) throw new NotFound('organization', actor.organizationId);
    return organization;
  }

  /**
   * Enables SCIM and issues a new token, shown once. Enabling again rotates
   * it: the previous token (and any still in a rotation's overlap) stops
   * working at once. For a rotation without a gap, see rotateScimToken.
   */
  async enableScim(actor: Actor): Promise<{ token: string; status: ScimStatus }> {
    requireAdmin(actor);
    const secret = issueSecret(SCIM_TOKEN_PREFIX);
    const result = await this.db.transaction(async (tx) => {
      const row = await organizationSql.setScimToken(tx, actor.organizationId, secret.hash, secret.displayPrefix);
      if (!row) throw new NotFound('organization', actor.organizationId);
      await writeAudit(tx, actor, {
        action: row.rotated ? 'scim.token.rotate' : 'scim.enable',
        resourceType: 'organization',
        resourceId: actor.organizationId,
        detail: { tokenPrefix: secret.displayPrefix },
      });
      return { token: secret.value, status: { enabled: true, tokenPrefix: secret.displayPrefix, tokenCreatedAt: new Date(), tokenLastUsedAt: null, ...NO_PREVIOUS } };
    });
    // Other processes hear of it from the database at commit; this one forgets at once.
    this.scimTokens.forget();
    return result;
  }

  /** Disables SCIM: the token is forgotten and every SCIM request answers 401. */
  async disableScim(actor: Actor): Promise<ScimStatus> {
    requireAdmin(actor);
    const status = await this.db.transaction<ScimStatus>(async (tx) => {
      if (!(await organizationSql.clearScimToken(tx, actor.organizationId))) throw new NotFound('organization', actor.organizationId);
      await writeAudit(tx, actor, { action: 'scim.disable', resourceType: 'organization', resourceId: actor.organizationId });
      return { enabled: false, tokenPrefix: null, tokenCreatedAt: null, tokenLastUsedAt: null, ...NO_PREVIOUS };
    });
    this.scimTokens.forget();
    return status;
  }

  /** The guided Entra set-up's checklist: when each step was first seen (admins only). */
  async setupProgress(actor: Actor): Promise<SetupProgress> {
    requireAdmin(actor);
    const progress = await selectSetupProgress(this.db.sql, actor.organizationId);
    if (!progress) throw new NotFound('organization', actor.organizationId);
    return progress;
  }

  /**
   * Rotates the SCIM token without a gap: a new token (shown once) becomes
   * current, and the one it replaces keeps working for `overlapMinutes` (or
   * until revokePreviousScimToken), so Entra keeps provisioning until someone
   * pastes the new token. A previous token from an earlier rotation stops at
   * once. Refused while SCIM is disabled (enable issues the first token).
   */
  async rotateScimToken(actor: Actor, overlapMinutes: number = SCIM_OVERLAP_MINUTES.default): Promise<{ token: string; status: ScimStatus }> {
    requireAdmin(actor);
    if (!Number.isInteger(overlapMinutes) || overlapMinutes < SCIM_OVERLAP_MINUTES.min || overlapMinutes > SCIM_OVERLAP_MINUTES.max) {
      throw new Invalid('invalid_overlap', 'The overlap must be from 1 minute to 30 days', 'overlap');
    }
    const secret = issueSecret(SCIM_TOKEN_PREFIX);
    const result = await this.db.transaction(async (tx) => {
      const rotated = await organizationSql.rotateScimToken(tx, actor.organizationId, secret.hash, secret.displayPrefix, overlapMinutes);
      if (!rotated) throw new Conflict('scim_disabled', 'SCIM is not enabled: enable it to get a first token (there is nothing to rotate)');
      await writeAudit(tx, actor, {
        action: 'scim.token.rotate',
        resourceType: 'organization',
        resourceId: actor.organizationId,
        detail: { tokenPrefix: secret.displayPrefix, previousTokenPrefix: rotated.previousPrefix, overlapMinutes, previousExpiresAt: rotated.previousExpiresAt.toISOString() },
      });
      const status = await organizationSql.selectScimStatus(tx, actor.organizationId);
      return { token: secret.value, status: status! };
    });
    this.scimTokens.forget();
    return result;
  }

  /** Ends the previous token now (after Entra has the new one). Idempotent: with none left, nothing changes. */
  async revokePreviousScimToken(actor: Actor): Promise<{ revoked: boolean; status: ScimStatus }> {
    requireAdmin(actor);
    const result = await this.db.transaction(async (tx) => {
      const gone = await organizationSql.revokePreviousScimToken(tx, actor.organizationId);
      if (gone) {
        await writeAudit(tx, actor, {
          action: 'scim.token.revoke_previous',
          resourceType: 'organization',
          resourceId: actor.organizationId,
          detail: { tokenPrefix: gone.prefix },
        });
      }
      const status = await organizationSql.selectScimStatus(tx, actor.organizationId);
      if (!status) throw new NotFound('organization', actor.organizationId);
      return { revoked: gone !== null, status };
    });
    this.scimTokens.forget();
    return result;
  }

  async scimStatus(actor: Actor): Promise<ScimStatus> {
    requireAdmin(actor);
    const status = await organizationSql.selectScimStatus(this.db.sql, actor.organizationId);
    if (!status) throw new NotFound('organization', actor.organizationId);
    return status;
  }

  /**
   * Resolves a SCIM bearer token to its organisation's SCIM actor. A token
   * this process checked before costs no statement while the process hears of
   * every credential change (see CredentialCache). Records the last use at
   * most once a minute, so a busy sync costs no write per request.
   * A failure counts against `client` (the caller's address, or a function
   * giving it, asked only on failure): past the limit
   * the answer is RateLimited instead of Unauthenticated.
   */
  async authenticateScim(token: string, client?: string | (() => string)): Promise<Actor> {
    try {
      return await this.checkScimToken(token);
    } catch (e) {
      if (e instanceof Unauthenticated && client !== undefined && this.rateLimits) await this.rateLimits.recordFailure(`auth:${typeof client === 'string' ? client : client()}`);
      throw e;
    }
  }

  private async checkScimToken(token: string): Promise<Actor> {
    if (!token.startsWith(SCIM_TOKEN_PREFIX) || token.length > 200) throw refusedScimToken();
    const hash = hashSecret(token);
    const known = await this.scimTokens.get(hash.toString('base64'), () => this.lookUpScimToken(hash));
    if (!known) throw refusedScimToken();
    // A previous token remembered here ends at its overlap's end, notification or not.
    if (known.expiresAt !== null && Date.now() >= known.expiresAt) throw refusedScimToken();
    if (Date.now() - known.lastUseRecordedAt >= LAST_USE_EVERY_MS) {
      known.lastUseRecordedAt = Date.now();
      await organizationSql.recordScimTokenUse(this.db.sql, known.organizationId, hash, known.previous);
    }
    return { kind: 'scim', organizationId: known.organizationId, label: 'scim' };
  }

  private async lookUpScimToken(hash: Buffer): Promise<KnownScimToken | undefined> {
    const found = await organizationSql.selectScimToken(this.db.sql, hash);
    if (!found || !sameHash(found.hash, hash)) return undefined;
    return {
      organizationId: found.organizationId,
      previous: found.previous,
      expiresAt: found.expiresAt?.getTime() ?? null,
      lastUseRecordedAt: found.useStale ? 0 : Date.now(),
    };
  }
}
