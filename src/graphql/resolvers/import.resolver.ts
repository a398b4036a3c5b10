// The Entra group import: admin API keys only (the domain checks the role).
import { Arg, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { GraphqlContext } from '../context.js';
import {
  CreateImportIntegrationInput,
  ImportIntegration,
  ImportRunResult,
  type ImportIdentifier,
  type ImportMode,
} from '../types/import.type.js';
import type { ShareRole } from '../types/scalars.js';
import type { ImportIntegration as DomainIntegration, ImportRunResult as DomainRunResult } from '../../domain/import/import.model.js';

function toIntegration(i: DomainIntegration): ImportIntegration {
  return {
    id: i.id,
    name: i.name,
    tenantId: i.tenantId,
    clientId: i.clientId,
    entraGroupId: i.entraGroupId,
    identifier: i.identifier as ImportIdentifier,
    mode: i.mode as ImportMode,
    groupId: i.groupId,
    paused: i.paused,
    targets: i.targets.map((t) => ({ placeId: t.placeId, lockId: t.lockId, role: t.role as ShareRole })),
    lastRun: { ...i.lastRun },
    createdAt: i.createdAt,
    updatedAt: i.updatedAt,
  };
}

function toRunResult(r: DomainRunResult): ImportRunResult {
  return { ...r, skippedReason: r.skippedReason ?? null };
}

@Resolver()
export class ImportResolver {
  @Query(() => [ImportIntegration], { description: 'Entra group imports of the organisation (admin keys only)' })
  async importIntegrations(@Ctx() ctx: GraphqlContext): Promise<ImportIntegration[]> {
    return (await ctx.domain.imports.list(ctx.actor)).map(toIntegration);
  }

  @Query(() => ImportIntegration, { description: 'One Entra group import (admin keys only)' })
  async importIntegration(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphqlContext): Promise<ImportIntegration> {
    return toIntegration(await ctx.domain.imports.get(ctx.actor, id));
  }

  @Mutation(() => ImportIntegration, { description: 'Connects an Entra group; its members are pulled every IMPORT_INTERVAL_MINUTES' })
  async createImportIntegration(@Arg('input', () => CreateImportIntegrationInput) input: CreateImportIntegrationInput, @Ctx() ctx: GraphqlContext): Promise<ImportIntegration> {
    const integration = await ctx.domain.imports.create(ctx.actor, {
      name: input.name,
      tenantId: input.tenantId,
      clientId: input.clientId,
      clientSecret: input.clientSecret,
      entraGroupId: input.entraGroupId,
      ...(input.identifier ? { identifier: input.identifier } : {}),
      ...(input.mode ? { mode: input.mode } : {}),
      ...(input.targets ? { targets: input.targets.map((t) => ({ placeId: t.placeId ?? null, lockId: t.lockId ?? null, ...(t.role ? { role: t.role } : {}) })) } : {}),
    });
    return toIntegration(integration);
  }

  @Mutation(() => ImportIntegration)
  async pauseImportIntegration(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphqlContext): Promise<ImportIntegration> {
    return toIntegration(await ctx.domain.imports.pause(ctx.actor, id));
  }

  @Mutation(() => ImportIntegration)
  async resumeImportIntegration(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphqlContext): Promise<ImportIntegration> {
    return toIntegration(await ctx.domain.imports.resume(ctx.actor, id));
  }

  @Mutation(() => ImportIntegration, { description: 'Replaces the client secret (Entra secrets expire)' })
  async setImportClientSecret(@Arg('id', () => ID) id: string, @Arg('clientSecret', () => String) clientSecret: string, @Ctx() ctx: GraphqlContext): Promise<ImportIntegration> {
    return toIntegration(await ctx.domain.imports.setClientSecret(ctx.actor, id, clientSecret));
  }

  @Mutation(() => Boolean, { description: 'Deletes the integration and its shares; the member profiles stay' })
  async deleteImportIntegration(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphqlContext): Promise<boolean> {
    await ctx.domain.imports.delete(ctx.actor, id);
    return true;
  }

  @Mutation(() => ImportRunResult, { description: 'Runs the import now' })
  async runImportIntegration(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphqlContext): Promise<ImportRunResult> {
    return toRunResult(await ctx.domain.imports.run(ctx.actor, id));
  }
}
