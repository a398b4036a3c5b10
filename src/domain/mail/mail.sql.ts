// The statements of the mail outbox. Recording an attempt is one statement
// (the attempt and the mail's new state), and only while this process still
// holds the mail's lease (its claim token).
import type { Sql } from '../db.js';
import { toDate } from '../rows.js';
import { selectNewestFirst } from '../log-page.sql.js';
import type { BlockedAddress, MailAttempt, MailStatus, MailTemplate } from './mail.model.js';

/**
 * The address to write to for member alias `m`: its primary email, else its
 * work email, else any email, else its userName when that is an address
 * (Entra's UPN usually is). Null when it has none.
 */
export function memberAddressSql(m: string): string {
  return `coalesce(
    (select e->>'value' from jsonb_array_elements(case when jsonb_typeof(${m}.emails) = 'array' then ${m}.emails else '[]'::jsonb end) e
     where e->>'value' like '%_@_%' and length(e->>'value') <= 320
     order by lower(coalesce(e->>'primary', '')) <> 'true', coalesce(e->>'type', '') <> 'work' limit 1),
    case when ${m}.user_name like '%_@_%' and length(${m}.user_name) <= 320 then ${m}.user_name end)`;
}

const MAIL_COLUMNS = 'id, to_address, member_id, template, status, attempts, next_attempt_at, last_attempt_at, last_error, last_smtp_code, created_at, sent_at';

export interface MailRow {
  id: string;
  to_address: string;
  member_id: string | null;
  template: MailTemplate;
  status: MailStatus;
  attempts: number;
  next_attempt_at: string;
  last_attempt_at: string | null;
  last_error: string | null;
  last_smtp_code: number | null;
  created_at: string;
  sent_at: string | null;
}

interface AttemptJson {
  attempt: number;
  at: string;
  duration_ms: number;
  outcome: MailAttempt['outcome'];
  smtp_code: number | null;
  error: string | null;
}

/** A claimed mail with what rendering and sending it needs. */
export interface ClaimedMail {
  organization_id: string;
  id: string;
  /** This process's lease on the mail: it sends and records only while the row still carries it. */
  claim_token: string;
  to_address: string;
  template: MailTemplate;
  data: Record<string, unknown>;
  attempts: number;
  retry_from: string;
  org_name: string;
  org_domain: string;
  member_name: string | null;
  blocked: string | null;
}

/** The outbox newest first, optionally of one status, before the mail `before`. */
export async function selectMail(sql: Sql, organizationId: string, f: { status?: MailStatus; before?: string }, limit: number): Promise<MailRow[]> {
  return selectNewestFirst<MailRow>(sql, 'mail_outbox', MAIL_COLUMNS, organizationId, { status: f.status }, f.before, limit);
}

/** One mail with every attempt to send it. */
export async function selectMailWithAttempts(sql: Sql, organizationId: string, id: string): Promise<{ row: MailRow; attempts: MailAttempt[] } | undefined> {
  const row = await sql.maybeOne<MailRow & { attempt_log: AttemptJson[] }>(
    `select ${MAIL_COLUMNS},
       (select coalesce(json_agg(json_build_object('attempt', a.attempt, 'at', a.at, 'duration_ms', a.duration_ms, 'outcome', a.outcome,
                 'smtp_code', a.smtp_code, 'error', a.error) order by a.attempt), '[]')
        from mail_attempts a where a.organization_id = o.organization_id and a.mail_id = o.id) as attempt_log
     from mail_outbox o where organization_id = $1 and id = $2`,
    [organizationId, id],
  );
  return (
    row && {
      row,
      attempts: row.attempt_log.map((a) => ({ attempt: a.attempt, at: toDate(a.at), durationMs: a.duration_ms, outcome: a.outcome, smtpCode: a.smtp_code, error: a.error })),
    }
  );
}

