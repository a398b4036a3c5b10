// The mass-deprovision guard: settings for readers, decisions for admins (the domain checks).
import { Arg, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { GraphqlContext } from '../context.js';
import { DeprovisionGuard, DeprovisionGuardInput, GuardDecision, HeldChange } from '../types/guard.type.js';

@Resolver()
export class GuardResolver {
  @Query(() => DeprovisionGuard, { description: 'The mass-deprovision guard: settings and how many changes it holds' })
  async deprovisionGuard(@Ctx() ctx: GraphqlContext): Promise<DeprovisionGuard> {
    const [settings, held] = await Promise.all([ctx.domain.guard.settings(ctx.actor), ctx.domain.guard.heldCount(ctx.actor)]);
    return { ...settings, held };
  }

  @Query(() => [HeldChange], { description: 'Changes the guard holds (status held, the default), or decided ones, oldest first' })
  async heldChanges(@Arg('status', () => String, { nullable: true }) status: string | null, @Ctx() ctx: GraphqlContext): Promise<HeldChange[]> {
    const s = status ?? 'held';
    const known = s === 'held' || s === 'approved' || s === 'discarded' ? s : 'held';
    return ctx.domain.guard.list(ctx.actor, known);
  }

  @Mutation(() => DeprovisionGuard, { description: 'Changes the guard settings (admin keys)' })
  async updateDeprovisionGuard(@Arg('input', () => DeprovisionGuardInput) input: DeprovisionGuardInput, @Ctx() ctx: GraphqlContext): Promise<DeprovisionGuard> {
    const settings = await ctx.domain.guard.updateSettings(ctx.actor, {
      enabled: input.enabled ?? undefined,
      thresholdPercent: input.thresholdPercent ?? undefined,
      minCount: input.minCount ?? undefined,
      windowMinutes: input.windowMinutes ?? undefined,
    });
    return { ...settings, held: await ctx.domain.guard.heldCount(ctx.actor) };
  }

  @Mutation(() => GuardDecision, { description: 'Applies every held change (or those ids) in one transaction, audited with who (admin keys)' })
  async approveHeldChanges(@Arg('ids', () => [ID], { nullable: true }) ids: string[] | null, @Ctx() ctx: GraphqlContext): Promise<GuardDecision> {
    return ctx.domain.guard.approve(ctx.actor, ids);
  }

  @Mutation(() => GuardDecision, { description: 'Drops every held change (or those ids): nothing is applied (admin keys)' })
  async discardHeldChanges(@Arg('ids', () => [ID], { nullable: true }) ids: string[] | null, @Ctx() ctx: GraphqlContext): Promise<GuardDecision> {
    return ctx.domain.guard.discard(ctx.actor, ids);
  }
}
