// Notification mail: written to the outbox in the transaction of the change
// that causes it (a share granted through an import, a member made console
// admin; a welcome to SCIM-provisioned members when the organisation asks for
// it, from the audit stream), then sent by the delivery worker through the
// MailTransport port (SMTP), retried with back-off, every attempt logged.
// Without an SMTP server, mail stays in the outbox as "not sent: no SMTP
// configured", never dropped. A hard bounce blocks the address until an admin
// clears it (a mailbox that cannot receive mail gets blocked).
import crypto from 'node:crypto';
import { requireAdmin, systemActor, type Actor } from '../actor.js';
import type { Db, Sql } from '../db.js';
import { toDate } from '../rows.js';
import { SqlParams } from '../sql-params.js';
import { Invalid, NotFound } from '../errors.js';
import { isUuid } from '../ids.js';
import { writeAudit } from '../audit/audit.service.js';
import type { StreamConsumer } from '../events/event-dispatcher.js';
import { renderMail } from './mail-templates.js';
import type { BlockedAddress, MailAttempt, MailSendResult, MailSettings, MailStatus, MailTemplate, MailTransport, OutboxMail } from './mail.model.js';

export interface MailPolicy {
  readonly firstRetrySeconds: number;
  readonly retryFactor: number;
  readonly maxRetryDelaySeconds: number;
  /** A mail is retried this long after it was queued (or resent), then fails. */
  readonly giveUpAfterSeconds: number;
  /** A process sending a mail holds it this long. */
  readonly claimSeconds: number;
  readonly batchSize: number;
  /** Messages handed to the SMTP transport at once. */
  readonly concurrency: number;
  /** Sent and failed mail (and attempts) are kept this long. */
  readonly logRetentionDays: number;
}

export const DEFAULT_MAIL_POLICY: MailPolicy = {
  firstRetrySeconds: 60,
  retryFactor: 4,
  maxRetryDelaySeconds: 6 * 3600,
  giveUpAfterSeconds: 48 * 3600,
  claimSeconds: 180,
  batchSize: 50,
  concurrency: 4,
  logRetentionDays: 90,
};

export const MAIL_CONSUMER = 'mail';
export const NO_SMTP = 'not sent: no SMTP configured';

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

interface MailRow {
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

function statusText(r: MailRow): string {
  switch (r.status) {
    case 'pending':
      return r.attempts > 0 && r.last_error ? `retrying: ${r.last_error}` : 'waiting to be sent';
    case 'sent':
      return 'sent';
    case 'unsent':
      return NO_SMTP;
    case 'blocked':
      return r.last_error ?? 'not sent: the address is blocked';
    case 'failed':
      return `failed: ${r.last_error ?? 'unknown'}`;
  }
}

function toMail(r: MailRow): OutboxMail {
  return {
    id: r.id,
    to: r.to_address,
    memberId: r.member_id,
    template: r.template,
    status: r.status,
    statusText: statusText(r),
    attempts: r.attempts,
    nextAttemptAt: r.status === 'pending' ? toDate(r.next_attempt_at) : null,
    lastAttemptAt: toDate(r.last_attempt_at),
    lastError: r.last_error,
    lastSmtpCode: r.last_smtp_code,
    createdAt: toDate(r.created_at),
    sentAt: toDate(r.sent_at),
  };
}

interface ClaimedMail {
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

export interface MailRound {
  readonly attempted: number;
  readonly sent: number;
  readonly failed: number;
  /** Not sent for want of an SMTP server, or because the address is blocked. */
  readonly unsent: number;
}

const STATUSES: readonly MailStatus[] = ['pending', 'sent', 'failed', 'blocked', 'unsent'];

export class MailService {
  constructor(
    private readonly db: Db,
    /** PUBLIC_URL: the base of the links in the mail. */
    private readonly publicUrl: string,
    private readonly policy: MailPolicy = DEFAULT_MAIL_POLICY,
  ) {}

  // ---- the outbox (admins) -----------------------------------------------------

