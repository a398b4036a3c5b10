import { parseScimOverlap, type ScimStatus } from '../domain/organization/organization.service.js';
import { required, table, UsageError, type Command } from './command.js';

export const scimCommands: Command[] = [
  {
    name: 'scim enable',
    usage: 'scim enable --org DOMAIN   (enabling again rotates the token)',
    options: { org: { type: 'string' } },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      const { token } = await ctx.domain.organizations.enableScim(actor);
      const tenantUrl = `${ctx.config.http.publicUrl}/scim/v2`;
      return {
        json: { token, tenantUrl },
        text: [
          `Tenant URL:   ${tenantUrl}`,
          `Secret Token: ${token}`,
          '',
          'Copy the token now: it is shown once. Enabling SCIM again issues a new token and the old one stops working',
          '(to change tokens without a gap, use scim rotate).',
        ].join('\n'),
      };
    },
  },
  {
    name: 'scim rotate',
    usage: 'scim rotate --org DOMAIN [--overlap 24h]   (a new token; the old one keeps working for the overlap: 90m, 24h, 2d; 1 minute to 30 days)',
    options: { org: { type: 'string' }, overlap: { type: 'string' } },
    async run(ctx, o) {
      const overlapText = (o.overlap as string | undefined) ?? '24h';
      let overlapMinutes: number;
      try {
        overlapMinutes = parseScimOverlap(overlapText);
      } catch (e) {
        throw new UsageError(`--overlap ${e instanceof Error ? e.message.replace(/^The overlap /, '') : 'is not a duration'}`);
      }
      const actor = await ctx.orgActor(required(o, 'org'));
      const { token, status } = await ctx.domain.organizations.rotateScimToken(actor, overlapMinutes);
      const tenantUrl = `${ctx.config.http.publicUrl}/scim/v2`;
      return {
        json: { token, tenantUrl, status },
        text: [
          `Tenant URL:   ${tenantUrl}`,
          `Secret Token: ${token}`,
          '',
          'Copy the token now: it is shown once. Paste it into Entra (Provisioning › Admin Credentials) and select Test Connection.',
          `The previous token (${status.previousTokenPrefix}…) keeps working until ${status.previousTokenExpiresAt?.toISOString()}; end it sooner with scim revoke-previous.`,
        ].join('\n'),
      };
    },
  },
  {
    name: 'scim revoke-previous',
    usage: 'scim revoke-previous --org DOMAIN   (ends the token a rotation replaced, before its overlap ends)',
    options: { org: { type: 'string' } },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      const { revoked, status } = await ctx.domain.organizations.revokePreviousScimToken(actor);
      return {
        json: { revoked, status },
        text: revoked ? 'The previous SCIM token no longer works; only the current one does.' : 'There is no previous SCIM token (none, already revoked or expired): nothing changed.',
      };
    },
  },
  {
    name: 'scim disable',
    usage: 'scim disable --org DOMAIN',
    options: { org: { type: 'string' } },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      const status = await ctx.domain.organizations.disableScim(actor);
      return { json: { status }, text: 'SCIM disabled: the token no longer works.' };
    },
  },
  {
    name: 'scim status',
    usage: 'scim status --org DOMAIN',
    options: { org: { type: 'string' } },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      const status = await ctx.domain.organizations.scimStatus(actor);
      const tenantUrl = `${ctx.config.http.publicUrl}/scim/v2`;
      const rows = [{ token: 'current', prefix: status.tokenPrefix, createdAt: status.tokenCreatedAt, lastUsedAt: status.tokenLastUsedAt, expiresAt: null as Date | null }];
      if (status.previousTokenPrefix !== null) {
        rows.push({ token: 'previous', prefix: status.previousTokenPrefix, createdAt: status.previousTokenCreatedAt, lastUsedAt: status.previousTokenLastUsedAt, expiresAt: status.previousTokenExpiresAt });
      }
      return {
        json: { status, tenantUrl },
        text: [
          `SCIM: ${status.enabled ? 'enabled' : 'disabled'}   Tenant URL: ${tenantUrl}`,
          ...(status.enabled ? ['', table(rows, ['token', 'prefix', 'createdAt', 'lastUsedAt', 'expiresAt']), '', tokenInUse(status)] : []),
        ].join('\n'),
      };
    },
  },
  {
    name: 'scim log',
    usage: 'scim log --org DOMAIN [--member USERNAME] [--failed] [--before ID] [--limit N]   (provisioning log, newest first)',
    options: { org: { type: 'string' }, member: { type: 'string' }, failed: { type: 'boolean' }, before: { type: 'string' }, limit: { type: 'string' } },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      const limitText = o.limit as string | undefined;
      if (limitText !== undefined && !/^\d{1,3}$/.test(limitText)) throw new UsageError('--limit must be a number from 1 to 500');
      const before = o.before as string | undefined;
      if (before !== undefined && !/^\d{1,18}$/.test(before)) throw new UsageError('--before must be an event id from a previous page');
      const limit = limitText === undefined ? 50 : Math.min(Math.max(Number(limitText), 1), 500);
      const events = await ctx.domain.audit.list(actor, {
        actionPrefix: 'scim.',
        outcome: o.failed ? 'failure' : undefined,
        resourceLabel: o.member as string | undefined,
        before,
        limit,
      });
      const nextBefore = events.length === limit ? events[events.length - 1]!.id : null;
      const rows = events.map((e) => ({
        id: e.id,
        at: e.at,
        action: e.action,
        outcome: e.outcome,
        resource: e.resourceLabel ?? e.resourceId,
        reason: e.reason,
        sent: summary(e.detail),
      }));
      return {
        json: { events, nextBefore },
        text: table(rows, ['id', 'at', 'action', 'outcome', 'resource', 'reason', 'sent']) + (nextBefore ? `\n\nOlder entries: add --before ${nextBefore}` : ''),
      };
    },
  },
];

/** Which token Entra is using, from the last uses (the console says the same). */
export function tokenInUse(s: ScimStatus): string {
  if (s.previousTokenPrefix === null) return s.tokenLastUsedAt ? 'Entra uses the current token.' : 'The token has not been used yet.';
  const current = s.tokenLastUsedAt?.getTime() ?? -1;
  const previous = s.previousTokenLastUsedAt?.getTime() ?? -1;
  if (current < 0) return 'Entra still uses the previous token: paste the new one into Entra before the overlap ends.';
  if (previous > current) return 'Entra used the previous token after the new one: check that every Entra configuration has the new token.';
  return 'Entra uses the new token: you can end the previous one with scim revoke-previous.';
}

/** One line of what Entra sent, for the table (the whole detail is in --json). */
function summary(detail: Record<string, unknown>): string {
  const sent = detail.operations ?? detail.request ?? detail.changes;
  if (sent === undefined) return '';
  const text = JSON.stringify(sent);
  return text.length > 120 ? text.slice(0, 117) + '...' : text;
}
