import { required, table, type Command } from './command.js';

export const apiKeyCommands: Command[] = [
  {
    name: 'apikey create',
    usage: 'apikey create --org DOMAIN --name NAME --role reader|admin|controller [--locks ID,ID] [--places ID,ID]',
    options: { org: { type: 'string' }, name: { type: 'string' }, role: { type: 'string' }, locks: { type: 'string' }, places: { type: 'string' } },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      // A controller key reads only the allow-lists and changes of these locks and places.
      const ids = (v: unknown) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : []);
      const { key, apiKey } = await ctx.domain.apiKeys.create(actor, { name: required(o, 'name'), role: required(o, 'role'), lockIds: ids(o.locks), placeIds: ids(o.places) });
      return {
        json: { key, apiKey },
        text: `API key "${apiKey.name}" (${apiKey.role}): ${key}\n\nCopy it now: it is shown once. Use it as "Authorization: Bearer <key>" on /graphql.`,
      };
    },
  },
  {
    name: 'apikey list',
    usage: 'apikey list --org DOMAIN',
    options: { org: { type: 'string' } },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      const keys = await ctx.domain.apiKeys.list(actor);
      return { json: { apiKeys: keys }, text: table(keys as unknown as Record<string, unknown>[], ['id', 'name', 'role', 'prefix', 'createdAt', 'lastUsedAt', 'revokedAt']) };
    },
  },
  {
    name: 'apikey revoke',
    usage: 'apikey revoke --org DOMAIN --id KEY_ID',
    options: { org: { type: 'string' }, id: { type: 'string' } },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      const apiKey = await ctx.domain.apiKeys.revoke(actor, required(o, 'id'));
      return { json: { apiKey }, text: `Revoked API key "${apiKey.name}"` };
    },
  },
];