  /** The outbox, newest first; `before` pages with a mail id. */
  async list(actor: Actor, f: { status?: MailStatus; before?: string; limit?: number } = {}): Promise<OutboxMail[]> {
    requireAdmin(actor);
    const p = new SqlParams();
    const where = [`organization_id = ${p.add(actor.organizationId)}`];
    if (f.status !== undefined) {
      if (!STATUSES.includes(f.status)) throw new Invalid('invalid_value', `status must be one of ${STATUSES.join(', ')}`, 'status');
      where.push(`status = ${p.add(f.status)}`);
    }
    if (f.before !== undefined) {
      if (!isUuid(f.before)) throw new Invalid('invalid_cursor', 'before must be a mail id', 'before');
      where.push(`(created_at, id) < (select created_at, id from mail_outbox where organization_id = ${p.add(actor.organizationId)} and id = ${p.add(f.before)})`);
    }
    const limit = Math.min(Math.max(Number.isInteger(f.limit) ? f.limit! : 50, 1), 500);
    const rows = await this.db.sql.all<MailRow>(`select ${MAIL_COLUMNS} from mail_outbox where ${where.join(' and ')} order by created_at desc, id desc limit ${limit}`, p.values);
    return rows.map(toMail);
  }

  /** One mail with every attempt to send it. */
  async get(actor: Actor, id: string): Promise<OutboxMail & { attemptLog: MailAttempt[] }> {
    requireAdmin(actor);
    if (!isUuid(id)) throw new NotFound('mail', id);
    const row = await this.db.sql.maybeOne<MailRow & { attempt_log: { attempt: number; at: string; duration_ms: number; outcome: MailAttempt['outcome']; smtp_code: number | null; error: string | null }[] }>(
      `select ${MAIL_COLUMNS},
         (select coalesce(json_agg(json_build_object('attempt', a.attempt, 'at', a.at, 'duration_ms', a.duration_ms, 'outcome', a.outcome,
                   'smtp_code', a.smtp_code, 'error', a.error) order by a.attempt), '[]')
          from mail_attempts a where a.organization_id = o.organization_id and a.mail_id = o.id) as attempt_log
       from mail_outbox o where organization_id = $1 and id = $2`,
      [actor.organizationId, id],
    );
    if (!row) throw new NotFound('mail', id);
    return {
      ...toMail(row),
      attemptLog: row.attempt_log.map((a) => ({ attempt: a.attempt, at: toDate(a.at), durationMs: a.duration_ms, outcome: a.outcome, smtpCode: a.smtp_code, error: a.error })),
    };
  }

  async blocked(actor: Actor): Promise<BlockedAddress[]> {
    requireAdmin(actor);
    const rows = await this.db.sql.all<{ address: string; smtp_code: number | null; reason: string; mail_id: string | null; created_at: string }>(
      `select address, smtp_code, reason, mail_id, created_at from mail_blocked_addresses where organization_id = $1 order by created_at desc limit 1000`,
      [actor.organizationId],
    );
    return rows.map((r) => ({ address: r.address, smtpCode: r.smtp_code, reason: r.reason, mailId: r.mail_id, createdAt: toDate(r.created_at) }));
  }

  /** Clears a blocked address: mail to it is sent again (the blocked mails themselves only on resend). */
  async unblock(actor: Actor, address: string): Promise<void> {
    requireAdmin(actor);
    if (typeof address !== 'string' || address.length === 0 || address.length > 320) throw new Invalid('invalid_value', 'address must be an email address', 'address');
    await this.db.transaction(async (tx) => {
      const row = await tx.maybeOne<{ address: string }>(`delete from mail_blocked_addresses where organization_id = $1 and address = lower($2) returning address`, [
        actor.organizationId,
        address.trim(),
      ]);
      if (!row) throw new NotFound('blocked_address', address);
      await writeAudit(tx, actor, { action: 'mail.address.unblock', resourceType: 'mail_address', resourceLabel: row.address });
    });
  }

