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

const CLEAR_PREVIOUS = `scim_previous_token_hash = null, scim_previous_token_prefix = null, scim_previous_token_created_at = null,
       scim_previous_token_last_used_at = null, scim_previous_token_expires_at = null`;

/**
 * Enables SCIM with a new token hash; any other token (current or previous)
 * stops at once. Whether a token existed before (a rotation), or undefined
 * for no such organisation.
 */
export async function setScimToken(sql: Sql, organizationId: string, hash: Buffer, displayPrefix: string): Promise<{ rotated: boolean } | undefined> {
  return sql.maybeOne<{ rotated: boolean }>(
    `update organizations o set scim_enabled = true, scim_token_hash = $1, scim_token_prefix = $2, scim_token_created_at = now(),
       scim_token_last_used_at = null, ${CLEAR_PREVIOUS}, updated_at = now()
     from (select scim_token_hash is not null as rotated from organizations where organization_id = $3 for update) prev
     where o.organization_id = $3 returning prev.rotated`,
    [hash, displayPrefix, organizationId],
  );
}

/**
 * Rotates with an overlap: the current token becomes the previous one (with
 * its last use), valid for `overlapMinutes` more; a previous one before it
 * stops at once. The replaced token's prefix, or undefined when SCIM is not
 * enabled (nothing to rotate).
 */
export async function rotateScimToken(
  sql: Sql,
  organizationId: string,
  hash: Buffer,
  displayPrefix: string,
  overlapMinutes: number,
): Promise<{ previousPrefix: string | null; previousExpiresAt: Date } | undefined> {
  const row = await sql.maybeOne<{ previous_prefix: string | null; expires_at: string }>(
    `update organizations set
       scim_previous_token_hash = scim_token_hash, scim_previous_token_prefix = scim_token_prefix,
       scim_previous_token_created_at = scim_token_created_at, scim_previous_token_last_used_at = scim_token_last_used_at,
       scim_previous_token_expires_at = now() + make_interval(mins => $4),
       scim_token_hash = $1, scim_token_prefix = $2, scim_token_created_at = now(), scim_token_last_used_at = null, updated_at = now()
     where organization_id = $3 and scim_enabled and scim_token_hash is not null
     returning scim_previous_token_prefix as previous_prefix, scim_previous_token_expires_at as expires_at`,
    [hash, displayPrefix, organizationId, overlapMinutes],
  );
  return row && { previousPrefix: row.previous_prefix, previousExpiresAt: toDate(row.expires_at) };
}

/** Ends the previous token now; its prefix if one was still valid, null if none was. */
export async function revokePreviousScimToken(sql: Sql, organizationId: string): Promise<{ prefix: string | null } | null> {
  const row = await sql.maybeOne<{ prefix: string | null }>(
    `update organizations o set ${CLEAR_PREVIOUS}, updated_at = now()
     from (select scim_previous_token_prefix as prefix, scim_previous_token_expires_at > now() as valid
           from organizations where organization_id = $1 and scim_previous_token_hash is not null for update) prev
     where o.organization_id = $1 and prev.valid returning prev.prefix`,
    [organizationId],
  );
  return row ?? null;
}

/** Disables SCIM and forgets both tokens; false for no such organisation. */
export async function clearScimToken(sql: Sql, organizationId: string): Promise<boolean> {
  const n = await sql.run(
    `update organizations set scim_enabled = false, scim_token_hash = null, scim_token_prefix = null,
       scim_token_created_at = null, scim_token_last_used_at = null, ${CLEAR_PREVIOUS}, updated_at = now() where organization_id = $1`,
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
    previous_prefix: string | null;
    previous_created_at: string | null;
    previous_last_used_at: string | null;
    previous_expires_at: string | null;
  }>(
    // A previous token past its overlap is gone (the lookup refuses it), whether or not its row was cleared yet.
    `select scim_enabled, scim_token_prefix, scim_token_created_at, scim_token_last_used_at,
       case when live then scim_previous_token_prefix end as previous_prefix,
       case when live then scim_previous_token_created_at end as previous_created_at,
       case when live then scim_previous_token_last_used_at end as previous_last_used_at,
       case when live then scim_previous_token_expires_at end as previous_expires_at
     from (select *, coalesce(scim_previous_token_expires_at > now(), false) as live from organizations where organization_id = $1) o`,
    [organizationId],
  );
  return (
    row && {
      enabled: row.scim_enabled,
      tokenPrefix: row.scim_token_prefix,
      tokenCreatedAt: toDate(row.scim_token_created_at),
      tokenLastUsedAt: toDate(row.scim_token_last_used_at),
      previousTokenPrefix: row.previous_prefix,
      previousTokenCreatedAt: toDate(row.previous_created_at),
      previousTokenLastUsedAt: toDate(row.previous_last_used_at),
      previousTokenExpiresAt: toDate(row.previous_expires_at),
    }
  );
}

/**
 * The organisation whose enabled SCIM token (current, or previous within its
 * overlap) has this hash, which of the two it is, and whether its last use is
 * worth recording.
 */
export async function selectScimToken(
  sql: Sql,
  hash: Buffer,
): Promise<{ organizationId: string; hash: Buffer; previous: boolean; expiresAt: Date | null; useStale: boolean } | undefined> {
  const row = await sql.maybeOne<{ organization_id: string; hash: Buffer; previous: boolean; expires_at: string | null; stale: boolean }>(
    `select organization_id, previous, hash, expires_at, (used is null or used < now() - interval '1 minute') as stale from (
       select organization_id, false as previous, scim_token_hash as hash, null::timestamptz as expires_at, scim_token_last_used_at as used
       from organizations where scim_token_hash = $1 and scim_enabled
       union all
       select organization_id, true, scim_previous_token_hash, scim_previous_token_expires_at, scim_previous_token_last_used_at
       from organizations where scim_previous_token_hash = $1 and scim_enabled and scim_previous_token_expires_at > now()
     ) t limit 1`,
    [hash],
  );
  return row && { organizationId: row.organization_id, hash: row.hash, previous: row.previous, expiresAt: row.expires_at === null ? null : toDate(row.expires_at), useStale: row.stale };
}

/** Records the token's use (the current or the previous one), unless recorded within the last minute. */
export async function recordScimTokenUse(sql: Sql, organizationId: string, hash: Buffer, previous = false): Promise<void> {
  const column = previous ? 'scim_previous_token' : 'scim_token';
  await sql.run(
    `update organizations set ${column}_last_used_at = now()
     where organization_id = $1 and ${column}_hash = $2 and (${column}_last_used_at is null or ${column}_last_used_at < now() - interval '1 minute')`,
    [organizationId, hash],
  );
}
