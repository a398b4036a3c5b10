// The statements of sessions.
import type { Sql } from '../db.js';
import { toDate } from '../rows.js';

/** A session for the member if it is active; its absolute expiry, or undefined when the member is not (or not active). */
export async function insertSession(sql: Sql, organizationId: string, hash: Buffer, memberId: string, absoluteHours: number): Promise<Date | undefined> {
  const row = await sql.maybeOne<{ expires_at: string }>(
    `insert into sessions (organization_id, id, member_id, expires_at)
     select $1, $2, id, now() + make_interval(hours => $3) from members where organization_id = $1 and id = $4 and active
     returning expires_at`,
    [organizationId, hash, absoluteHours, memberId],
  );
  return row && toDate(row.expires_at);
}

/** The live session of an active member with this token hash; `stale`: its idle timer is worth refreshing. */
export async function selectLiveSession(
  sql: Sql,
  hash: Buffer,
  idleMinutes: number,
): Promise<{ organizationId: string; memberId: string; userName: string; stale: boolean } | undefined> {
  const row = await sql.maybeOne<{ organization_id: string; member_id: string; user_name: string; stale: boolean }>(
    `select s.organization_id, s.member_id, m.user_name, s.last_seen_at < now() - interval '1 minute' as stale
     from sessions s join members m on m.organization_id = s.organization_id and m.id = s.member_id
     where s.organization_id = (select organization_id from credential_hashes where hash = $1) and s.id = $1 and s.expires_at > now() and s.last_seen_at > now() - make_interval(mins => $2) and m.active`,
    [hash, idleMinutes],
  );
  return row && { organizationId: row.organization_id, memberId: row.member_id, userName: row.user_name, stale: row.stale };
}

export async function touchSession(sql: Sql, organizationId: string, hash: Buffer): Promise<void> {
  await sql.run(`update sessions set last_seen_at = now() where organization_id = $1 and id = $2`, [organizationId, hash]);
}

/** A session ended by its token: whose it was, whether it was still live, and what its SAML sign-in recorded. */
export interface EndedSessionRow {
  readonly organizationId: string;
  readonly memberId: string;
  /** Unexpired (absolute and idle timeouts) and its member active: the sign-out of someone signed in. */
  readonly live: boolean;
  readonly samlNameId: string | null;
  readonly samlSessionIndex: string | null;
}

/** Deletes the session; whose it was and what its SAML sign-in recorded (for single logout), or undefined when there was none. */
export async function deleteSession(sql: Sql, hash: Buffer, idleMinutes: number): Promise<EndedSessionRow | undefined> {
  const row = await sql.maybeOne<{ organization_id: string; member_id: string; live: boolean; saml_name_id: string | null; saml_session_index: string | null }>(
    `with s as (
       delete from sessions where organization_id = (select organization_id from credential_hashes where hash = $1) and id = $1
       returning organization_id, member_id, saml_name_id, saml_session_index,
         expires_at > now() and last_seen_at > now() - make_interval(mins => $2) as unexpired)
     select s.organization_id, s.member_id, s.saml_name_id, s.saml_session_index, s.unexpired and coalesce(m.active, false) as live
     from s left join members m on m.organization_id = s.organization_id and m.id = s.member_id`,
    [hash, idleMinutes],
  );
  return (
    row && { organizationId: row.organization_id, memberId: row.member_id, live: row.live, samlNameId: row.saml_name_id, samlSessionIndex: row.saml_session_index }
  );
}

/** Deletes ended sessions (past their absolute or idle timeout); how many. */
export async function deleteEndedSessions(sql: Sql, idleMinutes: number): Promise<number> {
  return sql.run(`delete from sessions where expires_at < now() or last_seen_at < now() - make_interval(mins => $1)`, [idleMinutes]);
}

/** Ends every session of a member; how many. */
/**
 * Ends a member's sessions; how many. With `samlSessionIndex`, only those its
 * SAML sign-in recorded under that SessionIndex (and those that recorded none,
 * which cannot be told apart), as a LogoutRequest naming one asks (SAML 2.0 core §3.7.3.2).
 */
export async function deleteMemberSessions(sql: Sql, organizationId: string, memberId: string, samlSessionIndex: string | null = null): Promise<number> {
  return sql.run(
    `delete from sessions where organization_id = $1 and member_id = $2 and ($3::text is null or saml_session_index is null or saml_session_index = $3)`,
    [organizationId, memberId, samlSessionIndex],
  );
}
