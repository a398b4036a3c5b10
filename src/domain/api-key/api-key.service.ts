// API keys for internal apps: shown once, stored as a hash, role reader or admin.
import crypto from 'node:crypto';
import { requireAdmin, type Actor, type ApiKeyRole } from '../actor.js';
import type { Db } from '../db.js';
import { toDate } from '../rows.js';
import { Invalid, NotFound, Unauthenticated } from '../errors.js';
import { hashSecret, issueSecret, sameHash } from '../secrets.js';
import { writeAudit } from '../audit/audit.service.js';
import type { RateLimitService } from '../rate-limit/rate-limit.service.js';
import { isUuid } from '../ids.js';

export const API_KEY_PREFIX = 'gh_key_';

export interface ApiKey {
  readonly id: string;
  readonly name: string;
  readonly role: ApiKeyRole;
  readonly prefix: string;
  readonly createdAt: Date;
  readonly lastUsedAt: Date | null;
  readonly revokedAt: Date | null;
}

interface ApiKeyRow {
  id: string;
  name: string;
  role: ApiKeyRole;
  key_prefix: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

const COLUMNS = 'id, name, role, key_prefix, created_at, last_used_at, revoked_at';

function toApiKey(r: ApiKeyRow): ApiKey {
  return {
    id: r.id,
    name: r.name,
    role: r.role,
    prefix: r.key_prefix,
    createdAt: toDate(r.created_at),
    lastUsedAt: toDate(r.last_used_at),
    revokedAt: toDate(r.revoked_at),
  };
}

export function isApiKeyRole(v: unknown): v is ApiKeyRole {
  return v === 'reader' || v === 'admin';
}

export class ApiKeyService {
  constructor(
    private readonly db: Db,
    private readonly rateLimits?: RateLimitService,
  ) {}

  async create(actor: Actor, input: { name: string; role: string }): Promise<{ key: string; apiKey: ApiKey }> {
    requireAdmin(actor);
    const name = typeof input.name === 'string' ? input.name.trim() : '';
    if (name.length < 1 || name.length > 200 || name.includes('\u0000')) throw new Invalid('invalid_name', 'Name must be 1 to 200 characters', 'name');
    if (!isApiKeyRole(input.role)) throw new Invalid('invalid_role', 'Role must be "reader" or "admin"', 'role');
    const secret = issueSecret(API_KEY_PREFIX);
    return this.db.transaction(async (tx) => {
      const row = await tx.one<ApiKeyRow>(
        `insert into api_keys (organization_id, id, name, role, key_hash, key_prefix) values (?, ?, ?, ?, ?, ?) returning ${COLUMNS}`,
        [actor.organizationId, crypto.randomUUID(), name, input.role, secret.hash, secret.displayPrefix],
      );
      await writeAudit(tx, actor, { action: 'apikey.create', resourceType: 'api_key', resourceId: row.id, resourceLabel: name, detail: { role: input.role } });
      return { key: secret.value, apiKey: toApiKey(row) };
    });
  }

  async list(actor: Actor): Promise<ApiKey[]> {
    requireAdmin(actor);
    const rows = await this.db.sql.all<ApiKeyRow>(`select ${COLUMNS} from api_keys where organization_id = ? order by created_at, id`, [actor.organizationId]);
    return rows.map(toApiKey);
  }

  async revoke(actor: Actor, id: string): Promise<ApiKey> {
    requireAdmin(actor);
    if (!isUuid(id)) throw new NotFound('api_key', id);
    return this.db.transaction(async (tx) => {
      const row = await tx.maybeOne<ApiKeyRow>(
        `update api_keys set revoked_at = coalesce(revoked_at, now()) where organization_id = ? and id = ? returning ${COLUMNS}`,
        [actor.organizationId, id],
      );
      if (!row) throw new NotFound('api_key', id);
      await writeAudit(tx, actor, { action: 'apikey.revoke', resourceType: 'api_key', resourceId: id, resourceLabel: row.name });
      return toApiKey(row);
    });
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
    const row = await this.db.sql.maybeOne<{ organization_id: string; id: string; name: string; role: ApiKeyRole; key_hash: Buffer; stale: boolean }>(
      `select organization_id, id, name, role, key_hash,
         (last_used_at is null or last_used_at < now() - interval '1 minute') as stale
       from api_keys where key_hash = ? and revoked_at is null`,
      [hash],
    );
    if (!row || !sameHash(row.key_hash, hash)) throw new Unauthenticated('invalid_api_key', 'The API key is missing, wrong or revoked');
    if (row.stale) {
      await this.db.sql.run(`update api_keys set last_used_at = now() where organization_id = ? and id = ?`, [row.organization_id, row.id]);
    }
    return { kind: 'api_key', organizationId: row.organization_id, id: row.id, label: row.name, role: row.role };
  }
}