  /** Sends a mail again (an unsent one once SMTP is configured, a failed or blocked one after a fix). */
  async resend(actor: Actor, id: string): Promise<OutboxMail> {
    requireAdmin(actor);
    if (!isUuid(id)) throw new NotFound('mail', id);
    return this.db.transaction(async (tx) => {
      const row = await tx.maybeOne<MailRow>(
        `update mail_outbox set status = 'pending', next_attempt_at = now(), claimed_until = null, claim_token = null, retry_from = now()
         where organization_id = $1 and id = $2 returning ${MAIL_COLUMNS}`,
        [actor.organizationId, id],
      );
      if (!row) throw new NotFound('mail', id);
      await writeAudit(tx, actor, { action: 'mail.resend', resourceType: 'mail', resourceId: id, resourceLabel: row.to_address });
      return toMail(row);
    });
  }

  async settings(actor: Actor): Promise<MailSettings> {
    requireAdmin(actor);
    const row = await this.db.sql.one<{ mail_scim_welcome: boolean }>(`select mail_scim_welcome from organizations where organization_id = $1`, [actor.organizationId]);
    return { scimWelcome: row.mail_scim_welcome };
  }

  async setSettings(actor: Actor, settings: Partial<MailSettings>): Promise<MailSettings> {
    requireAdmin(actor);
    if (settings.scimWelcome !== undefined && typeof settings.scimWelcome !== 'boolean') throw new Invalid('invalid_value', 'scimWelcome must be true or false', 'scimWelcome');
    return this.db.transaction(async (tx) => {
      const before = await tx.one<{ mail_scim_welcome: boolean }>(`select mail_scim_welcome from organizations where organization_id = $1 for update`, [actor.organizationId]);
      const scimWelcome = settings.scimWelcome ?? before.mail_scim_welcome;
      if (scimWelcome === before.mail_scim_welcome) return { scimWelcome };
      await tx.run(`update organizations set mail_scim_welcome = $1, updated_at = now() where organization_id = $2`, [scimWelcome, actor.organizationId]);
      if (scimWelcome) {
        // Members provisioned from now on get the welcome: follow the audit stream from here.
        await tx.run(
          `insert into event_cursors (organization_id, consumer, txid, event_id)
           values ($1, $2, (pg_current_xact_id()::text::numeric - 1)::text::xid8, 9223372036854775807) on conflict do nothing`,
          [actor.organizationId, MAIL_CONSUMER],
        );
      } else {
        await tx.run(`delete from event_cursors where organization_id = $1 and consumer = $2`, [actor.organizationId, MAIL_CONSUMER]);
      }
      await writeAudit(tx, actor, { action: 'mail.settings', resourceType: 'organization', resourceId: actor.organizationId, detail: { changes: { scimWelcome: { from: before.mail_scim_welcome, to: scimWelcome } } } });
      return { scimWelcome };
    });
  }

  // ---- writing mail (in the change's transaction) ----------------------------------

  /** Queues `template` for each of these members that has an address, in the caller's transaction; returns how many. */
  async enqueueForMembers(tx: Sql, organizationId: string, template: MailTemplate, memberIds: readonly string[], data: Record<string, unknown> = {}): Promise<number> {
    if (memberIds.length === 0) return 0;
    return tx.run(
      `insert into mail_outbox (organization_id, id, to_address, member_id, template, data)
       select $1, gen_random_uuid(), a.address, m.id, $3, $4::jsonb
       from members m cross join lateral (select ${memberAddressSql('m')} as address) a
       where m.organization_id = $1 and m.id = any($2::uuid[]) and a.address is not null`,
      [organizationId, memberIds, template, JSON.stringify(data)],
    );
  }

