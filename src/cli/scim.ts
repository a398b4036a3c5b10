import { required, table, type Command } from './command.js';

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
];
