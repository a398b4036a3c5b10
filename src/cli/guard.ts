// The mass-deprovision guard (README, Mass-deprovision guard): its settings, and the changes it holds
// for an admin to approve or discard. The CLI acts as the system (an operator).
import type { GuardDecision } from '../domain/guard/guard.model.js';
import { listOption, required, table, UsageError, type Command } from './command.js';

function intOption(o: Record<string, unknown>, name: string): number | undefined {
  const v = o[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^\d{1,7}$/.test(v)) throw new UsageError(`--${name} must be a whole number`);
  return Number(v);
}

/** --id ID[,ID…]: those changes; null without it (every held change). */
function idsOption(o: Record<string, unknown>): string[] | null {
  return o.id === undefined ? null : listOption(o.id);
}

export const guardCommands: Command[] = [
  {
    name: 'guard show',
    usage: 'guard show --org DOMAIN   (the mass-deprovision guard: settings and how many changes it holds)',
    options: { org: { type: 'string' } },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      const settings = await ctx.domain.guard.settings(actor);
      const held = await ctx.domain.guard.heldCount(actor);
      return {
        json: { settings, held },
        text: `${table([{ ...settings, held }], ['enabled', 'thresholdPercent', 'minCount', 'windowMinutes', 'held'])}${held > 0 ? `\n\n${held} change(s) held: see "guard held", then "guard approve" or "guard discard".` : ''}`,
      };
    },
  },
  {
    name: 'guard set',
    usage: 'guard set --org DOMAIN [--on | --off] [--threshold PERCENT] [--min COUNT] [--window MINUTES]',
    options: { org: { type: 'string' }, on: { type: 'boolean' }, off: { type: 'boolean' }, threshold: { type: 'string' }, min: { type: 'string' }, window: { type: 'string' } },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      if (o.on && o.off) throw new UsageError('Give --on or --off, not both');
      const settings = await ctx.domain.guard.updateSettings(actor, {
        enabled: o.on ? true : o.off ? false : undefined,
        thresholdPercent: intOption(o, 'threshold'),
        minCount: intOption(o, 'min'),
        windowMinutes: intOption(o, 'window'),
      });
      return { json: { settings }, text: table([{ ...settings }], ['enabled', 'thresholdPercent', 'minCount', 'windowMinutes']) };
    },
  },
  {
    name: 'guard held',
    usage: 'guard held --org DOMAIN [--status held|approved|discarded] [--limit N]   (what the guard holds: who, what, which source, when)',
    options: { org: { type: 'string' }, status: { type: 'string' }, limit: { type: 'string' } },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      const status = (o.status as string | undefined) ?? 'held';
      if (status !== 'held' && status !== 'approved' && status !== 'discarded') throw new UsageError('--status must be held, approved or discarded');
      const changes = await ctx.domain.guard.list(actor, status, intOption(o, 'limit') ?? 1000);
      return {
        json: { changes },
        text: table(
          changes.map((c) => ({ ...c, member: c.memberLabel ?? c.memberId })),
          ['id', 'heldAt', 'source', 'actorLabel', 'kind', 'member', 'groupId', 'repeats', 'status', 'decidedBy'],
        ),
      };
    },
  },
  decide('approve', 'apply every held change, or those, in one transaction', (d) =>
    `Approved ${d.approved}: ${d.deactivated} deactivated, ${d.deleted} deleted, ${d.membershipsRemoved} memberships removed.`,
  ),
  decide('discard', 'drop every held change, or those: nothing is applied', (d) => `Discarded ${d.discarded} held change(s); nothing was applied.`),
];

/** `guard approve|discard --org DOMAIN [--id ID[,ID…]]`: the admin's decision on held changes. */
function decide(verb: 'approve' | 'discard', what: string, text: (d: GuardDecision) => string): Command {
  return {
    name: `guard ${verb}`,
    usage: `guard ${verb} --org DOMAIN [--id ID[,ID…]]   (${what})`,
    options: { org: { type: 'string' }, id: { type: 'string' } },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      const decision = await ctx.domain.guard[verb](actor, idsOption(o));
      return { json: { decision }, text: text(decision) };
    },
  };
}
