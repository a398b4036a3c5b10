// The statements of organisations and their SCIM credential.
import type { Sql } from '../db.js';
import { toDate } from '../rows.js';
import type { Organization, ScimStatus } from './organization.service.js';

interface OrgRow {
  organization_id: string;
  name: string;
  domain: string;
  created_at: string;
}

const ORG_COLUMNS = 'organization_id, name, domain, created_at';

function toOrganization(r: OrgRow): Organization {
  return { id: r.organization_id, name: r.name, domain: r.domain, createdAt: toDate(r.created_at) };
}

/** A unique violation when the domain is taken. */
export async function insertOrganization(sql: Sql, id: string, name: string, domain: string): Promise<Organization> {
  return toOrganization(await sql.one<OrgRow>(`insert into organizations (organization_id, name, domain) values ($1, $2, $3) returning ${ORG_COLUMNS}`, [id, name, domain]));
}

export async function selectOrganizations(sql: Sql): Promise<Organization[]> {
  return (await sql.all<OrgRow>(`select ${ORG_COLUMNS} from organizations order by domain`)).map(toOrganization);
}

export async function selectOrganizationByDomain(sql: Sql, domain: string): Promise<Organization | undefined> {
  const row = await sql.maybeOne<OrgRow>(`select ${ORG_COLUMNS} from organizations where domain = $1`, [domain]);
  return row && toOrganization(row);
}

export async function selectOrganization(sql: Sql, id: string): Promise<Organization | undefined> {
  const row = await sql.maybeOne<OrgRow>(`select ${ORG_COLUMNS} from organizations where organization_id = $1`, [id]);
  return row && toOrganization(row);
}

/** Enables SCIM with a new token hash; whether a token existed before (a rotation), or undefined for no such organisation. */
export async function setScimToken(sql: Sql, organizationId: string, hash: Buffer, displayPrefix: string): Promise<{ rotated: boolean } | undefined> {
  return sql.maybeOne<{ rotated: boolean }>(
    `update organizations o set scim_enabled = true, scim_token_hash = $1, scim_token_prefix = $2, scim_token_created_at = now(),
       scim_token_last_used_at = null, updated_at = now()
     from (select scim_token_hash is not null as rotated from organizations where organization_id = $3 for update) prev
     where o.organization_id = $3 returning prev.rotated`,
    [hash, displayPrefix, organizationId],
  );
}

/** Disables SCIM and forgets the token; false for no such organisation. */
export async function clearScimToken(sql: Sql, organizationId: string): Promise<boolean> {
  const n = await sql.run(
    `update organizations set scim_enabled = false, scim_token_hash = null, scim_token_prefix = null,
       scim_token_created_at = null, scim_token_last_used_at = null, updated_at = now() where organization_id = $1`,
    [organizationId],
  );
  return n > 0;
}

export async function selectScimStatus(sql: Sql, organizationId: string): Promise<ScimStatus | undefined> {
  const row = await sql.maybeOne<{
    scim_enabled: boolean;
    scim_token_prefix: string | null;
    scim_token_created_at: string | null;
    scim_token_last_used_at: string | null;
  }>(`select scim_enabled, scim_token_prefix, scim_token_created_at, scim_token_last_used_at from organizations where organization_id = $1`, [organizationId]);
  return (
    row && {
      enabled: row.scim_enabled,
      tokenPrefix: row.scim_token_prefix,
      tokenCreatedAt: toDate(row.scim_token_created_at),
      tokenLastUsedAt: toDate(row.scim_token_last_used_at),
    }
  );
}

/** The organisation whose enabled SCIM token has this hash, and whether its last use is worth recording. */
export async function selectScimToken(sql: Sql, hash: Buffer): Promise<{ organizationId: string; hash: Buffer; useStale: boolean } | undefined> {
  const row = await sql.maybeOne<{ organization_id: string; scim_token_hash: Buffer; stale: boolean }>(
    `select organization_id, scim_token_hash,
       (scim_token_last_used_at is null or scim_token_last_used_at < now() - interval '1 minute') as stale
     from organizations where scim_token_hash = $1 and scim_enabled`,
    [hash],
  );
  return row && { organizationId: row.organization_id, hash: row.scim_token_hash, useStale: row.stale };
}

/** Records the token's use, unless recorded within the last minute. */
export async function recordScimTokenUse(sql: Sql, organizationId: string, hash: Buffer): Promise<void> {
  await sql.run(
    `update organizations set scim_token_last_used_at = now()
     where organization_id = $1 and scim_token_hash = $2 and (scim_token_last_used_at is null or scim_token_last_used_at < now() - interval '1 minute')`,
    [organizationId, hash],
  );
}
