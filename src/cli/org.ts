import { required, table, type Command } from './command.js';

export const orgCommands: Command[] = [
  {
    name: 'org create',
    usage: 'org create --name NAME --domain DOMAIN',
    options: { name: { type: 'string' }, domain: { type: 'string' } },
    async run(ctx, o) {
      const org = await ctx.domain.organizations.create({ name: required(o, 'name'), domain: required(o, 'domain') });
      return { json: { organization: org }, text: `Created organisation ${org.name} (domain ${org.domain}, id ${org.id})` };
    },
  },
  {
    name: 'org list',
    usage: 'org list',
    options: {},
    async run(ctx) {
      const orgs = await ctx.domain.organizations.list();
      return { json: { organizations: orgs }, text: table(orgs as unknown as Record<string, unknown>[], ['domain', 'name', 'id', 'createdAt']) };
    },
  },
];
