// Entra group import: set up, inspect, pause and run integrations.
import type { Actor } from '../domain/index.js';
import type { ImportIntegration, ImportProgress, ImportRunResult } from '../domain/import/import.model.js';
import { required, table, UsageError, type CliContext, type Command } from './command.js';

const org = { type: 'string' } as const;
const integration = { type: 'string' } as const;

function summary(i: ImportIntegration): Record<string, unknown> {
  const r = i.lastRun;
  return {
    id: i.id,
    name: i.name,
    entraGroupId: i.entraGroupId,
    identifier: i.identifier,
    mode: i.mode,
    paused: i.paused,
    lastRun: r.startedAt ? `${r.status} ${r.startedAt.toISOString()}` : 'never',
    'added/updated/removed': r.status && r.status !== 'running' ? `${r.added ?? 0}/${r.updated ?? 0}/${r.removed ?? 0}` : '-',
  };
}

function details(i: ImportIntegration): string {
  const r = i.lastRun;
  const lines = [
    `Integration ${i.name} (id ${i.id})`,
    `  tenant           ${i.tenantId}`,
    `  client id        ${i.clientId} (${i.credentials === 'gatehouse_app' ? "Gatehouse's application, authorized with Microsoft" : 'secret stored encrypted'})`,
    `  Entra group      ${i.entraGroupId}`,
    `  identifier       ${i.identifier === 'upn' ? 'User Principal Name' : 'Mail'}`,
    `  mode             ${i.mode === 'users_only' ? 'import as users only' : 'grant shares'}`,
    `  Gatehouse group  ${i.groupId}`,
    ...i.targets.map((t) => `  shares           ${t.placeId ? `place ${t.placeId}` : `lock ${t.lockId}`} (${t.role})`),
    `  paused           ${i.paused ? 'yes' : 'no'}`,
    `  last run         ${r.startedAt ? `${r.status}, started ${r.startedAt.toISOString()}${r.finishedAt ? `, finished ${r.finishedAt.toISOString()}` : ''}` : 'never'}`,
  ];
  if (r.status && r.status !== 'running') {
    lines.push(`  counts           ${r.total ?? 0} in the group: ${r.added ?? 0} added, ${r.updated ?? 0} updated, ${r.removed ?? 0} removed (${r.durationMs ?? 0} ms)`);
  }
  if (r.error) lines.push(`  error            ${r.errorCode}: ${r.error}`);
  return lines.join('\n');
}

/** A progress bar on stderr when it is a terminal (stdout stays the result). */
function progressBar(): { update(p: ImportProgress): void; done(): void } {
  if (!process.stderr.isTTY) return { update() {}, done() {} };
  const width = 30;
  return {
    update(p) {
      if (p.phase === 'fetching') {
        process.stderr.write(`\rReading the Entra group… ${p.fetched} user(s)`.padEnd(70));
        return;
      }
      const ratio = p.total === 0 ? 1 : p.done / p.total;
      const filled = Math.round(ratio * width);
      process.stderr.write(`\rWriting [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.done}/${p.total}`.padEnd(70));
    },
    done() {
      process.stderr.write('\r'.padEnd(71) + '\r');
    },
  };
}

function runText(r: ImportRunResult): string {
  if (r.status === 'skipped') return `Skipped: ${r.skippedReason === 'already_running' ? 'another run of this integration is in progress' : r.skippedReason}`;
  const counts = `${r.total} user(s) in the Entra group: ${r.added} added (${r.created} created), ${r.updated} updated, ${r.removed} removed, ${r.skipped} skipped in ${(r.durationMs / 1000).toFixed(2)} s`;
  return r.status === 'success' ? `Import ran: ${counts}` : `Import failed (${r.errorCode}): ${r.error}\n${counts}`;
}

function many(o: Record<string, unknown>, name: string): string[] {
  const v = o[name];
  return Array.isArray(v) ? (v as string[]) : typeof v === 'string' ? [v] : [];
}

type Options = Parameters<Command['run']>[1];

/** `import VERB --org DOMAIN --integration ID …`: one call on one integration, answered with the integration as it is after it. */
function onIntegration(
  verb: string,
  act: (ctx: CliContext, actor: Actor, id: string, o: Options) => Promise<ImportIntegration>,
  text: (i: ImportIntegration) => string,
  more: { usage: string; options: Command['options'] } = { usage: '', options: {} },
): Command {
  return {
    name: `import ${verb}`,
    usage: `import ${verb} --org DOMAIN --integration ID${more.usage}`,
    options: { org, integration, ...more.options },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      const i = await act(ctx, actor, required(o, 'integration'), o);
      return { json: { integration: i }, text: text(i) };
    },
  };
}

