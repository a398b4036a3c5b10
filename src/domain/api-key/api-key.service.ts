// API keys for internal apps: shown once, stored as a hash, role reader or admin.
import crypto from 'node:crypto';
import { requireAdmin, type Actor, type ApiKeyRole } from '../actor.js';
import type { Db } from '../db.js';
import { Invalid, NotFound, Unauthenticated } from '../errors.js';
import { hashSecret, issueSecret, sameHash } from '../secrets.js';
import { writeAudit } from '../audit/audit.service.js';
import type { RateLimitService } from '../rate-limit/rate-limit.service.js';
import { isUuid } from '../ids.js';
import * as apiKeySql from './api-key.sql.js';

export const API_KEY_PREFIX = 'gh_key_';

export interface ApiKey {
  readonly id: string;
  readonly name: string;
  readonly role: ApiKeyRole;
  /** Controller keys: the locks and places they may read (empty for other roles). */
  readonly lockIds: string[];
  readonly placeIds: string[];
  readonly prefix: string;
  readonly createdAt: Date;
  readonly lastUsedAt: Date | null;
  readonly revokedAt: Date | null;
}

export function isApiKeyRole(v: unknown): v is ApiKeyRole {
  return v === 'reader' || v === 'admin' || v === 'controller';
}

export class ApiKeyService {
  constructor(
    private readonly db: Db,
    private readonly rateLimits?: RateLimitService,
  ) {}

  /**
   * A new key, shown once. Role `controller` takes the locks and places it
   * may read (at least one; each must exist in the organisation); other
   * roles take none.
   */
  async create(
    actor: Actor,
    input: { name: string; role: string; lockIds?: readonly string[]; placeIds?: readonly string[] },
  ): Promise<{ key: string; apiKey: ApiKey }> {
    requireAdmin(actor);
    const name = typeof input.name === 'string' ? input.name.trim() : '';
    if (name.length < 1 || name.length > 200 || name.includes('\u0000')) throw new Invalid('invalid_name', 'Name must be 1 to 200 characters', 'name');
    if (!isApiKeyRole(input.role)) throw new Invalid('invalid_role', 'Role must be "reader", "admin" or "controller"', 'role');
    const lockIds = [...new Set(input.lockIds ?? [])];
    const placeIds = [...new Set(input.placeIds ?? [])];
    const scoped = lockIds.length + placeIds.length > 0;
    if ((input.role === 'controller') !== scoped || lockIds.length + placeIds.length > 1000) {
      throw new Invalid('invalid_controller_scope', 'A controller key names its locks or places (at most 1000); other roles name none', 'lockIds');
    }
    for (const id of [...lockIds, ...placeIds]) if (!isUuid(id)) throw new Invalid('invalid_controller_scope', `${id} is not a lock or place of this organisation`, 'lockIds');
    const secret = issueSecret(API_KEY_PREFIX);
    return this.db.transaction(async (tx) => {
      if (scoped) {
        const unknown = await apiKeySql.selectUnknownTargets(tx, actor.organizationId, lockIds, placeIds);
        if (unknown) throw new Invalid('invalid_controller_scope', `${unknown} is not a lock or place of this organisation`, 'lockIds');
      }
      const apiKey = await apiKeySql.insertApiKey(tx, {
        lockIds,
        placeIds,
        organizationId: actor.organizationId,
        id: crypto.randomUUID(),
        name,
        role: input.role as ApiKeyRole,
        hash: secret.hash,
        displayPrefix: secret.displayPrefix,
      });
      await writeAudit(tx, actor, { action: 'apikey.create', resourceType: 'api_key', resourceId: apiKey.id, resourceLabel: name, detail: { role: input.role, ...(scoped ? { lockIds, placeIds } : {}) } });
      return { key: secret.value, apiKey };
    });
  }

  async list(actor: Actor): Promise<ApiKey[]> {
    requireAdmin(actor);
    return apiKeySql.selectApiKeys(this.db.sql, actor.organizationId);
  }

  async revoke(actor: Actor, id: string): Promise<ApiKey> {
    requireAdmin(actor);
    if (!isUuid(id)) throw new NotFound('api_key', id);
    return this.db.transaction(async (tx) => {
      const apiKey = await apiKeySql.revokeApiKey(tx, actor.organizationId, id);
      if (!apiKey) throw new NotFound('api_key', id);
      await writeAudit(tx, actor, { action: 'apikey.revoke', resourceType: 'api_key', resourceId: id, resourceLabel: apiKey.name });
      return apiKey;
    });
  }

  /**
   * Which of these keys (of one organisation, already authenticated once) are
   * revoked now: a long-lived subscription asks before each delivery, so a
   * revoked controller key receives nothing more.
   */
  async revokedAmong(organizationId: string, ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    return new Set(await apiKeySql.selectRevokedAmong(this.db.sql, organizationId, ids));
  }

  /** Resolves an API key; a failure counts against `client` (see OrganizationService.authenticateScim). */
  async authenticate(key: string, client?: string): Promise<Actor> {
    try {
      return await this.checkKey(key);
    } catch (e) {
      if (e instanceof Unauthenticated && client !== undefined && this.rateLimits) await this.rateLimits.recordFailure(`auth:${client}`);
      throw e;
    }
  }

  private async checkKey(key: string): Promise<Actor> {
    if (!key.startsWith(API_KEY_PREFIX) || key.length > 200) throw new Unauthenticated('invalid_api_key', 'The API key is missing, wrong or revoked');
    const hash = hashSecret(key);
    const found = await apiKeySql.selectKeyByHash(this.db.sql, hash);
    if (!found || !sameHash(found.hash, hash)) throw new Unauthenticated('invalid_api_key', 'The API key is missing, wrong or revoked');
    if (found.useStale) await apiKeySql.recordApiKeyUse(this.db.sql, found.organizationId, found.id);
    if (found.role === 'controller') {
      return { kind: 'api_key', organizationId: found.organizationId, id: found.id, label: found.name, role: found.role, scope: { lockIds: found.lockIds, placeIds: found.placeIds } };
    }
    return { kind: 'api_key', organizationId: found.organizationId, id: found.id, label: found.name, role: found.role };
  }
}
