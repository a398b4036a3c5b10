// SCIM token rotation without a gap (admin keys; the domain checks): a new
// token shown once, the previous one accepted for the overlap or until revoked.
import { Arg, Ctx, FieldResolver, Mutation, Resolver } from 'type-graphql';
import type { GraphqlContext } from '../context.js';
import { parseScimOverlap } from '../../domain/organization/organization.service.js';
import { ScimStatus, ScimTokenRotation } from '../types/organization.type.js';
import { toScimStatusType } from '../presenters.js';

@Resolver()
export class ScimResolver {
  @Mutation(() => ScimTokenRotation, {
    description:
      'Issues a new SCIM token (returned this once) while the current one keeps working for the overlap (e.g. "24h", "90m", "2d"; 1 minute to 30 days), so provisioning never stops. A previous token from an earlier rotation stops at once. CONFLICT scim_disabled when SCIM is off (admin keys)',
  })
  async rotateScimToken(@Arg('overlap', () => String, { defaultValue: '24h' }) overlap: string, @Ctx() ctx: GraphqlContext): Promise<ScimTokenRotation> {
    const minutes = parseScimOverlap(overlap);
    const { token, status } = await ctx.domain.organizations.rotateScimToken(ctx.actor, minutes);
    return { token, tenantUrl: `${ctx.publicUrl}/scim/v2`, status: toScimStatusType(status) };
  }

  @Mutation(() => ScimStatus, { description: 'Ends the token a rotation replaced, now (idempotent: nothing changes when there is none) (admin keys)' })
  async revokePreviousScimToken(@Ctx() ctx: GraphqlContext): Promise<ScimStatus> {
    return toScimStatusType((await ctx.domain.organizations.revokePreviousScimToken(ctx.actor)).status);
  }
}

@Resolver(() => ScimStatus)
export class ScimStatusFieldsResolver {
  @FieldResolver(() => String, { description: "The Tenant URL to paste into Entra (Provisioning › Admin Credentials)" })
  tenantUrl(@Ctx() ctx: GraphqlContext): string {
    return `${ctx.publicUrl}/scim/v2`;
  }
}
