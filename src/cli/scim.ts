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
          'Copy the token now: it is shown once. Enabling SCIM again issues a new token and the old one stops working.',
        ].join('\n'),
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
      return {
        json: { status, tenantUrl: `${ctx.config.http.publicUrl}/scim/v2` },
        text: table([{ ...status, tenantUrl: `${ctx.config.http.publicUrl}/scim/v2` }], ['enabled', 'tokenPrefix', 'tokenCreatedAt', 'tokenLastUsedAt', 'tenantUrl']),
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

/** One line of what Entra sent, for the table (the whole detail is in --json). */
function summary(detail: Record<string, unknown>): string {
  const sent = detail.operations ?? detail.request ?? detail.changes;
  if (sent === undefined) return '';
  const text = JSON.stringify(sent);
  return text.length > 120 ? text.slice(0, 117) + '...' : text;
}