export const importCommands: Command[] = [
  {
    name: 'import create',
    usage:
      'import create --org DOMAIN --name NAME --tenant TENANT (--client-id ID --client-secret SECRET | --gatehouse-app) --group ENTRA_GROUP_ID [--identifier upn|mail] [--users-only | --place ID... --lock ID... [--role user|manager|administrator]]',
    options: {
      org,
      name: { type: 'string' },
      tenant: { type: 'string' },
      'client-id': { type: 'string' },
      'client-secret': { type: 'string' },
      'gatehouse-app': { type: 'boolean' },
      group: { type: 'string' },
      identifier: { type: 'string' },
      'users-only': { type: 'boolean' },
      place: { type: 'string', multiple: true },
      lock: { type: 'string', multiple: true },
      role: { type: 'string' },
    },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      const places = many(o, 'place');
      const locks = many(o, 'lock');
      if (o['users-only'] && places.length + locks.length > 0) throw new UsageError('--users-only shares no place or lock: leave out --place/--lock');
      if (!o['users-only'] && places.length + locks.length === 0) throw new UsageError('give --users-only, or the --place/--lock to share');
      const identifier = (o.identifier as string | undefined) ?? 'upn';
      if (identifier !== 'upn' && identifier !== 'mail') throw new UsageError('--identifier must be upn or mail');
      const role = o.role as 'user' | 'manager' | 'administrator' | undefined;
      const created = await ctx.domain.imports.create(actor, {
        name: required(o, 'name'),
        tenantId: required(o, 'tenant'),
        // --gatehouse-app: Gatehouse's own application in a tenant an admin authorized in the console (Authorize with Microsoft).
        ...(o['gatehouse-app']
          ? { credentials: 'gatehouse_app' as const }
          : { credentials: 'client_secret' as const, clientId: required(o, 'client-id'), clientSecret: required(o, 'client-secret') }),
        entraGroupId: required(o, 'group'),
        identifier,
        mode: o['users-only'] ? 'users_only' : 'grant_shares',
        targets: [...places.map((placeId) => ({ placeId, role })), ...locks.map((lockId) => ({ lockId, role }))],
      });
      return { json: { integration: created }, text: `Created integration ${created.name} (id ${created.id}); it runs within ${ctx.config.import.intervalMinutes} minutes, or now with: import run --org ${String(o.org)} --integration ${created.id}` };
    },
  },
  {
    name: 'import list',
    usage: 'import list --org DOMAIN',
    options: { org },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      const list = await ctx.domain.imports.list(actor);
      return { json: { integrations: list }, text: table(list.map(summary), ['id', 'name', 'entraGroupId', 'identifier', 'mode', 'paused', 'lastRun', 'added/updated/removed']) };
    },
  },
  onIntegration('show', (ctx, actor, id) => ctx.domain.imports.get(actor, id), details),
  onIntegration('pause', (ctx, actor, id) => ctx.domain.imports.pause(actor, id), (i) => `Paused integration ${i.name}: scheduled runs stop; members and shares stay`),
  onIntegration('resume', (ctx, actor, id) => ctx.domain.imports.resume(actor, id), (i) => `Resumed integration ${i.name}`),
  onIntegration(
    'secret',
    (ctx, actor, id, o) => ctx.domain.imports.setClientSecret(actor, id, required(o, 'client-secret')),
    (i) => `Replaced the client secret of integration ${i.name}`,
    { usage: ' --client-secret SECRET', options: { 'client-secret': { type: 'string' } } },
  ),
  {
    name: 'import delete',
    usage: 'import delete --org DOMAIN --integration ID',
    options: { org, integration },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      const id = required(o, 'integration');
      await ctx.domain.imports.delete(actor, id);
      return { json: { deleted: id }, text: `Deleted integration ${id}: its shares and group are gone, the member profiles remain` };
    },
  },
  {
    name: 'import run',
    usage: 'import run --org DOMAIN --integration ID',
    options: { org, integration },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      const bar = progressBar();
      let result: ImportRunResult;
      try {
        result = await ctx.domain.imports.run(actor, required(o, 'integration'), { onProgress: (p) => bar.update(p) });
      } finally {
        bar.done();
      }
      return { json: { run: result }, text: runText(result), exitCode: result.status === 'success' ? 0 : 1 };
    },
  },
];
