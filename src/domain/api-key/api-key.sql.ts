// The statements of API keys.
import type { ApiKeyRole } from '../actor.js';
import type { Sql } from '../db.js';
import { toDate } from '../rows.js';
import type { ApiKey } from './api-key.service.js';

interface ApiKeyRow {
  id: string;
  name: string;
  role: ApiKeyRole;
  lock_ids: string[];
  place_ids: string[];
  key_prefix: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

const COLUMNS = 'id, name, role, lock_ids, place_ids, key_prefix, created_at, last_used_at, revoked_at';

function toApiKey(r: ApiKeyRow): ApiKey {
  return {
    id: r.id,
    name: r.name,
    role: r.role,
    lockIds: r.lock_ids,
    placeIds: r.place_ids,
    prefix: r.key_prefix,
    createdAt: toDate(r.created_at),
    lastUsedAt: toDate(r.last_used_at),
    revokedAt: toDate(r.revoked_at),
  };
}

export async function insertApiKey(
  sql: Sql,
  k: { organizationId: string; id: string; name: string; role: ApiKeyRole; hash: Buffer; displayPrefix: string; lockIds: readonly string[]; placeIds: readonly string[] },
): Promise<ApiKey> {
  const row = await sql.one<ApiKeyRow>(
    `insert into api_keys (organization_id, id, name, role, key_hash, key_prefix, lock_ids, place_ids) values ($1, $2, $3, $4, $5, $6, $7::uuid[], $8::uuid[]) returning ${COLUMNS}`,
    [k.organizationId, k.id, k.name, k.role, k.hash, k.displayPrefix, k.lockIds, k.placeIds],
  );
  return toApiKey(row);
}

export async function selectApiKeys(sql: Sql, organizationId: string): Promise<ApiKey[]> {
  return (await sql.all<ApiKeyRow>(`select ${COLUMNS} from api_keys where organization_id = $1 order by created_at, id`, [organizationId])).map(toApiKey);
}

/** Revokes the key (keeping the first revocation's time); undefined when there is none. */
export async function revokeApiKey(sql: Sql, organizationId: string, id: string): Promise<ApiKey | undefined> {
  const row = await sql.maybeOne<ApiKeyRow>(`update api_keys set revoked_at = coalesce(revoked_at, now()) where organization_id = $1 and id = $2 returning ${COLUMNS}`, [
    organizationId,
    id,
  ]);
  return row && toApiKey(row);
}

/** The unrevoked key with this hash; `useStale`: its last use is worth recording. */
export async function selectKeyByHash(
  sql: Sql,
  hash: Buffer,
): Promise<
  { organizationId: string; id: string; name: string; role: ApiKeyRole; hash: Buffer; useStale: boolean; lockIds: string[]; placeIds: string[] } | undefined
> {
  const row = await sql.maybeOne<{ organization_id: string; id: string; name: string; role: ApiKeyRole; key_hash: Buffer; stale: boolean; lock_ids: string[]; place_ids: string[] }>(
    `select organization_id, id, name, role, key_hash, lock_ids, place_ids,
       (last_used_at is null or last_used_at < now() - interval '1 minute') as stale
     from api_keys
     where organization_id = (select organization_id from credential_hashes where hash = $1) and key_hash = $1 and revoked_at is null`,
    [hash],
  );
  return (
    row && {
      organizationId: row.organization_id,
      id: row.id,
      name: row.name,
      role: row.role,
      hash: row.key_hash,
      useStale: row.stale,
      lockIds: row.lock_ids,
      placeIds: row.place_ids,
    }
  );
}

/** Of these keys of the organisation, those that are revoked (or gone). */
export async function selectRevokedAmong(sql: Sql, organizationId: string, ids: readonly string[]): Promise<string[]> {
  const rows = await sql.all<{ id: string }>(
    `select k.id from unnest($2::uuid[]) as k(id)
     where not exists (select 1 from api_keys a where a.organization_id = $1 and a.id = k.id and a.revoked_at is null)`,
    [organizationId, ids],
  );
  return rows.map((r) => r.id);
}

export async function recordApiKeyUse(sql: Sql, organizationId: string, id: string): Promise<void> {
  await sql.run(`update api_keys set last_used_at = now() where organization_id = $1 and id = $2`, [organizationId, id]);
}

/** The first of these ids that is not a lock (or place) of the organisation; undefined when all are. */
export async function selectUnknownTargets(sql: Sql, organizationId: string, lockIds: readonly string[], placeIds: readonly string[]): Promise<string | undefined> {
  const row = await sql.maybeOne<{ id: string }>(
    `select x as id from unnest($2::uuid[]) x where not exists (select 1 from locks l where l.organization_id = $1 and l.id = x)
     union all
     select x from unnest($3::uuid[]) x where not exists (select 1 from places p where p.organization_id = $1 and p.id = x)
     limit 1`,
    [organizationId, lockIds, placeIds],
  );
  return row?.id;
}