export async function selectBlockedAddresses(sql: Sql, organizationId: string): Promise<BlockedAddress[]> {
  const rows = await sql.all<{ address: string; smtp_code: number | null; reason: string; mail_id: string | null; created_at: string }>(
    `select address, smtp_code, reason, mail_id, created_at from mail_blocked_addresses where organization_id = $1 order by created_at desc limit 1000`,
    [organizationId],
  );
  return rows.map((r) => ({ address: r.address, smtpCode: r.smtp_code, reason: r.reason, mailId: r.mail_id, createdAt: toDate(r.created_at) }));
}

/** Unblocks an address (any case); the address as it was stored, undefined when it was not blocked. */
export async function deleteBlockedAddress(sql: Sql, organizationId: string, address: string): Promise<string | undefined> {
  const row = await sql.maybeOne<{ address: string }>(`delete from mail_blocked_addresses where organization_id = $1 and address = lower($2) returning address`, [
    organizationId,
    address,
  ]);
  return row?.address;
}

/** Blocks an address (stored lower-case) after a hard bounce; false when it was blocked already. */
export async function insertBlockedAddress(
  sql: Sql,
  organizationId: string,
  b: { address: string; smtpCode: number | null; reason: string; mailId: string },
): Promise<boolean> {
  const n = await sql.run(
    `insert into mail_blocked_addresses (organization_id, address, smtp_code, reason, mail_id) values ($1, lower($2), $3, $4, $5) on conflict do nothing`,
    [organizationId, b.address, b.smtpCode, b.reason, b.mailId],
  );
  return n > 0;
}

/** Makes a mail pending again, retried from now. */
export async function resendMail(sql: Sql, organizationId: string, id: string): Promise<MailRow | undefined> {
  return sql.maybeOne<MailRow>(
    `update mail_outbox set status = 'pending', next_attempt_at = now(), claimed_until = null, claim_token = null, retry_from = now()
     where organization_id = $1 and id = $2 returning ${MAIL_COLUMNS}`,
    [organizationId, id],
  );
}

/** Whether the organisation mails a welcome to members SCIM provisions; `forUpdate` locks the organisation's row. */
export async function selectScimWelcome(sql: Sql, organizationId: string, forUpdate = false): Promise<boolean> {
  const row = await sql.one<{ mail_scim_welcome: boolean }>(`select mail_scim_welcome from organizations where organization_id = $1${forUpdate ? ' for update' : ''}`, [
    organizationId,
  ]);
  return row.mail_scim_welcome;
}

export async function updateScimWelcome(sql: Sql, organizationId: string, on: boolean): Promise<void> {
  await sql.run(`update organizations set mail_scim_welcome = $1, updated_at = now() where organization_id = $2`, [on, organizationId]);
}

/** Queues `template` for each of these members that has an address; how many. */
export async function insertMailForMembers(sql: Sql, organizationId: string, template: MailTemplate, memberIds: readonly string[], data: string): Promise<number> {
  return sql.run(
    `insert into mail_outbox (organization_id, id, to_address, member_id, template, data)
     select $1, gen_random_uuid(), a.address, m.id, $3, $4::jsonb
     from members m cross join lateral (select ${memberAddressSql('m')} as address) a
     where m.organization_id = $1 and m.id = any($2::uuid[]) and a.address is not null`,
    [organizationId, memberIds, template, data],
  );
}

/** Marks up to 1000 due mails "not sent" with `reason` (no SMTP server); how many. */
export async function markDueUnsent(sql: Sql, reason: string): Promise<number> {
  return sql.run(
    `update mail_outbox set status = 'unsent', last_error = $1, claimed_until = null, claim_token = null
     where (organization_id, id) in (
       select organization_id, id from mail_outbox where status = 'pending' and next_attempt_at <= now() and (claimed_until is null or claimed_until < now())
       limit 1000 for update skip locked)`,
    [reason],
  );
}