  /** The audit-stream consumer writing the optional welcome mail of SCIM-provisioned members. */
  consumer(): StreamConsumer {
    return {
      name: MAIL_CONSUMER,
      handle: async (tx, organizationId, events) => {
        const created = events.filter((e) => e.action === 'scim.user.create' && e.outcome === 'success' && e.resourceId && isUuid(e.resourceId)).map((e) => e.resourceId!);
        if (created.length === 0) return;
        const on = await tx.one<{ mail_scim_welcome: boolean }>(`select mail_scim_welcome from organizations where organization_id = $1`, [organizationId]);
        if (on.mail_scim_welcome) await this.enqueueForMembers(tx, organizationId, 'welcome', created);
      },
    };
  }

  // ---- sending ---------------------------------------------------------------------------

  /**
   * Sends what is due until nothing is or `budgetMs` has passed. Without a
   * transport (no SMTP_URL) due mail is marked "not sent: no SMTP configured".
   */
  async deliverDue(transport: MailTransport | null, opts: { budgetMs?: number } = {}): Promise<MailRound> {
    if (!transport) {
      const unsent = await this.db.sql.run(
        `update mail_outbox set status = 'unsent', last_error = $1, claimed_until = null, claim_token = null
         where (organization_id, id) in (
           select organization_id, id from mail_outbox where status = 'pending' and next_attempt_at <= now() and (claimed_until is null or claimed_until < now())
           limit 1000 for update skip locked)`,
        [NO_SMTP],
      );
      return { attempted: 0, sent: 0, failed: 0, unsent };
    }
    const until = Date.now() + (opts.budgetMs ?? 20_000);
    const round = { attempted: 0, sent: 0, failed: 0, unsent: 0 };
    while (Date.now() < until) {
      const claimed = await this.claim();
      if (claimed.length === 0) break;
      let next = 0;
      const worker = async () => {
        while (next < claimed.length) {
          const c = claimed[next++]!;
          const outcome = await this.attempt(transport, c).catch(() => 'failed' as const);
          if (outcome === 'lost') continue;
          if (outcome === 'blocked') round.unsent++;
          else {
            round.attempted++;
            if (outcome === 'sent') round.sent++;
            else round.failed++;
          }
        }
      };
      await Promise.all(Array.from({ length: Math.max(1, this.policy.concurrency) }, worker));
    }
    return round;
  }

  private claim(): Promise<ClaimedMail[]> {
    return this.db.sql.all<ClaimedMail>(
      `with c as (
         select organization_id, id from mail_outbox
         where status = 'pending' and next_attempt_at <= now() and (claimed_until is null or claimed_until < now())
         order by next_attempt_at limit ${Math.max(1, this.policy.batchSize)} for update skip locked)
       update mail_outbox o set claimed_until = now() + make_interval(secs => $1), claim_token = $2, attempts = o.attempts + 1
       from c join organizations g on g.organization_id = c.organization_id
       where o.organization_id = c.organization_id and o.id = c.id
       returning o.organization_id, o.id, o.claim_token, o.to_address, o.template, o.data, o.attempts, o.retry_from, g.name as org_name, g.domain as org_domain,
         (select coalesce(m.display_name, m.user_name) from members m where m.organization_id = o.organization_id and m.id = o.member_id) as member_name,
         (select coalesce(b.smtp_code::text || ' ', '') || b.reason from mail_blocked_addresses b
          where b.organization_id = o.organization_id and b.address = lower(o.to_address)) as blocked`,
      [this.policy.claimSeconds, crypto.randomUUID()],
    );
  }

  /**
   * Renews the lease right before the mail goes out: false when it was lost
   * (it ran out while the mail waited in this batch and another process took
   * the mail over, or an admin changed it), and then this process leaves it.
   */
  private async renew(c: ClaimedMail): Promise<boolean> {
    const n = await this.db.sql.run(
      `update mail_outbox set claimed_until = now() + make_interval(secs => $1) where organization_id = $2 and id = $3 and claim_token = $4 and status = 'pending'`,
      [this.policy.claimSeconds, c.organization_id, c.id, c.claim_token],
    );
    return n > 0;
  }

