// The mass-deprovision guard: settings for readers, decisions for admins (the domain checks).
import { Arg, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { GraphqlContext } from '../context.js';
import { DeprovisionGuard, DeprovisionGuardInput, GuardDecision, HeldChange } from '../types/guard.type.js';
import { Group } from '../types/directory.type.js';
import { toGroupType } from '../presenters.js';

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

@Resolver(() => HeldChange)
export class HeldChangeRelationsResolver {
  @FieldResolver(() => Group, { nullable: true, description: 'The group a held group_remove would take the member out of (null for others, or a group since deleted)' })
  async group(@Root() c: HeldChange, @Ctx() ctx: GraphqlContext): Promise<Group | null> {
    if (!c.groupId) return null;
    const g = await ctx.loaders.group.get(c.groupId);
    return g && toGroupType(g);
  }
}
