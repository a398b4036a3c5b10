// The Entra group import: admin API keys and console admins only (the domain
// checks the role). "Authorize with Microsoft" starts from a console session.
import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { GraphqlContext } from '../context.js';
import {
  CreateImportIntegrationInput,
  EntraAdminConsentStart,
  EntraGroup,
  EntraGroupSearchInput,
  EntraImportSetup,
  ImportIntegration,
  ImportRunRecord,
  ImportRunResult,
} from '../types/import.type.js';
import type { ImportRunResult as DomainRunResult } from '../../domain/import/import.model.js';
import { toImportIntegrationType } from '../presenters.js';

/** Where Microsoft sends the admin consent answer (the console edge serves it). */
export const CONSENT_CALLBACK_PATH = '/admin/entra/consent/callback';

function toRunResult(r: DomainRunResult): ImportRunResult {
  return { ...r, skippedReason: r.skippedReason ?? null };
}

@Resolver(() => ImportIntegration)
export class ImportResolver {
  @FieldResolver(() => [ImportRunRecord], { description: 'The latest recorded runs, newest first (runs that changed something or failed)' })
  async recentRuns(@Root() i: ImportIntegration, @Arg('first', () => Int, { defaultValue: 5 }) first: number, @Ctx() ctx: GraphqlContext): Promise<ImportRunRecord[]> {
    return ctx.domain.imports.recentRuns(ctx.actor, i.id, first);
  }

  @Query(() => EntraImportSetup, { description: "Connecting an Entra group: Gatehouse's application (when configured) and the tenants already authorised" })
  async entraImportSetup(@Ctx() ctx: GraphqlContext): Promise<EntraImportSetup> {
    const s = await ctx.domain.imports.consentSetup(ctx.actor);
    return { gatehouseAppClientId: s.gatehouseAppClientId, consentRedirectUri: `${ctx.publicUrl}${CONSENT_CALLBACK_PATH}`, consentedTenants: [...s.consentedTenants] };
  }

  @Query(() => [EntraGroup], { description: 'Groups of an Entra tenant for the group picker: the first few by name, or those matching search' })
  async entraGroups(@Arg('input', () => EntraGroupSearchInput) input: EntraGroupSearchInput, @Ctx() ctx: GraphqlContext): Promise<EntraGroup[]> {
    return [...(await ctx.domain.imports.searchGroups(ctx.actor, input))];
  }

  @Mutation(() => EntraAdminConsentStart, {
    description: "Authorize with Microsoft: Microsoft's admin consent page for Gatehouse's application. Console sessions only; the answer comes back to this session",
  })
  async startEntraAdminConsent(@Ctx() ctx: GraphqlContext): Promise<EntraAdminConsentStart> {
    return ctx.domain.imports.startConsent(ctx.actor, { sessionToken: ctx.sessionToken, redirectUri: `${ctx.publicUrl}${CONSENT_CALLBACK_PATH}` });
  }

  @Query(() => [ImportIntegration], { description: 'Entra group imports of the organisation (admin keys only)' })
  async importIntegrations(@Ctx() ctx: GraphqlContext): Promise<ImportIntegration[]> {
    return (await ctx.domain.imports.list(ctx.actor)).map(toImportIntegrationType);
  }

  @Query(() => ImportIntegration, { description: 'One Entra group import (admin keys only)' })
  async importIntegration(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphqlContext): Promise<ImportIntegration> {
    return toImportIntegrationType(await ctx.domain.imports.get(ctx.actor, id));
  }

  @Mutation(() => ImportIntegration, { description: 'Connects an Entra group; its members are pulled every IMPORT_INTERVAL_MINUTES' })
  async createImportIntegration(@Arg('input', () => CreateImportIntegrationInput) input: CreateImportIntegrationInput, @Ctx() ctx: GraphqlContext): Promise<ImportIntegration> {
    const integration = await ctx.domain.imports.create(ctx.actor, {
      name: input.name,
      tenantId: input.tenantId,
      ...(input.credentials ? { credentials: input.credentials } : {}),
      clientId: input.clientId ?? null,
      clientSecret: input.clientSecret ?? null,
      entraGroupId: input.entraGroupId,
      entraGroupName: input.entraGroupName ?? null,
      ...(input.identifier ? { identifier: input.identifier } : {}),
      ...(input.mode ? { mode: input.mode } : {}),
      ...(input.targets ? { targets: input.targets.map((t) => ({ placeId: t.placeId ?? null, lockId: t.lockId ?? null, ...(t.role ? { role: t.role } : {}) })) } : {}),
    });
    return toImportIntegrationType(integration);
  }

  @Mutation(() => ImportIntegration)
  async pauseImportIntegration(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphqlContext): Promise<ImportIntegration> {
    return toImportIntegrationType(await ctx.domain.imports.pause(ctx.actor, id));
  }

  @Mutation(() => ImportIntegration)
  async resumeImportIntegration(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphqlContext): Promise<ImportIntegration> {
    return toImportIntegrationType(await ctx.domain.imports.resume(ctx.actor, id));
  }

  @Mutation(() => ImportIntegration, { description: 'Replaces the client secret (Entra secrets expire)' })
  async setImportClientSecret(@Arg('id', () => ID) id: string, @Arg('clientSecret', () => String) clientSecret: string, @Ctx() ctx: GraphqlContext): Promise<ImportIntegration> {
    return toImportIntegrationType(await ctx.domain.imports.setClientSecret(ctx.actor, id, clientSecret));
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