/** Claims up to `limit` due mails for `claimSeconds` under `token` (FOR UPDATE SKIP LOCKED: one process each), counting the attempt. */
export async function claimMail(sql: Sql, limit: number, claimSeconds: number, token: string): Promise<ClaimedMail[]> {
  return sql.all<ClaimedMail>(
    `with c as (
       select organization_id, id from mail_outbox
       where status = 'pending' and next_attempt_at <= now() and (claimed_until is null or claimed_until < now())
       order by next_attempt_at limit ${Math.max(1, limit)} for update skip locked)
     update mail_outbox o set claimed_until = now() + make_interval(secs => $1), claim_token = $2, attempts = o.attempts + 1
     from c join organizations g on g.organization_id = c.organization_id
     where o.organization_id = c.organization_id and o.id = c.id
     returning o.organization_id, o.id, o.claim_token, o.to_address, o.template, o.data, o.attempts, o.retry_from, g.name as org_name, g.domain as org_domain,
       (select coalesce(m.display_name, m.user_name) from members m where m.organization_id = o.organization_id and m.id = o.member_id) as member_name,
       (select coalesce(b.smtp_code::text || ' ', '') || b.reason from mail_blocked_addresses b
        where b.organization_id = o.organization_id and b.address = lower(o.to_address)) as blocked`,
    [claimSeconds, token],
  );
}

/** Extends the lease of a claimed mail; false when it was lost (another process or an admin took it). */
export async function renewClaim(sql: Sql, c: ClaimedMail, claimSeconds: number): Promise<boolean> {
  const n = await sql.run(
    `update mail_outbox set claimed_until = now() + make_interval(secs => $1) where organization_id = $2 and id = $3 and claim_token = $4 and status = 'pending'`,
    [claimSeconds, c.organization_id, c.id, c.claim_token],
  );
  return n > 0;
}

/** Marks a claimed mail blocked, unattempted; false when the lease was lost. */
export async function markBlocked(sql: Sql, c: ClaimedMail, reason: string): Promise<boolean> {
  const n = await sql.run(
    `update mail_outbox set status = 'blocked', attempts = attempts - 1, claimed_until = null, claim_token = null, last_error = $1
     where organization_id = $2 and id = $3 and claim_token = $4 and status = 'pending'`,
    [reason, c.organization_id, c.id, c.claim_token],
  );
  return n > 0;
}

/** The attempt and the mail's new state in one statement, while the lease holds. */
export async function recordAttempt(
  sql: Sql,
  c: ClaimedMail,
  a: { durationMs: number; outcome: MailAttempt['outcome']; smtpCode: number | null; error: string | null; status: MailStatus; retryAt: Date; messageId: string | null },
): Promise<void> {
  await sql.run(
    `with a as (
       insert into mail_attempts (organization_id, mail_id, attempt, duration_ms, outcome, smtp_code, error)
       values ($1, $2, $3, $4, $5, $6, $7) on conflict do nothing)
     update mail_outbox set status = $8, next_attempt_at = $9, claimed_until = null, claim_token = null, last_attempt_at = now(), last_error = $7, last_smtp_code = $6,
       message_id = coalesce($10, message_id), sent_at = case when $8 = 'sent' then now() else sent_at end
     where organization_id = $1 and id = $2 and status = 'pending' and claim_token = $11`,
    [c.organization_id, c.id, c.attempts, a.durationMs, a.outcome, a.smtpCode, a.error, a.status, a.retryAt, a.messageId, c.claim_token],
  );
}

/** Deletes up to `limit` sent and failed mails older than `days`; how many. */
export async function purgeMail(sql: Sql, days: number, limit: number): Promise<number> {
  return sql.run(
    `delete from mail_outbox where (organization_id, id) in (
       select organization_id, id from mail_outbox
       where status in ('sent', 'failed') and created_at < now() - make_interval(days => $1) limit ${Math.max(1, limit)})`,
    [days],
  );
}
