// `mail …`: the notification-mail outbox, blocked addresses and settings.
import type { MailStatus } from '../domain/mail/mail.model.js';
import { required, table, UsageError, type Command } from './command.js';

const STATUSES: readonly MailStatus[] = ['pending', 'sent', 'failed', 'blocked', 'unsent'];

export const mailCommands: Command[] = [
  {
    name: 'mail list',
    usage: 'mail list --org DOMAIN [--status pending|sent|failed|blocked|unsent] [--before MAIL_ID] [--limit N]   (the outbox, newest first)',
    options: { org: { type: 'string' }, status: { type: 'string' }, before: { type: 'string' }, limit: { type: 'string' } },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      const status = typeof o.status === 'string' ? (o.status as MailStatus) : undefined;
      if (status !== undefined && !STATUSES.includes(status)) throw new UsageError(`--status must be one of ${STATUSES.join(', ')}`);
      if (o.limit !== undefined && !/^\d{1,3}$/.test(String(o.limit))) throw new UsageError('--limit must be a number up to 500');
      const mail = await ctx.domain.mail.list(actor, { status, before: typeof o.before === 'string' ? o.before : undefined, limit: o.limit !== undefined ? Number(o.limit) : undefined });
      return { json: { mail }, text: table(mail as unknown as Record<string, unknown>[], ['id', 'to', 'template', 'statusText', 'attempts', 'createdAt', 'sentAt']) };
    },
  },
  {
    name: 'mail show',
    usage: 'mail show --org DOMAIN --id MAIL_ID   (one mail with every attempt)',
    options: { org: { type: 'string' }, id: { type: 'string' } },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      const mail = await ctx.domain.mail.get(actor, required(o, 'id'));
      return {
        json: { mail },
        text: [`${mail.template} to ${mail.to}: ${mail.statusText}`, '', table(mail.attemptLog as unknown as Record<string, unknown>[], ['attempt', 'at', 'durationMs', 'outcome', 'smtpCode', 'error'])].join('\n'),
      };
    },
  },
  {
    name: 'mail resend',
    usage: 'mail resend --org DOMAIN --id MAIL_ID   (send again: an unsent mail once SMTP is configured, a failed or blocked one after a fix)',
    options: { org: { type: 'string' }, id: { type: 'string' } },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      const mail = await ctx.domain.mail.resend(actor, required(o, 'id'));
      return { json: { mail }, text: `Mail ${mail.id} to ${mail.to} queued again.` };
    },
  },
  {
    name: 'mail blocked',
    usage: 'mail blocked --org DOMAIN   (addresses that bounced: no mail goes to them until cleared)',
    options: { org: { type: 'string' } },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      const blocked = await ctx.domain.mail.blocked(actor);
      return { json: { blocked }, text: table(blocked as unknown as Record<string, unknown>[], ['address', 'smtpCode', 'reason', 'createdAt']) };
    },
  },
  {
    name: 'mail unblock',
    usage: 'mail unblock --org DOMAIN --address EMAIL',
    options: { org: { type: 'string' }, address: { type: 'string' } },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      const address = required(o, 'address');
      await ctx.domain.mail.unblock(actor, address);
      return { json: { unblocked: address.toLowerCase() }, text: `${address.toLowerCase()} is no longer blocked.` };
    },
  },
  {
    name: 'mail settings',
    usage: 'mail settings --org DOMAIN [--scim-welcome on|off]   (a welcome mail to members Entra provisions through SCIM)',
    options: { org: { type: 'string' }, 'scim-welcome': { type: 'string' } },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      const raw = o['scim-welcome'];
      if (raw !== undefined && raw !== 'on' && raw !== 'off') throw new UsageError('--scim-welcome must be on or off');
      const settings = raw === undefined ? await ctx.domain.mail.settings(actor) : await ctx.domain.mail.setSettings(actor, { scimWelcome: raw === 'on' });
      const smtp = ctx.config.mail.smtpUrl ? 'configured' : 'not configured (mail stays in the outbox: "not sent: no SMTP configured")';
      return {
        json: { settings, smtp: Boolean(ctx.config.mail.smtpUrl), from: ctx.config.mail.from },
        text: [`SCIM welcome mail: ${settings.scimWelcome ? 'on' : 'off'}`, `SMTP (in this process's environment): ${smtp}`, `From: ${ctx.config.mail.from}`].join('\n'),
      };
    },
  },
];
