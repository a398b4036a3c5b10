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
import { Invalid, NotFound } from '../errors.js';
import { isUuid } from '../ids.js';
import { writeAudit } from '../audit/audit.service.js';
import type { StreamConsumer } from '../events/event-dispatcher.js';
import { followStreamFromNow, unfollowStream } from '../events/event-cursor.sql.js';
import { renderMail } from './mail-templates.js';
import * as mailSql from './mail.sql.js';
import { logPageSize } from '../log-page.sql.js';
import { retryDelaySeconds, type OutboxPolicy } from '../outbox-policy.js';
import type { ClaimedMail, MailRow } from './mail.sql.js';
import type { BlockedAddress, MailAttempt, MailSendResult, MailSettings, MailStatus, MailTemplate, MailTransport, OutboxMail } from './mail.model.js';

/** The outbox's policy; `concurrency` is how many messages are handed to the SMTP transport at once. */
export type MailPolicy = OutboxPolicy;

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
    if (f.status !== undefined && !STATUSES.includes(f.status)) throw new Invalid('invalid_value', `status must be one of ${STATUSES.join(', ')}`, 'status');
    if (f.before !== undefined && !isUuid(f.before)) throw new Invalid('invalid_cursor', 'before must be a mail id', 'before');
    const rows = await mailSql.selectMail(this.db.sql, actor.organizationId, f, logPageSize(f.limit));
    return rows.map(toMail);
  }

  /** One mail with every attempt to send it. */
  async get(actor: Actor, id: string): Promise<OutboxMail & { attemptLog: MailAttempt[] }> {
    requireAdmin(actor);
    if (!isUuid(id)) throw new NotFound('mail', id);
    const found = await mailSql.selectMailWithAttempts(this.db.sql, actor.organizationId, id);
    if (!found) throw new NotFound('mail', id);
    return { ...toMail(found.row), attemptLog: found.attempts };
  }

  async blocked(actor: Actor): Promise<BlockedAddress[]> {
    requireAdmin(actor);
    return mailSql.selectBlockedAddresses(this.db.sql, actor.organizationId);
  }

  /** Clears a blocked address: mail to it is sent again (the blocked mails themselves only on resend). */
  async unblock(actor: Actor, address: string): Promise<void> {
    requireAdmin(actor);
    if (typeof address !== 'string' || address.length === 0 || address.length > 320) throw new Invalid('invalid_value', 'address must be an email address', 'address');
    await this.db.transaction(async (tx) => {
      const unblocked = await mailSql.deleteBlockedAddress(tx, actor.organizationId, address.trim());
      if (unblocked === undefined) throw new NotFound('blocked_address', address);
      await writeAudit(tx, actor, { action: 'mail.address.unblock', resourceType: 'mail_address', resourceLabel: unblocked });
    });
  }

  /** Sends a mail again (an unsent one once SMTP is configured, a failed or blocked one after a fix). */
  async resend(actor: Actor, id: string): Promise<OutboxMail> {
    requireAdmin(actor);
    if (!isUuid(id)) throw new NotFound('mail', id);
    return this.db.transaction(async (tx) => {
      const row = await mailSql.resendMail(tx, actor.organizationId, id);
      if (!row) throw new NotFound('mail', id);
      await writeAudit(tx, actor, { action: 'mail.resend', resourceType: 'mail', resourceId: id, resourceLabel: row.to_address });
      return toMail(row);
    });
  }

  async settings(actor: Actor): Promise<MailSettings> {
    requireAdmin(actor);
    return { scimWelcome: await mailSql.selectScimWelcome(this.db.sql, actor.organizationId) };
  }

  async setSettings(actor: Actor, settings: Partial<MailSettings>): Promise<MailSettings> {
    requireAdmin(actor);
    if (settings.scimWelcome !== undefined && typeof settings.scimWelcome !== 'boolean') throw new Invalid('invalid_value', 'scimWelcome must be true or false', 'scimWelcome');
    return this.db.transaction(async (tx) => {
      const before = await mailSql.selectScimWelcome(tx, actor.organizationId, true);
      const scimWelcome = settings.scimWelcome ?? before;
      if (scimWelcome === before) return { scimWelcome };
      await mailSql.updateScimWelcome(tx, actor.organizationId, scimWelcome);
      if (scimWelcome) {
        // Members provisioned from now on get the welcome: follow the audit stream from here.
        await followStreamFromNow(tx, actor.organizationId, MAIL_CONSUMER);
      } else {
        await unfollowStream(tx, actor.organizationId, MAIL_CONSUMER);
      }
      await writeAudit(tx, actor, { action: 'mail.settings', resourceType: 'organization', resourceId: actor.organizationId, detail: { changes: { scimWelcome: { from: before, to: scimWelcome } } } });
      return { scimWelcome };
    });
  }

  // ---- writing mail (in the change's transaction) ----------------------------------

  /** Queues `template` for each of these members that has an address, in the caller's transaction; returns how many. */
  async enqueueForMembers(tx: Sql, organizationId: string, template: MailTemplate, memberIds: readonly string[], data: Record<string, unknown> = {}): Promise<number> {
    if (memberIds.length === 0) return 0;
    return mailSql.insertMailForMembers(tx, organizationId, template, memberIds, JSON.stringify(data));
  }

  /** The audit-stream consumer writing the optional welcome mail of SCIM-provisioned members. */
  consumer(): StreamConsumer {
    return {
      name: MAIL_CONSUMER,
      handle: async (tx, organizationId, events) => {
        const created = events.filter((e) => e.action === 'scim.user.create' && e.outcome === 'success' && e.resourceId && isUuid(e.resourceId)).map((e) => e.resourceId!);
        if (created.length === 0) return;
        if (await mailSql.selectScimWelcome(tx, organizationId)) await this.enqueueForMembers(tx, organizationId, 'welcome', created);
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
      const unsent = await mailSql.markDueUnsent(this.db.sql, NO_SMTP);
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
    return mailSql.claimMail(this.db.sql, this.policy.batchSize, this.policy.claimSeconds, crypto.randomUUID());
  }

  /**
   * Renews the lease right before the mail goes out: false when it was lost
   * (it ran out while the mail waited in this batch and another process took
   * the mail over, or an admin changed it), and then this process leaves it.
   */
  private async renew(c: ClaimedMail): Promise<boolean> {
    return mailSql.renewClaim(this.db.sql, c, this.policy.claimSeconds);
  }

  /** One mail: blocked, or rendered, sent and recorded; 'lost' when another process holds it now. */
  private async attempt(transport: MailTransport, c: ClaimedMail): Promise<'sent' | 'failed' | 'blocked' | 'lost'> {
    if (c.blocked !== null) {
      const marked = await mailSql.markBlocked(this.db.sql, c, `not sent: the address is blocked (${c.blocked})`.slice(0, 500));
      return marked ? 'blocked' : 'lost';
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
    const retryAt = new Date(Date.now() + retryDelaySeconds(this.policy, c.attempts) * 1000);
    const expired = retryAt.getTime() > toDate(c.retry_from).getTime() + this.policy.giveUpAfterSeconds * 1000;
    const status: MailStatus = result.ok ? 'sent' : result.kind === 'transient' && !expired ? 'pending' : 'failed';
    const outcome = result.ok ? 'sent' : result.kind === 'bounced' ? 'bounced' : status === 'pending' ? 'retry' : 'failed';
    const error = result.ok ? null : result.error.slice(0, 500);
    const code = result.ok ? null : result.smtpCode;
    const record = (sql: Sql) =>
      mailSql.recordAttempt(sql, c, { durationMs, outcome, smtpCode: code, error, status, retryAt, messageId: result.ok ? result.messageId : null });
    if (result.ok || result.kind !== 'bounced') {
      await record(this.db.sql);
      return result.ok ? 'sent' : 'failed';
    }
    // A hard bounce: the address is blocked in the same transaction, and the audit trail says so.
    await this.db.transaction(async (tx) => {
      await record(tx);
      const blocked = await mailSql.insertBlockedAddress(tx, c.organization_id, { address: c.to_address, smtpCode: code, reason: error ?? 'bounced', mailId: c.id });
      if (blocked) {
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
    return mailSql.purgeMail(this.db.sql, this.policy.logRetentionDays, limit);
  }
}
