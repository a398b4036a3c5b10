import { required, table, type Command } from './command.js';

export const adminCommands: Command[] = [
  {
    name: 'admin link',
    usage: 'admin link --org DOMAIN [--member USERNAME]   (one-time sign-in link to /admin, valid 15 minutes)',
    options: { org: { type: 'string' }, member: { type: 'string' } },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      const link = await ctx.domain.admins.createBootstrapLink(actor.organizationId, {
        userName: typeof o.member === 'string' && o.member !== '' ? o.member : undefined,
      });
      const url = `${ctx.config.http.publicUrl}/admin/bootstrap?token=${encodeURIComponent(link.token)}`;
      return {
        json: { url, expiresAt: link.expiresAt.toISOString(), member: { id: link.memberId, userName: link.userName, created: link.memberCreated } },
        text: [
          `Admin console link (one use, expires ${link.expiresAt.toISOString()}):`,
          url,
          '',
          `It signs you in as "${link.userName}"${link.memberCreated ? ' (a new admin member)' : ''}, an administrator of this organisation.`,
        ].join('\n'),
      };
    },
  },
  {
    name: 'admin list',
    usage: 'admin list --org DOMAIN',
    options: { org: { type: 'string' } },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      const admins = await ctx.domain.admins.list(actor);
      return { json: { admins }, text: table(admins as unknown as Record<string, unknown>[], ['userName', 'active', 'grantedBy', 'createdAt']) };
    },
  },
];