  /** One mail: blocked, or rendered, sent and recorded; 'lost' when another process holds it now. */
  private async attempt(transport: MailTransport, c: ClaimedMail): Promise<'sent' | 'failed' | 'blocked' | 'lost'> {
    if (c.blocked !== null) {
      const n = await this.db.sql.run(
        `update mail_outbox set status = 'blocked', attempts = attempts - 1, claimed_until = null, claim_token = null, last_error = $1
         where organization_id = $2 and id = $3 and claim_token = $4 and status = 'pending'`,
        [`not sent: the address is blocked (${c.blocked})`.slice(0, 500), c.organization_id, c.id, c.claim_token],
      );
      return n > 0 ? 'blocked' : 'lost';
    }
    if (!(await this.renew(c))) return 'lost';
    const rendered = renderMail(c.template, {
      organizationName: c.org_name,
      organizationDomain: c.org_domain,
      publicUrl: this.publicUrl,
      recipientName: c.member_name,
      data: c.data,
    });
    const started = Date.now();
    const result: MailSendResult = await transport.send({ to: c.to_address, ...rendered });
    const durationMs = Date.now() - started;
    const retryAt = new Date(Date.now() + Math.min(this.policy.firstRetrySeconds * this.policy.retryFactor ** Math.max(0, c.attempts - 1), this.policy.maxRetryDelaySeconds) * (0.9 + 0.2 * Math.random()) * 1000);
    const expired = retryAt.getTime() > toDate(c.retry_from).getTime() + this.policy.giveUpAfterSeconds * 1000;
    const status: MailStatus = result.ok ? 'sent' : result.kind === 'transient' && !expired ? 'pending' : 'failed';
    const outcome = result.ok ? 'sent' : result.kind === 'bounced' ? 'bounced' : status === 'pending' ? 'retry' : 'failed';
    const error = result.ok ? null : result.error.slice(0, 500);
    const code = result.ok ? null : result.smtpCode;
    const record = async (sql: Sql) =>
      sql.run(
        `with a as (
           insert into mail_attempts (organization_id, mail_id, attempt, duration_ms, outcome, smtp_code, error)
           values ($1, $2, $3, $4, $5, $6, $7) on conflict do nothing)
         update mail_outbox set status = $8, next_attempt_at = $9, claimed_until = null, claim_token = null, last_attempt_at = now(), last_error = $7, last_smtp_code = $6,
           message_id = coalesce($10, message_id), sent_at = case when $8 = 'sent' then now() else sent_at end
         where organization_id = $1 and id = $2 and status = 'pending' and claim_token = $11`,
        [c.organization_id, c.id, c.attempts, durationMs, outcome, code, error, status, retryAt, result.ok ? result.messageId : null, c.claim_token],
      );
    if (result.ok || result.kind !== 'bounced') {
      await record(this.db.sql);
      return result.ok ? 'sent' : 'failed';
    }
    // A hard bounce: the address is blocked in the same transaction, and the audit trail says so.
    await this.db.transaction(async (tx) => {
      await record(tx);
      const blocked = await tx.run(
        `insert into mail_blocked_addresses (organization_id, address, smtp_code, reason, mail_id) values ($1, lower($2), $3, $4, $5) on conflict do nothing`,
        [c.organization_id, c.to_address, code, error ?? 'bounced', c.id],
      );
      if (blocked > 0) {
        await writeAudit(tx, systemActor(c.organization_id, 'mail'), {
          action: 'mail.address.block',
          outcome: 'failure',
          resourceType: 'mail_address',
          resourceLabel: c.to_address.toLowerCase(),
          reason: 'hard_bounce',
          detail: { smtpCode: code, response: error, mailId: c.id },
        });
      }
    });
    return 'failed';
  }

  /** Forgets sent and failed mail older than the policy keeps it; returns how many. */
  async purgeLog(limit = 1000): Promise<number> {
    return this.db.sql.run(
      `delete from mail_outbox where (organization_id, id) in (
         select organization_id, id from mail_outbox
         where status in ('sent', 'failed') and created_at < now() - make_interval(days => $1) limit ${Math.max(1, limit)})`,
      [this.policy.logRetentionDays],
    );
  }
}
